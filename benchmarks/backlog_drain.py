"""The backlog the supervisors watch: N ARK requests deferred on a Saturday night, drained after Monday's
opening, against the same N submitted in service hours — in one run, with 1 and 2 worker processes.

Run: .venv/bin/python benchmarks/backlog_drain.py [--items N] [--workers 1,2] [--against CHECKOUT]
     [--latency] (30 sequential and 30 simultaneous requests: p50/p95 from submission to the Postfach)
     [--threads 1,4,8 --slow-system MS] (in hours, one worker process running T items at once in threads,
     against a policy administration that takes MS ms per page, against 2 processes of one item each)

Real parts: `portalbots sandbox` (web UI + Postfach SMTP) as a process, a SQLite store, Redis as broker,
`portalbots worker --concurrency W` processes with Debian's Chromium. The clock shift puts every process on a
Saturday 23:00 (the requests are deferred to Monday 07:00) or on a Tuesday 10:00. Measured per run: wall time
from the opening (or the first submission) to the last item done, CPU seconds of the worker's process tree
(worker, pool processes, Playwright driver, Chromium) and of the sandbox, per item; the broker queue's length
against the pending items during the drain. `--against` runs the worker from another checkout (the code before
a change) on the same sandbox and store, for CPU per item before/after; it loads the bots that checkout's own
pyproject.toml names (checkout.py), so an older checkout runs too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from celery import Celery  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bots.runtime import schema as t  # noqa: E402
from bots.runtime.clock import ShiftedClock  # noqa: E402
from bots.runtime.dispatch import CeleryDispatcher, configure  # noqa: E402
from bots.runtime.maintenance import tick  # noqa: E402
from bots.runtime.migrate import upgrade  # noqa: E402
from bots.runtime.serve import free_port  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402
from bots.runtime.states import Status  # noqa: E402
from bots.runtime.store import Store  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent))  # the modules beside this file, however it is imported
import checkout  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
SATURDAY_23 = datetime(2026, 11, 28, 23, 0, tzinfo=BERLIN)
MONDAY_07 = datetime(2026, 11, 30, 7, 0, tzinfo=BERLIN)
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)
QUEUE = "ark_certificate"
REDIS_URL = os.environ.get("PORTALBOTS_TEST_REDIS", "redis://127.0.0.1:6379") + "/11"
ADMIN = {"Authorization": "Bearer dev-sandbox-admin-token"}
CUSTOMERS = 200
TERMINAL = {Status.DONE, Status.REJECTED, Status.FAILED, Status.HANDED_OFF, Status.ABANDONED}

console = Console()


def cpu_by_kind(root: int) -> dict[str, float]:
    """CPU seconds so far of `root` and every living process below it (each with its reaped children), by kind:
    the worker's Python processes, the Playwright driver (node), Chromium's renderers and its other processes."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick_rate = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        times[pid] = sum(int(v) for v in fields[11:15]) / tick_rate
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier += children
    kinds: dict[str, float] = {}
    for pid in tree:
        kind = _kind(pid)
        kinds[kind] = kinds.get(kind, 0.0) + times.get(pid, 0.0)
    return kinds


def _kind(pid: int) -> str:
    try:
        argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    line = b" ".join(argv)  # Chromium's zygote children rewrite their command line into one string
    if b"--type=renderer" in line:
        return "Chromium renderers"
    if b"chrom" in argv[0].split(b" ")[0]:
        return "Chromium (browser, GPU, utility)"
    if argv and argv[0].endswith(b"node"):
        return "Playwright driver"
    if argv and b"python" in argv[0]:
        return "worker (Python)"
    return "other"


def cpu_seconds(root: int) -> float:
    return sum(cpu_by_kind(root).values())


@dataclass
class Run:
    label: str
    items: int
    seconds: float
    worker_cpu: float
    sandbox_cpu: float
    queue_samples: list[tuple[int, int]] = field(default_factory=list)  # (broker queue length, pending)
    kinds: dict[str, float] = field(default_factory=dict)  # the worker's CPU seconds by process kind
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.items / self.seconds


class Rig:
    """The sandbox process, the store and the broker; workers come and go per run."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.http, self.smtp = free_port(), free_port()
        sandbox_env = {
            **env,
            "PORTALBOTS_SANDBOX_PORT": str(self.http),
            "PORTALBOTS_SMTP_PORT": str(self.smtp),
        }
        self.sandbox_log = (tmp / "sandbox.log").open("ab")
        self.sandbox = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "sandbox"], env=sandbox_env, cwd=ROOT,
            stdout=self.sandbox_log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.http}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/healthz", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        seeded = httpx.post(
            f"{self.url}/admin/seed", json={"customers": CUSTOMERS}, headers=ADMIN, timeout=120
        )
        # The sandbox keeps the real clock, the workers a shifted one: the runtime's calendar decides when
        # items run (what is measured), so the sandbox's own hours must not close it at a late real hour.
        httpx.put(
            f"{self.url}/admin/faults", json={"force_open": True}, headers=ADMIN, timeout=10
        ).raise_for_status()
        self.policies = [
            (c["customer_id"], p["policy_number"])
            for c in seeded.json()["customers"]
            for p in c["policies"]
            if p["line"] == "ARK"
            and p["status"] == "aktiv"
            and p["end_date"] is None
            and (p.get("travel_cover") or {}).get("area") == "WORLD_EXCEPT_DE"
            and c.get("country", "DE") == "DE"
            and all(person["covered_from"] <= "2026-12-01" for person in p["insured_persons"])
        ]
        self.env.update(
            PORTALBOTS_SANDBOX_URL=self.url,
            PORTALBOTS_SMTP_HOST="127.0.0.1",
            PORTALBOTS_SMTP_PORT=str(self.smtp),
        )

    def close(self) -> None:
        os.killpg(self.sandbox.pid, signal.SIGTERM)
        self.sandbox.wait(30)
        self.sandbox_log.close()

    def request(self, n: int, start: datetime) -> dict[str, Any]:
        customer, policy = self.policies[n % len(self.policies)]
        day = start.astimezone(BERLIN).date() + timedelta(days=14 + n % 200)
        return {
            "customer_id": customer, "policy_number": policy, "travel_start": day.isoformat(),
            "travel_end": (day + timedelta(days=6)).isoformat(), "country": "TH", "languages": ["de"],
        }  # fmt: skip


class Worker:
    def __init__(
        self, rig: Rig, env: dict[str, str], concurrency: int, shift: float, code: Path, pool: str = "prefork"
    ) -> None:
        self.log = (rig.tmp / f"worker-{uuid.uuid4().hex[:6]}.log").open("ab")
        env = {**env, "PORTALBOTS_CLOCK_SHIFT": f"{shift:.3f}", "PYTHONPATH": checkout.pythonpath(code)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", "worker", "--queues", QUEUE, "--concurrency", str(concurrency),
             "--loglevel", "WARNING", *(["--pool", pool] if pool != "prefork" else [])],
            env=env, cwd=code, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


def fresh_store(rig: Rig, moment: datetime) -> tuple[Store, CeleryDispatcher, str]:
    url = f"sqlite:///{rig.tmp / f'runtime-{uuid.uuid4().hex[:6]}.db'}"
    upgrade(url)
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    broker.close()
    settings = Settings(data_dir=rig.tmp / "var", database_url=url, broker_url=REDIS_URL, _env_file=None)  # type: ignore[call-arg]
    celery = configure(settings, Celery(f"bench-{uuid.uuid4().hex[:6]}"))
    return Store(url, ShiftedClock(moment - datetime.now(UTC))), CeleryDispatcher(celery), url


@dataclass(frozen=True)
class Submission:
    """One request of a drain in service hours: queue, payload, customer, uploads (`Upload`s, or none)."""

    queue: str
    payload: dict[str, Any]
    customer_id: str
    uploads: tuple[Any, ...] = ()


def drain_in_hours(
    rig: Rig, queues: tuple[str, ...], workers: int, submissions: list[Submission]
) -> dict[str, float]:
    """`submissions` sent on a Tuesday 10:00 to a fresh store, drained by one `portalbots worker --queues …
    --concurrency W`; every item must end done. Items/s, wall seconds, CPU seconds per item of the worker's
    process tree and of the sandbox (the bank change's and the claims forwarder's benchmarks)."""
    store, dispatcher, url = fresh_store(rig, TUESDAY_10)
    env = {
        **rig.env,
        "PORTALBOTS_DATABASE_URL": url,
        "PORTALBOTS_BROKER_URL": REDIS_URL,
        "PORTALBOTS_CLOCK_SHIFT": f"{(TUESDAY_10 - datetime.now(UTC)).total_seconds():.3f}",
    }
    log = (rig.tmp / f"worker-{uuid.uuid4().hex[:6]}.log").open("ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "bots.cli", "worker", "--queues", ",".join(queues), "--concurrency", str(workers),
         "--loglevel", "WARNING"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(8)  # the worker's start (imports, pool) is not the drain's
        cpu_before, sandbox_before = cpu_by_kind(worker.pid), cpu_seconds(rig.sandbox.pid)
        started = time.perf_counter()
        ids = []
        for sub in submissions:
            item, _ = store.submit(sub.queue, sub.payload, customer_id=sub.customer_id, uploads=sub.uploads)
            dispatcher.enqueue(item)
            ids.append(item.id)
        wait_all(store, ids, TERMINAL, 1800)
        seconds = time.perf_counter() - started
        cpu = sum(cpu_by_kind(worker.pid).values()) - sum(cpu_before.values())
        sandbox_cpu = cpu_seconds(rig.sandbox.pid) - sandbox_before
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
        log.close()
    bad = [i for i in (store.get(i) for i in ids) if i.status != Status.DONE]
    store.dispose()
    if bad:
        raise RuntimeError(f"{len(bad)} items not done, e.g. {bad[0].queue} {bad[0].status} {bad[0].error}")
    n = len(submissions)
    return {"rate": n / seconds, "seconds": seconds, "cpu": cpu / n, "sandbox": sandbox_cpu / n}


def wait_all(
    store: Store, ids: list[int], states: set[Status], deadline_s: float, sample: Any = None
) -> None:
    deadline = time.monotonic() + deadline_s
    wanted = set(ids)
    query = sa.select(t.items.c.id, t.items.c.status).where(t.items.c.id >= min(ids))
    while True:
        with (
            store.engine.connect() as conn
        ):  # one query, not one per item: the poll should not load the machine
            statuses = [Status(status) for id_, status in conn.execute(query) if id_ in wanted]
        if all(s in states for s in statuses):
            return
        if sample is not None:
            sample(statuses)
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"waited {deadline_s:.0f} s: {sum(s in states for s in statuses)}/{len(ids)} reached"
            )
        time.sleep(0.5)


def measure_drain(
    rig: Rig, n: int, concurrency: int, deferred: bool, code: Path, pool: str = "prefork"
) -> Run:
    """N requests, all done: drained from Monday's opening (deferred) or submitted on a Tuesday morning."""
    first = SATURDAY_23 if deferred else TUESDAY_10
    store, dispatcher, url = fresh_store(rig, first)
    env = {**rig.env, "PORTALBOTS_DATABASE_URL": url, "PORTALBOTS_BROKER_URL": REDIS_URL}
    ids = []
    if deferred:  # the night: a worker defers what arrives (each to Monday 07:00), then goes
        night = Worker(rig, env, 1, (SATURDAY_23 - datetime.now(UTC)).total_seconds(), code)
        for k in range(n):
            item, _ = store.submit(QUEUE, rig.request(k, first), customer_id="K")
            dispatcher.enqueue(item)
            ids.append(item.id)
        wait_all(store, ids, {Status.DEFERRED}, 600)
        night.stop()
        store.clock = ShiftedClock(MONDAY_07 - datetime.now(UTC))
    moment = MONDAY_07 if deferred else TUESDAY_10
    worker = Worker(rig, env, concurrency, (moment - datetime.now(UTC)).total_seconds(), code, pool)
    time.sleep(8)  # the worker's start (imports, pool) is not the drain's
    kinds_before, sandbox_before = cpu_by_kind(worker.proc.pid), cpu_seconds(rig.sandbox.pid)
    started = time.perf_counter()
    if deferred:
        tick(store, dispatcher)  # housekeeping at the opening: everything due is released and sent at once
    else:
        for k in range(n):
            item, _ = store.submit(QUEUE, rig.request(k, first), customer_id="K")
            dispatcher.enqueue(item)
            ids.append(item.id)
    samples: list[tuple[int, int]] = []
    broker = redis.Redis.from_url(REDIS_URL)

    def sample(statuses: list[Status]) -> None:
        samples.append((int(broker.llen(QUEUE)), sum(s == Status.PENDING for s in statuses)))

    try:
        wait_all(store, ids, TERMINAL, 3600, sample)
    finally:
        seconds = time.perf_counter() - started
        kinds_after = cpu_by_kind(worker.proc.pid)
        worker.stop()
    kinds = {k: v - kinds_before.get(k, 0.0) for k, v in kinds_after.items()}
    broker.close()
    sandbox_cpu = cpu_seconds(rig.sandbox.pid) - sandbox_before
    done = [store.get(i) for i in ids]
    store.dispose()
    bad = [i for i in done if i.status != Status.DONE]
    if bad:
        raise RuntimeError(f"{len(bad)} items not done, e.g. {bad[0].status} {bad[0].error}")
    label = f"{'deferred' if deferred else 'in hours'}, {concurrency} worker process{'es' if concurrency > 1 else ''}"
    if pool == "threads":
        label = f"{'deferred' if deferred else 'in hours'}, 1 worker process × {concurrency} threads"
    return Run(label, n, seconds, sum(kinds.values()), sandbox_cpu, samples, kinds=kinds)


def measure_latency(rig: Rig, simultaneous: bool, concurrency: int, code: Path) -> Run:
    """30 requests, one after the other or all at once: seconds from submission to the Postfach (done)."""
    store, dispatcher, url = fresh_store(rig, TUESDAY_10)
    env = {**rig.env, "PORTALBOTS_DATABASE_URL": url, "PORTALBOTS_BROKER_URL": REDIS_URL}
    worker = Worker(rig, env, concurrency, (TUESDAY_10 - datetime.now(UTC)).total_seconds(), code)
    time.sleep(8)
    latencies: list[float] = []
    cpu_before = cpu_seconds(worker.proc.pid)
    started = time.perf_counter()

    def one(k: int) -> None:
        t0 = time.perf_counter()
        item, _ = store.submit(QUEUE, rig.request(1000 + k, TUESDAY_10), customer_id="K")
        dispatcher.enqueue(item)
        wait_all(store, [item.id], TERMINAL, 600)
        latencies.append(time.perf_counter() - t0)

    if simultaneous:
        threads = [threading.Thread(target=one, args=(k,)) for k in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for k in range(30):
            one(k)
    seconds = time.perf_counter() - started
    worker_cpu = cpu_seconds(worker.proc.pid) - cpu_before
    worker.stop()
    store.dispose()
    label = f"30 {'simultaneous' if simultaneous else 'sequential'}, {concurrency} worker processes"
    return Run(label, 30, seconds, worker_cpu, 0.0, latencies=latencies)


def measure_threads(rig: Rig, n: int, threads: list[int], latency_ms: int) -> list[Run]:
    """In hours, against a policy administration that answers each page after `latency_ms`: one worker process
    running T items at once (threads pool, a browser per thread), and 2 prefork processes for comparison."""
    faults = httpx.put(f"{rig.url}/admin/faults", json={"latency_ms": latency_ms}, headers=ADMIN, timeout=10)
    faults.raise_for_status()
    runs = []
    try:
        for t in threads:
            runs.append(measure_drain(rig, n, t, False, ROOT, pool="threads"))
        runs.append(measure_drain(rig, n, 2, False, ROOT))
    finally:
        httpx.post(f"{rig.url}/admin/faults/reset", headers=ADMIN, timeout=10).raise_for_status()
    for r in runs:
        r.label += f", system {latency_ms} ms per page"
        console.print(f"[dim]{r.label}: {r.rate:.2f} items/s[/dim]")
    return runs


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure")
    parser.add_argument(
        "--against", type=Path, help="also measure in-hours CPU per item with this checkout's worker"
    )
    parser.add_argument(
        "--latency", action="store_true", help="also 30 sequential and 30 simultaneous requests"
    )
    parser.add_argument("--threads", help="thread counts of one worker process to measure, e.g. 1,4,8")
    parser.add_argument(
        "--slow-system",
        type=int,
        default=0,
        metavar="MS",
        help="the policy administration's latency per page",
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-backlog-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(PYTHONPATH=str(ROOT), PORTALBOTS_DATA_DIR=str(tmp / "var"), PORTALBOTS_BROWSER_TRACE="retries")
    rig = Rig(tmp, env)
    runs: list[Run] = []
    try:
        for workers in (int(w) for w in args.workers.split(",")):
            for deferred in (False, True):
                runs.append(measure_drain(rig, args.items, workers, deferred, ROOT))
                console.print(f"[dim]{runs[-1].label}: {runs[-1].rate:.2f} items/s[/dim]")
        if args.against:
            # the old code's worker reads PORTALBOTS_BROWSER_TRACE as true/false
            rig.env["PORTALBOTS_BROWSER_TRACE"] = "true"
            before = measure_drain(rig, args.items, 2, False, args.against.resolve())
            before.label = f"in hours, 2 worker processes, code of {args.against}"
            rig.env["PORTALBOTS_BROWSER_TRACE"] = "retries"
            runs.append(before)
        if args.latency:
            for simultaneous in (False, True):
                runs.append(measure_latency(rig, simultaneous, 2, ROOT))
        if args.threads:
            runs += measure_threads(
                rig, args.items, [int(t) for t in args.threads.split(",")], args.slow_system
            )
    finally:
        rig.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(runs, args.items)
    return 0


def report(runs: list[Run], items: int) -> None:
    cores = os.cpu_count() or 1
    table = Table(
        title=f"ARK backlog drain, {items} items, {cores} CPUs (Chromium, SQLite, Redis, sandbox on them)"
    )
    for col in ("run", "items/s", "wall s", "worker+Chromium CPU s/item", "sandbox CPU s/item", "p50 s", "p95 s",
                "max broker queue / pending"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in runs:
        p50 = f"{statistics.median(r.latencies):.1f}" if r.latencies else ""
        p95 = f"{percentile(r.latencies, 95):.1f}" if r.latencies else ""
        ratio = max((q / p for q, p in r.queue_samples if p), default=0.0)
        table.add_row(
            r.label, f"{r.rate:.2f}", f"{r.seconds:.0f}", f"{r.worker_cpu / r.items:.2f}",
            f"{r.sandbox_cpu / r.items:.3f}", p50, p95, f"{ratio:.2f}" if r.queue_samples else "",
        )  # fmt: skip
    console.print(table)
    kinds = sorted({k for r in runs for k in r.kinds})
    if kinds:
        split = Table(title="worker CPU seconds per item, by process")
        for col in ("run", *kinds):
            split.add_column(col, justify="right")
        for r in runs:
            if r.kinds:
                split.add_row(r.label, *(f"{r.kinds.get(k, 0.0) / r.items:.3f}" for k in kinds))
        console.print(split)
    by_label = {r.label: r for r in runs}
    for workers in (1, 2):
        suffix = f"{workers} worker process{'es' if workers > 1 else ''}"
        hours, night = by_label.get(f"in hours, {suffix}"), by_label.get(f"deferred, {suffix}")
        if hours and night:
            console.print(
                f"{suffix}: deferred drain / in-hours time = [bold]{night.seconds / hours.seconds:.2f}×[/bold]; "
                f"10,000 deferred items would take {10_000 / night.rate / 60:.0f} min after the opening"
            )


if __name__ == "__main__":
    raise SystemExit(main())
