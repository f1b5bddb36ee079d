"""Claims at the door: `POST /v1/claims` (multipart) and `portalbots submit claims --eml FILE`. Files are
stored with the item in its transaction under safe, distinct names; sizes and counts over the limits are
refused before anything is stored."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bots.claims_forwarder.bot import ClaimsForwarderBot
from bots.claims_forwarder.eml import NotASubmission, eml_request, read_eml
from bots.claims_forwarder.settings import ClaimsSettings
from bots.runtime import schema as t
from bots.runtime.bot import Registry
from bots.runtime.intake import create_intake_app
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.bots_for_tests import Recorder
from tests.claims_files import jpeg, pdf, png

AUTH = {"Authorization": "Bearer s3cret-test-token"}
FORM = {"customer_id": "K100006", "policy_numbers": ["KV-4712-0004", "KV-4712-0005"], "message": "Oktober"}
MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(store: Store, tmp_path: Path, recorder: Recorder) -> Iterator[httpx.Client]:
    settings = Settings(data_dir=tmp_path, intake_token="s3cret-test-token", _env_file=None)  # type: ignore[arg-type]
    bot = ClaimsForwarderBot(ClaimsSettings(_env_file=None))  # type: ignore[call-arg]
    app = create_intake_app(store, Registry([bot]), recorder, settings)
    with ThreadedServer(app, name="intake") as server, httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def stored(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (t.items, t.artifacts, t.blobs)
        }


NOTHING = {"work_items": 0, "artifacts": 0, "blobs": 0}


def parts(*files: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", f) for f in files]


def test_a_submission_is_stored_with_its_files_under_safe_distinct_names(
    client: httpx.Client, store: Store, recorder: Recorder
) -> None:
    receipt, photo, dup = pdf(2), jpeg(), pdf(1, "zweite")
    files = parts(
        ("../../etc/Rechnung.pdf", receipt, "application/pdf"),
        ("Foto\r\nBcc: x.jpg", photo, "image/jpeg"),
        ("Rechnung.pdf", dup, "image/png"),  # a declared type that lies: stored, never trusted
    )
    r = client.post("/v1/claims", data=FORM, files=files, headers={**AUTH, "Idempotency-Key": "c-1"})
    assert r.status_code == 202, r.text
    item = store.get(r.json()["id"])
    assert item.queue == "claims_forwarder" and item.customer_id == "K100006" and recorder.sent == [item.id]
    assert item.payload["policy_numbers"] == FORM["policy_numbers"] and item.payload["message"] == "Oktober"
    # httpx sends CR LF in a file name percent-encoded; ':' is refused, path parts dropped (the bot's own
    # name rules in test_claims_files)
    assert [f["name"] for f in item.payload["files"]] == [
        "Rechnung.pdf",
        "Foto%0D%0ABcc_ x.jpg",
        "Rechnung (2).pdf",
    ]
    assert [f["sha256"] for f in item.payload["files"]] == [
        hashlib.sha256(d).hexdigest() for d in (receipt, photo, dup)
    ]
    arts = store.artifacts(item.id)
    assert [(a.filename, a.kind) for a in arts] == [
        ("Rechnung.pdf", "upload"),
        ("Foto%0D%0ABcc_ x.jpg", "upload"),
        ("Rechnung (2).pdf", "upload"),
    ]
    assert [store.artifact_bytes(a.id)[1] for a in arts] == [receipt, photo, dup]


@pytest.mark.parametrize(
    ("files", "status", "error"),
    [
        ([("gross.pdf", b"%PDF-" + b"0" * (10 * MB), "application/pdf")], 413, "file_too_large"),
        (
            [(f"{n}.jpg", b"\xff\xd8\xff" + b"0" * (7 * MB), "image/jpeg") for n in range(3)],
            413,
            "files_too_large",
        ),
        ([], 422, "invalid_request"),
        ([(f"{n}.png", png((8, 8)), "image/png") for n in range(21)], 400, "invalid_form"),
    ],
    ids=["file-over-10-MB", "files-over-20-MB-together", "no-file", "21-files"],
)
def test_limits_are_refused_at_the_door_and_nothing_is_stored(
    client: httpx.Client, store: Store, recorder: Recorder, files: list[Any], status: int, error: str
) -> None:
    r = client.post("/v1/claims", data=FORM, files=parts(*files), headers=AUTH)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert stored(store) == NOTHING and recorder.sent == []


def test_the_form_is_checked_and_documented(client: httpx.Client, store: Store) -> None:
    one = parts(("a.pdf", pdf(1), "application/pdf"))
    r = client.post("/v1/claims", data={**FORM, "policy_numbers": []}, files=one, headers=AUTH)
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["policy_numbers"]
    twice = {**FORM, "policy_numbers": ["KV-4712-0004", "kv-4712-0004"]}
    assert client.post("/v1/claims", data=twice, files=one, headers=AUTH).status_code == 422
    assert stored(store) == NOTHING
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/v1/claims"]["post"]
    assert {"202", "400", "401", "413", "422"} <= set(post["responses"])
    assert "1 to 20 files of at most 10 MiB each, 20 MiB together" in json.dumps(doc)


def portal_mail(*attachments: tuple[str, bytes, str], customer: str = "K100006") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{customer}@portal.portalbots.test"
    msg["To"] = "leistung-kv@portalbots.test"
    msg["Subject"] = "Rechnungen einreichen"
    msg["Message-ID"] = "<portal-4711@portal.portalbots.test>"
    msg["X-Portal-Customer-Id"] = customer
    msg["X-Portal-Policy-Numbers"] = "KV-4712-0004, KV-4712-0005"
    msg.set_content("Anbei meine Belege.\nGrüße")
    for name, data, media_type in attachments:
        main, _, sub = media_type.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return bytes(msg)


def test_an_eml_becomes_the_same_request_as_the_form() -> None:
    bot = ClaimsForwarderBot(ClaimsSettings(_env_file=None))  # type: ignore[call-arg]
    raw = portal_mail(("../Rechnung.pdf", pdf(2), "application/pdf"), ("Foto.jpg", jpeg(), "image/jpeg"))
    mail = read_eml(raw)
    assert mail.fields["policy_numbers"] == ["KV-4712-0004", "KV-4712-0005"]
    body, uploads, key = eml_request(bot, raw)
    payload = json.loads(body)
    assert key == "<portal-4711@portal.portalbots.test>"
    assert payload["customer_id"] == "K100006" and payload["message"].startswith("Anbei meine Belege.")
    assert (
        [f["name"] for f in payload["files"]] == ["Rechnung.pdf", "Foto.jpg"] == [u.filename for u in uploads]
    )
    with pytest.raises(NotASubmission, match="attachments"):
        eml_request(bot, portal_mail())
    with pytest.raises(NotASubmission, match="larger"):
        eml_request(bot, portal_mail(("gross.pdf", b"%PDF-" + b"0" * (10 * MB), "application/pdf")))


@pytest.mark.slow
def test_portalbots_submit_claims_eml(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(PYTHONPATH=str(ROOT), PORTALBOTS_DATA_DIR=str(tmp_path / "var"))
    eml = tmp_path / "einreichung.eml"
    eml.write_bytes(
        portal_mail(("Rechnung.pdf", pdf(2), "application/pdf"), ("Foto.png", png(), "image/png"))
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bots.cli", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert cli("db", "upgrade").returncode == 0
    first = cli("submit", "claims", "--eml", str(eml))
    assert first.returncode == 0, first.stderr
    item = json.loads(first.stdout)
    assert item["created"] is True and item["reference"] == "<portal-4711@portal.portalbots.test>"
    again = json.loads(cli("submit", "claims", "--eml", str(eml)).stdout)
    assert again["id"] == item["id"] and again["created"] is False  # the same mail twice: one item
    shown = json.loads(cli("items", "show", str(item["id"]), "--json").stdout)
    assert [a["filename"] for a in shown["artifacts"]] == ["Rechnung.pdf", "Foto.png"]
