"""The intake's multipart route over real HTTP, on SQLite and PostgreSQL: files arrive as artifacts of the
item in the same transaction as the item, or nothing is stored at all."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from bots.runtime import schema as t
from bots.runtime.bot import Registry
from bots.runtime.intake import MAX_UPLOAD_BYTES, MAX_UPLOADS, create_intake_app
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from tests.bots_for_tests import EchoBot, Recorder, UploadBot

AUTH = {"Authorization": "Bearer s3cret-test-token"}
FORM = {
    "customer_id": "K100001",
    "policy_numbers": ["HR-4711-0001", "ARK-4711-0002"],
    "message": "Wasserschaden",
}


def two_page_pdf() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    for page in (1, 2):
        canvas.drawString(72, 760, f"Schadenmeldung K100001 – Seite {page}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def png() -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    image.putpixel((3, 5), (0, 0, 255))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


PDF, PNG = two_page_pdf(), png()


def files(*extra: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    parts = [("Schadenmeldung Müller.pdf", PDF, "application/pdf"), ("foto.png", PNG, "image/png"), *extra]
    return [("files", part) for part in parts]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(store: Store, tmp_path: Any, recorder: Recorder) -> Iterator[httpx.Client]:
    settings = Settings(data_dir=tmp_path, intake_token="s3cret-test-token", _env_file=None)  # type: ignore[arg-type]
    app = create_intake_app(store, Registry([EchoBot(), UploadBot()]), recorder, settings)
    with ThreadedServer(app, name="intake") as server, httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def stored(store: Store) -> dict[str, int]:
    """Rows of items, artifacts and blobs: what a refused request must not leave behind."""
    with store.engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (t.items, t.artifacts, t.blobs)
        }


NOTHING = {"work_items": 0, "artifacts": 0, "blobs": 0}


def test_files_and_fields_become_one_item_with_its_uploads(
    client: httpx.Client, store: Store, recorder: Recorder
) -> None:
    r = client.post("/v1/uploads", data=FORM, files=files(), headers={**AUTH, "Idempotency-Key": "claim-1"})
    assert r.status_code == 202, r.text
    item_id = r.json()["id"]
    assert r.headers["Location"] == f"/v1/items/{item_id}" and "Idempotent-Replayed" not in r.headers
    assert recorder.sent == [item_id]

    item = store.get(item_id)
    assert (item.queue, item.reference, item.customer_id) == ("uploads", "claim-1", "K100001")
    assert item.payload == {
        "customer_id": "K100001",
        "policy_numbers": ["HR-4711-0001", "ARK-4711-0002"],
        "message": "Wasserschaden",
        "files": [
            {"name": "Schadenmeldung Müller.pdf", "media_type": "application/pdf", "size": len(PDF)},
            {"name": "foto.png", "media_type": "image/png", "size": len(PNG)},
        ],
    }
    arts = store.artifacts(item_id)
    assert [(a.filename, a.media_type, a.kind, a.size) for a in arts] == [
        ("Schadenmeldung Müller.pdf", "application/pdf", "upload", len(PDF)),
        ("foto.png", "image/png", "upload", len(PNG)),
    ]
    pdf, image = (store.artifact_bytes(a.id)[1] for a in arts)
    assert pdf == PDF and image == PNG
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    assert Image.open(io.BytesIO(image)).getpixel((3, 5)) == (0, 0, 255)

    status = client.get(f"/v1/items/{item_id}", headers=AUTH).json()
    assert status["status"] == "pending" and status["reference"] == "claim-1"


def test_an_invalid_form_names_the_field_and_stores_nothing(
    client: httpx.Client, store: Store, recorder: Recorder
) -> None:
    form = {k: v for k, v in FORM.items() if k != "customer_id"}
    r = client.post("/v1/uploads", data=form, files=files(), headers={**AUTH, "Idempotency-Key": "claim-2"})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_request"
    assert [f["field"] for f in r.json()["fields"]] == ["customer_id"]
    r = client.post("/v1/uploads", data={**FORM, "policy_numbers": []}, files=files(), headers=AUTH)
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["policy_numbers"]
    assert stored(store) == NOTHING and recorder.sent == []


def test_the_same_key_with_the_same_files_is_the_same_item(
    client: httpx.Client, store: Store, recorder: Recorder
) -> None:
    headers = {**AUTH, "Idempotency-Key": "claim-3"}
    first = client.post("/v1/uploads", data=FORM, files=files(), headers=headers)
    again = client.post("/v1/uploads", data=FORM, files=files(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert recorder.sent == [first.json()["id"]]
    before = stored(store)
    assert before == {"work_items": 1, "artifacts": 2, "blobs": 2}

    other = client.post(
        "/v1/uploads", data=FORM, files=files(("more.txt", b"another file", "text/plain")), headers=headers
    )
    assert other.status_code == 409 and other.json()["error"] == "idempotency_conflict"
    changed = [*files()[:1], ("files", ("foto.png", PNG + b"\0", "image/png"))]
    assert client.post("/v1/uploads", data=FORM, files=changed, headers=headers).status_code == 409
    assert stored(store) == before and recorder.sent == [first.json()["id"]]


def test_a_file_over_the_limit_is_a_413_and_nothing_is_stored(
    client: httpx.Client, store: Store, recorder: Recorder
) -> None:
    big = ("gross.bin", b"\0" * (MAX_UPLOAD_BYTES + 1), "application/octet-stream")
    r = client.post(
        "/v1/uploads", data=FORM, files=files(big), headers={**AUTH, "Idempotency-Key": "claim-4"}
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "file_too_large" and "gross.bin" in r.json()["message"]
    assert stored(store) == NOTHING and recorder.sent == []


def test_too_many_files_or_no_token_store_nothing(client: httpx.Client, store: Store) -> None:
    many = [("files", (f"{n}.txt", b"x", "text/plain")) for n in range(MAX_UPLOADS + 1)]
    r = client.post("/v1/uploads", data=FORM, files=many, headers=AUTH)
    assert r.status_code == 400 and r.json()["error"] == "invalid_form"
    r = client.post("/v1/uploads", data=FORM, files=files(), headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert stored(store) == NOTHING


def test_openapi_documents_the_form(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    post = doc["paths"]["/v1/uploads"]["post"]
    assert post["security"] == [{"bearer": []}]
    assert {"202", "400", "401", "409", "413", "422"} <= set(post["responses"])
    assert post["parameters"][0]["name"] == "Idempotency-Key"
    (content_type,) = post["requestBody"]["content"]
    assert content_type == "multipart/form-data"
    body = resolve(doc, post["requestBody"]["content"][content_type]["schema"])
    fields = dict(body.get("properties", {}))
    required = set(body.get("required", []))
    for part in body.get("allOf", []):  # FastAPI puts the form model beside the files
        fields.update(resolve(doc, part)["properties"])
        required |= set(resolve(doc, part).get("required", []))
    assert {"customer_id", "policy_numbers", "message", "files"} <= set(fields)
    assert {"customer_id", "policy_numbers"} <= required
    assert fields["policy_numbers"]["type"] == "array" and fields["policy_numbers"]["minItems"] == 1
    binary = fields["files"]["items"]
    assert fields["files"]["type"] == "array" and binary["type"] == "string"
    assert binary.get("format") == "binary" or binary.get("contentMediaType") == "application/octet-stream"


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_a_multipart_bot_must_read_its_form() -> None:
    from bots.runtime.bot import Bot
    from bots.runtime.errors import ConfigurationError
    from tests.bots_for_tests import UploadRequest

    with pytest.raises(ConfigurationError, match="payload_from_form"):

        class Formless(Bot):
            queue = "formless"
            route = "formless"
            title = "no form"
            request_model = UploadRequest
            multipart = True

            def process(self, item: Any, ctx: Any) -> dict[str, Any]:
                return {}
