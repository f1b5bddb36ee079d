"""Shared fixtures: real databases (SQLite and PostgreSQL), a fixed clock, the store, Chromium, the sandbox,
and one set of request and fact builders."""

from __future__ import annotations

import dataclasses
import os
import socket
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis
import sqlalchemy as sa

from bots.ark_certificate.request import ArkRequest
from bots.ark_certificate.settings import ArkSettings
from bots.insurer.facts import Customer, InsuredPerson, Policy, Tariff, TravelCover
from bots.insurer.settings import InsurerSettings
from bots.runtime.browser import ProcessBrowser
from bots.runtime.clock import FixedClock
from bots.runtime.migrate import upgrade
from bots.runtime.schema import metadata
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from sandbox.data import SandboxDB
from sandbox.seed import summarize
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings

IN_CI = bool(os.environ.get("CI"))
PG_ADMIN_URL = os.environ.get("PORTALBOTS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PORTALBOTS_TEST_REDIS", "redis://127.0.0.1:6379")


def unavailable(what: str) -> None:
    """A real backend may be missing on a laptop (skip), never in CI (fail)."""
    if IN_CI:
        pytest.fail(f"{what} is not available in CI")
    pytest.skip(f"{what} is not available")


def empty_redis(db: int) -> Iterator[str]:
    """The URL of Redis database `db`, emptied before and after: for a fixture to `yield from`."""
    url = f"{REDIS_URL}/{db}"
    try:
        client = redis.Redis.from_url(url)
        client.flushdb()
    except redis.ConnectionError:
        unavailable("Redis")
    yield url
    client.flushdb()
    client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_url(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    name = f"pb_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        admin.dispose()
        unavailable("PostgreSQL")
    url = _pg_url(name)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _truncate_pg(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'runtime.db'}"
        upgrade(url)
        return url
    url = request.getfixturevalue("pg_database")
    _truncate_pg(url)
    return url


@pytest.fixture
def clock() -> FixedClock:
    # A Tuesday in business hours, Europe/Berlin (10:00 local).
    return FixedClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(db_url: str, clock: FixedClock) -> Iterator[Store]:
    s = Store(db_url, clock)
    yield s
    s.dispose()


# ---------------------------------------------------------------- time

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)  # in service hours
SATURDAY_23 = datetime(2026, 11, 28, 23, 0, tzinfo=BERLIN)  # closed until Monday 07:00
MONDAY_07 = datetime(2026, 11, 30, 7, 0, tzinfo=BERLIN)


# ---------------------------------------------------------------- Chromium


def chromium_executable() -> str | None:
    """Debian's Chromium, else Playwright's own download; None when neither is there."""
    if Path(SYSTEM_CHROMIUM).exists():
        return SYSTEM_CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        own = pw.chromium.executable_path
    return own if own and Path(own).exists() else None


SYSTEM_CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium the browser tests drive; a missing one fails in CI."""
    path = chromium_executable()
    if path is None:
        unavailable("Chromium")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def process_browser(chromium: str) -> Iterator[ProcessBrowser]:
    """One browser for the session's bot tests, as a worker process has one (short timeouts, no trace)."""
    browser = ProcessBrowser(
        Settings(chromium_path=chromium, _env_file=None),  # type: ignore[call-arg]
        timeout_ms=3000,
        trace=False,
    )
    yield browser
    browser.close()


# ---------------------------------------------------------------- the sandbox


@dataclass
class Sandbox:
    """The stand-in core systems of one test module, reset before each test that uses them."""

    server: SandboxServer
    clock: FixedClock
    _admin: httpx.Client | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def reset(self) -> None:
        self.clock.set(TUESDAY_10)
        self.server.faults.reset()

    @property
    def admin(self) -> httpx.Client:
        """A client of the sandbox's admin API, with its token."""
        if self._admin is None:
            self._admin = httpx.Client(base_url=self.url, headers=SANDBOX_ADMIN, timeout=30)
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()

    @property
    def db(self) -> SandboxDB:
        return self.server.db

    def set_faults(self, **knobs: Any) -> None:
        self.admin.put("/admin/faults", json=knobs).raise_for_status()

    def insurer_settings(self, **changes: Any) -> InsurerSettings:
        """The insurer's settings pointing at this sandbox."""
        return InsurerSettings(policy_admin_url=self.url, _env_file=None, **changes)  # type: ignore[call-arg]

    def ark_settings(self, **changes: Any) -> ArkSettings:
        """The ARK bot's settings pointing at this sandbox."""
        return ArkSettings(policy_admin_url=self.url, _env_file=None, **changes)  # type: ignore[call-arg]

    def runtime_settings(self, data_dir: Path, **changes: Any) -> Settings:
        """The runtime's settings sending mail to this sandbox's Postfach."""
        return Settings(  # type: ignore[call-arg]
            data_dir=data_dir,
            smtp_host=self.server.smtp_host,
            smtp_port=self.server.smtp_port,
            _env_file=None,
            **changes,
        )

    def ark_policies(self) -> list[tuple[str, dict[str, Any]]]:
        """(customer id, policy) of every active, open-ended ARK policy of the seed."""
        return [
            (c["customer_id"], p)
            for c in summarize(self.server.db).customers
            for p in c["policies"]
            if p["line"] == "ARK" and p["status"] == "aktiv" and p["end_date"] is None
        ]

    def family(self) -> tuple[str, dict[str, Any]]:
        """The ARK policy with the most insured persons."""
        return max(self.ark_policies(), key=lambda cp: len(cp[1]["insured_persons"]))

    def ark_policy(self, customer: str) -> tuple[str, dict[str, Any]]:
        """The active ARK policy of a seeded customer (K100007: Europe only; K100008: lives in AT; K100009:
        a child covered from 2027-01-01)."""
        (found,) = [cp for cp in self.ark_policies() if cp[0] == customer]
        return found

    def postfach(self, customer: str) -> list[dict[str, Any]]:
        """The messages in a customer's Postfach, as the admin API lists them."""
        return list(self.admin.get(f"/admin/postfach/{customer}").json()["messages"])


SANDBOX_CUSTOMERS = 30
SANDBOX_ADMIN = {"Authorization": "Bearer dev-sandbox-admin-token"}  # the sandbox's development token


@pytest.fixture(scope="module")
def sandbox_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    clock = FixedClock(TUESDAY_10)
    settings = SandboxSettings(data_dir=tmp_path_factory.mktemp("sandbox"), _env_file=None)  # type: ignore[call-arg]
    with SandboxServer(settings, clock, customers=SANDBOX_CUSTOMERS) as server:
        sandbox = Sandbox(server, clock)
        yield sandbox
        sandbox.close()


@pytest.fixture
def sandbox(sandbox_module: Sandbox) -> Iterator[Sandbox]:
    """The sandbox (started once per module) standing on Tuesday 10:00 with no faults."""
    sandbox_module.reset()
    yield sandbox_module
    sandbox_module.reset()


# ---------------------------------------------------------------- request and fact builders

FAMILY = (
    InsuredPerson("Łucja", "Öztürk-Şahin", date(1985, 5, 17), "VN"),
    InsuredPerson("Mehmet Emre", "Öztürk-Şahin", date(1983, 11, 2), "Ehepartner"),
    InsuredPerson("Zoë", "Öztürk-Şahin", date(2014, 2, 28), "Kind"),
    InsuredPerson("Ádám Ferenc", "Őrsi-Nagy", date(2017, 9, 9), "Kind"),
)


# Names that wrap, that are one long word, that come decomposed (NFD), with hyphens a line must not split
LONG_NAMES = (
    InsuredPerson("Maximiliane Theresa Walburga Konstanze", "Sigmaringen-Brandenburg von Hohenzollern-Hechingen",
                  date(1984, 5, 5)),
    InsuredPerson("Anna", "Wolfeschlegelsteinhausenbergerdorff-Sigmaringen-Brandenburg", date(1986, 7, 7)),
    InsuredPerson(unicodedata.normalize("NFD", "José María"), unicodedata.normalize("NFD", "Núñez García"),
                  date(1985, 6, 6)),
    InsuredPerson(unicodedata.normalize("NFD", "Chloé Anaïs"), unicodedata.normalize("NFD", "Lefèvre-Dubois"),
                  date(2011, 1, 1)),
)  # fmt: skip


def many_persons(count: int) -> tuple[InsuredPerson, ...]:
    """`count` insured persons with short names and distinct birth dates."""
    return tuple(
        InsuredPerson(f"Vorname{i}", f"Nachname{i}", date(1970 + i % 50, 1 + i % 12, 1 + i % 28))
        for i in range(count)
    )


def very_long_names(count: int) -> tuple[InsuredPerson, ...]:
    """`count` insured persons whose surname and given names both wrap in the certificate's table."""
    return tuple(
        InsuredPerson(f"María Josefa Dolores Concepción {n}", f"Fernández de Córdoba y Álvarez de Toledo {n}",
                      date(1980 + n, 1, 1))
        for n in range(count)
    )  # fmt: skip


def ark_payload(**changes: Any) -> dict[str, Any]:
    """An ARK request as the portal sends it (JSON): a family's trip to Thailand in four languages."""
    body: dict[str, Any] = {
        "customer_id": "K-100",
        "policy_number": "ARK-4711-0815",
        "travel_start": "2027-03-03",
        "travel_end": "2027-03-24",
        "country": "TH",
        "languages": ["de", "en", "es", "fr"],
    }
    return {**body, **{k: v.isoformat() if isinstance(v, date) else v for k, v in changes.items()}}


def make_ark_request(**changes: Any) -> ArkRequest:
    return ArkRequest.model_validate(ark_payload(**changes))


WORLDWIDE = TravelCover(
    area="WORLD_EXCEPT_DE",
    sum_insured_eur=None,
    deductible_eur=Decimal(0),
    urgent_treatment=True,
    hospital=True,
    repatriation=True,
    repatriation_of_remains=True,
    direct_settlement=True,
)


def make_tariff(name: str = "ARK-Jahr Familie 42", max_trip_days: int | None = None, **cover: Any) -> Tariff:
    """A travel tariff's card: worldwide except Germany, unlimited, no deductible, every service, unless changed."""
    return Tariff(name, max_trip_days, dataclasses.replace(WORLDWIDE, **cover))


def make_policy(**changes: Any) -> Policy:
    """A policy as the policy administration shows it: the family's ARK policy, in force, open-ended."""
    policy = Policy(
        policy_number="ARK-4711-0815",
        holder_customer_id="K-100",
        holder_country="DE",
        line="ARK",
        status="aktiv",
        start_date=date(2020, 1, 1),
        end_date=None,
        tariff=make_tariff(),
        insured_persons=FAMILY,
        business_unit="Kranken",
    )
    return dataclasses.replace(policy, **changes)


def make_customer(**changes: Any) -> Customer:
    """The policy holder as the customer page shows them: living in Germany."""
    customer = Customer(
        customer_id="K-100",
        first_name="Łucja",
        last_name="Öztürk-Şahin",
        birth_date=date(1985, 5, 17),
        street="Ehrenfeldgürtel 12",
        zip="50823",
        city="Köln",
        country="DE",
        is_intermediary=False,
    )
    return dataclasses.replace(customer, **changes)


def sandbox_ark_payload(customer: str, policy: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An ARK request for a seeded policy of the sandbox: a trip 30 days after TUESDAY_10."""
    start = TUESDAY_10.date() + timedelta(days=30)
    return ark_payload(
        customer_id=customer,
        policy_number=policy["policy_number"],
        travel_start=start,
        travel_end=start + timedelta(days=14),
        **changes,
    )
