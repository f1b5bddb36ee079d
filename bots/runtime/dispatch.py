"""Celery dispatch: one queue per bot, the broker only carries "run item X"; the database stays the truth."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery, signals

from bots.runtime import embedded_broker, redis_broker, stopping
from bots.runtime.bot import Registry
from bots.runtime.clock import clock_from_shift
from bots.runtime.maintenance import tick
from bots.runtime.models import WorkItem
from bots.runtime.runner import Runner
from bots.runtime.settings import Settings, get_settings
from bots.runtime.store import Store

log = logging.getLogger(__name__)

MAINTENANCE_QUEUE = "portalbots_maintenance"
EMBEDDED_PREFETCH = 4

app = Celery("portalbots")


def broker_options(settings: Settings) -> dict[str, Any]:
    """Redis (or any Celery broker) when PORTALBOTS_BROKER_URL is set; else the embedded filesystem broker.

    A worker takes one message per pool process from a real broker (prefetch 1: a long item never holds back
    messages another worker could run). The embedded broker is polled; there each worker keeps a few messages
    in hand (prefetch 4 per process), or a process that finishes waits for the next poll. A message lost with
    its worker is sent again by housekeeping (the store knows the item is still pending).
    """
    if settings.broker_url:
        options: dict[str, Any] = {
            "broker_url": settings.broker_url,
            "broker_transport_options": {"visibility_timeout": 3600},
            "worker_prefetch_multiplier": 1,
        }
        if settings.broker_url.startswith("redis://"):  # one client per channel, not per command
            options["broker_transport"] = redis_broker.TRANSPORT
        return options
    folder = (settings.private_data_dir() / "broker").resolve()
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://localhost//",  # the host is not used; naming it avoids a warning
        "broker_transport": embedded_broker.TRANSPORT,
        "broker_transport_options": {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),  # where a taken message is read (then removed)
            "control_folder": str(folder / "control"),  # exchange bindings; kombu's default is ./control
            "polling_interval": 0.1,  # kombu's default of 1 s caps a worker at a few items per second
            "store_processed": False,
        },
        "worker_prefetch_multiplier": EMBEDDED_PREFETCH,
    }


def configure(settings: Settings | None = None, celery: Celery = app) -> Celery:
    """Apply the settings to `celery` (the process-wide app unless given) and return it."""
    settings = settings or get_settings()
    celery.conf.update(
        **broker_options(settings),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=MAINTENANCE_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule={
            "maintain": {"task": "portalbots.maintain", "schedule": 10.0},
            "snapshot-backlog": {"task": "portalbots.snapshot_backlog", "schedule": 60.0},
        },
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
    )
    return celery


class CeleryDispatcher:
    """Sends "run item X" to the item's queue."""

    def __init__(self, celery: Celery = app) -> None:
        self.celery = celery

    def enqueue(self, item: WorkItem) -> None:
        # the arguments' repr given, not computed by Celery's saferepr: 8 % of a send's CPU
        self.celery.send_task(
            "portalbots.run_item", args=[item.id], queue=item.queue, argsrepr=f"[{item.id}]", kwargsrepr="{}"
        )


_runner: Runner | None = None
_runner_lock = threading.Lock()


def process_runner() -> Runner:
    """The runner of this worker process, built on first use (after fork, so no connection crosses it); the
    threads of a threads pool share it (the store's engine pools connections; each thread has its browser)."""
    global _runner
    with _runner_lock:
        if _runner is None:
            settings = get_settings()
            clock = clock_from_shift(settings.clock_shift)
            store = Store(settings.resolved_database_url(), clock)
            _runner = Runner(store, Registry.discover(settings.bots), settings, clock)
        return _runner


@signals.worker_process_init.connect
def _reset_after_fork(**_: Any) -> None:
    global _runner
    _runner = None
    stopping.install(get_settings().worker_stop_grace_seconds)


@signals.worker_shutting_down.connect
def _stop_the_pool(**_: Any) -> None:
    """Ctrl-C or SIGTERM: the pool processes cut their running step after a grace period (see stopping)."""
    from billiard.process import active_children

    pool = [child.pid for child in active_children() if child.pid]
    if pool:
        stopping.ask_to_stop(pool)
    else:  # the threads (or solo) pool: the items run in this process
        stopping.begin(get_settings().worker_stop_grace_seconds)


@signals.worker_process_shutdown.connect
def _close_resources(**_: Any) -> None:
    global _runner
    if _runner is not None:
        for resource in _runner.resources.values():
            close = getattr(resource, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("closing %r failed", resource)
        _runner.store.dispose()
        _runner = None


@signals.worker_process_shutdown.connect
def _close_browser(**_: Any) -> None:
    from bots.runtime.browser import shutdown  # imported here: only processes that drive a browser need it

    shutdown()


@app.task(name="portalbots.run_item", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_item(item_id: int) -> str | None:
    if stopping.stopping():
        # a pool process on its way out starts nothing new; the item stays pending in the database and
        # housekeeping sends it again (a requeued message could come straight back to this process)
        log.info("item %s not started: this worker is stopping", item_id)
        return None
    outcome = process_runner().run(item_id)
    return outcome.status.value if outcome else None


@app.task(name="portalbots.maintain", ignore_result=True)
def maintain() -> dict[str, int]:
    runner = process_runner()
    return tick(runner.store, CeleryDispatcher(app), runner.mailer)


@app.task(name="portalbots.snapshot_backlog", ignore_result=True)
def snapshot_backlog() -> int:
    return process_runner().store.record_backlog()


def worker_argv(
    queues: list[str], concurrency: int, loglevel: str = "INFO", pool: str = "prefork"
) -> list[str]:
    return [
        "worker",
        "--queues",
        ",".join([*queues, MAINTENANCE_QUEUE]),
        "--concurrency",
        str(concurrency),
        "--loglevel",
        loglevel,
        "--pool",
        pool,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def beat_argv(loglevel: str = "INFO") -> list[str]:
    return ["beat", "--loglevel", loglevel]
