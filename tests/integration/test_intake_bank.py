"""The bank change at the intake, over HTTP on a real store: the IBAN look-up the portal's form calls
(`GET /v1/iban/{iban}`, a bot's own route), bank-change requests, their OpenAPI contract — and the generic
hook (`Bot.router`) that mounts a bot's own routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import APIRouter

from bots.bank_change.bot import BankChangeBot
from bots.runtime.bot import Registry
from bots.runtime.errors import ConfigurationError
from bots.runtime.intake import create_intake_app
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot, Recorder
from tests.integration.test_intake import example_of, resolve

TOKEN = "s3cret-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REQUEST: dict[str, Any] = {
    "customer_id": "K100001",
    "iban": "de89 3704 0044 0532 0130 00",
    "policies": [
        {"policy_number": "LV-4713-0001", "roles": ["debit", "credit"]},
        {"policy_number": "kv-4712-0001", "roles": ["debit"]},
    ],
}
UNKNOWN_BANK = "DE65123456780532013000"  # checksum right, bank code 12345678 belongs to no bank


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, intake_token=TOKEN, _env_file=None)  # type: ignore[arg-type]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(store: Store, settings: Settings, recorder: Recorder) -> Iterator[httpx.Client]:
    app = create_intake_app(store, Registry([EchoBot(), BankChangeBot()]), recorder, settings)
    with ThreadedServer(app, name="intake") as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def look_up(client: httpx.Client, typed: str, headers: dict[str, str] = AUTH) -> httpx.Response:
    return client.get(f"/v1/iban/{quote(typed, safe='')}", headers=headers)


def test_the_look_up_answers_a_valid_iban_with_its_bank(client: httpx.Client) -> None:
    r = look_up(client, "de89 3704 0044 0532 0130 00")  # as typed: lower case, blanks (URL-encoded)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "iban": "DE89370400440532013000",
        "valid": True,
        "reason": None,
        "message": None,
        "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank",
        "country": "DE",
    }


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("DE89370400440532013001", "checksum"),
        ("DE8937040044053201300", "length"),
        (UNKNOWN_BANK, "unknown_bank"),
        ("BR1800360305000010009795493C1", "not_sepa"),
        ("DE89-3704", "invalid_characters"),
        ("de", "length"),  # the customer has typed two letters so far
    ],
)
def test_the_look_up_answers_an_invalid_iban_with_the_reason(
    client: httpx.Client, store: Store, typed: str, reason: str
) -> None:
    r = look_up(client, typed)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["valid"], body["reason"], body["bic"], body["bank_name"]) == (False, reason, None, None)
    assert body["message"] and body["iban"] == typed.upper()
    assert store.list_items() == []  # a look-up stores nothing


def test_the_look_up_needs_the_token(client: httpx.Client) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        r = look_up(client, "DE89370400440532013000", headers)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", headers
        assert r.headers["WWW-Authenticate"] == "Bearer"
    # the token is checked first: an over-long parameter without a token is a 401, never a 422
    assert look_up(client, "D" * 500, {}).status_code == 401


def test_an_over_long_look_up_answers_in_the_error_format(client: httpx.Client) -> None:
    r = look_up(client, "DE" * 51)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    assert [f["field"] for f in r.json()["fields"]] == ["iban"]


def test_a_bank_change_is_accepted_with_the_normalised_iban(
    client: httpx.Client, store: Store, recorder: Recorder
) -> None:
    r = client.post("/v1/bank-changes", json=REQUEST, headers={**AUTH, "Idempotency-Key": "portal-bank-1"})
    assert r.status_code == 202, r.text
    item = store.get(r.json()["id"])
    assert item.queue == "bank_change" and item.customer_id == "K100001" and recorder.sent == [item.id]
    assert item.payload == {
        "customer_id": "K100001",
        "iban": "DE89370400440532013000",
        "policies": [
            {"policy_number": "LV-4713-0001", "roles": ["debit", "credit"]},
            {"policy_number": "KV-4712-0001", "roles": ["debit"]},
        ],
    }


@pytest.mark.parametrize(
    ("iban", "reason"),
    [
        ("DE89370400440532013001", "checksum"),
        (UNKNOWN_BANK, "unknown_bank"),
        ("BR1800360305000010009795493C1", "not_sepa"),
        ("DE89 3704 0044 0532 0130 0", "length"),
    ],
)
def test_an_invalid_iban_is_a_422_naming_the_reason_and_nothing_is_stored(
    client: httpx.Client, store: Store, recorder: Recorder, iban: str, reason: str
) -> None:
    r = client.post("/v1/bank-changes", json={**REQUEST, "iban": iban}, headers=AUTH)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request", r.text
    (field,) = r.json()["fields"]
    assert field["field"] == "iban" and field["message"].startswith(f"{reason}: ")
    assert field["message"] == f"{reason}: {look_up(client, iban).json()['message']}"  # as the form said
    assert store.list_items() == [] and recorder.sent == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"holder": "Erika Mustermann"}, "holder"),
        (
            {
                "policies": [
                    {"policy_number": "LV-4713-0001", "roles": ["debit"]},
                    {"policy_number": "lv-4713-0001", "roles": ["credit"]},
                ]
            },
            "policies",
        ),
        ({"policies": [{"policy_number": "LV-4713-0001", "roles": ["debit", "debit"]}]}, "policies.0.roles"),
        ({"policies": []}, "policies"),
    ],
    ids=["holder", "duplicate-policies", "duplicate-roles", "no-policy"],
)
def test_request_rules_are_422_and_nothing_is_stored(
    client: httpx.Client, store: Store, recorder: Recorder, change: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/bank-changes", json={**REQUEST, **change}, headers=AUTH)
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["fields"]] == [field]
    assert store.list_items() == [] and recorder.sent == []


def test_openapi_states_the_look_up(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    get = doc["paths"]["/v1/iban/{iban}"]["get"]
    assert set(doc["paths"]["/v1/iban/{iban}"]) == {"get"}
    assert get["security"] == [{"bearer": []}]
    (param,) = get["parameters"]
    assert (param["name"], param["in"], param["schema"]["maxLength"]) == ("iban", "path", 100)
    check = resolve(doc, get["responses"]["200"]["content"]["application/json"]["schema"])
    assert check["title"] == "IbanCheck"
    assert set(check["properties"]) == {"iban", "valid", "reason", "message", "bic", "bank_name", "country"}
    reasons = next(s for s in check["properties"]["reason"]["anyOf"] if s.get("type") == "string")["enum"]
    assert set(reasons) == {
        "invalid_characters",
        "unknown_country",
        "not_sepa",
        "length",
        "country_format",
        "checksum",
        "unknown_bank",
    }
    for status in ("401", "422"):
        body = get["responses"][status]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorBody"}, status
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_openapi_states_the_request_rules(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/v1/bank-changes"]["post"]
    assert post["summary"] == "Bankverbindung ändern" and post["security"] == [{"bearer": []}]
    assert {"202", "400", "401", "409", "422"} <= set(post["responses"])
    body = resolve(doc, post["requestBody"]["content"]["application/json"]["schema"])
    props = body["properties"]
    assert body["additionalProperties"] is False and set(body["required"]) == set(props) == set(REQUEST)
    assert props["iban"]["pattern"] == "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"
    assert (
        props["iban"]["examples"] == ["DE89370400440532013000"] and "checksum" in props["iban"]["description"]
    )
    policies = props["policies"]
    assert (policies["minItems"], policies["maxItems"], policies["uniqueItems"]) == (1, 20, True)
    choice = resolve(doc, policies["items"])
    assert choice["additionalProperties"] is False and set(choice["required"]) == {"policy_number", "roles"}
    assert choice["properties"]["policy_number"]["pattern"] == "^[A-Za-z0-9][A-Za-z0-9 ./-]*$"
    roles = choice["properties"]["roles"]
    assert roles["items"]["enum"] == ["debit", "credit"]
    assert (roles["minItems"], roles["maxItems"], roles["uniqueItems"]) == (1, 2, True)


def test_a_body_from_the_schema_alone_is_accepted(client: httpx.Client, store: Store) -> None:
    doc = client.get("/openapi.json").json()
    schema = doc["paths"]["/v1/bank-changes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    body = example_of(doc, schema)
    r = client.post("/v1/bank-changes", json=body, headers=AUTH)
    assert r.status_code == 202, (body, r.text)
    assert store.get(r.json()["id"]).payload == body


class WritingBot(EchoBot):
    """A bot whose own routes would change something: the intake refuses to start with it."""

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/echo-now")
        async def echo_now() -> dict[str, str]:
            return {}

        return router


class ClashingBot(EchoBot):
    """A bot whose own route is one the intake answers already."""

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/items/{number}")
        async def item(number: int) -> dict[str, int]:
            return {"number": number}

        return router


@pytest.mark.parametrize(
    ("bot", "problem"),
    [(WritingBot(), "must be read-only"), (ClashingBot(), "answers")],
    ids=["post", "clash"],
)
def test_a_bots_own_routes_must_be_new_and_read_only(
    store: Store, settings: Settings, bot: EchoBot, problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        create_intake_app(store, Registry([bot]), Recorder(), settings)
