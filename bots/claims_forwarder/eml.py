"""A submission as the portal's mail carries it (RFC 822, `.eml`): `portalbots submit claims --eml FILE`.

The portal's mail "Rechnungen einreichen" goes to the health claims department; besides the customer's
text and the receipts as attachments it names the customer and the chosen policies in headers of its own:

    X-Portal-Customer-Id: K100006
    X-Portal-Policy-Numbers: KV-4712-0004, KV-4712-0005

The mail becomes the same form fields and files as the multipart route's, so both take one path
(ClaimsForwarderBot.payload_from_form); its Message-ID is the submission's idempotency key.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
from dataclasses import dataclass
from email.message import EmailMessage

from bots.claims_forwarder.request import MAX_MESSAGE
from bots.runtime.bot import Bot
from bots.runtime.store import Upload

CUSTOMER_HEADER = "X-Portal-Customer-Id"
POLICIES_HEADER = "X-Portal-Policy-Numbers"


@dataclass(frozen=True)
class MailSubmission:
    fields: dict[str, list[str]]
    uploads: list[Upload]
    message_id: str | None


class NotASubmission(ValueError):
    """The mail lacks what a submission needs; the message says what."""


def read_eml(raw: bytes) -> MailSubmission:
    """The form fields (customer_id, policy_numbers, message) and files of a portal mail."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if not isinstance(msg, EmailMessage):
        raise NotASubmission("not an RFC 822 message")
    customer = str(msg.get(CUSTOMER_HEADER, "")).strip()
    policies = [p for p in re.split(r"[,;\s]+", str(msg.get(POLICIES_HEADER, ""))) if p]
    if not customer:
        raise NotASubmission(f"the mail has no {CUSTOMER_HEADER} header")
    if not policies:
        raise NotASubmission(f"the mail has no {POLICIES_HEADER} header")
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    text = text.replace("\x00", "")[:MAX_MESSAGE]  # a long mail's text is cut, as the portal's form does
    uploads = []
    for part in msg.iter_attachments():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True) or b""
        assert isinstance(data, bytes)
        uploads.append(Upload(part.get_filename() or "Anhang", part.get_content_type(), data))
    message_id = str(msg.get("Message-ID", "")).strip() or None
    fields = {"customer_id": [customer], "policy_numbers": policies, "message": [text]}
    return MailSubmission(fields, uploads, message_id)


def eml_request(bot: Bot, raw: bytes) -> tuple[str, list[Upload], str | None]:
    """For `portalbots submit claims --eml FILE`: the request as JSON, the files as stored and the
    idempotency key (the mail's Message-ID), after the limits the intake checks at its door. ValueError
    (NotASubmission) says what is wrong."""
    if not bot.multipart:
        raise NotASubmission(f"{bot.route} takes no files: submit it with --json or --file")
    mail = read_eml(raw)
    limits = bot.upload_limits()
    if not limits.min_files <= len(mail.uploads) <= limits.max_files:
        raise NotASubmission(
            f"the mail has {len(mail.uploads)} attachments; {limits.min_files} to {limits.max_files} are accepted"
        )
    for upload in mail.uploads:
        if len(upload.data) > limits.max_file_bytes:
            raise NotASubmission(
                f"attachment {upload.filename!r} is larger than {limits.max_file_bytes} bytes"
            )
    total = sum(len(u.data) for u in mail.uploads)
    if limits.max_total_bytes is not None and total > limits.max_total_bytes:
        raise NotASubmission(f"the attachments are larger than {limits.max_total_bytes} bytes together")
    uploads = bot.stored_uploads(list(mail.uploads))
    payload = bot.payload_from_form(mail.fields, uploads)
    key = (
        mail.message_id
        if mail.message_id and len(mail.message_id) <= 200 and mail.message_id.isascii()
        else None
    )
    return json.dumps(payload), uploads, key
