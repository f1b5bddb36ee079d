"""The intake at its edges: whatever arrives, a 4xx naming the field (or 413), never a 500 — on a real store."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bots.ark_certificate.bot import ArkCertificateBot
from bots.ark_certificate.settings import ArkSettings
from bots.runtime.bot import Registry
from bots.runtime.intake import create_intake_app
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot, Recorder
from tests.conftest import ark_payload

TOKEN = "s3cret-edge-token-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TODAY_TRIP = {"travel_start": "2026-12-01", "travel_end": "2026-12-10"}  # the store's clock: 24.11.2026


@pytest.fixture
def client(store: Store, tmp_path: Path) -> Iterator[httpx.Client]:
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path, intake_token=TOKEN, intake_max_json_bytes=256 * 1024, _env_file=None
    )
    ark = ArkCertificateBot(ArkSettings(_env_file=None))  # type: ignore[call-arg]
    app = create_intake_app(store, Registry([EchoBot(), ark]), Recorder(), settings)
    with ThreadedServer(app, name="intake") as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def fields(r: httpx.Response) -> list[str]:
    return [f["field"] for f in r.json().get("fields", [])]


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/v1/echoes", {"customer_id": "K1\u0000"}, "customer_id"),
        ("/v1/echoes", {"customer_id": "K1", "text": "a\u0000b"}, "text"),
        ("/v1/ark-certificates", ark_payload(customer_id="K\u00001", **TODAY_TRIP), "customer_id"),
    ],
)
def test_nul_characters_are_refused_naming_the_field(
    client: httpx.Client, store: Store, route: str, body: dict[str, Any], field: str
) -> None:
    r = client.post(route, json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert field in fields(r)
    assert store.list_items() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"travel_end": 0}, "travel_end"),  # a number is no date (it used to read as 1970-01-01)
        ({"travel_start": 1764547200}, "travel_start"),  # nor is a Unix timestamp
        ({"travel_start": "01.12.2026"}, "travel_start"),
        ({"travel_start": "2026-12-10", "travel_end": "2026-12-01"}, "travel_end"),
        ({"languages": ["de", "de"]}, "languages"),
        ({"country": "XK"}, "country"),  # no ISO 3166-1 country
        ({"country": "ZZ"}, "country"),
        ({"travel_start": "2028-01-01", "travel_end": "2028-01-10"}, "travel_start"),  # beyond the horizon
    ],
)
def test_ark_requests_are_as_strict_as_the_form(
    client: httpx.Client, store: Store, changes: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/ark-certificates", json=ark_payload(**{**TODAY_TRIP, **changes}), headers=AUTH)
    assert r.status_code == 422, r.text
    assert fields(r) == [field], r.text
    assert store.list_items() == []
    good = client.post("/v1/ark-certificates", json=ark_payload(**TODAY_TRIP), headers=AUTH)
    assert good.status_code == 202, good.text


def test_the_schema_states_the_rules(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    schema = doc["components"]["schemas"]["ArkRequest"]["properties"]
    assert (
        schema["travel_start"]["format"] == "date" and "YYYY-MM-DD" in schema["travel_start"]["description"]
    )
    assert "not before travel_start" in schema["travel_end"]["description"]
    assert "XK" not in schema["country"]["enum"] and len(schema["country"]["enum"]) == 249
    assert schema["languages"]["uniqueItems"] is True


def test_json_nested_100000_levels_is_a_clear_400(client: httpx.Client, store: Store) -> None:
    deep = b'{"customer_id": "K1", "text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for body in (deep, b"[" * 100_000):
        r = client.post("/v1/echoes", content=body, headers={**AUTH, "Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_json", r.text
    assert store.list_items() == []


def raw_request(client: httpx.Client, head: bytes, body: bytes) -> bytes:
    """Send the head and the start of a body, then read the answer without sending the rest."""
    url = httpx.URL(str(client.base_url))
    with socket.create_connection((url.host, url.port), timeout=10) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: httpx.Client, store: Store) -> None:
    # 50 MB announced, 1 KB sent: the answer comes at once, the rest is never waited for
    head = (
        b"POST /v1/echoes HTTP/1.1\r\nHost: intake\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 50000000\r\n\r\n".encode()
    )
    answer = raw_request(client, head, b"{" + b" " * 1023)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert store.list_items() == []


def test_a_chunked_body_over_the_limit_is_refused(client: httpx.Client, store: Store) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"customer_id": "K1", "text": "'
        for _ in range(300):
            yield b"x" * 1024  # 300 KiB, over the 256 KiB this intake allows
        yield b'"}'

    r = client.post("/v1/echoes", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    assert store.list_items() == []


def test_within_the_limit_is_accepted(client: httpx.Client) -> None:
    body = json.dumps({"customer_id": "K1", "text": "x" * 200_000})
    r = client.post("/v1/echoes", content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 202, r.text


def test_every_request_answers_503_while_the_database_is_away(tmp_path: Path) -> None:
    # a PostgreSQL nobody listens on: every request that needs the store
    down = Store("postgresql://postgres@127.0.0.1:9/nowhere")
    settings = Settings(data_dir=tmp_path, intake_token=TOKEN, _env_file=None)  # type: ignore[call-arg]
    app = create_intake_app(down, Registry([EchoBot()]), Recorder(), settings)
    with ThreadedServer(app, name="intake") as server, httpx.Client(base_url=server.url, timeout=30) as c:
        for r in (
            c.post("/v1/echoes", json={"customer_id": "K1"}, headers=AUTH),
            c.post("/v1/echoes", json={"customer_id": "K1"}, headers={**AUTH, "Idempotency-Key": "k-1"}),
            c.get("/v1/items/1", headers=AUTH),
        ):
            assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0, r.text
            assert r.json()["error"] == "unavailable"
    down.dispose()
