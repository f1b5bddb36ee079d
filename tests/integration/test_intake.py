"""The intake API the portal calls: auth, validation, idempotency, status, OpenAPI — on a real store."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bots.runtime.bot import Registry
from bots.runtime.intake import create_intake_app
from bots.runtime.runner import Runner
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot, Recorder

AUTH = {"Authorization": "Bearer s3cret-test-token"}


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    return Settings(data_dir=tmp_path, intake_token="s3cret-test-token", _env_file=None)  # type: ignore[arg-type]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(store: Store, settings: Settings, recorder: Recorder) -> Iterator[httpx.Client]:
    app = create_intake_app(store, Registry([EchoBot()]), recorder, settings)
    with ThreadedServer(app, name="intake") as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def test_token_is_required(client: httpx.Client, store: Store) -> None:
    body = {"customer_id": "K1"}
    assert client.post("/v1/echoes", json=body).status_code == 401
    wrong = client.post("/v1/echoes", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/v1/items/1").status_code == 401
    assert store.list_items() == []


def test_submit_is_accepted_and_sent(client: httpx.Client, store: Store, recorder: Recorder) -> None:
    r = client.post("/v1/echoes", json={"customer_id": "K1", "text": "Grüße"}, headers=AUTH)
    assert r.status_code == 202, r.text
    item_id = r.json()["id"]
    assert r.headers["Location"] == f"/v1/items/{item_id}" and r.json()["status"] == "pending"
    assert recorder.sent == [item_id]
    stored = store.get(item_id)
    assert stored.payload["text"] == "Grüße" and stored.customer_id == "K1"
    assert stored.max_attempts == EchoBot.max_attempts


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_id": ""}, "customer_id"),
        ({"text": "x"}, "customer_id"),
        ({"customer_id": "K1", "action": "explode"}, "action"),
    ],
)
def test_invalid_input_names_the_field_and_stores_nothing(
    client: httpx.Client, store: Store, recorder: Recorder, body: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/echoes", json=body, headers={**AUTH, "Idempotency-Key": "k-invalid"})
    assert r.status_code == 422, r.text
    assert field in [f["field"] for f in r.json()["fields"]]
    assert store.list_items() == [] and recorder.sent == []


def test_malformed_json_is_a_clear_error(client: httpx.Client, store: Store) -> None:
    r = client.post("/v1/echoes", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["message"]
    assert store.list_items() == []


def test_same_key_returns_the_first_item(client: httpx.Client, store: Store, recorder: Recorder) -> None:
    headers = {**AUTH, "Idempotency-Key": "portal-4711"}
    first = client.post("/v1/echoes", json={"customer_id": "K1"}, headers=headers)
    again = client.post("/v1/echoes", json={"customer_id": "K1"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["reference"] == "portal-4711"
    assert len(store.list_items()) == 1 and recorder.sent == [first.json()["id"]]


def test_same_key_with_another_request_is_a_conflict(client: httpx.Client, store: Store) -> None:
    headers = {**AUTH, "Idempotency-Key": "portal-4712"}
    client.post("/v1/echoes", json={"customer_id": "K1", "text": "a"}, headers=headers)
    r = client.post("/v1/echoes", json={"customer_id": "K1", "text": "b"}, headers=headers)
    assert r.status_code == 409 and r.json()["error"] == "idempotency_conflict"
    assert len(store.list_items()) == 1


def test_bad_idempotency_key(client: httpx.Client, store: Store) -> None:
    r = client.post("/v1/echoes", json={"customer_id": "K1"}, headers={**AUTH, "Idempotency-Key": "x" * 201})
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["message"]
    assert store.list_items() == []


def test_status_shows_result_and_hides_tracebacks(
    client: httpx.Client, store: Store, settings: Settings
) -> None:
    always_open = settings.model_copy(update={"service_hours": "mon-sun 00:00-24:00"})
    runner = Runner(store, Registry([EchoBot()]), always_open, store.clock)
    ok = client.post("/v1/echoes", json={"customer_id": "K1", "text": "hi"}, headers=AUTH).json()["id"]
    bad = client.post("/v1/echoes", json={"customer_id": "K1", "action": "reject"}, headers=AUTH).json()["id"]
    runner.run(ok)
    runner.run(bad)
    done = client.get(f"/v1/items/{ok}", headers=AUTH).json()
    assert done["status"] == "done" and done["result"] == {"echo": "hi"} and done["error"] is None
    rejected = client.get(f"/v1/items/{bad}", headers=AUTH).json()
    assert rejected["status"] == "rejected"
    assert rejected["error"] == {"code": "test_rule", "message": "Das geht leider nicht."}
    assert client.get("/v1/items/999999", headers=AUTH).status_code == 404


def test_openapi_matches_the_routes(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/v1/echoes"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert "customer_id" in schema["properties"] and "customer_id" in schema["required"]
    assert {"202", "401", "409", "422"} <= set(post["responses"])
    assert "/v1/items/{item_id}" in doc["paths"]
    assert client.get("/healthz").json()["status"] == "ok"


def _submit_with_key(url: str, barrier: Any, results: Any) -> None:
    store = Store(url)
    barrier.wait()
    item, created = store.submit("echo", {"customer_id": "K1"}, reference="same-key", customer_id="K1")
    results.put((item.id, created))
    store.dispose()


@pytest.mark.parametrize("rounds", [3])
def test_same_key_from_two_processes_makes_one_item(db_url: str, rounds: int) -> None:
    ctx = mp.get_context("spawn")
    for n in range(rounds):
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [ctx.Process(target=_submit_with_key, args=(db_url, barrier, results)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        answers = [results.get(timeout=5) for _ in procs]
        assert answers[0][0] == answers[1][0], f"round {n}: two items {answers}"
        assert sorted(created for _, created in answers) == [False, True]
        store = Store(db_url)
        try:
            assert len(store.list_items(queue="echo")) == 1
        finally:
            store.dispose()
        _wipe(db_url)


def _wipe(url: str) -> None:
    import sqlalchemy as sa

    from bots.runtime.schema import metadata
    from bots.runtime.store import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(sa.delete(table))
    engine.dispose()
