"""The portal's contract overview over real HTTP: the sandbox's service (open at any hour, its own token, the
fault knob `portal_down`) and the insurer layer's client of it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from bots.insurer.contracts import SYSTEM, ContractOverview, ContractsUnavailable
from bots.runtime.errors import SystemUnavailable
from tests.conftest import SATURDAY_23, Sandbox, free_port

PORTAL = {"Authorization": "Bearer dev-portal-contracts-token"}  # the sandbox's development token
# K100004: ARK-4711-0004 ended (storniert), KV Pflege and Komposit in force; K100009: the KV Zusatz rests
IN_FORCE = {"K100004": {"KV-4712-0003", "KO-4714-0002"}, "K100009": {"ARK-4711-0007"}}


@pytest.fixture
def portal(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


def overview(portal: httpx.Client, customer: str, **headers: str) -> httpx.Response:
    return portal.get(f"/portal/kunden/{customer}/vertraege", headers=headers or PORTAL)


def in_force(sandbox: Sandbox, customer: str) -> set[str]:
    """What the policy administration holds as in force for the customer."""
    return {p.policy_number for p in sandbox.db.policies_of(customer) if p.status == "aktiv"}


def test_it_answers_on_saturday_night_with_the_policies_in_force_only(
    sandbox: Sandbox, portal: httpx.Client
) -> None:
    sandbox.clock.set(SATURDAY_23)
    assert portal.get("/kunden/K100004").status_code == 503  # the policy administration is closed
    for customer, expected in IN_FORCE.items():
        assert in_force(sandbox, customer) == expected  # the seed as documented
        response = overview(portal, customer)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        assert body["customer_id"] == customer
        assert datetime.fromisoformat(body["as_of"]) == SATURDAY_23
        assert {c["policy_number"] for c in body["contracts"]} == expected
        assert {c["status"] for c in body["contracts"]} == {"aktiv"}
    kv = next(c for c in overview(portal, "K100004").json()["contracts"] if c["line"] == "KV")
    # VSNR, Ablaufdatum, Beitrag/Zahlweise: no names, no IBANs
    assert set(kv) == {"policy_number", "line", "business_unit", "status", "start_date", "end_date", "premium",
                       "payment_frequency"}  # fmt: skip
    assert kv["end_date"] is None and kv["business_unit"] == "Kranken" and kv["payment_frequency"]


def test_it_wants_its_own_token_not_the_web_login(sandbox: Sandbox, portal: httpx.Client) -> None:
    assert overview(portal, "K100004", Accept="application/json").status_code == 401  # no token
    wrong = overview(portal, "K100004", Authorization="Bearer dev-sandbox-admin-token")
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    assert overview(portal, "K100004", Authorization="dev-portal-contracts-token").status_code == 401
    # the robot's web session opens the policy administration's pages, not the overview
    logged_in = portal.post("/login", data={"username": "robot", "password": "robot-pw"})
    assert logged_in.status_code == 303 and portal.get("/kunden/K100004").status_code == 200
    assert overview(portal, "K100004", Accept="application/json").status_code == 401


def test_an_unknown_customer_is_404_in_json(portal: httpx.Client) -> None:
    response = overview(portal, "K999999")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_customer"
    assert overview(portal, "k100004").json()["customer_id"] == "K100004"  # as the portal's form forgives


def test_portal_down_answers_503_and_nothing_else_changes(sandbox: Sandbox, portal: httpx.Client) -> None:
    sandbox.set_faults(portal_down=True)
    assert overview(portal, "K100004").status_code == 503
    assert overview(portal, "K100004", Accept="application/json").status_code == 503  # down before any token
    assert portal.get("/login").status_code == 200  # the policy administration still answers
    sandbox.set_faults(portal_down=False)
    assert overview(portal, "K100004").status_code == 200


def test_the_pages_knobs_leave_the_overview_alone(sandbox: Sandbox, portal: httpx.Client) -> None:
    sandbox.set_faults(force_closed=True, error_rate=1.0)
    assert portal.get("/login").status_code == 503
    assert overview(portal, "K100004").status_code == 200


# -- the insurer layer's client ------------------------------------------------------------------------------


def test_the_client_lists_the_active_policies_at_night(sandbox: Sandbox) -> None:
    sandbox.clock.set(SATURDAY_23)
    client = ContractOverview(sandbox.insurer_settings())  # the overview at the policy administration's URL
    assert client.active_policies("K100004") == frozenset(IN_FORCE["K100004"])
    assert client.active_policies("K999999") == frozenset()


def test_the_client_raises_unavailable_when_the_overview_is_down_or_hangs(sandbox: Sandbox) -> None:
    client = ContractOverview(sandbox.insurer_settings(portal_contracts_timeout_seconds=0.3))
    sandbox.set_faults(portal_down=True)
    with pytest.raises(ContractsUnavailable) as down:
        client.active_policies("K100004")
    assert isinstance(down.value, SystemUnavailable) and down.value.system == SYSTEM
    assert "503" in down.value.detail

    sandbox.set_faults(portal_down=False, hang_paths=["/portal/"])
    with pytest.raises(ContractsUnavailable, match="keine Antwort"):
        client.active_policies("K100004")
    sandbox.set_faults(hang_paths=[])

    nobody = f"http://127.0.0.1:{free_port()}"  # a port nobody listens on
    unreachable = ContractOverview(sandbox.insurer_settings(portal_contracts_url=nobody))
    with pytest.raises(ContractsUnavailable, match="nicht erreichbar"):
        unreachable.active_policies("K100004")


def test_a_wrong_token_or_url_is_an_error_of_the_setup_not_an_empty_list(sandbox: Sandbox) -> None:
    wrong_token = ContractOverview(sandbox.insurer_settings(portal_contracts_token="not-the-token"))
    with pytest.raises(PermissionError, match="PORTALBOTS_PORTAL_CONTRACTS_TOKEN"):
        wrong_token.active_policies("K100004")
    wrong_url = ContractOverview(sandbox.insurer_settings(portal_contracts_url=f"{sandbox.url}/portal/v0"))
    with pytest.raises(RuntimeError, match="answered 404"):  # a 404 that is not "unknown customer"
        wrong_url.active_policies("K100004")
