"""Service calendar: when a core system is in service (weekly hours, public holidays, closing days)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

if TYPE_CHECKING:
    from bots.runtime.settings import Settings

WeeklyHours = dict[int, tuple[tuple[time, time], ...]]
"""Weekday (0=Mon .. 6=Sun) -> local wall-clock intervals [start, end); an end of 00:00 means 24:00."""

Interval = tuple[datetime, datetime]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400  # how far next_opening/next_closing look before giving up
_MIDNIGHT = time(0)
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_CLOSING_RE = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_DAY_CACHE_MAX = 4096


def _parse_time(text: str, *, is_end: bool, context: str) -> time:
    match = _TIME_RE.match(text)
    if match is None:
        raise ValueError(f"bad time {text!r} in {context!r} (expected HH:MM)")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0:
        if is_end:
            return _MIDNIGHT
        raise ValueError(f"bad time {text!r} in {context!r} (24:00 is allowed only as an end)")
    if hour > 23 or minute > 59:
        raise ValueError(f"bad time {text!r} in {context!r} (out of range)")
    return time(hour, minute)


def _parse_day(text: str, context: str) -> int:
    try:
        return DAY_NAMES.index(text)
    except ValueError:
        raise ValueError(
            f"unknown day {text!r} in {context!r} (expected one of {' '.join(DAY_NAMES)})"
        ) from None


def _parse_days(text: str, context: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        if not part:
            raise ValueError(f"empty day in {context!r}")
        if "-" in part:
            first_text, _, last_text = part.partition("-")
            first, last = _parse_day(first_text, context), _parse_day(last_text, context)
            # a range may wrap over the weekend, e.g. "fri-mon"
            days.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            days.append(_parse_day(part, context))
    return days


def _parse_interval(text: str, context: str) -> tuple[time, time]:
    start_text, sep, end_text = text.partition("-")
    if not sep:
        raise ValueError(f"bad interval {text!r} in {context!r} (expected HH:MM-HH:MM)")
    start = _parse_time(start_text, is_end=False, context=context)
    end = _parse_time(end_text, is_end=True, context=context)
    if end != _MIDNIGHT and end <= start:
        raise ValueError(
            f"interval {text!r} in {context!r} must end after it starts (split overnight hours at 24:00)"
        )
    return start, end


def parse_hours(spec: str) -> WeeklyHours:
    """Parse weekly hours like "mon-fri 07:00-19:00; sat 08:00-12:00" or "mon,wed 07:00-12:00 13:00-18:00"."""
    collected: dict[int, list[tuple[time, time]]] = {}
    for raw_group in spec.split(";"):
        # tolerate "mon - fri" and "07:00 - 19:00"
        group = re.sub(r"\s*([-,])\s*", r"\1", raw_group.strip().lower())
        if not group:
            continue
        tokens = group.split()
        if len(tokens) < 2:
            raise ValueError(f"bad service hours {raw_group.strip()!r} (expected days and HH:MM-HH:MM)")
        days = _parse_days(tokens[0], raw_group.strip())
        intervals = [_parse_interval(token, raw_group.strip()) for token in tokens[1:]]
        for day in days:
            collected.setdefault(day, []).extend(intervals)
    if not collected:
        raise ValueError(f"no service hours in {spec!r}")
    return {day: _normalize(intervals) for day, intervals in sorted(collected.items())}


def parse_closing_days(spec: str) -> frozenset[tuple[int, int]]:
    """Parse company closing days "MM-DD,MM-DD" into (month, day) pairs; "" is none."""
    result: set[tuple[int, int]] = set()
    for raw_part in spec.split(","):
        part = raw_part.strip()
        if not part:
            continue
        match = _CLOSING_RE.match(part)
        if match is None:
            raise ValueError(f"bad closing day {part!r} (expected MM-DD)")
        month, day = int(match.group(1)), int(match.group(2))
        try:
            date(2000, month, day)  # a leap year, so 02-29 is accepted
        except ValueError:
            raise ValueError(f"bad closing day {part!r} (no such date)") from None
        result.add((month, day))
    return frozenset(result)


def _end_key(end: time) -> timedelta:
    """An interval end as the offset from the day's midnight; 00:00 counts as 24:00."""
    if end == _MIDNIGHT:
        return timedelta(days=1)
    return timedelta(hours=end.hour, minutes=end.minute, seconds=end.second, microseconds=end.microsecond)


def _start_key(start: time) -> timedelta:
    return timedelta(
        hours=start.hour, minutes=start.minute, seconds=start.second, microseconds=start.microsecond
    )


def _normalize(intervals: Iterable[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    """Sort intervals and merge the overlapping or touching ones."""
    items = sorted(intervals, key=lambda iv: (_start_key(iv[0]), _end_key(iv[1])))
    merged: list[tuple[time, time]] = []
    for start, end in items:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("service hours are local wall-clock times; give naive times")
        if _end_key(end) <= _start_key(start):
            raise ValueError(f"interval {start}-{end} must end after it starts")
        if merged and _start_key(start) <= _end_key(merged[-1][1]):
            if _end_key(end) > _end_key(merged[-1][1]):
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _require_aware(at: datetime, name: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Join touching intervals (e.g. 22:00-24:00 and 00:00-06:00 of the next day) into one."""
    merged: list[Interval] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class Calendars:
    """The service calendars of a process's target systems, each built once from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._by_system: dict[str, ServiceCalendar] = {}

    def get(self, system: str) -> ServiceCalendar:
        if system not in self._by_system:
            self._by_system[system] = ServiceCalendar.from_settings(system, self.settings)
        return self._by_system[system]


class ServiceCalendar:
    """When one target system is in service; all instants in and out are aware, results in UTC."""

    def __init__(
        self,
        system: str,
        weekly: WeeklyHours,
        tz: ZoneInfo | str = "Europe/Berlin",
        holiday_state: str | None = "NW",
        closing_days: Iterable[tuple[int, int]] = (),
    ) -> None:
        self.system = system
        for day in weekly:
            if day not in range(7):
                raise ValueError(f"weekday {day!r} out of range 0..6")
        self.weekly: WeeklyHours = {day: _normalize(weekly.get(day, ())) for day in range(7)}
        if isinstance(tz, str):
            try:
                tz = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {tz!r}") from None
        self.tz = tz
        self.holiday_state = holiday_state.upper() if holiday_state else None
        if self.holiday_state is not None:
            states = holidays.list_supported_countries()["DE"]
            if self.holiday_state not in states:
                raise ValueError(
                    f"unknown German state {holiday_state!r} (expected one of {' '.join(states)})"
                )
        self.closing_days = frozenset(closing_days)
        self._holidays: dict[int, dict[date, str]] = {}
        self._days: dict[date, tuple[Interval, ...]] = {}

    @classmethod
    def from_settings(cls, system: str, settings: Settings) -> ServiceCalendar:
        """The calendar of `system` from its own settings, else the default service hours and closing days."""
        hours = settings.hours_of(system)
        return cls(
            system,
            parse_hours(hours.service_hours or ""),
            tz=settings.timezone,
            holiday_state=hours.holiday_state or None,
            closing_days=parse_closing_days(hours.closing_days or ""),
        )

    def __repr__(self) -> str:
        return f"ServiceCalendar({self.system!r}, tz={self.tz.key!r}, holiday_state={self.holiday_state!r})"

    # --- queries -------------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether the system is in service at `at`."""
        at = _require_aware(at)
        return any(start <= at < end for start, end in self._day_intervals(self._local_date(at)))

    def next_opening(self, at: datetime) -> datetime:
        """The earliest instant >= `at` when the system is open (`at` itself if open now), in UTC."""
        at = _require_aware(at)
        day = self._local_date(at)
        for offset in range(SEARCH_DAYS + 1):
            for start, end in self._day_intervals(day + timedelta(days=offset)):
                if end > at:
                    return max(start, at)
        raise ValueError(f"{self.system} never opens within {SEARCH_DAYS} days after {at.isoformat()}")

    def next_closing(self, at: datetime) -> datetime | None:
        """When the open period containing `at` ends (in UTC); None if closed at `at`."""
        at = _require_aware(at)
        if not self.is_open(at):
            return None
        day = self._local_date(at)
        current: Interval | None = None
        for offset in range(SEARCH_DAYS + 1):
            for start, end in self._day_intervals(day + timedelta(days=offset)):
                if end <= at:
                    continue
                if current is None:
                    current = (start, end)
                elif start <= current[1]:  # continues over midnight
                    current = (current[0], max(end, current[1]))
                else:
                    return current[1]
        raise ValueError(f"{self.system} never closes within {SEARCH_DAYS} days after {at.isoformat()}")

    def closed_reason(self, at: datetime) -> str | None:
        """None when open, else a short German reason for the customer or the console."""
        if self.is_open(at):
            return None
        day = self._local_date(_require_aware(at))
        holiday = self._holidays_of(day.year).get(day)
        if holiday is not None:
            return f"Feiertag: {holiday}"
        if (day.month, day.day) in self.closing_days:
            return f"Betriebsruhe ({day:%d.%m.})"
        return "außerhalb der Servicezeiten"

    def next_service_day_end(self, at: datetime) -> datetime:
        """When the next service day after `at`'s local date closes (in UTC): "bis zum nächsten Werktag"."""
        day = self._local_date(_require_aware(at))
        for offset in range(1, SEARCH_DAYS + 1):
            intervals = self._day_intervals(day + timedelta(days=offset))
            if intervals:
                return intervals[-1][1]
        raise ValueError(f"{self.system} has no service day within {SEARCH_DAYS} days after {at.isoformat()}")

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open intervals overlapping [start, end), clipped to it, touching ones joined, in UTC."""
        start, end = _require_aware(start, "start"), _require_aware(end, "end")
        if end <= start:
            return []
        clipped: list[Interval] = []
        day, last_day = self._local_date(start), self._local_date(end)
        while day <= last_day:
            for iv_start, iv_end in self._day_intervals(day):
                lo, hi = max(iv_start, start), min(iv_end, end)
                if lo < hi:
                    clipped.append((lo, hi))
            day += timedelta(days=1)
        return _merge(clipped)

    def open_seconds_until(self, start: datetime, end: datetime) -> float:
        """Total open time within [start, end) in seconds."""
        return sum((hi - lo).total_seconds() for lo, hi in self.open_intervals(start, end))

    def holiday_name(self, day: date) -> str | None:
        """The German name of the public holiday on local date `day`, if any."""
        return self._holidays_of(day.year).get(day)

    # --- internals -----------------------------------------------------------------------------

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def _holidays_of(self, year: int) -> dict[date, str]:
        cached = self._holidays.get(year)
        if cached is None:
            found = holidays.country_holidays("DE", subdiv=self.holiday_state, language="de", years=year)
            cached = {day: str(name) for day, name in found.items()}
            self._holidays[year] = cached
        return cached

    def _is_closed_day(self, day: date) -> bool:
        return (day.month, day.day) in self.closing_days or day in self._holidays_of(day.year)

    def _day_intervals(self, day: date) -> tuple[Interval, ...]:
        """The open intervals of local date `day` as UTC instants (empty on holidays and closing days)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        result: list[Interval] = []
        if not self._is_closed_day(day):
            for start, end in self.weekly[day.weekday()]:
                utc_start = self._to_utc(day, start)
                if end == _MIDNIGHT:
                    utc_end = self._to_utc(day + timedelta(days=1), _MIDNIGHT)
                else:
                    utc_end = self._to_utc(day, end)
                # an interval lying entirely in a spring-forward gap collapses to nothing
                if utc_start < utc_end:
                    result.append((utc_start, utc_end))
        intervals = tuple(result)
        if len(self._days) >= _DAY_CACHE_MAX:
            self._days.clear()
        self._days[day] = intervals
        return intervals

    def _to_utc(self, day: date, wall: time) -> datetime:
        """Wall-clock time on `day` as UTC: fold=0 when ambiguous, the gap's end when skipped."""
        naive = datetime.combine(day, wall)
        candidate = naive.replace(tzinfo=self.tz).astimezone(UTC)
        if candidate.astimezone(self.tz).replace(tzinfo=None) == naive:
            return candidate
        # `naive` does not exist (spring forward): the first valid instant after it is the
        # transition itself, which lies between the two readings of `naive`; find it to the second.
        lo = naive.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        hi = candidate
        if lo > hi:
            lo, hi = hi, lo
        low, high = 0, int((hi - lo).total_seconds())
        while low < high:
            mid = (low + high) // 2
            if (lo + timedelta(seconds=mid)).astimezone(self.tz).replace(tzinfo=None) > naive:
                high = mid
            else:
                low = mid + 1
        return lo + timedelta(seconds=low)
