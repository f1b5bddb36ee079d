"""Service calendar: weekly hours, holidays, closing days, DST."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bots.runtime.calendar import ServiceCalendar, parse_closing_days, parse_hours
from bots.runtime.settings import Settings

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = "mon-fri 07:00-19:00"
CLOSING = "12-24,12-31"
HOUR = 3600.0


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, *, fold: int = 0
) -> datetime:
    """A Berlin wall-clock instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN, fold=fold)


def calendar(spec: str = WEEKDAYS, state: str | None = "NW", closing: str = CLOSING) -> ServiceCalendar:
    return ServiceCalendar(
        "policy_admin", parse_hours(spec), "Europe/Berlin", state, parse_closing_days(closing)
    )


NW = calendar()


# --- parsing ----------------------------------------------------------------------------------


def test_parse_hours_ranges_lists_and_several_intervals() -> None:
    hours = parse_hours("mon-fri 07:00-19:00; sat 08:00-12:00")
    assert hours == {d: ((time(7), time(19)),) for d in range(5)} | {5: ((time(8), time(12)),)}
    hours = parse_hours("Mon,Wed 13:00-18:00 07:00-12:00")
    assert hours == {
        0: ((time(7), time(12)), (time(13), time(18))),
        2: ((time(7), time(12)), (time(13), time(18))),
    }


def test_parse_hours_24_00_end_wrapping_range_and_merging() -> None:
    assert parse_hours("sun 20:00-24:00") == {6: ((time(20), time(0)),)}
    assert sorted(parse_hours("fri-mon 08:00-09:00")) == [0, 4, 5, 6]
    assert parse_hours("mon 07:00-12:00; mon 11:00-14:00") == {0: ((time(7), time(14)),)}
    assert parse_hours("mon - fri  07:00 - 19:00;") == parse_hours(WEEKDAYS)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("", "no service hours"),
        ("mon-fri", "'mon-fri'"),
        ("mon-fry 07:00-19:00", "'fry'"),
        ("mon-fri 07:00-25:00", "'25:00'"),
        ("mon-fri 24:00-25:00", "'24:00'"),
        ("mon-fri 7-19", "bad time '7'"),
        ("mon-fri 19:00-07:00", "'19:00-07:00'"),
        ("mon-fri 07:00-19:00; sat 08:00-1200", "'1200'"),
        ("mon-fri 07:60-19:00", "'07:60'"),
    ],
)
def test_parse_hours_errors_name_the_bad_part(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        parse_hours(spec)


def test_parse_closing_days() -> None:
    assert parse_closing_days("12-24,12-31") == frozenset({(12, 24), (12, 31)})
    assert parse_closing_days(" 12-24 , 02-29 ") == frozenset({(12, 24), (2, 29)})
    assert parse_closing_days("") == frozenset()
    with pytest.raises(ValueError, match=re.escape("'24.12'")):
        parse_closing_days("12-31,24.12")
    with pytest.raises(ValueError, match="'02-30'"):
        parse_closing_days("02-30")


def test_constructor_rejects_bad_zone_state_and_weekday() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        ServiceCalendar("x", parse_hours(WEEKDAYS), "Mars/Olympus")
    with pytest.raises(ValueError, match="'XX'"):
        ServiceCalendar("x", parse_hours(WEEKDAYS), holiday_state="XX")
    with pytest.raises(ValueError, match="weekday 7"):
        ServiceCalendar("x", {7: ((time(7), time(8)),)})


def test_from_settings() -> None:
    settings = Settings(
        service_hours="mon-fri 08:00-16:00", timezone="Europe/Berlin", holiday_state="BE", closing_days=""
    )
    cal = ServiceCalendar.from_settings("policy_admin", settings)
    assert cal.system == "policy_admin"
    assert cal.holiday_state == "BE"
    assert cal.closing_days == frozenset()
    assert cal.is_open(local(2026, 1, 12, 8, 0))
    assert not cal.is_open(local(2026, 1, 12, 7, 59))


# --- weekly hours -----------------------------------------------------------------------------


def test_saturday_night_opens_monday_morning() -> None:
    sat = local(2026, 1, 17, 23, 0)
    assert not NW.is_open(sat)
    assert NW.closed_reason(sat) == "außerhalb der Servicezeiten"
    assert NW.next_closing(sat) is None
    opening = NW.next_opening(sat)
    assert opening == local(2026, 1, 19, 7, 0)
    assert opening.tzinfo is UTC
    assert opening == datetime(2026, 1, 19, 6, 0, tzinfo=UTC)


def test_friday_evening_boundary_is_half_open() -> None:
    assert NW.is_open(local(2026, 1, 16, 18, 59))
    assert NW.closed_reason(local(2026, 1, 16, 18, 59)) is None
    assert not NW.is_open(local(2026, 1, 16, 19, 0))
    assert NW.is_open(local(2026, 1, 16, 7, 0))
    assert not NW.is_open(local(2026, 1, 16, 6, 59, 59))


def test_open_now_returns_the_same_instant_and_the_closing() -> None:
    at = local(2026, 1, 14, 10, 30)
    assert NW.next_opening(at) == at
    assert NW.next_opening(at).tzinfo is UTC
    assert NW.next_closing(at) == local(2026, 1, 14, 19, 0)


def test_other_timezones_as_input_give_utc_output() -> None:
    at = datetime(2026, 1, 17, 22, 0, tzinfo=ZoneInfo("America/New_York"))  # Sun 04:00 Berlin
    assert NW.next_opening(at) == datetime(2026, 1, 19, 6, 0, tzinfo=UTC)


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 1, 14, 10, 0)
    for call in (NW.is_open, NW.next_opening, NW.next_closing, NW.closed_reason):
        with pytest.raises(ValueError, match="timezone-aware"):
            call(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        NW.open_intervals(naive, local(2026, 1, 15, 0, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        NW.open_seconds_until(local(2026, 1, 14, 0, 0), naive)


def test_a_week_has_sixty_open_hours() -> None:
    start, end = local(2026, 1, 12, 0, 0), local(2026, 1, 19, 0, 0)
    intervals = NW.open_intervals(start, end)
    assert len(intervals) == 5
    assert intervals[0] == (local(2026, 1, 12, 7, 0), local(2026, 1, 12, 19, 0))
    assert all(a.tzinfo is UTC and b.tzinfo is UTC for a, b in intervals)
    assert NW.open_seconds_until(start, end) == 60 * HOUR


def test_open_intervals_are_clipped() -> None:
    intervals = NW.open_intervals(local(2026, 1, 12, 18, 0), local(2026, 1, 13, 8, 30))
    assert intervals == [
        (local(2026, 1, 12, 18, 0), local(2026, 1, 12, 19, 0)),
        (local(2026, 1, 13, 7, 0), local(2026, 1, 13, 8, 30)),
    ]
    assert NW.open_seconds_until(local(2026, 1, 12, 18, 0), local(2026, 1, 13, 8, 30)) == 2.5 * HOUR
    assert NW.open_intervals(local(2026, 1, 13, 8, 30), local(2026, 1, 12, 18, 0)) == []


def test_hours_across_midnight_join_into_one_open_period() -> None:
    cal = calendar("mon 22:00-24:00; tue 00:00-06:00")
    at = local(2026, 1, 12, 23, 0)
    assert cal.is_open(at)
    assert cal.is_open(local(2026, 1, 13, 0, 0))
    assert cal.next_closing(at) == local(2026, 1, 13, 6, 0)
    assert cal.open_intervals(local(2026, 1, 12, 0, 0), local(2026, 1, 14, 0, 0)) == [
        (local(2026, 1, 12, 22, 0), local(2026, 1, 13, 6, 0))
    ]


def test_never_opens_raises() -> None:
    cal = ServiceCalendar("x", {}, holiday_state=None)
    with pytest.raises(ValueError, match="never opens"):
        cal.next_opening(local(2026, 1, 12, 0, 0))


# --- holidays and closing days ----------------------------------------------------------------


def test_christmas_eve_waits_for_monday_after_christmas() -> None:
    eve = local(2026, 12, 24, 10, 0)  # Thursday, company closing day
    assert not NW.is_open(eve)
    assert NW.closed_reason(eve) == "Betriebsruhe (24.12.)"
    assert NW.closed_reason(local(2026, 12, 25, 10, 0)) == "Feiertag: Erster Weihnachtstag"
    assert NW.closed_reason(local(2026, 12, 26, 10, 0)) == "Feiertag: Zweiter Weihnachtstag"
    assert NW.next_opening(eve) == local(2026, 12, 28, 7, 0)
    assert NW.next_opening(local(2026, 12, 23, 19, 0)) == local(2026, 12, 28, 7, 0)


def test_new_years_eve_and_new_year() -> None:
    assert NW.closed_reason(local(2026, 12, 31, 9, 0)) == "Betriebsruhe (31.12.)"
    assert NW.closed_reason(local(2027, 1, 1, 9, 0)) == "Feiertag: Neujahr"
    assert NW.next_opening(local(2026, 12, 30, 19, 30)) == local(2027, 1, 4, 7, 0)


def test_without_closing_days_christmas_eve_is_a_working_day() -> None:
    cal = calendar(closing="")
    assert cal.is_open(local(2026, 12, 24, 10, 0))


def test_easter_2027_from_good_friday_to_easter_monday() -> None:
    # Good Friday 26.03., Easter Monday 29.03.; summer time starts on Easter Sunday 28.03.
    assert NW.closed_reason(local(2027, 3, 26, 10, 0)) == "Feiertag: Karfreitag"
    assert NW.closed_reason(local(2027, 3, 29, 10, 0)) == "Feiertag: Ostermontag"
    opening = NW.next_opening(local(2027, 3, 25, 19, 0))
    assert opening == local(2027, 3, 30, 7, 0)
    assert opening == datetime(2027, 3, 30, 5, 0, tzinfo=UTC)
    week = NW.open_seconds_until(local(2027, 3, 22, 0, 0), local(2027, 3, 29, 0, 0))
    assert week == 4 * 12 * HOUR


def test_fronleichnam_depends_on_the_state() -> None:
    at = local(2026, 6, 4, 10, 0)  # Thursday, Corpus Christi
    assert not NW.is_open(at)
    assert NW.closed_reason(at) == "Feiertag: Fronleichnam"
    assert NW.next_opening(at) == local(2026, 6, 5, 7, 0)
    berlin = calendar(state="BE")
    assert berlin.is_open(at)
    assert berlin.closed_reason(at) is None
    assert berlin.holiday_name(at.date()) is None
    assert NW.holiday_name(at.date()) == "Fronleichnam"


def test_without_a_state_only_nationwide_holidays_count() -> None:
    cal = calendar(state=None)
    assert cal.is_open(local(2026, 6, 4, 10, 0))
    assert cal.closed_reason(local(2025, 10, 3, 10, 0)) == "Feiertag: Tag der Deutschen Einheit"
    assert cal.closed_reason(local(2026, 5, 1, 10, 0)) == "Feiertag: Erster Mai"


# --- daylight saving time ---------------------------------------------------------------------


def test_spring_forward_sunday_has_one_hour_less() -> None:
    cal = calendar("sun 01:00-05:00")
    normal = cal.open_seconds_until(local(2027, 3, 21, 0, 0), local(2027, 3, 22, 0, 0))
    spring = cal.open_seconds_until(local(2027, 3, 28, 0, 0), local(2027, 3, 29, 0, 0))
    assert normal == 4 * HOUR
    assert spring == 3 * HOUR
    assert cal.open_intervals(local(2027, 3, 28, 0, 0), local(2027, 3, 29, 0, 0)) == [
        (datetime(2027, 3, 28, 0, 0, tzinfo=UTC), datetime(2027, 3, 28, 3, 0, tzinfo=UTC))
    ]


def test_fall_back_sunday_has_one_hour_more() -> None:
    cal = calendar("sun 01:00-05:00")
    fall = cal.open_seconds_until(local(2026, 10, 25, 0, 0), local(2026, 10, 26, 0, 0))
    assert fall == 5 * HOUR
    assert cal.is_open(local(2026, 10, 25, 2, 30, fold=0))
    assert cal.is_open(local(2026, 10, 25, 2, 30, fold=1))


def test_whole_days_are_23_and_25_hours_long_across_dst() -> None:
    cal = calendar("sun 00:00-24:00", state=None, closing="")
    assert cal.open_seconds_until(local(2027, 3, 27, 12, 0), local(2027, 3, 29, 12, 0)) == 23 * HOUR
    assert cal.open_seconds_until(local(2026, 10, 24, 12, 0), local(2026, 10, 26, 12, 0)) == 25 * HOUR
    assert cal.next_closing(local(2026, 10, 25, 1, 0)) == local(2026, 10, 26, 0, 0)


def test_start_in_the_spring_gap_maps_to_the_first_valid_instant() -> None:
    cal = calendar("sun 02:30-05:00")
    opening = cal.next_opening(local(2026, 3, 29, 0, 0))
    assert opening == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the end of the gap
    assert opening.astimezone(BERLIN).hour == 3
    assert cal.open_seconds_until(local(2026, 3, 29, 0, 0), local(2026, 3, 30, 0, 0)) == 2 * HOUR
    gap_only = calendar("sun 02:00-02:45; mon 07:00-08:00")
    assert gap_only.next_opening(local(2026, 3, 29, 0, 0)) == local(2026, 3, 30, 7, 0)


def test_ambiguous_start_uses_the_first_occurrence() -> None:
    cal = calendar("sun 02:30-04:00")
    opening = cal.next_opening(local(2026, 10, 25, 0, 0))
    assert opening == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    assert cal.open_seconds_until(local(2026, 10, 25, 0, 0), local(2026, 10, 26, 0, 0)) == 2.5 * HOUR


@pytest.mark.parametrize(
    ("sunday", "monday_utc"),
    [
        (local(2026, 3, 29, 12, 0), datetime(2026, 3, 30, 5, 0, tzinfo=UTC)),  # now summer time
        (local(2026, 10, 25, 12, 0), datetime(2026, 10, 26, 6, 0, tzinfo=UTC)),  # now winter time
        (local(2026, 3, 22, 12, 0), datetime(2026, 3, 23, 6, 0, tzinfo=UTC)),  # winter, week before
        (local(2026, 10, 18, 12, 0), datetime(2026, 10, 19, 5, 0, tzinfo=UTC)),  # summer, week before
    ],
)
def test_sunday_in_dst_weeks_opens_monday_seven_local(sunday: datetime, monday_utc: datetime) -> None:
    opening = NW.next_opening(sunday)
    assert opening == monday_utc
    assert opening.astimezone(BERLIN).time() == time(7, 0)
    assert opening.astimezone(BERLIN).weekday() == 0


def test_fall_back_night_is_closed_in_both_occurrences() -> None:
    for fold in (0, 1):
        at = local(2026, 10, 25, 2, 30, fold=fold)
        assert not NW.is_open(at)
        assert NW.next_opening(at) == datetime(2026, 10, 26, 6, 0, tzinfo=UTC)


# --- properties -------------------------------------------------------------------------------

PROPERTY_CALENDARS = [
    NW,
    calendar("mon-fri 07:00-19:00; sat 08:00-12:00"),
    calendar("mon,wed 07:00-12:00 13:00-18:00; sun 01:00-05:00"),
    calendar("sun 02:30-03:30; tue 22:00-24:00; wed 00:00-01:00"),
]
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31, 23, 59), timezones=st.just(UTC)
)


@hsettings(max_examples=300, deadline=None, database=None)
@given(at=instants, which=st.integers(0, len(PROPERTY_CALENDARS) - 1))
def test_next_opening_is_the_first_open_instant(at: datetime, which: int) -> None:
    cal = PROPERTY_CALENDARS[which]
    opening = cal.next_opening(at)
    assert opening.tzinfo is UTC
    assert opening >= at
    assert cal.is_open(opening)
    assert cal.closed_reason(opening) is None
    if opening > at:
        assert cal.open_intervals(at, opening) == []
        gap = opening - at
        for i in range(20):
            point = at + gap * i / 20
            assert not cal.is_open(point)
            assert cal.closed_reason(point) is not None
        assert not cal.is_open(opening - timedelta(microseconds=1))
    closing = cal.next_closing(opening)
    assert closing is not None and closing > opening
    assert not cal.is_open(closing)
    assert cal.open_seconds_until(opening, closing) == (closing - opening).total_seconds()


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        (datetime(2026, 11, 24, 10, 0), datetime(2026, 11, 25, 19, 0)),  # Tuesday -> end of Wednesday
        (datetime(2026, 11, 27, 20, 0), datetime(2026, 11, 30, 19, 0)),  # Friday evening -> Monday
        (datetime(2026, 11, 28, 23, 0), datetime(2026, 11, 30, 19, 0)),  # Saturday night -> Monday
        (datetime(2026, 12, 23, 18, 0), datetime(2026, 12, 28, 19, 0)),  # 24 closed, 25/26 holidays
        (datetime(2026, 12, 24, 9, 0), datetime(2026, 12, 28, 19, 0)),
        (datetime(2026, 12, 31, 9, 0), datetime(2027, 1, 4, 19, 0)),  # New Year's Day, then a weekend
        (datetime(2026, 3, 27, 12, 0), datetime(2026, 3, 30, 19, 0)),  # across the spring DST change
    ],
)
def test_the_next_service_day_ends_as_a_customer_reads_bis_zum_naechsten_werktag(
    submitted: datetime, due: datetime
) -> None:
    calendar = ServiceCalendar(
        "policy_admin", parse_hours("mon-fri 07:00-19:00"), closing_days={(12, 24), (12, 31)}
    )
    berlin = ZoneInfo("Europe/Berlin")
    assert calendar.next_service_day_end(submitted.replace(tzinfo=berlin)) == due.replace(tzinfo=berlin)
