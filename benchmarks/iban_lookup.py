"""IBAN look-ups per second, in one run: through the intake (`GET /v1/iban/{iban}`) vs `check_iban` alone vs
schwifty's `IBAN()` alone (and a bare FastAPI endpoint calling `check_iban`, to show what the framework costs).

Run: .venv/bin/python benchmarks/iban_lookup.py [--lookups N] [--rounds R]

(a) the intake: `portalbots intake` as operators run it (a uvicorn subprocess, one worker, its access log
on), a client process sending look-ups from 8 threads with keep-alive, as a portal's form would while
customers type; measured: look-ups per second and the server process's CPU per look-up (/proc).
(a0) the baseline: a bare FastAPI app whose one GET returns `check_iban`'s answer, served the same way
(uvicorn, one worker, access log on) — what any endpoint on this stack costs; no token, no route class.
(b) `check_iban` alone, in this process: normalise, the reasons, BIC and bank name, the result model.
(c) schwifty's `IBAN(text)` alone (validation only), and (c+) with `.bank`, `.bic` as `check_iban` reads
them — what any IBAN check on schwifty costs at least. (b) and (c) run in one thread: CPU ≈ wall time.

The same corpus everywhere: valid IBANs of six countries and invalid ones (checksum, length, unknown bank,
not SEPA), half of them typed in lower case with blanks. Rounds alternate the order of (a), (b), (c);
the table shows medians and ratios. Look-ups per CPU-second is the steadier figure on shared CPUs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from schwifty import IBAN  # noqa: E402
from schwifty.exceptions import SchwiftyException  # noqa: E402

from benchmarks.intake_throughput import cpu_ms, serve, server_env  # noqa: E402  (the same server start, CPU reading)
from bots.bank_change.iban import check_iban, warm_up  # noqa: E402
from bots.runtime.migrate import upgrade  # noqa: E402
from bots.runtime.serve import free_port  # noqa: E402

TOKEN = "bench-iban-token-0123456789"
THREADS = 8
VALID = [
    "DE89370400440532013000",
    "AT483200000012345864",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
]
INVALID = [
    "DE89370400440532013001",  # checksum
    "DE8937040044053201300",  # length
    "DE65123456780532013000",  # unknown bank
    "BR1800360305000010009795493C1",  # not SEPA
]
CORPUS = [*VALID, *(" ".join(v[i : i + 4] for i in range(0, len(v), 4)).lower() for v in VALID), *INVALID]

BARE_APP = """
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from bots.bank_change.iban import check_iban, warm_up

warm_up()
app = FastAPI()

@app.get("/v1/iban/{iban}")
async def look_up(iban: str) -> JSONResponse:
    return JSONResponse(check_iban(iban).model_dump(mode="json"))
"""

console = Console(width=130)


@dataclass
class Measure:
    lookups: int
    seconds: float
    cpu_seconds: float

    @property
    def per_second(self) -> float:
        return self.lookups / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds / self.lookups * 1e6

    @property
    def per_cpu_second(self) -> float:
        return self.lookups / self.cpu_seconds


def through_intake(port: int, lookups: int) -> float:
    """`lookups` look-ups from THREADS threads, each cycling through the corpus; the wall time."""
    per_thread = lookups // THREADS
    failures: list[str] = []

    def work(offset: int) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
            for n in range(per_thread):
                typed = CORPUS[(offset + n) % len(CORPUS)]
                r = client.get(f"/v1/iban/{quote(typed, safe='')}")
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} look-ups failed, e.g. {failures[0]}")
    return time.perf_counter() - started


def measure_server(port: int, pid: int, lookups: int) -> Measure:
    through_intake(port, 80)  # warm-up: connections, first requests
    before = cpu_ms(pid)
    seconds = through_intake(port, lookups)
    return Measure(lookups - lookups % THREADS, seconds, (cpu_ms(pid) - before) / 1000)


def measure_local(check: Callable[[str], object], lookups: int) -> Measure:
    for typed in CORPUS * 20:  # warm-up
        check(typed)
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(lookups):
        check(CORPUS[n % len(CORPUS)])
    return Measure(lookups, time.perf_counter() - wall, time.process_time() - cpu)


def schwifty_only(typed: str) -> object:
    try:
        return IBAN(typed)
    except SchwiftyException as exc:
        return exc


def schwifty_with_bank(typed: str) -> object:
    try:
        iban = IBAN(typed)
    except SchwiftyException as exc:
        return exc
    bank = iban.bank
    return (bank, iban.bic if bank is not None else None)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lookups", type=int, default=4000, help="look-ups per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    warm_up()
    local = {"check": check_iban, "schwifty": schwifty_only, "schwifty+": schwifty_with_bank}
    results: dict[str, list[Measure]] = {"intake": [], "bare": [], **{what: [] for what in local}}
    with tempfile.TemporaryDirectory(prefix="pb-bench-iban-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "bare_app.py").write_text(BARE_APP)
        url = f"sqlite:///{tmp / 'intake.db'}"
        upgrade(url)
        env = server_env(tmp, url, TOKEN)
        commands = {
            "intake": [sys.executable, "-m", "bots.cli", "intake", "--port"],
            "bare": [sys.executable, "-m", "uvicorn", "bare_app:app", "--log-level", "info", "--port"],
        }
        servers: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
        try:
            for what, cmd in commands.items():
                port = free_port()
                servers[what] = (port, serve([*cmd, str(port)], env, port))
            for n in range(args.rounds):
                order = ["intake", "bare", *local]
                for what in order if n % 2 == 0 else reversed(order):
                    if what in servers:
                        port, proc = servers[what]
                        m = measure_server(port, proc.pid, args.lookups)
                    else:
                        m = measure_local(local[what], args.lookups)
                    results[what].append(m)
                    console.print(
                        f"[dim]round {n + 1}: {what} {m.per_second:,.0f}/s, {m.cpu_us:.1f} CPU µs[/dim]"
                    )
        finally:
            for _, proc in servers.values():
                proc.terminate()
                proc.wait(20)
    report(results, args.lookups, args.rounds)
    return 0


def report(results: dict[str, list[Measure]], lookups: int, rounds: int) -> None:
    rate = {what: statistics.median(m.per_second for m in ms) for what, ms in results.items()}
    cpu = {what: statistics.median(m.cpu_us for m in ms) for what, ms in results.items()}
    table = Table(
        title=f"IBAN look-ups: {len(CORPUS)} inputs cycled, {lookups} per measurement, median of {rounds}; "
        f"servers: 1 uvicorn worker, {THREADS} client threads; {os.cpu_count()} CPUs"
    )
    for col in ("path", "look-ups/s", "look-ups per CPU-s", "CPU µs/look-up", "CPU s/look-up", "CPU ÷ (b)"):
        table.add_column(col, justify="right")
    labels = {
        "intake": "(a) intake GET /v1/iban/{iban}",
        "bare": "(a0) bare FastAPI GET",
        "check": "(b) check_iban",
        "schwifty": "(c) schwifty IBAN()",
        "schwifty+": "(c+) IBAN() + .bank + .bic",
    }
    for what, label in labels.items():
        table.add_row(
            label,
            f"{rate[what]:,.0f}",
            f"{1e6 / cpu[what]:,.0f}",
            f"{cpu[what]:.1f}",
            f"{cpu[what] / 1e6:.1e}",
            f"{cpu[what] / cpu['check']:.2f}",
        )
    console.print(table)
    console.print(
        "CPU per look-up, ratios: "
        f"intake / check_iban = {cpu['intake'] / cpu['check']:.1f}, "
        f"intake / bare FastAPI = {cpu['intake'] / cpu['bare']:.2f}, "
        f"check_iban / schwifty IBAN() = {cpu['check'] / cpu['schwifty']:.1f}, "
        f"check_iban / schwifty IBAN()+bank+bic = {cpu['check'] / cpu['schwifty+']:.2f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
