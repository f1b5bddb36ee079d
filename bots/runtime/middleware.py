"""Cross-cutting concerns around a bot's run, as small hooks that do nothing by default."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bots.runtime.models import WorkItem

if TYPE_CHECKING:
    from bots.runtime.context import Context


class Middleware:
    """Hooks around `Bot.process`; `after_failure` runs before the outcome is recorded."""

    def before_process(self, item: WorkItem, ctx: Context) -> None:
        """Called once the item is claimed and its systems are open."""

    def after_failure(self, item: WorkItem, ctx: Context, exc: BaseException) -> None:
        """Called when process raised anything (an outcome or an error)."""

    def after_process(self, item: WorkItem, ctx: Context) -> None:
        """Called after every run, whatever its end (cleanup)."""


class LeaseKeeper(Middleware):
    """Renews the item's lease in the background while a long step runs."""

    def __init__(self, interval_fraction: float = 1 / 3) -> None:
        self.interval_fraction = interval_fraction
        self._local = threading.local()

    def before_process(self, item: WorkItem, ctx: Context) -> None:
        stop = threading.Event()
        lease = ctx.settings.lease_seconds
        owner = item.lease_owner or ""

        def renew() -> None:
            from datetime import timedelta

            while not stop.wait(lease * self.interval_fraction):
                if not ctx.store.renew_lease(item.id, owner, timedelta(seconds=lease)):
                    return

        thread = threading.Thread(target=renew, name=f"lease-{item.id}", daemon=True)
        thread.start()
        self._local.running = (stop, thread)

    def after_process(self, item: WorkItem, ctx: Context) -> None:
        running = getattr(self._local, "running", None)
        if running:
            stop, thread = running
            stop.set()
            thread.join(timeout=5)
            self._local.running = None


def default_middleware() -> list[Middleware]:
    return [LeaseKeeper()]
