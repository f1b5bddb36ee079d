"""Accepting a request, one way for the intake and the CLI: the checks after the request model, the due
date by the service calendar, the item in the store, and the message that tells a worker to run it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bots.runtime.bot import Bot
from bots.runtime.calendar import Calendars
from bots.runtime.errors import FieldInvalid
from bots.runtime.maintenance import Dispatcher
from bots.runtime.models import WorkItem
from bots.runtime.settings import Settings
from bots.runtime.store import Store, Upload

log = logging.getLogger(__name__)


class Submitter:
    """Stores accepted requests as work items and sends them to their queue."""

    def __init__(self, store: Store, dispatcher: Dispatcher, settings: Settings) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.tz = ZoneInfo(settings.timezone)
        self.calendars = Calendars(settings)

    def submit(
        self, bot: Bot, request: BaseModel, *, reference: str | None = None, uploads: Sequence[Upload] = ()
    ) -> tuple[WorkItem, bool]:
        """The stored item and whether it is new (False: the reference was seen before). Raises FieldInvalid
        for what the request model cannot check alone, IdempotencyConflict for a reused reference."""
        payload = request.model_dump(mode="json")
        nul = nul_fields(payload)
        if nul:  # PostgreSQL stores no NUL character in text
            raise FieldInvalid(nul[0], "NUL characters are not allowed")
        now = self.store.clock.now()
        bot.admit(request, now.astimezone(self.tz).date())
        item, created = self.store.submit(
            bot.queue,
            payload,
            reference=reference,
            customer_id=bot.customer_of(request),
            due_at=bot.due_at(now, self.calendars.get),
            max_attempts=bot.max_attempts,
            uploads=uploads,
        )
        if created:
            try:
                self.dispatcher.enqueue(item)
            except Exception:  # the item is stored; housekeeping sends it again
                log.exception("could not enqueue item %s; housekeeping will resend it", item.id)
        return item, created


def nul_fields(value: Any, path: str = "") -> list[str]:
    """The fields of a JSON-like value whose text holds a NUL character."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [f for k, v in value.items() for f in nul_fields(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [f for i, v in enumerate(value) for f in nul_fields(v, f"{path}.{i}" if path else str(i))]
    return []
