"""Circuit breaker: a queue that keeps failing pauses itself, alerts the supervisors, and heals.

Closed: items run; `threshold` system errors in a row open it (the queue pauses, an alert goes to the
outbox). Open: after the cool-down, housekeeping lets one item through (half-open). The trial ends well
(done, or a business outcome: the system answered) -> the queue resumes, with an alert that it did; it
fails with a system error -> the queue stays paused for twice the cool-down (up to a maximum). Every
change is an event of the queue; a supervisor may resume by hand at any time.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bots.runtime.clock import utc
from bots.runtime.models import Mail, WorkItem
from bots.runtime.states import Status
from bots.runtime.store import Store

log = logging.getLogger(__name__)

ACTOR = "circuit-breaker"
VERDICTS = frozenset({Status.DONE, Status.REJECTED, Status.HANDED_OFF})  # the system answered


class CircuitBreaker:
    def __init__(
        self,
        store: Store,
        threshold: int,
        alert_to: str,
        cooldown: timedelta = timedelta(minutes=1),
        max_cooldown: timedelta = timedelta(hours=1),
    ) -> None:
        self.store = store
        self.threshold = threshold
        self.alert_to = alert_to
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown

    def system_error(self, item: WorkItem, last_error: str) -> bool:
        """Count a system error of `item`'s run; True when the queue paused now."""
        queue = item.queue
        if item.breaker_trial:
            return self._trial_failed(queue, last_error)
        run = self.store.record_system_error(queue)
        if self.threshold <= 0 or run < self.threshold:
            return False
        reason = f"{run} Systemfehler in Folge, zuletzt: {last_error[:300]}"
        resume_at = self.store.now() + self.cooldown
        paused = self.store.pause_queue(
            queue,
            ACTOR,
            reason,
            resume_at=resume_at,
            cooldown=self.cooldown,
            alert=self._paused_mail(queue, reason),
        )
        if paused:
            log.error("queue %s paused by the circuit breaker: %s", queue, reason)
        return paused

    def run_ended(self, item: WorkItem, outcome: WorkItem) -> bool:
        """After the run of a trial item: resume its queue when the system answered. True when it resumed."""
        if not item.breaker_trial or outcome.status not in VERDICTS:
            return False  # not a trial, a system error (see system_error), or no verdict (a closed window)
        reason = f"Probeauftrag {item.id} gelungen ({outcome.status})"
        resumed = self.store.resume_queue(
            item.queue, ACTOR, reason, alert=self._resumed_mail(item.queue, item.id)
        )
        if resumed:
            log.warning("queue %s resumed by the circuit breaker: %s", item.queue, reason)
        return resumed

    def _trial_failed(self, queue: str, last_error: str) -> bool:
        current = self.store.queue_state(queue).cooldown_seconds
        longer = min(self.max_cooldown, 2 * timedelta(seconds=current or self.cooldown.total_seconds()))
        reason = f"Probeauftrag fehlgeschlagen: {last_error[:300]}; nächste Probe in {_minutes(longer)}"
        self.store.extend_pause(queue, ACTOR, reason, longer)
        log.error("queue %s stays paused: %s", queue, reason)
        return False

    def _paused_mail(self, queue: str, reason: str) -> Mail:
        at = utc(self.store.now()).strftime("%d.%m.%Y %H:%M UTC")
        return Mail(
            self.alert_to,
            f"[PortalBots] Warteschlange {queue} angehalten",
            f"Die Warteschlange {queue} wurde am {at} automatisch angehalten.\n\nGrund: {reason}\n\n"
            f"Nach einer Abkühlzeit von {_minutes(self.cooldown)} läuft ein einzelner Auftrag zur Probe; "
            "gelingt er, wird die Warteschlange automatisch fortgesetzt, sonst wartet sie doppelt so lange "
            "auf die nächste Probe. Neue Aufträge werden weiter angenommen und warten.\n\n"
            "Bitte prüfen Sie die Ursache; in der Konsole können Sie die Warteschlange auch von Hand "
            "fortsetzen.\n",
        )

    def _resumed_mail(self, queue: str, item_id: int) -> Mail:
        at = utc(self.store.now()).strftime("%d.%m.%Y %H:%M UTC")
        return Mail(
            self.alert_to,
            f"[PortalBots] Warteschlange {queue} läuft wieder",
            f"Der Probeauftrag {item_id} ist gelungen; die Warteschlange {queue} wurde am {at} automatisch "
            "fortgesetzt. Die wartenden Aufträge werden jetzt bearbeitet.\n",
        )


def _minutes(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return "1 Minute" if minutes == 1 else f"{minutes} Minuten"
