"""Cross-cutting concerns around a bot's run, as small hooks that do nothing by default."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from bots.runtime.models import WorkItem

if TYPE_CHECKING:
    from bots.runtime.context import Context
    from bots.runtime.store import Store

log = logging.getLogger(__name__)


class Middleware:
    """Hooks around `Bot.process`; `after_failure` runs before the outcome is recorded."""

    def before_process(self, item: WorkItem, ctx: Context) -> None:
        """Called once the item is claimed and its systems are open."""

    def after_failure(self, item: WorkItem, ctx: Context, exc: BaseException) -> None:
        """Called when process raised anything (an outcome or an error)."""

    def after_process(self, item: WorkItem, ctx: Context) -> None:
        """Called after every run, whatever its end (cleanup)."""


class LeaseKeeper(Middleware):
    """Renews the leases of the items this process is running, from one background thread per process.

    A step longer than the lease (a slow core system) keeps its item; a worker that dies stops renewing,
    so the lease runs out and housekeeping gives the item to another worker.
    """

    def __init__(self, interval_fraction: float = 1 / 3) -> None:
        self.interval_fraction = interval_fraction
        self._held: dict[int, tuple[Store, str, timedelta]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._interval = 60.0

    def before_process(self, item: WorkItem, ctx: Context) -> None:
        lease = timedelta(seconds=ctx.settings.lease_seconds)
        with self._lock:
            self._held[item.id] = (ctx.store, item.lease_owner or "", lease)
            self._interval = min(self._interval, lease.total_seconds() * self.interval_fraction)
        self._ensure_thread()

    def after_process(self, item: WorkItem, ctx: Context) -> None:
        with self._lock:
            self._held.pop(item.id, None)

    def held(self) -> list[int]:
        with self._lock:
            return sorted(self._held)

    def renew_all(self) -> list[int]:
        """Renew every held lease once; an item whose lease was lost (reaped) is dropped. Returns the renewed."""
        with self._lock:
            held = list(self._held.items())
        renewed = []
        for item_id, (store, owner, lease) in held:
            try:
                ok = store.renew_lease(item_id, owner, lease)
            except Exception:  # a database hiccup: try again at the next round, the lease still runs
                log.warning("renewing the lease of item %s failed", item_id, exc_info=True)
                continue
            if ok:
                renewed.append(item_id)
            else:
                log.warning("item %s: lease lost while running; its outcome will be dropped", item_id)
                with self._lock:
                    self._held.pop(item_id, None)
        return renewed

    def _ensure_thread(self) -> None:
        # A thread does not survive fork: a pool child starts its own.
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self._interval)
            if self._pid != os.getpid():
                return
            self.renew_all()


def default_middleware() -> list[Middleware]:
    return [LeaseKeeper()]
