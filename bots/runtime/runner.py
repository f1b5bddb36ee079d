"""Runs one work item: claim, precheck, gate by service hours, call the bot, record the outcome."""

from __future__ import annotations

import logging
import os
import random
import socket
import traceback
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from bots.runtime import stopping
from bots.runtime.bot import Bot, Registry
from bots.runtime.breaker import CircuitBreaker
from bots.runtime.calendar import Calendars, ServiceCalendar
from bots.runtime.clock import Clock, utc
from bots.runtime.context import Context
from bots.runtime.errors import HandOff, Outcome, Reject, StaleVersion, SystemUnavailable
from bots.runtime.mail import Mailer
from bots.runtime.middleware import Middleware, default_middleware
from bots.runtime.models import ItemError, WorkItem
from bots.runtime.privacy import mask_text
from bots.runtime.retry import RetryPolicy
from bots.runtime.settings import Settings
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store

log = logging.getLogger(__name__)

INVALID_REQUEST = (
    "Ihre Anfrage enthält Angaben, die wir nicht verarbeiten können. Bitte stellen Sie sie im Portal erneut."
)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Runner:
    """Carries out items for the bots of a registry; the Celery task and the tests both call `run`."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        settings: Settings,
        clock: Clock,
        *,
        mailer: Mailer | None = None,
        middleware: list[Middleware] | None = None,
        retry: RetryPolicy | None = None,
        worker_id: str | None = None,
        resources: dict[str, Any] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings
        self.clock = clock
        self.mailer = mailer or Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from)
        self.middleware = default_middleware() if middleware is None else middleware
        self.retry = retry or RetryPolicy(
            base=timedelta(seconds=settings.retry_base_seconds),
            max_delay=timedelta(seconds=settings.retry_max_seconds),
        )
        self.worker_id = worker_id or default_worker_id()
        self.resources: dict[str, Any] = resources if resources is not None else {}
        self.rng = rng
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.breaker = CircuitBreaker(
            store,
            settings.breaker_threshold,
            settings.alert_mail_to,
            cooldown=timedelta(seconds=settings.breaker_cooldown_seconds),
            max_cooldown=timedelta(seconds=settings.breaker_max_cooldown_seconds),
        )
        self.calendars = Calendars(settings)

    def calendar(self, system: str) -> ServiceCalendar:
        return self.calendars.get(system)

    def now(self) -> datetime:
        return utc(self.clock.now())

    def run(self, item_id: int) -> WorkItem | None:
        """Run item `item_id` if it is still pending and its queue is not paused; None when there was nothing to do."""
        claimed = self.store.claim(item_id, self.worker_id, self.lease)
        if claimed is None:  # not pending, not due, held by another worker, or its queue is paused
            log.debug("item %s: nothing to do", item_id)
            return None
        return self.execute(claimed)

    def run_next(self, queue: str) -> WorkItem | None:
        """Claim and run the most urgent due item of `queue` (the pull path, used by the demo and benchmarks)."""
        claimed = self.store.claim_next(queue, self.worker_id, self.lease)
        return self.execute(claimed) if claimed else None

    def execute(self, item: WorkItem) -> WorkItem | None:
        bot = self.registry.get(item.queue)
        try:
            outcome = self._run(bot, item)
        except StaleVersion as exc:
            # Our lease was reaped while we worked; whoever holds the item now finishes it.
            log.warning("item %s: lease lost, outcome dropped (%s)", item.id, exc)
            return None
        if item.breaker_trial:
            self.breaker.run_ended(item, outcome)
        return outcome

    def _run(self, bot: Bot, item: WorkItem) -> WorkItem:
        ctx = self._context(bot, item)
        try:
            bot.request_model.model_validate(item.payload)
            bot.precheck(item, ctx)  # before any calendar: a bad request is refused at any hour
        except ValidationError:
            # accepted under an earlier version of the request model: refused with a reason, not retried
            return self._outcome(bot, item, Reject("invalid_request", INVALID_REQUEST))
        except Exception as exc:
            return self._outcome(bot, item, exc)
        closed = self._closed_system(bot)
        if closed is not None:
            system, cal = closed
            now = self.now()
            return self.store.finish(
                item,
                Status.DEFERRED,
                actor=self.worker_id,
                reason=f"{system}: {cal.closed_reason(now) or 'geschlossen'}",
                not_before=cal.next_opening(now),
                defer_reason=DeferReason.SERVICE_WINDOW,
                refund_attempt=True,
            )
        return self._process(bot, item, ctx)

    def _closed_system(self, bot: Bot) -> tuple[str, ServiceCalendar] | None:
        now = self.now()
        for system in bot.systems:
            cal = self.calendar(system)
            if not cal.is_open(now):
                return system, cal
        return None

    def _context(self, bot: Bot, item: WorkItem) -> Context:
        return Context(
            item=item,
            store=self.store,
            settings=self.settings,
            clock=self.clock,
            mailer=self.mailer,
            calendars={s: self.calendar(s) for s in bot.systems},
            resources=self.resources,
            log=logging.getLogger(f"portalbots.{bot.queue}"),
        )

    def _process(self, bot: Bot, item: WorkItem, ctx: Context) -> WorkItem:
        started = []
        try:
            for mw in self.middleware:
                mw.before_process(item, ctx)
                started.append(mw)
            result = bot.process(item, ctx)
        except BaseException as exc:
            for mw in reversed(started):
                try:
                    mw.after_failure(item, ctx, exc)
                except Exception:
                    log.exception("middleware %s failed after a failure", type(mw).__name__)
            for mw in reversed(started):
                mw.after_process(item, ctx)
            if not isinstance(exc, Exception):
                raise
            return self._outcome(bot, item, exc)
        for mw in reversed(started):
            mw.after_process(item, ctx)
        # finish(DONE) also resets the circuit breaker's error run, in the same transaction
        return self.store.finish(item, Status.DONE, actor=self.worker_id, reason="done", result=result)

    def _outcome(self, bot: Bot, item: WorkItem, exc: Exception) -> WorkItem:
        if stopping.stopping() and not isinstance(exc, Outcome):
            # the worker cut this step on its way out: not the item's fault, so no attempt is used
            return self.store.finish(
                item,
                Status.PENDING,
                actor=self.worker_id,
                reason=f"worker stopped during the run ({type(exc).__name__}); the item waits for another",
                refund_attempt=True,
            )
        if isinstance(exc, Reject | HandOff):
            try:
                notice = bot.notice(item, exc)
            except Exception as broken:  # a bug in the customer's message: retried like any system error
                return self._system_error(item, broken)
            if isinstance(exc, Reject):
                return self.store.finish(
                    item,
                    Status.REJECTED,
                    actor=self.worker_id,
                    reason=f"rejected: {exc.code}",
                    result={"customer_message": exc.customer_message},
                    error=ItemError("reject", exc.code, exc.customer_message),
                    notice=notice,
                )
            handed, _case = self.store.hand_off(
                item,
                unit=exc.unit,
                reason_code=exc.reason_code,
                note=exc.note,
                case_due=bot.case_sla,
                actor=self.worker_id,
                notice=notice,
            )
            return handed
        if isinstance(exc, SystemUnavailable):
            return self._defer_unavailable(bot, item, exc)
        return self._system_error(item, exc)

    def _defer_unavailable(self, bot: Bot, item: WorkItem, exc: SystemUnavailable) -> WorkItem:
        now = self.now()
        candidates = [now + timedelta(seconds=self.settings.retry_base_seconds)]
        if exc.until is not None:
            candidates.append(utc(exc.until))
        if exc.system in bot.systems:
            candidates.append(self.calendar(exc.system).next_opening(now))
        return self.store.finish(
            item,
            Status.DEFERRED,
            actor=self.worker_id,
            reason=f"{exc.system} nicht verfügbar{': ' + exc.detail if exc.detail else ''}",
            not_before=max(candidates),
            defer_reason=DeferReason.SERVICE_WINDOW,
            error=ItemError("unavailable", "system_unavailable", str(exc)),
            refund_attempt=True,
        )

    def _system_error(self, item: WorkItem, exc: Exception) -> WorkItem:
        # Exception texts may quote request data: IBANs are masked before they reach the store and logs.
        tb = mask_text("".join(traceback.format_exception(exc)))
        error = ItemError("system", type(exc).__name__, mask_text(str(exc) or type(exc).__name__), tb)
        decision = self.retry.decide(item.attempts, item.max_attempts, self.now(), self.rng)
        log.warning("item %s attempt %s/%s: %s", item.id, item.attempts, item.max_attempts, error.message)
        if decision.retry:
            outcome = self.store.finish(
                item,
                Status.DEFERRED,
                actor=self.worker_id,
                reason=f"system error, retry {item.attempts + 1} of {item.max_attempts} after backoff",
                error=error,
                not_before=decision.at,
                defer_reason=DeferReason.RETRY_BACKOFF,
            )
        else:
            outcome = self.store.finish(
                item,
                Status.FAILED,
                actor=self.worker_id,
                reason=f"system error, {item.attempts} attempts used",
                error=error,
            )
        self.breaker.system_error(item, error.message)
        return outcome
