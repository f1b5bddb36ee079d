"""Intake cost per accepted request, against a bare FastAPI endpoint and a durable floor, in one run.

Run: .venv/bin/python benchmarks/intake_throughput.py [--requests N] [--rounds R] [--databases sqlite,postgresql]

All servers are uvicorn subprocesses with one worker; a client process sends the same ARK request body with
a fresh Idempotency-Key each time, from 8 threads. (a) baseline: a FastAPI app whose one POST validates the
body with the ARK request model and answers 202 — what any JSON API on this stack costs. (b) the intake: bearer
token, validation, the booking horizon, the item and its event stored, "run item X" sent to Redis. (c) the
floor: (a) that also stores the item and its event as hand-written SQL on the driver (durable_floor.py, one
connection per thread, on SQLite one writer of the process at a time) and sends "run item X" with Celery as it
comes (kombu's own Redis transport), in the thread pool as the intake does: c/a is the most any intake that
keeps what it accepts could reach, b/c what the intake's own code costs. Measured: the server process's CPU-ms
per request (/proc) and requests per second; each round runs all three, in turn first.
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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import redis  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.runtime_throughput import database as fresh_database  # noqa: E402
from bots.runtime.serve import free_port  # noqa: E402

TOKEN = "bench-intake-token-0123456789"
REDIS_URL = os.environ.get("PORTALBOTS_TEST_REDIS", "redis://127.0.0.1:6379") + "/12"
THREADS = 8
BODY = {
    "customer_id": "K100001",
    "policy_number": "ARK-4711-0001",
    "travel_start": "2027-03-01",
    "travel_end": "2027-03-14",
    "country": "TH",
    "languages": ["de", "en"],
}
BARE_APP = """
from typing import Annotated
from fastapi import Body, FastAPI, Header
from fastapi.responses import JSONResponse
from bots.ark_certificate.request import ArkRequest

app = FastAPI()

@app.post("/v1/ark-certificates", status_code=202)
async def submit(body: Annotated[ArkRequest, Body()], idempotency_key: Annotated[str | None, Header()] = None):
    return JSONResponse({"id": 1, "status": "pending", "reference": idempotency_key}, status_code=202)
"""
FLOOR_APP = """
import os
import threading
from contextlib import nullcontext
from typing import Annotated

from celery import Celery
from fastapi import Body, FastAPI, Header
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import durable_floor
from bots.ark_certificate.request import ArkRequest
from bots.runtime.dispatch import configure
from bots.runtime.settings import Settings

app = FastAPI()
celery = configure(Settings(), Celery("floor"))
celery.conf.broker_transport = None  # Celery as it comes: kombu's own Redis transport, not the runtime's
url = os.environ["PORTALBOTS_DATABASE_URL"]
mine = threading.local()
turn = threading.Lock() if url.startswith("sqlite") else nullcontext()

def accept(body: ArkRequest, key: str | None) -> int:
    if not hasattr(mine, "floor"):
        mine.floor = durable_floor.FloorStore(url)
    with turn:
        item_id = mine.floor.submit(body.model_dump(mode="json"), body.customer_id, key)
    celery.send_task("bench.floor", args=[item_id], queue="bench_floor", argsrepr=f"[{item_id}]", kwargsrepr="{}")
    return item_id

@app.post("/v1/ark-certificates", status_code=202)
async def submit(body: Annotated[ArkRequest, Body()], idempotency_key: Annotated[str | None, Header()] = None):
    item_id = await run_in_threadpool(accept, body, idempotency_key)
    return JSONResponse({"id": item_id, "status": "pending", "reference": idempotency_key}, status_code=202)
"""
APPS = ("bare", "intake", "floor")

console = Console()


@dataclass
class Measure:
    what: str
    requests: int
    seconds: float
    cpu_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_ms / self.requests


def cpu_ms(pid: int) -> float:
    """User + system CPU of `pid` and its children so far, in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def serve(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{cmd} did not start")


def load(port: int, requests: int) -> float:
    """Send `requests` requests from THREADS threads; the wall time."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    per_thread = requests // THREADS
    failures: list[str] = []

    def work() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(per_thread):
                r = client.post(
                    "/v1/ark-certificates",
                    json=BODY,
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                )
                if r.status_code != 202:
                    failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return time.perf_counter() - started


def measure(what: str, proc: subprocess.Popen[bytes], port: int, requests: int) -> Measure:
    load(port, 40)  # warm-up: imports, connections, caches
    before = cpu_ms(proc.pid)
    seconds = load(port, requests)
    return Measure(what, requests - requests % THREADS, seconds, cpu_ms(proc.pid) - before)


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh, migrated database (runtime_throughput's); afterwards the messages sent are flushed from Redis."""
    broker = redis.Redis.from_url(REDIS_URL)
    try:
        with fresh_database(kind, tmp) as url:
            yield url
    finally:
        broker.flushdb()
        broker.close()


def server_env(tmp: Path, url: str, token: str, *paths: str, **settings: str) -> dict[str, str]:
    """The environment of a server subprocess: none of ours but these settings, the apps written to `tmp` and
    `paths` importable, the store at `url`, `token` the intake's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(
        PYTHONPATH=":".join([str(ROOT), str(tmp), *paths]),
        PORTALBOTS_DATA_DIR=str(tmp / "var"),
        PORTALBOTS_DATABASE_URL=url,
        PORTALBOTS_INTAKE_TOKEN=token,
        **settings,
    )
    return env


def measure_all(kind: str, url: str, tmp: Path, rounds: int, requests: int) -> dict[str, list[Measure]]:
    """`rounds` rounds of (a), (b) and (c) on the database at `url`, each round starting with the next one."""
    env = server_env(tmp, url, TOKEN, f"{ROOT / 'benchmarks'}", PORTALBOTS_BROKER_URL=REDIS_URL)
    results: dict[str, list[Measure]] = {what: [] for what in APPS}
    for n in range(rounds):
        for what in APPS[n % 3 :] + APPS[: n % 3]:
            port = free_port()
            if what == "intake":
                cmd = [sys.executable, "-m", "bots.cli", "intake", "--port", str(port)]
            else:
                cmd = [sys.executable, "-m", "uvicorn", f"{what}_app:app", "--port", str(port)]
                cmd += ["--log-level", "warning"]
            proc = serve(cmd, env, port)
            try:
                results[what].append(measure(what, proc, port, requests))
            finally:
                proc.terminate()
                proc.wait(20)
            last = results[what][-1]
            console.print(
                f"[dim]{kind} round {n + 1}: {what} {last.per_second:.0f} req/s, "
                f"{last.cpu_per_request:.2f} CPU ms/req[/dim]"
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    table = Table(
        title=f"Intake vs bare FastAPI and the floor, 1 uvicorn worker, {THREADS} client threads, {os.cpu_count()} CPUs"
    )
    for col in (
        "database",
        "(a) bare req/s",
        "(b) intake req/s",
        "b/a req/s",
        "(c) floor req/s",
        "c/a req/s",
        "b/c req/s",
        "CPU ms/req (a) / (b) / (c)",
        "a/b CPU",
        "a/c CPU",
        "c/b CPU",
    ):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory(prefix="pb-bench-intake-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "bare_app.py").write_text(BARE_APP)
        (tmp / "floor_app.py").write_text(FLOOR_APP)
        for kind in args.databases.split(","):
            with database(kind, tmp) as url:
                results = measure_all(kind, url, tmp, args.rounds, args.requests)
            a, b, c = (statistics.median(m.per_second for m in results[what]) for what in APPS)
            ca, cb, cc = (statistics.median(m.cpu_per_request for m in results[what]) for what in APPS)
            table.add_row(
                kind,
                f"{a:.0f}",
                f"{b:.0f}",
                f"{b / a:.2f}",
                f"{c:.0f}",
                f"{c / a:.2f}",
                f"{b / c:.2f}",
                f"{ca:.2f} / {cb:.2f} / {cc:.2f}",
                f"{ca / cb:.2f}",
                f"{ca / cc:.2f}",
                f"{cc / cb:.2f}",
            )
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
