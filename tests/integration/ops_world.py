"""What the operator API's tests share: cheap argon2 settings, operators of two units, items and cases of both
units, and the API served on a free port over the test's store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bots.runtime.bot import Registry
from bots.runtime.models import ItemError, Role, WorkItem
from bots.runtime.operators import add_operator
from bots.runtime.ops_api import create_ops_app
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.states import Status
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot

PASSWORD = "correct horse battery"
LEASE = timedelta(minutes=5)


def cheap_settings(tmp_path: Path, **changes: Any) -> Settings:
    """The runtime's settings with an argon2 cost for tests (production keeps argon2-cffi's defaults)."""
    return Settings(  # type: ignore[call-arg]
        data_dir=tmp_path,
        _env_file=None,
        ops_argon2_time_cost=1,
        ops_argon2_memory_kib=8,
        ops_argon2_parallelism=1,
        **changes,
    )


def handed_off(store: Store, unit: str, customer: str = "K1", due: timedelta = timedelta(hours=4)) -> int:
    """An item handed to a clerk of `unit`; returns the case id."""
    item, _ = store.submit("echo", {"customer_id": customer, "unit": unit}, customer_id=customer)
    held = store.claim(item.id, "worker", LEASE)
    assert held is not None
    _, case = store.hand_off(
        held, unit=unit, reason_code="check", note="bitte prüfen", case_due=due, actor="worker"
    )
    return case.id


def failed(store: Store, customer: str = "K9", code: str = "boom") -> WorkItem:
    item, _ = store.submit("echo", {"customer_id": customer, "code": code}, customer_id=customer)
    held = store.claim(item.id, "worker", LEASE)
    assert held is not None
    return store.finish(
        held,
        Status.FAILED,
        actor="worker",
        reason="system error",
        error=ItemError("system", code, f"{code}!"),
    )


@dataclass
class Ops:
    """The operator API over a store, with a signed-in supervisor and clerks of Kranken and of Leben."""

    store: Store
    settings: Settings
    client: httpx.Client

    def login(self, name: str, password: str = PASSWORD) -> dict[str, str]:
        r = self.client.post("/v1/ops/login", json={"name": name, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def add(self, name: str, role: Role, *units: str) -> None:
        add_operator(self.store, self.settings, name, role, units, PASSWORD, actor="test")


def serve(store: Store, settings: Settings, *, allow_setup: bool = False) -> Iterator[httpx.Client]:
    app = create_ops_app(store, Registry([EchoBot()]), settings, allow_setup=allow_setup)
    with ThreadedServer(app, name="ops") as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def ops(store: Store, tmp_path: Path) -> Iterator[Ops]:
    settings = cheap_settings(tmp_path)
    for client in serve(store, settings):
        world = Ops(store, settings, client)
        world.add("chef", Role.SUPERVISOR)
        world.add("anna", Role.CLERK, "Kranken")
        world.add("lena", Role.CLERK, "Leben")
        yield world
