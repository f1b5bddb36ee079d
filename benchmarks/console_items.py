"""The console's items view over a big store: time until the first rows show, the memory it takes, and the
longest GUI-thread stall during a refresh — against a bare QTableView filled from the same API page, in one
run.

Run: .venv/bin/python benchmarks/console_items.py [--items N] [--rounds R] [--page P]

Real parts: a SQLite store with N work items (bulk-inserted as the store writes them: mixed queues and
states over 30 days), the operator API (`create_ops_app`) served by uvicorn in a thread, Qt offscreen in
this process. Signed in as a supervisor beforehand (sign-in is not measured).

(a) the console: `ItemsView.refresh()` — the API call in the pool, the page into ItemsModel behind the
    QSortFilterProxyModel, column fitting, the first paint — until its rows are shown.
(b) the baseline: a bare QTableView over a QStandardItemModel filled from the same API page (httpx in the
    GUI thread, one QStandardItem per cell) — the least any Qt list of these rows costs.
Both show the first page (`--page`, the console's own page size 100); rounds alternate (a) and (b); the
table shows medians. Memory: tracemalloc's peak of Python allocations while the view is built and filled
(Qt's C++ side not included), and the growth of the process's resident set (VmRSS) across the same span.
(c) stall: a 5 ms QTimer runs while the view refreshes 20 times with 500 rows loaded (the refresh limit),
    the longest gap between its ticks is the longest the GUI thread was busy; the baseline's refresh is its
    synchronous fetch-and-fill. Goal for the console: under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402
from PySide6.QtGui import QStandardItem, QStandardItemModel  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bots.runtime import schema  # noqa: E402
from bots.runtime.bot import Registry  # noqa: E402
from bots.runtime.clock import FixedClock  # noqa: E402
from bots.runtime.migrate import upgrade  # noqa: E402
from bots.runtime.models import Role  # noqa: E402
from bots.runtime.operators import add_operator  # noqa: E402
from bots.runtime.ops_api import create_ops_app  # noqa: E402
from bots.runtime.serve import ThreadedServer, free_port  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402
from bots.runtime.store import Store  # noqa: E402
from console.client import ApiClient  # noqa: E402
from console.hub import Hub  # noqa: E402
from console.session import Session  # noqa: E402
from console.tasks import Tasks  # noqa: E402
from console.views.items import MAX_PAGE, ItemsView  # noqa: E402

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PASSWORD = "bench-passwort-1"
STATES = ["done"] * 12 + ["pending"] * 3 + ["failed", "deferred", "handed_off", "rejected", "abandoned"]
console = Console(width=130)


def fill(store: Store, n: int) -> None:
    """`n` items as the store would hold them after 30 days of work, in one transaction per 10,000."""
    rows: list[dict[str, Any]] = []
    step = timedelta(days=30) / max(n, 1)
    with store.engine.begin() as conn:
        for i in range(n):
            at = NOW - timedelta(days=30) + step * i
            queue = "ark_certificate" if i % 3 else "bank_change"
            status = STATES[i % len(STATES)]
            payload = {"customer_id": f"K{100001 + i % 5000}", "policy_number": f"ARK-{4711 + i % 900}-{i:06d}",
                       "travel_start": "2027-03-03", "travel_end": "2027-03-24", "country": "TH"}  # fmt: skip
            error = {"kind": "system", "code": "timeout", "message": "Bestandsführung antwortet nicht"}
            rows.append({
                "queue": queue, "reference": f"REF-{i:07d}", "request_hash": f"{i:064x}",
                "customer_id": payload["customer_id"], "priority": 0, "status": status,
                "defer_reason": "service_window" if status == "deferred" else None,
                "due_at": at + timedelta(hours=24), "attempts": 1, "max_attempts": 5, "payload": payload,
                "error": error if status == "failed" else None, "progress": {}, "version": 2,
                "created_at": at, "updated_at": at, "dispatches": 1,
            })  # fmt: skip
            if len(rows) == 10_000:
                conn.execute(sa.insert(schema.items), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(schema.items), rows)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Shown:
    ms: float
    py_kib: float
    rss_kib: int


def measured(build: Callable[[], Any]) -> tuple[Any, Shown]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    before_py = tracemalloc.get_traced_memory()[0]
    before_rss = rss_kib()
    started = time.perf_counter()
    kept = build()
    ms = (time.perf_counter() - started) * 1000
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return kept, Shown(ms, (peak - before_py) / 1024, rss_kib() - before_rss)


class StallMeter:
    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._tick)
        self.longest = 0

    def _tick(self) -> None:
        self.longest = max(self.longest, self.clock.restart())

    def __enter__(self) -> StallMeter:
        self.clock.start()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()


def wait(app: QApplication, done: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not done():
        app.processEvents()
        if time.perf_counter() > deadline:
            raise TimeoutError("the view did not show its rows")
        time.sleep(0.0005)


def console_view(app: QApplication, url: str, page: int) -> Any:
    client = ApiClient(url)
    client.login("chef", PASSWORD)
    session = Session(client, Tasks(), Hub(), dict(client.operator or {}))

    def build() -> ItemsView:
        view = ItemsView(session)
        view.resize(1440, 900)
        view.show()
        shown: list[bool] = []
        view.loaded.connect(lambda: shown.append(True))
        view.load(client.items, view.filters(), limit=page, then=view._first_page)
        wait(app, lambda: bool(shown))
        app.processEvents()  # the first paint
        return view

    return build


def bare_view(app: QApplication, url: str, page: int) -> Any:
    client = ApiClient(url)
    client.login("chef", PASSWORD)
    headers = {"Authorization": f"Bearer {client._token}"}
    http = httpx.Client(base_url=url, headers=headers, timeout=30)
    columns = [
        "id",
        "queue",
        "status",
        "reference",
        "customer_id",
        "attempts",
        "due_at",
        "created_at",
        "updated_at",
    ]

    def fill_model(model: QStandardItemModel, limit: int) -> None:
        rows = http.get("/v1/ops/items", params={"limit": limit}).json()["items"]
        model.clear()
        model.setHorizontalHeaderLabels(columns)
        for row in rows:
            model.appendRow([QStandardItem(str(row.get(c) or "")) for c in columns])

    def build() -> tuple[QTableView, QStandardItemModel]:
        view = QTableView()
        model = QStandardItemModel()
        view.setModel(model)
        view.resize(1440, 900)
        view.show()
        fill_model(model, page)
        app.processEvents()
        return view, model

    return build, fill_model


def stall_console(app: QApplication, view: ItemsView, refreshes: int) -> int:
    while view.model.rowCount() < MAX_PAGE and view.next_cursor:  # scroll until 500 rows are loaded
        before = view.model.rowCount()
        view.load_more()
        wait(app, lambda before=before: view.model.rowCount() > before)
    shown: list[bool] = []
    view.loaded.connect(lambda: shown.append(True))
    with StallMeter() as meter:
        for n in range(refreshes):
            view.refresh()
            wait(app, lambda n=n: len(shown) > n)
            app.processEvents()
    view.loaded.disconnect()
    return meter.longest


def stall_idle(app: QApplication, seconds: float) -> int:
    """The same timer with nothing to do: what the machine itself (other processes, the scheduler) costs."""
    with StallMeter() as meter:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.0005)
    return meter.longest


def stall_bare(
    app: QApplication, model: QStandardItemModel, fill_model: Callable[..., None], refreshes: int
) -> int:
    with StallMeter() as meter:
        for _ in range(refreshes):
            QTimer.singleShot(0, lambda: fill_model(model, MAX_PAGE))
            for _ in range(5):
                app.processEvents()
                time.sleep(0.002)
    return meter.longest


SERVE = """
import sys
from pathlib import Path
import uvicorn
from bots.runtime.bot import Registry
from bots.runtime.clock import FixedClock
from bots.runtime.ops_api import create_ops_app
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from datetime import UTC, datetime
url, port, data = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
store = Store(url, FixedClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)))
settings = Settings(data_dir=data, _env_file=None, ops_argon2_time_cost=1, ops_argon2_memory_kib=8,
                    ops_argon2_parallelism=1)
app = create_ops_app(store, Registry.discover(settings.bots), settings, allow_setup=False)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


@contextmanager
def api_process(db_url: str, data: Path) -> Iterator[str]:
    """The operator API in its own process, as a remote one (or one on another core) would run."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, db_url, str(port), str(data)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the operator API did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--page", type=int, default=100)
    parser.add_argument("--refreshes", type=int, default=20)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        store = Store(url, FixedClock(NOW))
        settings = Settings(data_dir=Path(tmp), _env_file=None,  # type: ignore[call-arg]
                            ops_argon2_time_cost=1, ops_argon2_memory_kib=8, ops_argon2_parallelism=1)  # fmt: skip
        started = time.perf_counter()
        fill(store, args.items)
        console.print(f"{args.items:,} items stored in {time.perf_counter() - started:.1f} s")
        add_operator(store, settings, "chef", Role.SUPERVISOR, (), PASSWORD, actor="bench")
        with api_process(url, Path(tmp)) as api:
            make_console = console_view(app, api, args.page)
            make_bare, fill_model = bare_view(app, api, args.page)
            make_console()  # warm up both paths (imports, first connections, SQLite page cache)
            make_bare()
            ours: list[Shown] = []
            bare: list[Shown] = []
            kept: list[Any] = []
            for r in range(args.rounds):
                order = [(make_console, ours), (make_bare, bare)]
                for build, into in order if r % 2 == 0 else reversed(order):
                    view, shown = measured(build)
                    into.append(shown)
                    kept.append(view)
            console_view_, _ = measured(make_console)
            bare_table, _ = measured(make_bare)
            started = time.perf_counter()
            ours_stall = stall_console(app, console_view_, args.refreshes)
            idle_stall = stall_idle(app, time.perf_counter() - started)
            bare_stall = stall_bare(app, bare_table[1], fill_model, args.refreshes)
        # the embedded default: `portalbots console` serves the local API in a thread of its own process
        app_ = create_ops_app(store, Registry.discover(settings.bots), settings, allow_setup=False)
        with ThreadedServer(app_, name="ops-api") as server:
            local_view, _ = measured(console_view(app, server.url, args.page))
            local_stall = stall_console(app, local_view, args.refreshes)
        store.dispose()

    def med(values: list[Shown], attr: str) -> float:
        return statistics.median(getattr(v, attr) for v in values)

    table = Table(
        title=f"items view over {args.items:,} items, first page of {args.page} (medians of {args.rounds})"
    )
    table.add_column("")
    table.add_column("console ItemsView", justify="right")
    table.add_column("bare QTableView", justify="right")
    table.add_column("ratio", justify="right")
    for label, attr, unit in (("first rows shown", "ms", "ms"), ("Python memory (peak)", "py_kib", "KiB"),
                              ("resident set growth", "rss_kib", "KiB")):  # fmt: skip
        a, b = med(ours, attr), med(bare, attr)
        table.add_row(label, f"{a:,.1f} {unit}", f"{b:,.1f} {unit}", f"{a / b:.2f}×" if b else "–")
    table.add_row(
        f"longest GUI stall, {args.refreshes} refreshes of {MAX_PAGE} rows",
        f"{ours_stall} ms",
        f"{bare_stall} ms",
        f"{ours_stall / bare_stall:.2f}×" if bare_stall else "–",
    )
    table.add_row(
        "  the same with the API in a thread of this process",
        f"{local_stall} ms",
        "",
        "",
    )
    table.add_row("  the timer alone, no refresh (the machine's noise)", f"{idle_stall} ms", "", "")
    console.print(table)
    goal = "met" if ours_stall < 50 else "MISSED"
    console.print(f"goal: the console's longest GUI-thread stall under 50 ms: {goal} ({ours_stall} ms)")


if __name__ == "__main__":
    main()
