"""The console's tests: Qt offscreen (set before Qt starts), a real operator API over a real SQLite store
with a fixed clock, operators of each role, and a signed-in console."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt application exists

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QSettings

from bots.runtime.bot import Registry
from bots.runtime.clock import FixedClock
from bots.runtime.migrate import upgrade
from bots.runtime.models import Role
from bots.runtime.operators import add_operator
from bots.runtime.ops_api import create_ops_app
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from console.client import TIMEOUT, ApiClient
from console.hub import Hub
from console.i18n import set_language
from console.session import Session
from console.tasks import Tasks
from console.views.main_window import MainWindow
from tests.console.data import World, build

# Tuesday 10:00 in Berlin: the policy administration is in service
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PASSWORDS = {"chef": "chef-passwort-1", "anna": "anna-passwort-1", "lars": "lars-passwort-1"}


@dataclass
class OpsApi:
    """A real operator API over a real SQLite store (FixedClock), with a supervisor and two clerks."""

    url: str
    store: Store
    clock: FixedClock
    settings: Settings
    world: World | None = None
    server: ThreadedServer | None = None

    def client(self, name: str, timeout: httpx.Timeout = TIMEOUT) -> ApiClient:
        client = ApiClient(self.url, timeout=timeout)
        client.login(name, PASSWORDS[name])
        return client


def ops_settings(tmp_path: Path) -> Settings:
    # cheap password hashing: the tests sign in many times
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path,
        _env_file=None,
        ops_argon2_time_cost=1,
        ops_argon2_memory_kib=8,
        ops_argon2_parallelism=1,
    )


def start_ops(
    tmp_path: Path, clock: FixedClock, *, operators: bool = True, data: bool = True
) -> Iterator[OpsApi]:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    upgrade(url)
    store = Store(url, clock)
    settings = ops_settings(tmp_path)
    if operators:
        add_operator(store, settings, "chef", Role.SUPERVISOR, (), PASSWORDS["chef"], actor="test")
        add_operator(store, settings, "anna", Role.CLERK, ("Kranken",), PASSWORDS["anna"], actor="test")
        add_operator(store, settings, "lars", Role.CLERK, ("Leben",), PASSWORDS["lars"], actor="test")
    world = build(store, clock, settings) if data else None
    app = create_ops_app(store, Registry.discover(settings.bots), settings, allow_setup=True)
    try:
        with ThreadedServer(app, name="ops-api") as server:
            yield OpsApi(server.url, store, clock, settings, world, server)
    finally:
        store.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def ops(tmp_path: Path, clock: FixedClock) -> Iterator[OpsApi]:
    """The operator API over a store with realistic work."""
    yield from start_ops(tmp_path, clock)


@pytest.fixture(autouse=True)
def german() -> Iterator[None]:
    set_language("de")
    yield
    set_language("de")


@pytest.fixture
def console(qtbot: Any, tmp_path: Path) -> Iterator[Callable[..., MainWindow]]:
    """Open the main window signed in as an operator of an API; closed at the end."""
    opened: list[tuple[MainWindow, Session]] = []

    def open_window(
        ops: OpsApi, name: str, refresh_ms: int = 60_000, timeout: httpx.Timeout = TIMEOUT
    ) -> MainWindow:
        client = ops.client(name, timeout)
        tasks, hub = Tasks(), Hub()
        session = Session(client, tasks, hub, dict(client.operator or {}))
        settings = QSettings(str(tmp_path / f"console-{name}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(session, settings, refresh_ms=refresh_ms)
        qtbot.addWidget(window)
        window.resize(1440, 900)
        window.show()
        opened.append((window, session))
        return window

    yield open_window
    for window, session in opened:
        window.close()
        qtbot.waitUntil(lambda session=session: session.tasks.running == 0, timeout=15_000)
        session.client.close()
