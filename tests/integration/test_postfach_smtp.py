"""The Postfach SMTP server: real smtplib deliveries into customers' and departments' mailboxes."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
import pytest

from sandbox.postfach import DEPARTMENT, POSTFACH, department_address, postfach_address
from sandbox.server import SandboxServer
from tests.conftest import Sandbox

# not valid PDF/PNG content, on purpose: the Postfach stores bytes, it must not touch them
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\r\n%%EOF\r\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 17 + b"\x00\r\x0a."


@pytest.fixture
def server(sandbox: Sandbox) -> SandboxServer:
    return sandbox.server


@pytest.fixture
def admin(sandbox: Sandbox) -> httpx.Client:
    return sandbox.admin


def certificate_mail(to: str, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "portalbots@portalbots.test"
    msg["To"] = to
    msg["Subject"] = "Ihre Reiseversicherungsbescheinigung – Łódź & Kraków"
    msg["Message-ID"] = message_id or make_msgid(domain="portalbots.test")
    msg.set_content("Sehr geehrte Frau Öztürk-Şahin,\nanbei Ihre Bescheinigungen.\n")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="Bescheinigung_de.pdf")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="Beleg Größe.png")
    return msg


def send(server: SandboxServer, msg: EmailMessage) -> None:
    with smtplib.SMTP(server.smtp_host, server.smtp_port, timeout=10) as client:
        client.send_message(msg)


def test_message_with_two_attachments_arrives_byte_identical(
    server: SandboxServer, admin: httpx.Client
) -> None:
    send(server, certificate_mail(postfach_address("K100001")))

    body = admin.get("/admin/postfach/K100001").json()
    assert body["mailbox"] == "K100001"
    (message,) = body["messages"]
    assert message["subject"] == "Ihre Reiseversicherungsbescheinigung – Łódź & Kraków"
    assert "Öztürk-Şahin" in message["body_text"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in message["attachments"]] == [
        ("Bescheinigung_de.pdf", "application/pdf", len(PDF)),
        ("Beleg Größe.png", "image/png", len(PNG)),
    ]
    for original, meta in zip((PDF, PNG), message["attachments"], strict=True):
        assert meta["sha256"] == hashlib.sha256(original).hexdigest()
        raw = admin.get(f"/admin/postfach/K100001/{message['no']}/attachments/{meta['idx']}")
        assert raw.status_code == 200
        assert raw.content == original
        stored = server.db.attachment(POSTFACH, "K100001", message["no"], meta["idx"])
        assert stored is not None and stored[2] == original

    assert admin.get(f"/admin/postfach/K100001/{message['no']}/attachments/9").status_code == 404


def test_message_is_shown_in_the_postfach_ui(server: SandboxServer) -> None:
    send(server, certificate_mail(postfach_address("K100002")))
    with httpx.Client(base_url=server.url, timeout=10) as web:
        web.post("/login", data={"username": "robot", "password": "robot-pw"})
        listing = web.get("/postfach/K100002").text
        (no,) = [m.no for m in server.db.messages(POSTFACH, "K100002")]
        assert f'href="/postfach/K100002/{no}"' in listing
        view = web.get(f"/postfach/K100002/{no}").text
        assert "Bescheinigung_de.pdf" in view and "Beleg Größe.png" in view
        download = web.get(f"/postfach/K100002/{no}/anhang/1")
        assert download.content == PNG
        assert "attachment;" in download.headers["content-disposition"]


def test_unknown_recipient_is_refused_with_550(server: SandboxServer) -> None:
    for address in (postfach_address("K999999"), "jemand@example.org", department_address("zahn")):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(server, certificate_mail(address))
        code, _text = refused.value.recipients[address]
        assert code == 550
    assert server.db.messages(POSTFACH, "K999999") == []


def test_same_message_id_twice_is_stored_once(server: SandboxServer) -> None:
    message_id = make_msgid(domain="portalbots.test")
    send(server, certificate_mail(postfach_address("K100003"), message_id))
    send(server, certificate_mail(postfach_address("K100003"), message_id))
    send(server, certificate_mail(postfach_address("K100003")))  # another Message-ID: a new message

    messages = server.db.messages(POSTFACH, "K100003")
    assert [m.message_id for m in messages].count(message_id) == 1
    assert len(messages) == 2
    assert next(m for m in messages if m.message_id == message_id).duplicates == 1


def test_forwarded_claim_lands_in_the_department_mailbox(server: SandboxServer, admin: httpx.Client) -> None:
    send(server, certificate_mail(department_address("Zusatz")))
    body = admin.get("/admin/mailboxes/zusatz").json()
    assert [len(m["attachments"]) for m in body["messages"]] == [2]
    no = body["messages"][0]["no"]
    assert admin.get(f"/admin/mailboxes/zusatz/{no}/attachments/0").content == PDF
    assert server.db.messages(DEPARTMENT, "voll") == []
