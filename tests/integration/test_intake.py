"""The intake API the portal calls: auth, validation, idempotency, status, OpenAPI — on a real store."""

from __future__ import annotations

import http.client
import multiprocessing as mp
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bots.ark_certificate.bot import ArkCertificateBot
from bots.runtime.bot import Registry
from bots.runtime.errors import ConfigurationError
from bots.runtime.intake import create_intake_app
from bots.runtime.runner import Runner
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot, Recorder

AUTH = {"Authorization": "Bearer s3cret-test-token"}
ARK_REQUEST = {
    "customer_id": "K100001",
    "policy_number": "ARK-4711-0001",
    "travel_start": "2027-03-01",
    "travel_end": "2027-03-10",
    "country": "TH",
    "languages": ["de", "fr"],
}


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


@pytest.fixture
def ark_client(store: Store, settings: Settings, recorder: Recorder) -> Iterator[httpx.Client]:
    app = create_intake_app(store, Registry([EchoBot(), ArkCertificateBot()]), recorder, settings)
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
    assert r.status_code == 400 and r.json()["error"] == "invalid_json" and r.json()["message"]
    assert store.list_items() == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"[1, 2]", "application/json"), (b"", "application/json"), (b'{"customer_id": "K1"}', None)],
    ids=["not-an-object", "empty", "no-content-type"],
)
def test_a_body_that_is_no_json_object_is_a_400(
    client: httpx.Client, store: Store, content: bytes, content_type: str | None
) -> None:
    headers = {**AUTH, "Content-Type": content_type} if content_type else AUTH
    r = client.post("/v1/echoes", content=content, headers=headers)
    assert r.status_code == 400 and r.json()["error"] == "invalid_json"
    assert store.list_items() == []


def test_fields_are_named_without_the_body_prefix(ark_client: httpx.Client, store: Store) -> None:
    body = {**ARK_REQUEST, "customer_id": "", "languages": ["de", "xx"]}
    r = ark_client.post("/v1/ark-certificates", json=body, headers=AUTH)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    assert {f["field"] for f in r.json()["fields"]} == {"customer_id", "languages.1"}
    assert store.list_items() == []


def test_the_token_is_checked_before_the_body_is_read(client: httpx.Client, store: Store) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic s3cret-test-token"}):
        r = client.post(
            "/v1/echoes", content=b"{not json", headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 401 and r.json()["error"] == "unauthorized", headers
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert store.list_items() == []


@pytest.mark.parametrize("token", ["", "short-secret"])
def test_an_empty_or_short_token_refuses_to_serve(store: Store, settings: Settings, token: str) -> None:
    unset = settings.model_copy(update={"intake_token": SecretStr(token)})
    with pytest.raises(ConfigurationError, match="at least 16 characters"):
        create_intake_app(store, Registry([EchoBot()]), Recorder(), unset)


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Bearer \t", "bearer", "Basic czNjcmV0LXRlc3QtdG9rZW4="]
)
def test_an_empty_or_other_credential_is_never_accepted(
    client: httpx.Client, store: Store, header: str
) -> None:
    # http.client sends the header as given (httpx refuses trailing blanks)
    url = httpx.URL(str(client.base_url))
    conn = http.client.HTTPConnection(url.host, url.port, timeout=10)
    conn.request("POST", "/v1/echoes", body=b'{"customer_id": "K1"}', headers={"Authorization": header})
    answer = conn.getresponse()
    assert answer.status == 401 and answer.getheader("WWW-Authenticate") == "Bearer"
    conn.close()
    assert store.list_items() == []


@pytest.mark.parametrize("path", ["/v1/items/abc", "/v1/items/0", f"/v1/items/{2**40}"])
def test_a_bad_item_id_answers_in_the_error_format(client: httpx.Client, path: str) -> None:
    r = client.get(path, headers=AUTH)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    assert [f["field"] for f in r.json()["fields"]] == ["item_id"]


def test_other_http_errors_answer_in_the_error_format(client: httpx.Client) -> None:
    missing = client.get("/v1/nothing-here", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong_method = client.delete("/v1/items/1", headers=AUTH)
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"


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


@pytest.mark.parametrize(
    "key", ["x" * 201, "caf\xe9".encode("latin-1"), b"a\x01b"], ids=["long", "latin1", "control"]
)
def test_bad_idempotency_key(client: httpx.Client, store: Store, key: str | bytes) -> None:
    r = client.post("/v1/echoes", json={"customer_id": "K1"}, headers={**AUTH, "Idempotency-Key": key})
    assert r.status_code == 400
    if r.headers["content-type"].startswith("text/plain"):  # a control character: refused by the HTTP parser
        assert key == b"a\x01b" and r.text == "Invalid HTTP request received."
    else:
        assert r.json()["error"] == "invalid_idempotency_key" and "Idempotency-Key" in r.json()["message"]
    assert store.list_items() == []


def test_a_key_of_200_printable_characters_is_accepted(client: httpx.Client, store: Store) -> None:
    key = "portal/4711: " + "x" * 187
    r = client.post("/v1/echoes", json={"customer_id": "K1"}, headers={**AUTH, "Idempotency-Key": key})
    assert r.status_code == 202 and r.json()["reference"] == key


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
    schema = resolve(doc, post["requestBody"]["content"]["application/json"]["schema"])
    assert "customer_id" in schema["properties"] and "customer_id" in schema["required"]
    assert {"202", "401", "409", "422"} <= set(post["responses"])
    assert "/v1/items/{item_id}" in doc["paths"]
    assert client.get("/healthz").json()["status"] == "ok"


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_openapi_states_the_security_and_the_error_answers(ark_client: httpx.Client) -> None:
    doc = ark_client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The token the portal shares with the intake",
    }
    v1 = [
        (path, op)
        for path, ops in doc["paths"].items()
        if path.startswith("/v1/") and not path.startswith("/v1/ops/")  # the operators' own (test_ops_api)
        for op in ops.values()
    ]
    assert len(v1) == 3
    for path, op in v1:
        assert op["security"] == [{"bearer": []}], path
        assert "401" in op["responses"] and "422" in op["responses"], path
        for status in ("400", "401", "404", "409", "413", "422"):
            if status in op["responses"]:
                body = op["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
    for route in ("/v1/echoes", "/v1/ark-certificates"):
        post = doc["paths"][route]["post"]
        assert {"202", "400", "401", "409", "422"} <= set(post["responses"])
        assert set(post["responses"]["202"]["headers"]) == {"Location", "Idempotent-Replayed"}
        (key,) = post["parameters"]
        assert (key["name"], key["in"], key["required"]) == ("Idempotency-Key", "header", False)
        assert key["schema"]["type"] == "string" and key["schema"]["maxLength"] == 200
        assert "pattern" in key["schema"]
    item = doc["paths"]["/v1/items/{item_id}"]["get"]
    assert (
        resolve(doc, item["responses"]["200"]["content"]["application/json"]["schema"])["title"]
        == "ItemStatus"
    )
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # every error is an ErrorBody


def test_openapi_states_the_request_rules(ark_client: httpx.Client) -> None:
    doc = ark_client.get("/openapi.json").json()
    body = doc["paths"]["/v1/ark-certificates"]["post"]["requestBody"]
    assert body["required"] is True
    ark = resolve(doc, body["content"]["application/json"]["schema"])
    props = ark["properties"]
    assert ark["additionalProperties"] is False
    assert set(ark["required"]) == set(props) == set(ARK_REQUEST)
    assert "TH" in props["country"]["enum"] and all(
        c.isupper() and len(c) == 2 for c in props["country"]["enum"]
    )
    assert props["languages"]["uniqueItems"] is True and props["languages"]["items"]["enum"] == [
        "de",
        "en",
        "es",
        "fr",
    ]
    assert (props["languages"]["minItems"], props["languages"]["maxItems"]) == (1, 4)
    assert props["policy_number"]["maxLength"] == 40 and props["policy_number"]["pattern"].startswith("^")
    assert props["travel_start"]["format"] == props["travel_end"]["format"] == "date"
    echo = resolve(
        doc, doc["paths"]["/v1/echoes"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    assert (
        echo["properties"]["action"]["enum"][0] == "ok"
        and echo["properties"]["customer_id"]["minLength"] == 1
    )


def example_of(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A request body made only from what the schema offers: each field's first enum value, else its example."""
    body: dict[str, Any] = {}
    schema = resolve(doc, schema)
    for name, prop in schema["properties"].items():
        if "enum" in prop:
            body[name] = prop["enum"][0]
        elif "examples" in prop:
            body[name] = prop["examples"][0]
        elif prop.get("type") == "array" and "enum" in prop["items"]:
            body[name] = prop["items"]["enum"][: prop.get("minItems", 1)]
        else:
            assert name not in schema["required"], f"the schema offers no value for the required field {name}"
    return body


@pytest.mark.parametrize("route", ["/v1/echoes", "/v1/ark-certificates"])
def test_a_body_from_the_schema_alone_is_accepted(ark_client: httpx.Client, store: Store, route: str) -> None:
    doc = ark_client.get("/openapi.json").json()
    body = example_of(
        doc, doc["paths"][route]["post"]["requestBody"]["content"]["application/json"]["schema"]
    )
    r = ark_client.post(route, json=body, headers=AUTH)
    assert r.status_code == 202, (body, r.text)
    assert store.get(r.json()["id"]).payload == {**store.get(r.json()["id"]).payload, **body}


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
