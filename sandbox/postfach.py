"""Postfach SMTP server: customers' secure mailboxes and the claims departments' mailboxes.

Recipients:
- ``<customer_id>@postfach.portalbots.test`` -> that customer's Postfach (the customer must exist),
- ``<department>@leistung.portalbots.test`` (voll, zusatz, pflege) -> a department mailbox,
- ``leitstand@portalbots.test`` -> the supervisors' mailbox (alerts of the circuit breaker),
- anything else is refused in RCPT with 550.
With the fault knob ``smtp_down`` every recipient is refused with 421 (service not available), as a mail
server in maintenance does.
A message whose Message-ID is already in the same mailbox is accepted but stored only once (the
duplicate is counted), as the real Postfach does; the bots rely on it for exactly-once delivery.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bots.runtime.clock import Clock, SystemClock
from sandbox.data import SandboxDB
from sandbox.faults import FaultInjector

POSTFACH_DOMAIN = "postfach.portalbots.test"
DEPARTMENT_DOMAIN = "leistung.portalbots.test"
DEPARTMENTS = {"voll": "Voll", "zusatz": "Zusatz", "pflege": "Pflege"}
TEAM_DOMAIN = "portalbots.test"
TEAMS = {"leitstand": "Leitstand"}
POSTFACH = "postfach"
DEPARTMENT = "department"
TEAM = "team"


def postfach_address(customer_id: str) -> str:
    return f"{customer_id}@{POSTFACH_DOMAIN}"


def department_address(department: str) -> str:
    return f"{department.lower()}@{DEPARTMENT_DOMAIN}"


def resolve_recipient(db: SandboxDB, address: str) -> tuple[str, str] | None:
    """(mailbox kind, mailbox) for a recipient address, or None if nobody receives mail there."""
    local, _, domain = parseaddr(address)[1].rpartition("@")
    domain = domain.lower()
    if domain == POSTFACH_DOMAIN:
        customer_id = local.upper()
        return (POSTFACH, customer_id) if db.customer(customer_id) else None
    if domain == DEPARTMENT_DOMAIN and local.lower() in DEPARTMENTS:
        return DEPARTMENT, local.lower()
    if domain == TEAM_DOMAIN and local.lower() in TEAMS:
        return TEAM, local.lower()
    return None


def parse_message(raw: bytes) -> tuple[dict[str, Any], list[tuple[str, str, bytes, str]]]:
    """Header fields for storage and the attachments as (filename, content type, bytes, sha256)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(preferencelist=("plain", "html"))
    body_text = body.get_content() if body is not None else ""
    message_id = (msg.get("Message-ID") or "").strip() or None
    header = {
        "message_id": message_id,
        "subject": str(msg.get("Subject", "")),
        "sender": str(msg.get("From", "")),
        "to": str(msg.get("To", "")),
        "date": str(msg.get("Date", "")),
        "body_text": body_text,
    }
    parts = []
    for part in msg.walk():
        if part.is_multipart() or part is body:
            continue
        filename = part.get_filename()
        if filename is None and part.get_content_disposition() != "attachment":
            continue  # an alternative body, not an attachment
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        parts.append(
            (filename or "unbenannt", part.get_content_type(), data, hashlib.sha256(data).hexdigest())
        )
    return header, parts


class PostfachHandler:
    """aiosmtpd handler that files each delivered message into the recipients' mailboxes."""

    def __init__(
        self, db: SandboxDB, clock: Clock | None = None, faults: FaultInjector | None = None
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.faults = faults or FaultInjector()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.faults.faults.smtp_down:
            return "421 4.3.2 Postfach voruebergehend nicht verfuegbar / service not available"
        if await asyncio.to_thread(resolve_recipient, self.db, address) is None:
            return "550 5.1.1 Empfänger unbekannt / recipient unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        assert raw is not None
        await asyncio.to_thread(self.deliver, raw, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def deliver(self, raw: bytes, recipients: list[str]) -> list[tuple[int, bool]]:
        """Store `raw` once per distinct mailbox among `recipients`; (message no, stored) per mailbox."""
        header, parts = parse_message(raw)
        results = []
        seen: set[tuple[str, str]] = set()
        for address in recipients:
            target = resolve_recipient(self.db, address)
            if target is None or target in seen:
                continue
            seen.add(target)
            results.append(self.db.store_message(*target, header, raw, parts, self.clock.now()))
        return results


def start_smtp(
    db: SandboxDB, host: str, port: int, clock: Clock | None = None, faults: FaultInjector | None = None
) -> Controller:
    """Start the Postfach SMTP server on host:port (a real port: aiosmtpd cannot use port 0)."""
    if port == 0:
        raise ValueError("aiosmtpd cannot bind port 0; pick a free port first")
    controller = Controller(
        PostfachHandler(db, clock, faults),
        hostname=host,
        port=port,
        server_hostname="postfach.portalbots.test",
        data_size_limit=50 * 1024 * 1024,
    )
    controller.start()
    return controller
