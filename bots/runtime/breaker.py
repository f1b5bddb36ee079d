"""Circuit breaker: a queue that keeps failing pauses itself and alerts the supervisors."""

from __future__ import annotations

import logging

from bots.runtime.mail import Mailer
from bots.runtime.store import Store

log = logging.getLogger(__name__)

ACTOR = "circuit-breaker"


class CircuitBreaker:
    def __init__(self, store: Store, threshold: int, mailer: Mailer | None, alert_to: str) -> None:
        self.store = store
        self.threshold = threshold
        self.mailer = mailer
        self.alert_to = alert_to

    def system_error(self, queue: str, last_error: str) -> bool:
        """Count a system error; pause the queue when the run reaches the threshold. True when it paused now."""
        run = self.store.record_system_error(queue)
        if self.threshold <= 0 or run < self.threshold:
            return False
        reason = f"{run} Systemfehler in Folge, zuletzt: {last_error[:300]}"
        if not self.store.pause_queue(queue, ACTOR, reason):
            return False
        log.error("queue %s paused by the circuit breaker: %s", queue, reason)
        if self.mailer is not None:
            msg = self.mailer.message(
                self.alert_to,
                f"[PortalBots] Warteschlange {queue} angehalten",
                f"Die Warteschlange {queue} wurde automatisch angehalten.\n\nGrund: {reason}\n\n"
                "Neue Aufträge werden weiter angenommen und warten. Bitte Ursache prüfen und die "
                "Warteschlange in der Konsole fortsetzen.",
            )
            self.mailer.try_send(msg)
        return True
