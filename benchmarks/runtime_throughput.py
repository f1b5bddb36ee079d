"""Runtime throughput: no-op items per second, against bare Celery on the same broker and a durable floor.

Run: .venv/bin/python benchmarks/runtime_throughput.py [--items N] [--brokers redis,embedded]
     [--databases sqlite,postgresql] [--profile off|timing|cprofile] [--against CHECKOUT [--rounds N]]
     (or `portalbots bench runtime_throughput …`)

For each broker × database, measured back to back in the same run:
  (a) baseline: a tiny Celery app of this module (one task that only signals its completion), run by a
      worker subprocess with the runtime's Celery settings (acks_late, prefetch 1, 2 prefork processes) but
      Celery as it comes: on Redis kombu's own transport, not the runtime's redis_broker;
      completion is counted by a Redis INCR (redis broker) or a 2-byte file append (embedded broker);
  (b) runtime: NoopBot items through Store.submit + CeleryDispatcher.enqueue, run by
      `python -m bots.cli worker --queues noop --concurrency 2`; an item counts when the store says `done`;
  (c) floor: (a)'s Celery with the least durable work an item with a history needs, as hand-written SQL on
      the driver, on the runtime's tables (durable_floor.py): c/a is the most any durable runtime could
      reach here, b/c what the runtime's own code costs.
All three are timed from the first send until the last completion, after a warm-up of a few tasks that reaches
both pool processes. CPU counted, and shown apart: the sending loop's, the worker's main process's and its
pool's (/proc); not the benchmark's own waiting for the end (it looks a few dozen times, more often as the
end nears: wait_for_count).
`--profile timing` adds a run of (b) whose worker times the runtime's calls per item;
`--profile cprofile` adds one that runs cProfile around each task body in the pool processes.

`--against CHECKOUT` (another working tree of this repository, e.g. the code before a change) adds, per
broker × database, (b) measured with the worker and the submitting side running that checkout's code,
interleaved with this checkout's code in the same run: `--rounds` rounds each, in the order before,
current, current, before, before, … so both see the same machine load; each round on a fresh database.
It prints the medians of both and of current/before per round, and each round's ratios. That checkout's
worker loads the bots its own pyproject.toml names (checkout.py), so an older one runs too.
Both sides then submit from a sender subprocess (`--sender`) whose imports come from its checkout.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pstats
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CODE_ENV = "BENCH_CODE"  # a sender subprocess imports the runtime of this checkout instead of ROOT's
CODE = Path(os.environ.get(CODE_ENV) or ROOT)
if str(CODE) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(CODE))

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from celery import Celery, signals  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bots.runtime.dispatch import CeleryDispatcher, configure, worker_argv  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402

sys.path.append(str(Path(__file__).resolve().parent))  # the module beside this file, whichever CODE is
import checkout  # noqa: E402
import durable_floor  # noqa: E402

REDIS_URL = os.environ.get("PORTALBOTS_TEST_REDIS", "redis://127.0.0.1:6379") + "/14"
PG_ADMIN_URL = os.environ.get("PORTALBOTS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BASELINE_QUEUE = "bench_noop"
BASELINE_TASK = "bench.noop"
FLOOR_QUEUE = "bench_floor"
FLOOR_TASK = "bench.floor"
COUNTER_ENV = "BENCH_COUNTER"  # "redis:<url>#<key>" or "file:<path>"
PROFILE_ENV = "BENCH_PROFILE_DIR"
CONCURRENCY = 2
WARMUP = 2 * CONCURRENCY  # enough that both pool processes have run a task (prefetch 1)
DEFAULT_ITEMS = {"redis": 1000, "embedded": 60}  # the filesystem transport runs ~5 tasks/s
WAIT_SECONDS = 120.0

console = Console()


# ------------------------------------------------------------------ (a) the bare Celery baseline


class Counter:
    """The baseline's completion signal: one cheap increment per finished task."""

    def __init__(self, spec: str) -> None:
        self.kind, _, rest = spec.partition(":")
        self.spec = spec
        self._redis: redis.Redis | None = None
        self._fd: int | None = None
        if self.kind == "redis":
            self.url, _, self.key = rest.partition("#")
        else:
            self.path = rest

    def incr(self) -> None:
        if self.kind == "redis":
            if self._redis is None:
                self._redis = redis.Redis.from_url(self.url)
            self._redis.incr(self.key)
        else:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(self._fd, b"1\n")  # one small O_APPEND write is atomic between processes

    def value(self) -> int:
        if self.kind == "redis":
            if self._redis is None:
                self._redis = redis.Redis.from_url(self.url)
            return int(self._redis.get(self.key) or 0)
        try:
            return os.stat(self.path).st_size // 2
        except FileNotFoundError:
            return 0

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
        if self._fd is not None:
            os.close(self._fd)


_counter: Counter | None = None


def bench_noop() -> None:
    """The baseline task: does nothing but say it ran."""
    global _counter
    if _counter is None:
        _counter = Counter(os.environ[COUNTER_ENV])
    _counter.incr()


def baseline_app(settings: Settings) -> Celery:
    """A Celery app with the runtime's Celery settings and one no-op task: bare Celery as it comes, so on Redis
    with kombu's own transport, not the runtime's (redis_broker.py: a client per channel, not per command)."""
    from bots.runtime import redis_broker  # here: a sender of an older checkout (--against) may not have it

    app = configure(settings, Celery("portalbots-bench"))
    if app.conf.broker_transport == redis_broker.TRANSPORT:
        app.conf.broker_transport = None  # kombu's, chosen by the URL's scheme
    app.task(name=BASELINE_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(bench_noop)
    app.task(name=FLOOR_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(
        durable_floor.floor_task
    )
    return app


@signals.worker_process_init.connect
def _fresh_counter(**_: Any) -> None:
    global _counter
    _counter = None  # no connection crosses a fork


def run_baseline_worker(queue: str) -> None:
    """Entry of the baseline's or the floor's worker subprocess (`--baseline-worker QUEUE`)."""
    app = baseline_app(Settings(_env_file=None))
    app.worker_main(worker_argv([queue], CONCURRENCY))


# ------------------------------------------------------------------ profiling hooks (benchmark only)


@dataclass
class Timings:
    """Wall time per instrumented call in one pool process: name -> [calls, seconds]."""

    calls: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        entry = self.calls.setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds


def run_profiled_worker(mode: str, argv: list[str]) -> None:
    """Entry of a runtime worker with timing or cProfile hooks (`--profiled-worker MODE …`).

    The hooks are installed in the worker's main process before it forks its pool, so every pool process
    inherits them; each pool process writes what it measured when it shuts down.
    """
    import cProfile

    from bots import cli
    from bots.runtime import dispatch, middleware, runner, store

    out_dir = Path(os.environ[PROFILE_ENV])
    timings = Timings()
    task_started: list[tuple[float, float]] = []
    profile: list[cProfile.Profile] = []

    def timed(owner: Any, attr: str, name: str | None = None) -> None:
        original = getattr(owner, attr)
        static = isinstance(inspect.getattr_static(owner, attr), staticmethod)
        label = name or f"{getattr(owner, '__name__', owner)}.{attr}"

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timings.add(label, time.perf_counter() - start)

        setattr(owner, attr, staticmethod(wrapper) if static else wrapper)

    if mode == "timing":
        for attr in ("get", "queue_state", "claim", "finish"):
            timed(store.Store, attr)
        # The store's parts call these through their modules, so patching the module attribute times them.
        timed(store.events, "record", "store.events.record")
        timed(store.transitions, "item_row", "store.transitions.item_row")
        timed(store.transitions, "held_transition", "store.transitions.held_transition")
        timed(store.rows, "item", "store.rows.item")
        for attr in ("run", "execute", "_process", "_closed_system"):
            timed(runner.Runner, attr)
        timed(runner.Context, "__init__", "Context.__init__")
        timed(middleware.LeaseKeeper, "before_process", "LeaseKeeper.before_process (thread start)")
        timed(middleware.LeaseKeeper, "after_process", "LeaseKeeper.after_process (thread join)")
        timed(store.queues, "reset_error_run", "store.queues.reset_error_run (the breaker's success)")
        timed(sa.engine.Connection, "_commit_impl", "SQL COMMIT")
        timed(sa.engine.Connection, "_begin_impl", "SQL BEGIN (+ listener)")
        timed(sa.engine.Engine, "connect", "Engine.connect (pool checkout)")

        original_runner = dispatch.process_runner

        def first_runner() -> runner.Runner:
            if dispatch._runner is not None:
                return original_runner()
            start = time.perf_counter()
            built = original_runner()
            timings.add(
                "process_runner, first call (Registry.discover, Store, Runner)", time.perf_counter() - start
            )
            return built

        dispatch.process_runner = first_runner

    @signals.task_prerun.connect(weak=False)
    def _prerun(**_: Any) -> None:
        task_started.append((time.perf_counter(), time.process_time()))
        if mode == "cprofile":
            if not profile:
                profile.append(cProfile.Profile())
            profile[0].enable()

    @signals.task_postrun.connect(weak=False)
    def _postrun(**_: Any) -> None:
        if mode == "cprofile" and profile:
            profile[0].disable()
        if task_started:
            wall, cpu = task_started.pop()
            timings.add("task body (run_item)", time.perf_counter() - wall)
            timings.add("task body, CPU of the pool process", time.process_time() - cpu)

    @signals.worker_process_shutdown.connect(weak=False)
    def _dump(**_: Any) -> None:
        pid = os.getpid()
        (out_dir / f"timing-{pid}.json").write_text(json.dumps(timings.calls))
        if profile:
            profile[0].dump_stats(str(out_dir / f"cprofile-{pid}.prof"))

    raise SystemExit(cli.main(argv))


# ------------------------------------------------------------------ subprocesses and databases


class Worker:
    """A worker subprocess in its own process group; logs go to a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=cwd,  # `python -m` puts the working directory first on sys.path
            env=env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # warm shutdown: pool processes run their shutdown hooks
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._fh.close()


def base_env(data_dir: Path, broker_url: str | None, code: Path = ROOT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(PYTHONPATH=checkout.pythonpath(code), PORTALBOTS_DATA_DIR=str(data_dir))
    if broker_url:
        env["PORTALBOTS_BROKER_URL"] = broker_url
    return env


def flush_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def database(kind: str, tmp: Path, code: Path = ROOT) -> Iterator[str]:
    """A fresh database with the schema of checkout `code`: a temp SQLite file, or a new PostgreSQL database
    dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        checkout.migrate(url, code)
        yield url
        return
    name = f"pb_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        checkout.migrate(url, code)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def wait_until(done: Callable[[], bool], worker: Worker, what: str, poll: float) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        worker.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}; worker log: {worker.log}")
        time.sleep(poll)


def wait_for_count(
    count: Callable[[], int], target: int, items: int, worker: Worker, what: str, since: float
) -> None:
    """Wait until `count()` reaches `target` (`items` of them counted since `since`), looking again after
    about half the time the rest should take at the rate so far (2–50 ms apart): a few dozen looks instead
    of hundreds, so the waiting takes next to no CPU from the worker (a look at the store costs about a
    millisecond), and the end is seen within a few milliseconds."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (n := count()) < target:
        worker.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}; worker log: {worker.log}")
        done = n - (target - items)
        per_item = (time.perf_counter() - since) / done if done > 0 else 0.01
        time.sleep(min(0.05, max(0.002, 0.5 * (target - n) * per_item)))


# ------------------------------------------------------------------ the three measurements


def worker_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of the worker's main process, and of its live pool processes. The sending
    side's CPU is added by each measurement (the send loop's, not the benchmark's own waiting).

    Other load on a shared machine does not count; the database server and Redis are not included.
    """
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(p: int) -> float:
        with suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / tick
        return 0.0

    children: list[int] = []
    with suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    return cpu(pid), sum(cpu(c) for c in children)


@dataclass
class Measured:
    items: int
    seconds: float
    send_seconds: float  # of which the sending side (submit + enqueue, or send_task) took
    sender_cpu_seconds: float  # CPU during the timed part: the sender's (submit + enqueue, or send_task),
    main_cpu_seconds: float  # the worker's main process's (takes messages, hands them to the pool, acks)
    pool_cpu_seconds: float  # and its pool processes' (the tasks)

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    @property
    def cpu_seconds(self) -> float:
        return self.sender_cpu_seconds + self.main_cpu_seconds + self.pool_cpu_seconds

    @property
    def cpu_ms_per_item(self) -> float:
        return 1000 * self.cpu_seconds / self.items

    def split_ms_per_item(self) -> list[str]:
        """The sender's, the worker main process's and the pool's CPU ms per item."""
        parts = (self.sender_cpu_seconds, self.main_cpu_seconds, self.pool_cpu_seconds)
        return [f"{1000 * part / self.items:.2f}" for part in parts]


def timed_part(
    worker: Worker,
    send: Callable[[int], tuple[float, float]],
    items: int,
    count: Callable[[], int],
    target: int,
    what: str,
) -> Measured:
    """Send `items` (`send` answers its wall and CPU seconds), then wait until `count()` reaches `target`."""
    main, pool = worker_cpu_seconds(worker.proc.pid)
    start = time.perf_counter()
    sent, sender_cpu = send(items)
    wait_for_count(count, target, items, worker, what, start)
    elapsed = time.perf_counter() - start
    main_after, pool_after = worker_cpu_seconds(worker.proc.pid)
    return Measured(items, elapsed, sent, sender_cpu, main_after - main, pool_after - pool)


def in_this_process(send_one: Callable[[], None]) -> Callable[[int], tuple[float, float]]:
    """A sender for `timed_part` that calls `send_one` here, timing its wall and CPU seconds."""

    def send(items: int) -> tuple[float, float]:
        cpu, start = time.process_time(), time.perf_counter()
        for _ in range(items):
            send_one()
        return time.perf_counter() - start, time.process_time() - cpu

    return send


def measure_baseline(broker: str, items: int, tmp: Path) -> Measured:
    data_dir = tmp / "baseline"
    broker_url = REDIS_URL if broker == "redis" else None
    if broker == "redis":
        flush_redis()
    spec = f"redis:{REDIS_URL}#bench:done" if broker == "redis" else f"file:{tmp / 'baseline-done'}"
    env = base_env(data_dir, broker_url) | {COUNTER_ENV: spec}
    settings = Settings(data_dir=data_dir, broker_url=broker_url, _env_file=None)
    app = baseline_app(settings)
    counter = Counter(spec)
    worker = Worker([__file__, "--baseline-worker", BASELINE_QUEUE], env, tmp / "baseline-worker.log")
    try:
        for _ in range(WARMUP):
            app.send_task(BASELINE_TASK, queue=BASELINE_QUEUE)
        wait_until(lambda: counter.value() >= WARMUP, worker, "baseline warm-up", 0.05)
        send = in_this_process(lambda: app.send_task(BASELINE_TASK, queue=BASELINE_QUEUE))
        return timed_part(worker, send, items, counter.value, counter.value() + items, "baseline tasks")
    finally:
        worker.stop()
        counter.close()
        app.close()


def measure_floor(broker: str, db_url: str, items: int, tmp: Path) -> Measured:
    """(c): the floor's items (durable_floor.py) through (a)'s Celery app, counted done by the store."""
    from bots.runtime.clock import SystemClock
    from bots.runtime.store import Store

    data_dir = tmp / "floor"
    broker_url = REDIS_URL if broker == "redis" else None
    if broker == "redis":
        flush_redis()
    env = base_env(data_dir, broker_url) | {durable_floor.DB_ENV: db_url}
    app = baseline_app(Settings(data_dir=data_dir, broker_url=broker_url, _env_file=None))
    floor = durable_floor.FloorStore(db_url)
    observer = Store(db_url, SystemClock())
    count = done_count(observer, durable_floor.QUEUE)

    def submit() -> None:
        item_id = floor.submit(RUNTIME_PAYLOAD, "K1")
        # as CeleryDispatcher.enqueue sends it
        app.send_task(FLOOR_TASK, args=[item_id], queue=FLOOR_QUEUE, argsrepr=f"[{item_id}]", kwargsrepr="{}")

    worker = Worker([__file__, "--baseline-worker", FLOOR_QUEUE], env, tmp / "floor-worker.log")
    try:
        for _ in range(WARMUP):
            submit()
        wait_until(lambda: count() >= WARMUP, worker, "floor warm-up", 0.05)
        return timed_part(worker, in_this_process(submit), items, count, WARMUP + items, "floor items")
    finally:
        worker.stop()
        floor.close()
        observer.dispose()
        app.close()


RUNTIME_QUEUE = "noop"
RUNTIME_PAYLOAD = {"customer_id": "K1", "action": "noop"}
WORKER_CMD = ["worker", "--queues", RUNTIME_QUEUE, "--concurrency", str(CONCURRENCY)]


def runtime_env(
    data_dir: Path, broker_url: str | None, db_url: str, code: Path = ROOT, profile_dir: Path | None = None
) -> dict[str, str]:
    env = base_env(data_dir, broker_url, code) | {
        "PORTALBOTS_DATABASE_URL": db_url,
        "PORTALBOTS_BOTS": "tests.bots_for_tests:NoopBot",
    }
    if profile_dir is not None:
        env[PROFILE_ENV] = str(profile_dir)
    return env


def done_count(store: Any, queue: str = RUNTIME_QUEUE) -> Callable[[], int]:
    """The number of done items of `queue`; fails on any that ended otherwise."""

    def count() -> int:
        counts = store.counts().get(queue, {})
        stuck = {s: n for s, n in counts.items() if s not in ("pending", "running", "done")}
        if stuck:
            raise RuntimeError(f"items ended other than done: {stuck}")
        return int(counts.get("done", 0))

    return count


def all_done(store: Any, target: int) -> Callable[[], bool]:
    """True once `target` items of the runtime queue are done (for the warm-ups)."""
    count = done_count(store)
    return lambda: count() >= target


def measure_runtime(
    broker: str, db_url: str, items: int, tmp: Path, profile: str = "off"
) -> tuple[Measured, Path]:
    from bots.runtime.clock import SystemClock
    from bots.runtime.store import Store

    data_dir = tmp / f"runtime-{profile}"
    profile_dir = tmp / f"profile-{profile}"
    profile_dir.mkdir(exist_ok=True)
    broker_url = REDIS_URL if broker == "redis" else None
    if broker == "redis":
        flush_redis()
    env = runtime_env(data_dir, broker_url, db_url, profile_dir=profile_dir)
    argv = (
        ["-m", "bots.cli", *WORKER_CMD]
        if profile == "off"
        else [__file__, "--profiled-worker", profile, *WORKER_CMD]
    )
    settings = Settings(data_dir=data_dir, database_url=db_url, broker_url=broker_url, _env_file=None)
    celery = configure(settings, Celery("portalbots-bench-send"))
    dispatcher = CeleryDispatcher(celery)
    store = Store(db_url, SystemClock())

    def submit() -> None:
        item, _ = store.submit(RUNTIME_QUEUE, RUNTIME_PAYLOAD, customer_id="K1")
        dispatcher.enqueue(item)

    before = store.counts().get(RUNTIME_QUEUE, {}).get("done", 0)  # an earlier run on the same database
    worker = Worker(argv, env, tmp / f"runtime-worker-{profile}.log")
    try:
        for _ in range(WARMUP):
            submit()
        wait_until(all_done(store, before + WARMUP), worker, "runtime warm-up", 0.05)
        target = before + WARMUP + items
        measured = timed_part(
            worker, in_this_process(submit), items, done_count(store), target, "runtime items"
        )
        return measured, profile_dir
    finally:
        worker.stop()
        store.dispose()
        celery.close()


# ------------------------------------------------------------------ (b) of two checkouts in one run


def run_sender() -> None:
    """Entry of a sender subprocess (`--sender`): Store.submit + enqueue, imported from BENCH_CODE.

    It says which store it imported, then for each count read from stdin submits that many items and
    answers with the wall and CPU seconds that took, one JSON line each.
    """
    from bots.runtime.clock import SystemClock
    from bots.runtime.store import Store

    settings = Settings(_env_file=None)  # PORTALBOTS_* from the environment the parent gave
    celery = configure(settings, Celery("portalbots-bench-send"))
    dispatcher = CeleryDispatcher(celery)
    store = Store(settings.resolved_database_url(), SystemClock())
    print(json.dumps({"store": inspect.getfile(Store)}), flush=True)
    try:
        for line in sys.stdin:
            cpu, start = time.process_time(), time.perf_counter()
            for _ in range(int(line)):
                item, _ = store.submit(RUNTIME_QUEUE, RUNTIME_PAYLOAD, customer_id="K1")
                dispatcher.enqueue(item)
            answer = {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}
            print(json.dumps(answer), flush=True)
    finally:
        store.dispose()
        celery.close()


class Sender:
    """A sender subprocess submitting items with the code of checkout `code`."""

    def __init__(self, code: Path, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--sender"],
            cwd=code,
            env=env | {CODE_ENV: str(code)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._fh,
            text=True,
        )
        imported = Path(self._answer()["store"]).resolve()
        if not imported.is_relative_to(code.resolve()):
            raise RuntimeError(f"the sender for {code} imported the store from {imported}")

    def send(self, items: int) -> tuple[float, float]:
        """Submit `items` items; their wall and CPU seconds in the sender."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{items}\n")
        self.proc.stdin.flush()
        answer = self._answer()
        return float(answer["seconds"]), float(answer["cpu"])

    def _answer(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], WAIT_SECONDS)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self._fh.flush()
            raise RuntimeError(f"the sender did not answer:\n{self.log.read_text()[-3000:]}")
        return dict(json.loads(line))

    def stop(self) -> None:
        if self.proc.stdin is not None:
            with suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._fh.close()


def imported_store(code: Path) -> Path:
    """Where a process started like the worker imports the store from (it must be `code`'s)."""
    out = subprocess.run(
        [sys.executable, "-c", "import inspect, bots.runtime.store as s; print(inspect.getfile(s))"],
        cwd=code,
        env=os.environ | {"PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()).resolve()


def checkout_label(code: Path) -> str:
    """The checkout's commit, with + when its tracked files have changes."""
    env = os.environ | {"GIT_OPTIONAL_LOCKS": "0"}  # only read: git must not refresh that tree's index

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(code), *args], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return str(code)
    return f"{code} @ {head}{'+' if changed else ''}"


def measure_checkout(broker: str, kind: str, items: int, tmp: Path, code: Path) -> Measured:
    """(b) with the worker and the sender running the code of checkout `code`, on a fresh database."""
    from bots.runtime.clock import SystemClock
    from bots.runtime.store import Store

    tmp.mkdir(parents=True)
    broker_url = REDIS_URL if broker == "redis" else None
    with database(kind, tmp, code) as db_url:
        if broker == "redis":
            flush_redis()
        # no __pycache__ left in another checkout (a start compiles again; the timed part imports nothing)
        env = runtime_env(tmp / "data", broker_url, db_url, code) | {"PYTHONDONTWRITEBYTECODE": "1"}
        observer = Store(db_url, SystemClock())  # counts the done items; this checkout's code in both
        worker = Worker(["-m", "bots.cli", *WORKER_CMD], env, tmp / "worker.log", cwd=code)
        sender: Sender | None = None
        try:
            sender = Sender(code, env, tmp / "sender.log")
            sender.send(WARMUP)
            wait_until(all_done(observer, WARMUP), worker, f"warm-up of {code}", 0.05)
            return timed_part(
                worker, sender.send, items, done_count(observer), WARMUP + items, f"items of {code}"
            )
        finally:
            if sender is not None:
                sender.stop()
            worker.stop()
            observer.dispose()


def compare_checkouts(
    broker: str, kind: str, items: int, rounds: int, tmp: Path, before: Path
) -> tuple[list[Measured], list[Measured]]:
    """Rounds of (b) with `before`'s code and this checkout's, alternating which goes first."""
    runs: dict[Path, list[Measured]] = {before: [], ROOT: []}
    for r in range(rounds):
        for code in (before, ROOT) if r % 2 == 0 else (ROOT, before):
            label = "before" if code == before else "current"
            console.print(f"[dim]{broker} × {kind}: round {r + 1}/{rounds}, {label} ({code}) …[/dim]")
            runs[code].append(measure_checkout(broker, kind, items, tmp / f"{label}-{r}", code))
    return runs[before], runs[ROOT]


def versus_row(befores: list[Measured], currents: list[Measured]) -> list[str]:
    """Medians, and current/before of each round: the two runs of a round ran back to back, so a burst
    of other load on the machine spoils one round, not the summary."""
    speed = [c.rate / b.rate for b, c in zip(befores, currents, strict=True)]
    cpu = [c.cpu_ms_per_item / b.cpu_ms_per_item for b, c in zip(befores, currents, strict=True)]
    colour = "green" if median(speed) >= 0.95 else "red"
    return [
        f"{median(m.rate for m in befores):,.0f}",
        f"{median(m.rate for m in currents):,.0f}",
        f"[{colour}]{median(speed):.3f}[/{colour}]",
        f"{median(m.cpu_ms_per_item for m in befores):.2f}",
        f"{median(m.cpu_ms_per_item for m in currents):.2f}",
        f"{median(cpu):.3f}",
        " ".join(f"{r:.2f}" for r in speed),
        " ".join(f"{r:.2f}" for r in cpu),
    ]


# ------------------------------------------------------------------ reporting


def print_timings(title: str, profile_dir: Path, items: int) -> None:
    merged = Timings()
    files = list(profile_dir.glob("timing-*.json"))
    for path in files:
        for name, (calls, seconds) in json.loads(path.read_text()).items():
            entry = merged.calls.setdefault(name, [0, 0.0])
            entry[0] += calls
            entry[1] += seconds
    if not merged.calls:
        console.print(
            f"[yellow]{title}: no timings written (pool processes did not shut down cleanly)[/yellow]"
        )
        return
    body = merged.calls.get("task body (run_item)", [items, 0.0])
    ran = int(body[0]) or items
    table = Table(
        "call",
        "calls/item",
        "ms/item",
        "% of task body",
        title=f"{title}: {ran} tasks in {len(files)} processes",
    )
    for name, (calls, seconds) in sorted(merged.calls.items(), key=lambda kv: -kv[1][1]):
        share = 100 * seconds / body[1] if body[1] else 0.0
        table.add_row(name, f"{calls / ran:.2f}", f"{1000 * seconds / ran:.3f}", f"{share:.0f}")
    console.print(table)


def print_cprofile(title: str, profile_dir: Path, top: int = 30) -> None:
    files = [str(p) for p in profile_dir.glob("cprofile-*.prof")]
    if not files:
        console.print(f"[yellow]{title}: no cProfile output[/yellow]")
        return
    console.print(f"[bold]{title}[/bold] (cProfile of the task bodies in {len(files)} pool processes)")
    stats = pstats.Stats(*files, stream=sys.stdout)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, help="items per measurement (default: 1000 redis, 300 embedded)")
    parser.add_argument("--brokers", default="redis,embedded")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--profile", default="off", choices=["off", "timing", "cprofile"])
    parser.add_argument("--keep", action="store_true", help="keep the temp dir with the worker logs")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also measure (b) with this checkout's code, interleaved with this one's (e.g. /work/wt-baseline)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per checkout with --against (default 3)"
    )
    args = parser.parse_args()
    brokers = [b for b in args.brokers.split(",") if b]
    databases = [d for d in args.databases.split(",") if d]
    for b in brokers:
        if b not in DEFAULT_ITEMS:
            parser.error(f"unknown broker {b!r}")
    for d in databases:
        if d not in ("sqlite", "postgresql"):
            parser.error(f"unknown database {d!r}")
    against: Path | None = args.against.resolve() if args.against else None
    if against is not None:
        if not (against / "bots" / "cli.py").is_file():
            parser.error(f"{against} is not a checkout of this repository")
        if against == ROOT:
            parser.error("--against names this checkout")
        if args.rounds < 1:
            parser.error("--rounds must be at least 1")
        for code in (against, ROOT):
            if not imported_store(code).is_relative_to(code):
                parser.error(f"a process started in {code} does not import its own store")

    table = Table(
        "broker",
        "database",
        "items",
        "(a) bare Celery items/s",
        "(b) runtime items/s",
        "b/a",
        "(c) floor items/s",
        "c/a",
        "b/c",
        "CPU ms/item (a) / (b) / (c)",
        "(b) submit+enqueue items/s",
        title=f"Runtime throughput, NoopBot, {CONCURRENCY} prefork processes, {os.cpu_count()} CPUs",
    )
    split = Table(
        "broker",
        "database",
        "measured",
        "sender",
        "worker's main process",
        "pool processes",
        "all",
        title="Where the CPU goes, ms per item (the worker's main process takes the messages, hands them to "
        "the pool and acknowledges them; the pool runs the tasks)",
    )
    profiles: list[tuple[str, Path, int]] = []
    versus = Table(
        "broker",
        "database",
        "items × rounds",
        "before items/s",
        "current items/s",
        "current/before items/s",
        "before CPU ms/item",
        "current CPU ms/item",
        "current/before CPU ms/item",
        "items/s current/before per round",
        "CPU current/before per round",
        title=(
            f"Runtime (b), current {checkout_label(ROOT)} vs before {checkout_label(against)}: "
            f"interleaved in one run, fresh database per round; medians of the rounds"
            if against is not None
            else ""
        ),
    )
    tmp_root = Path(tempfile.mkdtemp(prefix="pb-bench-"))
    try:
        for broker in brokers:
            items = args.items or DEFAULT_ITEMS[broker]
            for db in databases:
                tmp = tmp_root / f"{broker}-{db}"
                tmp.mkdir()
                with database(db, tmp) as db_url:
                    console.print(f"[dim]{broker} × {db}: baseline …[/dim]")
                    a = measure_baseline(broker, items, tmp)
                    console.print(f"[dim]{broker} × {db}: runtime …[/dim]")
                    b, _ = measure_runtime(broker, db_url, items, tmp)
                    console.print(f"[dim]{broker} × {db}: floor …[/dim]")
                    c = measure_floor(broker, db_url, items, tmp)
                    if args.profile != "off":
                        console.print(f"[dim]{broker} × {db}: runtime with {args.profile} hooks …[/dim]")
                        _, pdir = measure_runtime(broker, db_url, items, tmp, args.profile)
                        profiles.append((f"{broker} × {db}", pdir, items))
                if against is not None:
                    befores, currents = compare_checkouts(
                        broker, db, items, args.rounds, tmp / "versus", against
                    )
                    versus.add_row(broker, db, f"{items} × {args.rounds}", *versus_row(befores, currents))
                ratio = b.rate / a.rate
                colour = "green" if ratio >= 0.6 else "red"
                table.add_row(
                    broker,
                    db,
                    str(items),
                    f"{a.rate:,.0f}",
                    f"{b.rate:,.0f}",
                    f"[{colour}]{ratio:.2f}[/{colour}]",
                    f"{c.rate:,.0f}",
                    f"{c.rate / a.rate:.2f}",
                    f"{b.rate / c.rate:.2f}",
                    " / ".join(f"{m.cpu_ms_per_item:.1f}" for m in (a, b, c)),
                    f"{items / b.send_seconds:,.0f}",
                )
                for label, m in (("(a) bare Celery", a), ("(b) runtime", b), ("(c) floor", c)):
                    split.add_row(broker, db, label, *m.split_ms_per_item(), f"{m.cpu_ms_per_item:.2f}")
        console.print(table)
        console.print(split)
        if against is not None:
            console.print(versus)
        for title, pdir, items in profiles:
            if args.profile == "timing":
                print_timings(title, pdir, items)
            else:
                print_cprofile(title, pdir)
    finally:
        if args.keep:
            console.print(f"worker logs and profiles kept in {tmp_root}")
        else:
            with suppress(OSError):
                shutil.rmtree(tmp_root)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--baseline-worker":
        run_baseline_worker(sys.argv[2])
    elif len(sys.argv) > 2 and sys.argv[1] == "--profiled-worker":
        run_profiled_worker(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--sender":
        run_sender()
    else:
        main()
