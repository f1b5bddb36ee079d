"""Celery end to end: a real `portalbots worker` process, real Redis or the embedded filesystem broker.

The worker runs the EchoBot of tests/bots_for_tests.py around the clock (24/7 service hours); the test
process submits through the Store and sends "run item X" through the broker, as the intake does.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery

from bots.runtime.clock import FixedClock, SystemClock
from bots.runtime.dispatch import CeleryDispatcher, configure
from bots.runtime.maintenance import tick
from bots.runtime.models import WorkItem
from bots.runtime.settings import Settings
from bots.runtime.states import TERMINAL, Status
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot
from tests.conftest import REDIS_URL, unavailable

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_DB = 13
WAIT_SECONDS = 60.0

pytestmark = pytest.mark.slow


@dataclass
class Broker:
    kind: str
    url: str | None  # None: the embedded filesystem broker under the data dir


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis), "embedded"])
def broker(request: pytest.FixtureRequest) -> Broker:
    if request.param == "embedded":
        return Broker("embedded", None)
    url = f"{REDIS_URL}/{TEST_REDIS_DB}"
    try:
        client = redis.Redis.from_url(url)
        client.flushdb()
        client.close()
    except redis.ConnectionError:
        unavailable("Redis")
    return Broker("redis", url)


def worker_env(tmp_path: Path, db_url: str, broker: Broker) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(
        PYTHONPATH=str(ROOT),
        PORTALBOTS_DATA_DIR=str(tmp_path / "var"),
        PORTALBOTS_DATABASE_URL=db_url,
        PORTALBOTS_BOTS="tests.bots_for_tests:EchoBot",
        PORTALBOTS_SERVICE_HOURS="mon-sun 00:00-24:00",
        PORTALBOTS_HOLIDAY_STATE="",
        PORTALBOTS_CLOSING_DAYS="",
        PORTALBOTS_LEASE_SECONDS="300",
    )
    if broker.url:
        env["PORTALBOTS_BROKER_URL"] = broker.url
    return env


class Worker:
    """`portalbots worker` in its own process group, so the test can kill it whole."""

    def __init__(self, env: dict[str, str], log: Path, pool: str = "prefork", concurrency: int = 2) -> None:
        self.log = log
        self._log_fh = log.open("ab")
        argv = ["worker", "--queues", "echo", "--concurrency", str(concurrency), "--pool", pool]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bots.cli", *argv],
            cwd=ROOT,
            env=env,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log_fh.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # warm shutdown, as an operator's Ctrl-C; the main process stops its pool
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log_fh.close()


@dataclass
class Rig:
    store: Store
    dispatcher: CeleryDispatcher
    env: dict[str, str]
    tmp_path: Path
    workers: list[Worker]

    def start_worker(self, pool: str = "prefork", concurrency: int = 2) -> Worker:
        log = self.tmp_path / f"worker-{len(self.workers)}.log"
        worker = Worker(self.env, log, pool, concurrency)
        self.workers.append(worker)
        return worker

    def submit(self, **payload: object) -> WorkItem:
        item, _ = self.store.submit(
            "echo", {"customer_id": "K1", **payload}, customer_id="K1", max_attempts=EchoBot.max_attempts
        )
        self.dispatcher.enqueue(item)
        return item

    def wait_for(self, item_id: int, done: Callable[[WorkItem], bool], what: str) -> WorkItem:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            item = self.store.get(item_id)
            if done(item):
                return item
            for worker in self.workers:
                if worker.proc.poll() not in (None, -signal.SIGKILL):
                    pytest.fail(f"worker died: {worker.log.read_text()[-3000:]}")
            time.sleep(0.05)
        logs = "\n".join(w.log.read_text()[-2000:] for w in self.workers)
        pytest.fail(f"item {item_id} never became {what}; it is {self.store.get(item_id).status}\n{logs}")

    def wait_terminal(self, item_id: int) -> WorkItem:
        return self.wait_for(
            item_id, lambda i: i.status in TERMINAL or i.status == Status.HANDED_OFF, "final"
        )


@pytest.fixture
def rig(tmp_path: Path, db_url: str, broker: Broker) -> Iterator[Rig]:
    env = worker_env(tmp_path, db_url, broker)
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, broker_url=broker.url, _env_file=None)
    celery = configure(settings, Celery("portalbots-test"))
    store = Store(db_url, SystemClock())
    rig = Rig(store, CeleryDispatcher(celery), env, tmp_path, [])
    yield rig
    for worker in rig.workers:
        worker.stop()
    store.dispose()
    celery.close()


def test_items_run_through_the_worker(rig: Rig) -> None:
    rig.start_worker()
    ok = rig.submit(action="ok", text="Grüße")
    rejected = rig.submit(action="reject")
    handed = rig.submit(action="handoff")

    assert rig.wait_terminal(ok.id).status == Status.DONE
    assert rig.store.get(ok.id).result == {"echo": "Grüße"}
    item = rig.wait_terminal(rejected.id)
    assert item.status == Status.REJECTED and item.error and item.error.code == "test_rule"
    assert rig.wait_terminal(handed.id).status == Status.HANDED_OFF
    cases = rig.store.cases(units=["Kranken"])
    assert [c.item_id for c in cases] == [handed.id]


def test_system_error_is_retried_with_backoff_then_fails(rig: Rig) -> None:
    rig.start_worker()
    item = rig.submit(action="error")
    first = rig.wait_for(item.id, lambda i: i.status == Status.DEFERRED, "deferred")
    assert first.attempts == 1 and first.not_before is not None
    assert first.not_before > rig.store.clock.now() + timedelta(seconds=15)  # 30 s ± 20 %

    # Housekeeping run by a clock an hour ahead releases the retry at once; the worker takes it again.
    later = Store(rig.env["PORTALBOTS_DATABASE_URL"], FixedClock(rig.store.clock.now() + timedelta(hours=2)))
    try:
        for attempt in (2, 3):
            tick(later, rig.dispatcher)
            rig.wait_for(
                item.id, lambda i, n=attempt: i.attempts == n and i.status != Status.RUNNING, "tried"
            )
            later.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    finally:
        later.dispose()
    final = rig.store.get(item.id)
    assert final.status == Status.FAILED and final.attempts == 3
    assert final.error and "boom on attempt 3" in (final.error.traceback or "")


def test_a_message_sent_again_never_runs_its_item_twice(rig: Rig) -> None:
    effects = rig.tmp_path / "effects"
    hold = rig.tmp_path / "hold"
    rig.start_worker(pool="threads", concurrency=3)
    item = rig.submit(action="effect", hold_file=str(hold), effect_file=str(effects))
    rig.wait_for(item.id, lambda _: hold.exists() and hold.read_text() == "started", "started")
    for _ in range(3):  # housekeeping's re-sends, or a broker that delivers twice, while the item runs
        rig.dispatcher.enqueue(item)
    hold.unlink()
    done = rig.wait_terminal(item.id)
    for _ in range(3):  # and once more after it ended
        rig.dispatcher.enqueue(item)
    after = rig.submit(action="ok")  # sent behind them: when it is done, the worker has taken them
    assert rig.wait_terminal(after.id).status == Status.DONE
    assert done.status == Status.DONE and rig.store.get(item.id).attempts == 1
    assert effects.read_text().splitlines() == [str(item.id)]
    claims = [e for e in rig.store.events("item", item.id) if e.to_state == "running"]
    assert len(claims) == 1


def test_a_threads_worker_runs_several_items_at_once_each_exactly_once(rig: Rig) -> None:
    effects = rig.tmp_path / "effects"
    holds = [rig.tmp_path / f"hold-{n}" for n in range(3)]
    worker = rig.start_worker(pool="threads", concurrency=3)
    items = [rig.submit(action="effect", hold_file=str(h), effect_file=str(effects)) for h in holds]
    for item, hold in zip(items, holds, strict=True):
        rig.wait_for(item.id, lambda _, h=hold: h.exists() and h.read_text() == "started", "started")
    running = [rig.store.get(item.id) for item in items]
    assert all(i.status == Status.RUNNING for i in running)  # three at once, in one process
    assert {i.lease_owner for i in running} == {f"{socket.gethostname()}:{worker.proc.pid}"}

    for hold in holds:
        hold.unlink()
    assert all(rig.wait_terminal(item.id).status == Status.DONE for item in items)
    assert sorted(effects.read_text().splitlines()) == sorted(str(item.id) for item in items)


@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_worker_killed_mid_item_finishes_it_exactly_once(rig: Rig, pool: str) -> None:
    hold = rig.tmp_path / "hold"
    effects = rig.tmp_path / "effects"
    worker = rig.start_worker(pool)
    item = rig.submit(action="effect", hold_file=str(hold), effect_file=str(effects))
    rig.wait_for(item.id, lambda _: hold.exists() and hold.read_text() == "started", "started")
    assert rig.store.get(item.id).status == Status.RUNNING

    worker.kill()  # SIGKILL to the whole process group: main process and pool children
    hold.unlink()
    assert not effects.exists()
    dead = rig.store.get(item.id)
    assert dead.status == Status.RUNNING  # nobody knows yet: the lease still runs

    rig.start_worker()
    assert dead.lease_expires is not None
    reaper = Store(rig.env["PORTALBOTS_DATABASE_URL"], FixedClock(dead.lease_expires + timedelta(seconds=1)))
    try:
        result = tick(reaper, rig.dispatcher)
    finally:
        reaper.dispose()
    assert result["reaped"] == 1
    final = rig.wait_terminal(item.id)
    assert final.status == Status.DONE and final.attempts == 2
    assert effects.read_text().splitlines() == [str(item.id)]
    events = [(e.from_state, e.to_state) for e in rig.store.events("item", item.id)]
    assert ("running", "pending") in events


@pytest.fixture
def plain_site() -> Iterator[str]:
    """A web server with one empty page, on a free port."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>plain</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
def test_items_running_at_once_in_a_threads_worker_never_see_each_others_page(
    rig: Rig, plain_site: str, chromium: str
) -> None:
    rig.env.update(PORTALBOTS_CHROMIUM_PATH=chromium)
    rig.start_worker(pool="threads", concurrency=2)
    holds = [rig.tmp_path / f"hold-{n}" for n in range(2)]
    both = [rig.submit(action="mark", text=plain_site, hold_file=str(h)) for h in holds]
    for item, hold in zip(both, holds, strict=True):
        rig.wait_for(item.id, lambda _, h=hold: h.exists() and h.read_text() == "started", "marking")
    for hold in holds:
        hold.unlink()
    later = rig.submit(action="mark", text=plain_site)  # on a page one of the two used before
    for item in [*both, later]:
        done = rig.wait_terminal(item.id)
        assert done.status == Status.DONE, done.error
        assert done.result == {
            "before": {"storage": None, "cookie": ""},
            "after": {"storage": str(item.id), "cookie": f"mark={item.id}"},
        }


@pytest.fixture
def hanging_site() -> Iterator[str]:
    """A web server that accepts and never answers: a page that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hangs"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def chromium_browsers(root: int) -> set[int]:
    """Chromium main processes (not renderers) below process `root` (a worker started them)."""
    parents: dict[int, int] = {}
    argvs: dict[int, list[bytes]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argvs[int(entry.name)] = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue

    def below_root(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root:
                return True
        return False

    return {
        pid
        for pid, argv in argvs.items()
        if b"--remote-debugging-pipe" in argv
        and not any(a.startswith(b"--type=") for a in argv)
        and below_root(pid)
    }


@pytest.mark.browser
@pytest.mark.parametrize("pool", ["prefork", "threads"])
def test_a_stopped_worker_puts_its_hanging_item_back_and_ends_its_browser(
    rig: Rig, hanging_site: str, chromium: str, pool: str
) -> None:
    rig.env.update(PORTALBOTS_WORKER_STOP_GRACE_SECONDS="1", PORTALBOTS_CHROMIUM_PATH=chromium)
    worker = rig.start_worker(pool)
    item = rig.submit(action="browse", text=hanging_site)
    rig.wait_for(item.id, lambda i: i.status == Status.RUNNING, "running")
    deadline = time.monotonic() + 60
    while not chromium_browsers(worker.proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # the page is open (and hangs)
    browsers = chromium_browsers(worker.proc.pid)
    assert browsers, f"the worker opened no browser; its log:\n{worker.log.read_text()[-3000:]}"

    asked = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)  # as a service manager or `docker stop` does
    worker.proc.wait(30)
    took = time.monotonic() - asked
    assert took < 20, f"the worker took {took:.0f} s to stop"

    back = rig.store.get(item.id)
    assert back.status == Status.PENDING and back.attempts == 0 and back.lease_owner is None
    assert "worker stopped" in rig.store.events("item", item.id)[-1].reason
    deadline = time.monotonic() + 10
    alive = [pid for pid in browsers if Path(f"/proc/{pid}").exists()]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)  # the kernel reaps a killed process a moment later
        alive = [pid for pid in browsers if Path(f"/proc/{pid}").exists()]
    assert not alive, "a Chromium outlived its worker"

    # housekeeping sends the pending item again: the next worker takes it
    worker.stop()
    rig.workers.remove(worker)
    rig.start_worker()
    tick(rig.store, rig.dispatcher)
    started = rig.wait_for(item.id, lambda i: i.status == Status.RUNNING, "running again")
    assert started.attempts == 1
