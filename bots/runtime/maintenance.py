"""Periodic housekeeping: reap lost leases, release due deferrals, let the breaker's trials through, resend
what nobody took, send the outbox's mail."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Protocol

from bots.runtime.mail import Mailer
from bots.runtime.models import WorkItem
from bots.runtime.store import SYSTEM_ACTOR, Store

log = logging.getLogger(__name__)

OUTBOX_RETRY = timedelta(seconds=30)
OUTBOX_MAX_RETRY = timedelta(minutes=30)


class Dispatcher(Protocol):
    def enqueue(self, item: WorkItem) -> None:
        """Tell some worker to run `item` (at-least-once; duplicates are harmless)."""
        ...


def tick(store: Store, dispatcher: Dispatcher, mailer: Mailer | None = None) -> dict[str, int]:
    """One round of housekeeping; every item it makes pending, and every pending item nobody took within
    its bound, is sent to its queue (again), most urgent first."""
    reaped = store.reap_expired()
    released = store.release_due()
    trials = store.start_trials(SYSTEM_ACTOR)
    stale = store.due_for_redispatch()
    sent: set[int] = set()
    for item in [*reaped, *released, *trials, *stale]:
        if item.id not in sent and item.status.value == "pending":
            dispatcher.enqueue(item)
            sent.add(item.id)
    mailed = send_outbox(store, mailer) if mailer is not None else 0
    return {
        "reaped": len(reaped),
        "released": len(released),
        "trials": len(trials),
        "resent": len(stale),
        "enqueued": len(sent),
        "mailed": mailed,
    }


def send_outbox(store: Store, mailer: Mailer) -> int:
    """Send the outbox's due mail; a failure is retried later with a growing wait, never dropped."""
    delivered = 0
    for waiting in store.due_mail():
        mail = waiting.mail
        # the same Message-ID on every attempt: a mailbox that took it before keeps it once
        msg = mailer.message(mail.to, mail.subject, mail.body, message_id=waiting.message_id)
        try:
            mailer.send(msg)
        except (OSError, smtplib.SMTPException) as exc:
            wait = min(OUTBOX_MAX_RETRY, OUTBOX_RETRY * 2**waiting.attempts)
            store.mail_failed(waiting.id, f"{type(exc).__name__}: {exc}", store.now() + wait)
            log.warning(
                "mail %s to %s not sent (attempt %s): %s", waiting.id, mail.to, waiting.attempts + 1, exc
            )
            continue
        store.mail_sent(waiting.id)
        delivered += 1
    return delivered
