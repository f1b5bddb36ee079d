"""The operator API: every endpoint refuses the anonymous (401), refuses a clerk of another unit or a
supervisor's action to a clerk (403) and serves the supervisor; clerks see only their units; every action
is an event under the operator's name and every request is in the audit log — on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bots.runtime.bot import Registry
from bots.runtime.models import Role
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot
from tests.integration.ops_world import PASSWORD, Ops, failed, handed_off, ops

__all__ = ["ops"]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, Any] | None
    other_clerk: int  # what a clerk of another unit (or any clerk, for a supervisor's action) gets
    supervisor: int  # what the supervisor gets

    def send(self, client: httpx.Client, headers: dict[str, str] | None = None) -> httpx.Response:
        return client.request(self.method, self.path, json=self.body, headers=headers or {})


def calls(case_id: int, item_id: int, artifact_id: int, failed_id: int) -> list[Call]:
    """One call of every endpoint, on the Kranken case and its item; in an order the supervisor can run."""
    return [
        Call("GET", "/v1/ops/me", None, 200, 200),
        Call("GET", "/v1/ops/queues", None, 200, 200),
        Call("GET", "/v1/ops/items", None, 200, 200),
        Call("GET", f"/v1/ops/items/{item_id}", None, 403, 200),
        Call("GET", f"/v1/ops/items/{item_id}/artifacts/{artifact_id}", None, 403, 200),
        Call("GET", "/v1/ops/exceptions", None, 403, 200),
        Call("GET", "/v1/ops/cases", None, 200, 200),
        Call("GET", "/v1/ops/cases?unit=Kranken", None, 403, 200),
        Call("GET", f"/v1/ops/cases/{case_id}", None, 403, 200),
        Call("POST", f"/v1/ops/cases/{case_id}/claim", None, 403, 200),
        Call("POST", f"/v1/ops/cases/{case_id}/notes", {"text": "angerufen"}, 403, 200),
        Call("POST", f"/v1/ops/cases/{case_id}/release", None, 403, 200),
        Call("POST", f"/v1/ops/cases/{case_id}/resolve", {"resolution": "done_manually"}, 403, 200),
        Call("GET", "/v1/ops/backlog", None, 200, 200),
        Call("GET", "/v1/ops/alerts", None, 200, 200),
        Call("POST", "/v1/ops/queues/echo/pause", {"reason": "Wartung"}, 403, 200),
        Call("POST", "/v1/ops/queues/echo/resume", {"reason": "Wartung vorbei"}, 403, 200),
        Call("POST", "/v1/ops/items/retry", {"ids": [failed_id]}, 403, 200),
        Call("POST", "/v1/ops/items/abandon", {"ids": [failed_id], "reason": "erledigt"}, 403, 200),
        Call("POST", "/v1/ops/logout", None, 204, 204),
    ]


def test_every_endpoint_is_authorised_on_the_server(ops: Ops) -> None:
    case_id = handed_off(ops.store, "Kranken")
    item_id = ops.store.get_case(case_id).item_id
    artifact = ops.store.add_artifact(
        item_id, b"%PDF-1.7", "application/pdf", "Bescheinigung.pdf", "document"
    )
    bad = failed(ops.store)
    every = calls(case_id, item_id, artifact.id, bad.id)
    for call in every:
        anonymous = call.send(ops.client)
        assert anonymous.status_code == 401, (call, anonymous.text)
        assert anonymous.json()["error"] == "unauthorized"
        forged = call.send(ops.client, {"Authorization": "Bearer not-a-token-of-anybody"})
        assert forged.status_code == 401, call
    for call in every:  # a new sign-in for each, as the logout ends it
        answer = call.send(ops.client, ops.login("lena"))
        assert answer.status_code == call.other_clerk, (call, answer.text)
        if answer.status_code == 403:
            assert answer.json()["error"] == "forbidden"
    # a clerk of Kranken is refused the supervisor's actions too
    anna = ops.login("anna")
    for call in every:
        if call.path.startswith(
            ("/v1/ops/queues/", "/v1/ops/items/retry", "/v1/ops/items/abandon", "/v1/ops/exc")
        ):
            assert call.send(ops.client, anna).status_code == 403, call
    download = ops.client.get(f"/v1/ops/items/{item_id}/artifacts/{artifact.id}", headers=anna)
    assert (download.content, download.headers["content-type"]) == (b"%PDF-1.7", "application/pdf")
    assert download.headers["content-disposition"].startswith('attachment; filename="Bescheinigung.pdf"')
    for call in every:
        answer = call.send(ops.client, ops.login("chef"))
        assert answer.status_code == call.supervisor, (call, answer.text)


def test_a_clerk_sees_only_the_items_and_cases_of_their_units(ops: Ops) -> None:
    kranken = handed_off(ops.store, "Kranken", "K1")
    leben = handed_off(ops.store, "Leben", "K2")
    ops.store.submit("echo", {"customer_id": "K3"}, customer_id="K3")  # no case: a supervisor's concern only
    # an item handed to Kranken, sent back to the bot, then handed to Leben: two cases of two units
    both = handed_off(ops.store, "Kranken", "K4")
    both_item = ops.store.get_case(both).item_id
    ops.store.claim_case(both, "anna")
    ops.client.post(
        f"/v1/ops/cases/{both}/resolve", json={"resolution": "back_to_bot"}, headers=ops.login("anna")
    )
    held = ops.store.claim(both_item, "worker", timedelta(minutes=5))
    assert held is not None
    _, later = ops.store.hand_off(
        held, unit="Leben", reason_code="check", note="", case_due=timedelta(hours=1), actor="w"
    )

    anna, lena, chef = ops.login("anna"), ops.login("lena"), ops.login("chef")
    ids = {name: [i["id"] for i in ops.client.get("/v1/ops/items", headers=h).json()["items"]] for name, h in
           (("anna", anna), ("lena", lena), ("chef", chef))}  # fmt: skip
    k_item, l_item = ops.store.get_case(kranken).item_id, ops.store.get_case(leben).item_id
    assert ids["anna"] == [both_item, k_item]
    assert ids["lena"] == [both_item, l_item]
    assert len(ids["chef"]) == 4

    detail = ops.client.get(f"/v1/ops/items/{both_item}", headers=anna).json()
    assert [c["id"] for c in detail["cases"]] == [both]  # not Leben's case of the same item
    detail = ops.client.get(f"/v1/ops/items/{both_item}", headers=lena).json()
    assert [c["id"] for c in detail["cases"]] == [later.id]
    assert len(ops.client.get(f"/v1/ops/items/{both_item}", headers=chef).json()["cases"]) == 2

    assert {c["unit"] for c in ops.client.get("/v1/ops/cases", headers=anna).json()["cases"]} == {"Kranken"}
    assert ops.client.get("/v1/ops/cases?unit=Leben", headers=anna).status_code == 403
    assert ops.client.get(f"/v1/ops/cases/{leben}", headers=anna).status_code == 403
    assert {c["unit"] for c in ops.client.get("/v1/ops/cases", headers=chef).json()["cases"]} == {
        "Kranken",
        "Leben",
    }
    assert ops.client.get("/v1/ops/items/999999", headers=chef).status_code == 404


def test_every_action_is_an_event_under_the_operators_name(
    ops: Ops, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bots.runtime.ops.audit")
    case_id = handed_off(ops.store, "Kranken")
    other = handed_off(ops.store, "Kranken", "K2")
    first, second = failed(ops.store, "K7"), failed(ops.store, "K8")
    anna, chef = ops.login("anna"), ops.login("chef")
    post = ops.client.post

    assert post(f"/v1/ops/cases/{case_id}/claim", headers=anna).json()["assignee"] == "anna"
    assert (
        len(
            post(f"/v1/ops/cases/{case_id}/notes", json={"text": "Kunde angerufen"}, headers=anna).json()[
                "notes"
            ]
        )
        == 1
    )
    assert post(f"/v1/ops/cases/{case_id}/release", headers=anna).json()["status"] == "open"
    decided = post(
        f"/v1/ops/cases/{case_id}/resolve", json={"resolution": "done_manually"}, headers=anna
    ).json()
    assert (decided["case"]["status"], decided["item"]["status"]) == ("resolved", "done")
    post(f"/v1/ops/cases/{other}/claim", headers=anna)
    assert post(f"/v1/ops/cases/{other}/release", headers=chef).json()["assignee"] is None  # a supervisor may
    case_events = [(e.actor, e.reason) for e in ops.store.events("case", case_id)]
    assert case_events[1:] == [
        ("anna", "claimed"),
        ("anna", "note added"),
        ("anna", "released"),
        ("anna", "resolved: done_manually"),
    ]
    assert ops.store.events("case", other)[-1].actor == "chef"

    assert (
        post("/v1/ops/queues/echo/pause", json={"reason": "Wartung"}, headers=chef).json()["paused_by"]
        == "chef"
    )
    assert post("/v1/ops/queues/echo/pause", json={"reason": "nochmal"}, headers=chef).status_code == 409
    assert (
        post("/v1/ops/queues/echo/resume", json={"reason": "fertig"}, headers=chef).json()["paused"] is False
    )
    assert [(e.actor, e.reason) for e in ops.store.events("queue", "echo")] == [
        ("chef", "Wartung"),
        ("chef", "fertig"),
    ]

    retried = post(
        "/v1/ops/items/retry", json={"ids": [first.id, case_id + 1000], "reason": "behoben"}, headers=chef
    )
    assert retried.json()["results"] == [
        {"id": first.id, "ok": True, "status": "pending"},
        {"id": case_id + 1000, "ok": False, "error": f"no work item {case_id + 1000}"},
    ]
    assert ops.store.get(first.id).attempts == 0
    assert (
        post("/v1/ops/items/retry", json={"ids": [first.id]}, headers=chef).json()["results"][0]["ok"]
        is False
    )
    assert (
        post("/v1/ops/items/abandon", json={"ids": [second.id], "reason": "  "}, headers=chef).status_code
        == 422
    )
    abandoned = post(
        "/v1/ops/items/abandon", json={"ids": [second.id], "reason": "Kunde storniert"}, headers=chef
    )
    assert abandoned.json()["results"] == [{"id": second.id, "ok": True, "status": "abandoned"}]
    assert (ops.store.events("item", first.id)[-1].actor, ops.store.events("item", first.id)[-1].reason) == (
        "chef",
        "behoben",
    )
    assert ops.store.events("item", second.id)[-1].actor == "chef"

    post("/v1/ops/logout", headers=anna)
    assert ops.client.get("/v1/ops/me", headers=anna).status_code == 401
    signs = [(e.actor, e.reason) for e in ops.store.events("operator", "anna")]
    assert signs == [("test", "operator added"), ("anna", "signed in"), ("anna", "signed out")]

    audit = [r.getMessage() for r in caplog.records if r.name == "bots.runtime.ops.audit"]
    assert f"operator=anna method=POST path=/v1/ops/cases/{case_id}/claim status=200" in audit
    assert "operator=chef method=POST path=/v1/ops/queues/echo/pause status=409" in audit
    assert "operator=anna method=GET path=/v1/ops/me status=401" not in audit  # the token is gone: no name
    assert "operator=- method=GET path=/v1/ops/me status=401" in audit


def test_resolving_maps_the_clerks_mistakes(ops: Ops) -> None:
    case_id = handed_off(ops.store, "Kranken")
    anna = ops.login("anna")
    ops.add("anke", Role.CLERK, "Kranken")
    anke = ops.login("anke")
    post = ops.client.post
    unknown = post(f"/v1/ops/cases/{case_id}/resolve", json={"resolution": "vanish"}, headers=anna)
    assert unknown.status_code == 422 and "done_manually" in unknown.json()["fields"][0]["message"]
    no_note = post(f"/v1/ops/cases/{case_id}/resolve", json={"resolution": "reject"}, headers=anna)
    assert (no_note.status_code, no_note.json()["fields"][0]["field"]) == (422, "note")
    assert post(f"/v1/ops/cases/{case_id}/claim", headers=anna).status_code == 200
    assert post(f"/v1/ops/cases/{case_id}/claim", headers=anke).status_code == 409
    assert post(f"/v1/ops/cases/{case_id}/release", headers=anke).status_code == 403
    assert (
        post(
            f"/v1/ops/cases/{case_id}/resolve", json={"resolution": "done_manually"}, headers=anke
        ).status_code
        == 409
    )
    rejected = post(
        f"/v1/ops/cases/{case_id}/resolve",
        json={"resolution": "reject", "note": "Nicht versichert."},
        headers=anna,
    )
    assert rejected.json()["item"]["status"] == "rejected"
    again = post(f"/v1/ops/cases/{case_id}/resolve", json={"resolution": "done_manually"}, headers=anna)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert post(f"/v1/ops/cases/{case_id}/notes", json={"text": "zu spät"}, headers=anna).status_code == 409
    assert post(f"/v1/ops/cases/{case_id}/notes", json={"text": "   "}, headers=anna).status_code == 422
    assert ops.client.get("/v1/ops/cases?cursor=bm9wZQ", headers=anna).status_code == 422


def test_queues_exceptions_alerts_and_backlog(ops: Ops) -> None:
    overdue = handed_off(ops.store, "Kranken", due=timedelta(hours=1))
    handed_off(ops.store, "Leben", due=timedelta(hours=1))
    one, two = failed(ops.store, "K1", "timeout"), failed(ops.store, "K2", "timeout")
    failed(ops.store, "K3", "layout")
    ops.store.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    chef, anna = ops.login("chef"), ops.login("anna")
    get = ops.client.get

    (echo,) = get("/v1/ops/queues", headers=anna).json()["queues"]
    assert echo["queue"] == "echo" and echo["title"] == "Echo (tests)"
    assert set(echo["counts"]) == {
        "pending",
        "running",
        "done",
        "rejected",
        "handed_off",
        "failed",
        "deferred",
        "abandoned",
    }
    assert (echo["counts"]["failed"], echo["counts"]["handed_off"], echo["paused"]) == (3, 2, False)

    groups = get("/v1/ops/exceptions", headers=chef).json()["groups"]
    timeouts = next(g for g in groups if g["code"] == "timeout")
    assert (timeouts["queue"], timeouts["kind"], timeouts["count"]) == ("echo", "system", 2)
    assert sorted(timeouts["item_ids"]) == sorted([one.id, two.id])
    assert {g["code"] for g in groups} == {"timeout", "layout"}

    kinds = {(a["kind"], a["subject_id"]) for a in get("/v1/ops/alerts", headers=chef).json()["alerts"]}
    assert ("case_overdue", str(overdue)) in kinds and len([k for k in kinds if k[0] == "case_overdue"]) == 2
    clerk = get("/v1/ops/alerts", headers=anna).json()["alerts"]
    assert [(a["kind"], a["subject_id"]) for a in clerk] == [("case_overdue", str(overdue))]
    assert next(c for c in get("/v1/ops/cases", headers=anna).json()["cases"])["overdue"] is True

    backlog = get("/v1/ops/backlog?days=1", headers=anna).json()
    (system,) = backlog["systems"]
    assert (system["system"], system["queues"], system["open"]) == ("policy_admin", ["echo"], True)
    assert system["next_closing"] is not None and system["waiting_total"] == 0


def test_sign_in_tokens_expire_and_wrong_passwords_are_slowed_down(ops: Ops) -> None:
    login = ops.client.post
    expires = login("/v1/ops/login", json={"name": "anna", "password": PASSWORD}).json()
    token = {"Authorization": f"Bearer {expires['token']}"}
    assert expires["operator"] == {"name": "anna", "role": "clerk", "units": ["Kranken"]}
    ops.store.clock.advance(timedelta(hours=8))  # type: ignore[attr-defined]
    answer = ops.client.get("/v1/ops/me", headers=token)
    assert (answer.status_code, answer.json()["error"]) == (401, "token_expired")

    for name in ("anna", "nobody"):  # a known name and an unknown one alike
        for _ in range(5):
            wrong = login("/v1/ops/login", json={"name": name, "password": "wrong password"})
            assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_credentials")
        waits = []
        for _ in range(3):
            refused = login("/v1/ops/login", json={"name": name, "password": PASSWORD})
            assert (refused.status_code, refused.json()["error"]) == (429, "too_many_attempts")
            waits.append(int(refused.headers["Retry-After"]))
            ops.store.clock.advance(timedelta(seconds=waits[-1]))  # type: ignore[attr-defined]
            assert login("/v1/ops/login", json={"name": name, "password": "still wrong"}).status_code == 401
        assert waits == [2, 4, 8]
    ops.store.clock.advance(timedelta(seconds=16))  # type: ignore[attr-defined]
    assert login("/v1/ops/login", json={"name": "anna", "password": PASSWORD}).status_code == 200
    assert (
        login("/v1/ops/login", json={"name": "anna", "password": "wrong again"}).status_code == 401
    )  # reset


def test_no_password_or_token_is_stored_in_plain_text(ops: Ops, db_url: str) -> None:
    session = ops.client.post("/v1/ops/login", json={"name": "anna", "password": PASSWORD}).json()
    account = ops.store.operator_account("anna")
    assert account is not None and account.password_hash.startswith("$argon2id$")
    import sqlalchemy as sa

    with ops.store.engine.connect() as conn:
        everything = " ".join(
            str(row)
            for table in ("operators", "operator_tokens", "events")
            for row in conn.execute(sa.text(f"SELECT * FROM {table}"))
        )
    assert PASSWORD not in everything and session["token"] not in everything


def test_first_run_setup_only_where_allowed_and_only_once(store: Store, tmp_path: Any) -> None:
    from tests.integration.ops_world import cheap_settings, serve

    settings = cheap_settings(tmp_path)
    for client in serve(store, settings, allow_setup=False):
        assert client.get("/v1/ops/setup").json() == {"needed": False}
        assert client.post("/v1/ops/setup", json={"name": "chef", "password": PASSWORD}).status_code == 403
    for client in serve(store, settings, allow_setup=True):
        assert client.get("/v1/ops/setup").json() == {"needed": True}
        assert client.post("/v1/ops/setup", json={"name": "chef", "password": "short"}).status_code == 422
        first = client.post("/v1/ops/setup", json={"name": "chef", "password": PASSWORD})
        assert first.status_code == 201 and first.json()["operator"]["role"] == "supervisor"
        me = client.get("/v1/ops/me", headers={"Authorization": f"Bearer {first.json()['token']}"})
        assert me.json() == {"name": "chef", "role": "supervisor", "units": []}
        assert client.get("/v1/ops/setup").json() == {"needed": False}
        assert client.post("/v1/ops/setup", json={"name": "boss", "password": PASSWORD}).status_code == 403
    assert [(e.actor, e.reason) for e in store.events("operator", "chef")] == [
        ("chef", "first-run setup: operator added"),
        ("chef", "signed in"),
    ]


def test_the_intake_serves_the_operator_api_beside_it_with_its_own_tokens(
    store: Store, tmp_path: Any
) -> None:
    from bots.runtime.intake import create_intake_app
    from bots.runtime.operators import add_operator
    from bots.runtime.serve import ThreadedServer
    from tests.integration.ops_world import cheap_settings

    class Nowhere:
        def enqueue(self, item: Any) -> None:
            pass

    settings = cheap_settings(tmp_path, intake_token="intake-token-0123456789")
    add_operator(store, settings, "chef", Role.SUPERVISOR, (), PASSWORD, actor="test")
    app = create_intake_app(store, Registry([EchoBot()]), Nowhere(), settings)
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        portal = {"Authorization": "Bearer intake-token-0123456789"}
        assert client.get("/v1/ops/me", headers=portal).status_code == 401
        token = client.post("/v1/ops/login", json={"name": "chef", "password": PASSWORD}).json()["token"]
        chef = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/ops/me", headers=chef).json()["name"] == "chef"
        assert client.get("/v1/items/1", headers=chef).status_code == 401
        assert client.get("/v1/ops/setup").json() == {"needed": False}


def test_the_item_list_filters(ops: Ops) -> None:
    chef = ops.login("chef")
    early, _ = ops.store.submit("echo", {"customer_id": "K1"}, customer_id="K1", reference="ref-early")
    ops.store.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    broken = failed(ops.store, "K2", "timeout")
    other = failed(ops.store, "K2", "layout")

    def ids(query: str) -> list[int]:
        answer = ops.client.get(f"/v1/ops/items?{query}", headers=chef)
        assert answer.status_code == 200, answer.text
        return [i["id"] for i in answer.json()["items"]]

    assert ids("") == [other.id, broken.id, early.id]
    assert ids("status=failed&status=pending") == [other.id, broken.id, early.id]
    assert ids("status=pending") == [early.id]
    assert ids("customer_id=K2") == [other.id, broken.id]
    assert ids("reference=ref-early&queue=echo") == [early.id]
    assert ids("queue=elsewhere") == []
    assert ids("error_kind=system&error_code=timeout") == [broken.id]
    # 10:00 in Berlin is 09:00 UTC, when the first item came; an hour later came the others
    assert ids("created_to=2026-11-24T10:30:00%2B01:00") == [early.id]
    assert ids("created_from=2026-11-24T10:00:01%2B01:00") == [other.id, broken.id]
    for bad in ("created_from=2026-11-24T10:00:00", "created_from=1700000000", "status=nonsense", "limit=0"):
        answer = ops.client.get(f"/v1/ops/items?{bad}", headers=chef)
        assert (answer.status_code, answer.json()["error"]) == (422, "invalid_request"), bad


def test_a_new_sign_in_clears_the_operators_ended_ones(ops: Ops) -> None:
    import sqlalchemy as sa

    def tokens() -> int:
        with ops.store.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM operator_tokens")).scalar_one())

    first = ops.login("anna")
    ops.login("chef")
    ops.client.post("/v1/ops/logout", headers=first)
    assert tokens() == 2  # anna's revoked one, chef's
    second = ops.login("anna")
    assert tokens() == 2  # anna's revoked one went
    ops.store.clock.advance(timedelta(hours=9))  # type: ignore[attr-defined]
    assert ops.client.get("/v1/ops/me", headers=second).status_code == 401
    live = ops.login("anna")
    assert tokens() == 2  # anna's expired one went, chef's stays until chef signs in again
    assert ops.client.get("/v1/ops/me", headers=live).status_code == 200


def test_the_database_away_is_503_with_retry_after(tmp_path: Any) -> None:
    from tests.integration.ops_world import cheap_settings, serve

    nowhere = Store("postgresql://postgres@127.0.0.1:9/nowhere")  # nothing listens on the discard port
    try:
        for client in serve(nowhere, cheap_settings(tmp_path)):
            for answer in (
                client.post("/v1/ops/login", json={"name": "chef", "password": PASSWORD}),
                client.get("/v1/ops/me", headers={"Authorization": "Bearer some-token"}),
            ):
                assert (answer.status_code, answer.json()["error"]) == (503, "unavailable")
                assert answer.headers["Retry-After"]
    finally:
        nowhere.dispose()
