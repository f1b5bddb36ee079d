"""Runtime throughput: no-op items per second through the whole runtime, against bare Celery on the same broker.

Run: .venv/bin/python benchmarks/runtime_throughput.py [--items N] [--brokers redis,embedded]
     [--databases sqlite,postgresql] [--profile off|timing|cprofile]
     (or `portalbots bench runtime_throughput …`)

For each broker × database, measured back to back in the same run:
  (a) baseline: a tiny Celery app of this module (one task that only signals its completion), run by a
      worker subprocess with the runtime's Celery settings (acks_late, prefetch 1, 2 prefork processes);
      completion is counted by a Redis INCR (redis broker) or a 2-byte file append (embedded broker);
  (b) runtime: NoopBot items through Store.submit + CeleryDispatcher.enqueue, run by
      `python -m bots.cli worker --queues noop --concurrency 2`; an item counts when the store says `done`.
Both are timed from the first send until the last completion, after a warm-up of a few tasks that reaches
both pool processes. `--profile timing` adds a run of (b) whose worker times the runtime's calls per item;
`--profile cprofile` adds one that runs cProfile around each task body in the pool processes.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pstats
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from celery import Celery, signals  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bots.runtime.dispatch import CeleryDispatcher, configure, worker_argv  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402

REDIS_URL = os.environ.get("PORTALBOTS_TEST_REDIS", "redis://127.0.0.1:6379") + "/14"
PG_ADMIN_URL = os.environ.get("PORTALBOTS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BASELINE_QUEUE = "bench_noop"
BASELINE_TASK = "bench.noop"
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
    """A Celery app with exactly the runtime's Celery settings and one no-op task."""
    app = configure(settings, Celery("portalbots-bench"))
    app.task(name=BASELINE_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(bench_noop)
    return app


@signals.worker_process_init.connect
def _fresh_counter(**_: Any) -> None:
    global _counter
    _counter = None  # no connection crosses a fork


def run_baseline_worker() -> None:
    """Entry of the baseline worker subprocess (`--baseline-worker`)."""
    app = baseline_app(Settings(_env_file=None))
    app.worker_main(worker_argv([BASELINE_QUEUE], CONCURRENCY))


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

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
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


def base_env(data_dir: Path, broker_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(PYTHONPATH=str(ROOT), PORTALBOTS_DATA_DIR=str(data_dir))
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
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh, migrated database: a temp SQLite file, or a new PostgreSQL database dropped afterwards."""
    from bots.runtime.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
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
        upgrade(url)
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


# ------------------------------------------------------------------ the two measurements


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of the worker process and its live pool processes, plus this process.

    Other load on a shared machine does not count; the database server and Redis are not included.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total, pids = 0.0, [pid]
    with suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        with suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    mine = os.times()
    return total + mine.user + mine.system


@dataclass
class Measured:
    items: int
    seconds: float
    send_seconds: float  # of which the sending side (submit + enqueue, or send_task) took
    cpu_seconds: float  # CPU of the worker processes and the sender during the timed part

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    @property
    def cpu_ms_per_item(self) -> float:
        return 1000 * self.cpu_seconds / self.items


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
    worker = Worker([__file__, "--baseline-worker"], env, tmp / "baseline-worker.log")
    try:
        for _ in range(WARMUP):
            app.send_task(BASELINE_TASK, queue=BASELINE_QUEUE)
        wait_until(lambda: counter.value() >= WARMUP, worker, "baseline warm-up", 0.05)
        target = counter.value() + items
        cpu = tree_cpu_seconds(worker.proc.pid)
        start = time.perf_counter()
        for _ in range(items):
            app.send_task(BASELINE_TASK, queue=BASELINE_QUEUE)
        sent = time.perf_counter() - start
        wait_until(lambda: counter.value() >= target, worker, "baseline tasks", 0.005)
        return Measured(items, time.perf_counter() - start, sent, tree_cpu_seconds(worker.proc.pid) - cpu)
    finally:
        worker.stop()
        counter.close()
        app.close()


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
    env = base_env(data_dir, broker_url) | {
        "PORTALBOTS_DATABASE_URL": db_url,
        "PORTALBOTS_BOTS": "tests.bots_for_tests:NoopBot",
        PROFILE_ENV: str(profile_dir),
    }
    worker_cmd = ["worker", "--queues", "noop", "--concurrency", str(CONCURRENCY)]
    argv = (
        ["-m", "bots.cli", *worker_cmd]
        if profile == "off"
        else [__file__, "--profiled-worker", profile, *worker_cmd]
    )
    settings = Settings(data_dir=data_dir, database_url=db_url, broker_url=broker_url, _env_file=None)
    celery = configure(settings, Celery("portalbots-bench-send"))
    dispatcher = CeleryDispatcher(celery)
    store = Store(db_url, SystemClock())
    payload = {"customer_id": "K1", "action": "noop"}

    def submit() -> None:
        item, _ = store.submit("noop", payload, customer_id="K1")
        dispatcher.enqueue(item)

    def finished(target: int) -> Callable[[], bool]:
        def check() -> bool:
            counts = store.counts().get("noop", {})
            stuck = {s: n for s, n in counts.items() if s not in ("pending", "running", "done")}
            if stuck:
                raise RuntimeError(f"items ended other than done: {stuck}")
            return counts.get("done", 0) >= target

        return check

    before = store.counts().get("noop", {}).get("done", 0)  # an earlier run on the same database
    worker = Worker(argv, env, tmp / f"runtime-worker-{profile}.log")
    try:
        for _ in range(WARMUP):
            submit()
        wait_until(finished(before + WARMUP), worker, "runtime warm-up", 0.05)
        cpu = tree_cpu_seconds(worker.proc.pid)
        start = time.perf_counter()
        for _ in range(items):
            submit()
        sent = time.perf_counter() - start
        wait_until(finished(before + WARMUP + items), worker, "runtime items", 0.01)
        elapsed = time.perf_counter() - start
        return Measured(items, elapsed, sent, tree_cpu_seconds(worker.proc.pid) - cpu), profile_dir
    finally:
        worker.stop()
        store.dispose()
        celery.close()


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
    args = parser.parse_args()
    brokers = [b for b in args.brokers.split(",") if b]
    databases = [d for d in args.databases.split(",") if d]
    for b in brokers:
        if b not in DEFAULT_ITEMS:
            parser.error(f"unknown broker {b!r}")
    for d in databases:
        if d not in ("sqlite", "postgresql"):
            parser.error(f"unknown database {d!r}")

    table = Table(
        "broker",
        "database",
        "items",
        "(a) bare Celery items/s",
        "(b) runtime items/s",
        "b/a",
        "(a) worker+sender CPU ms/item",
        "(b) worker+sender CPU ms/item",
        "(b) submit+enqueue items/s",
        title=f"Runtime throughput, NoopBot, {CONCURRENCY} prefork processes, {os.cpu_count()} CPUs",
    )
    profiles: list[tuple[str, Path, int]] = []
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
                    if args.profile != "off":
                        console.print(f"[dim]{broker} × {db}: runtime with {args.profile} hooks …[/dim]")
                        _, pdir = measure_runtime(broker, db_url, items, tmp, args.profile)
                        profiles.append((f"{broker} × {db}", pdir, items))
                ratio = b.rate / a.rate
                colour = "green" if ratio >= 0.6 else "red"
                table.add_row(
                    broker,
                    db,
                    str(items),
                    f"{a.rate:,.0f}",
                    f"{b.rate:,.0f}",
                    f"[{colour}]{ratio:.2f}[/{colour}]",
                    f"{a.cpu_ms_per_item:.1f}",
                    f"{b.cpu_ms_per_item:.1f}",
                    f"{items / b.send_seconds:,.0f}",
                )
        console.print(table)
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
    if len(sys.argv) > 1 and sys.argv[1] == "--baseline-worker":
        run_baseline_worker()
    elif len(sys.argv) > 2 and sys.argv[1] == "--profiled-worker":
        run_profiled_worker(sys.argv[2], sys.argv[3:])
    else:
        main()
