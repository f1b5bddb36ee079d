"""Periodic housekeeping: reap lost leases, release due deferrals, resend lost messages, snapshot the backlog."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from bots.runtime.models import WorkItem
from bots.runtime.store import Store


class Dispatcher(Protocol):
    def enqueue(self, item: WorkItem) -> None:
        """Tell some worker to run `item` (at-least-once; duplicates are harmless)."""
        ...


def tick(
    store: Store, dispatcher: Dispatcher, resend_after: timedelta = timedelta(seconds=60)
) -> dict[str, int]:
    """One round of housekeeping; every item it touches is sent to its queue again."""
    reaped = store.reap_expired()
    released = store.release_due()
    stale = store.stale_pending(resend_after)
    sent: set[int] = set()
    for item in [*reaped, *released, *stale]:
        if item.id not in sent and item.status.value == "pending":
            dispatcher.enqueue(item)
            sent.add(item.id)
    return {"reaped": len(reaped), "released": len(released), "resent": len(stale), "enqueued": len(sent)}
