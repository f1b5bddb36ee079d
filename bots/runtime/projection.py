"""The backlog per target system: whether its service calendar is open, what waits for it, how fast it has
been worked off recently, and when, at that pace, the work waiting now will be done — counted in the
system's open service time, since nothing moves while it is closed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bots.runtime.calendar import ServiceCalendar
from bots.runtime.states import Status

SEARCH_STEP = timedelta(days=7)
SEARCH_LIMIT = timedelta(days=400)
WORK_STATES = (Status.PENDING.value, Status.RUNNING.value, Status.DEFERRED.value)


@dataclass(frozen=True)
class SystemBacklog:
    system: str
    open: bool
    closed_reason: str | None
    next_opening: datetime | None
    next_closing: datetime | None
    queues: tuple[str, ...]
    waiting: dict[str, int]
    deferred: dict[str, int]
    throughput_per_hour: float | None
    projected_drained_at: datetime | None

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())


def opening_and_closing(calendar: ServiceCalendar, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Open now: when it closes and opens again; closed: when it opens and closes next. None where the
    calendar finds none within its search horizon."""
    try:
        if calendar.is_open(now):
            closing = calendar.next_closing(now)
            return (calendar.next_opening(closing) if closing is not None else None), closing
        opening = calendar.next_opening(now)
        return opening, calendar.next_closing(opening)
    except ValueError:
        return None, None


def open_time_reached(calendar: ServiceCalendar, start: datetime, seconds: float) -> datetime | None:
    """The instant at which `seconds` of open service time have passed since `start` (None beyond a year)."""
    left = seconds
    lo = start
    while lo - start < SEARCH_LIMIT:
        hi = lo + SEARCH_STEP
        for iv_start, iv_end in calendar.open_intervals(lo, hi):
            span = (iv_end - iv_start).total_seconds()
            if span >= left:
                return iv_start + timedelta(seconds=left)
            left -= span
        lo = hi
    return None


def throughput(calendar: ServiceCalendar, done: int, since: datetime, now: datetime) -> float | None:
    """Items done per open hour of the system between `since` and `now`; None when nothing was done or
    the system was never open in that time (nothing to measure)."""
    open_hours = calendar.open_seconds_until(since, now) / 3600
    if done <= 0 or open_hours <= 0:
        return None
    return done / open_hours


def system_backlog(
    calendar: ServiceCalendar,
    queues: Iterable[str],
    counts: Mapping[str, Mapping[str, int]],
    deferred: Mapping[str, Mapping[str, int]],
    done: Mapping[str, int],
    *,
    since: datetime,
    now: datetime,
) -> SystemBacklog:
    """The backlog of one system from its queues' `counts` (by status), `deferred` (by reason) and `done`
    (since `since`)."""
    names = tuple(sorted(queues))
    waiting = {q: sum(counts.get(q, {}).get(s, 0) for s in WORK_STATES) for q in names}
    reasons: dict[str, int] = {}
    for q in names:
        for reason, n in deferred.get(q, {}).items():
            reasons[reason] = reasons.get(reason, 0) + n
    is_open = calendar.is_open(now)
    opening, closing = opening_and_closing(calendar, now)
    rate = throughput(calendar, sum(done.get(q, 0) for q in names), since, now)
    total = sum(waiting.values())
    drained: datetime | None
    if total == 0:
        drained = now
    elif rate is None:
        drained = None
    else:
        start = now if is_open or opening is None else max(now, opening)
        drained = open_time_reached(calendar, start, total / rate * 3600)
    return SystemBacklog(
        calendar.system,
        is_open,
        calendar.closed_reason(now),
        opening,
        closing,
        names,
        waiting,
        reasons,
        rate,
        drained,
    )
