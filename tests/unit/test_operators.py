"""Operators' passwords, sign-in waits and the backlog projection, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bots.runtime.calendar import ServiceCalendar, parse_hours
from bots.runtime.models import Role
from bots.runtime.operators import (
    check_name,
    check_password,
    check_units,
    lock_after,
    password_hasher,
    token_digest,
)
from bots.runtime.projection import open_time_reached, system_backlog
from bots.runtime.settings import Settings


def settings(**changes: object) -> Settings:
    return Settings(_env_file=None, **changes)  # type: ignore[call-arg]


def test_production_hashes_cost_argon2_cffis_defaults_and_tests_may_lower_them() -> None:
    hasher = password_hasher(settings())
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)
    cheap = password_hasher(
        settings(ops_argon2_time_cost=1, ops_argon2_memory_kib=8, ops_argon2_parallelism=1)
    )
    stored = cheap.hash("a long password")
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert stored != cheap.hash("a long password")  # salted
    assert cheap.verify(stored, "a long password")


def test_the_wait_after_wrong_passwords_starts_after_five_and_doubles_to_fifteen_minutes() -> None:
    waits = [lock_after(settings(), n) for n in range(1, 16)]
    assert waits[:4] == [None] * 4
    assert [w.total_seconds() for w in waits[4:] if w is not None] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        900,
        900,
    ]
    assert lock_after(settings(), 10_000) == timedelta(minutes=15)


def test_names_passwords_and_units_are_checked() -> None:
    assert check_name("anna.meier_2") == "anna.meier_2"
    for bad in ("", "anna meier", "ä", "x" * 65):
        with pytest.raises(ValueError):
            check_name(bad)
    with pytest.raises(ValueError, match="10 characters"):
        check_password("short")
    assert check_units(Role.CLERK, [" Kranken", "Leben", "Kranken", ""]) == ("Kranken", "Leben")
    assert check_units(Role.SUPERVISOR, []) == ()
    with pytest.raises(ValueError, match="unit"):
        check_units(Role.CLERK, [])
    assert token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


CALENDAR = ServiceCalendar("policy_admin", parse_hours("mon-fri 07:00-19:00"), holiday_state=None)
TUESDAY_10 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
FRIDAY_18 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # 18:00 in Berlin


def test_drain_time_counts_only_open_service_time() -> None:
    # an hour before Friday's closing, three hours of work: one tonight, two on Monday from 07:00
    assert open_time_reached(CALENDAR, FRIDAY_18, 3 * 3600) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    backlog = system_backlog(
        CALENDAR,
        ["echo"],
        {"echo": {"pending": 20, "deferred": 10, "done": 500}},
        {"echo": {"service_window": 10}},
        {"echo": 120},  # done in the last 24 h: 12 open hours (Thursday 18-19 and Friday 07-18) -> 10/h
        since=FRIDAY_18 - timedelta(hours=24),
        now=FRIDAY_18,
    )
    assert (backlog.open, backlog.waiting, backlog.waiting_total) == (True, {"echo": 30}, 30)
    assert backlog.throughput_per_hour == pytest.approx(10.0)
    assert backlog.next_closing == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert backlog.next_opening == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert backlog.projected_drained_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert backlog.deferred == {"service_window": 10}


def test_a_closed_system_drains_from_its_next_opening_and_nothing_measured_projects_nothing() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    closed = system_backlog(
        CALENDAR,
        ["echo"],
        {"echo": {"pending": 5}},
        {},
        {"echo": 60},
        since=saturday - timedelta(days=2),
        now=saturday,
    )
    assert closed.open is False and closed.closed_reason == "außerhalb der Servicezeiten"
    assert closed.next_opening == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert closed.projected_drained_at is not None and closed.projected_drained_at > closed.next_opening
    unknown = system_backlog(
        CALENDAR, ["echo"], {"echo": {"pending": 5}}, {}, {}, since=TUESDAY_10, now=TUESDAY_10
    )
    assert unknown.throughput_per_hour is None and unknown.projected_drained_at is None
    empty = system_backlog(CALENDAR, ["echo"], {}, {}, {}, since=TUESDAY_10, now=TUESDAY_10)
    assert empty.projected_drained_at == TUESDAY_10
