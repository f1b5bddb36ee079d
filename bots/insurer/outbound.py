"""Mail the insurer's bots send over SMTP exactly once per item and purpose: to a customer's Postfach, to a
department's mailbox. Every text a header reuses is made safe first.

Exactly once holds across crashes and retries by two means: the Message-ID derives from the item's reference
(not its database id, which another database may reuse) and the purpose, and the receiving mailboxes store a
Message-ID once; and a checkpoint of the item records the sending, so a retry does not even send again.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bots.runtime.context import Context

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]+")
MAX_HEADER_TEXT = 200


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    media_type: str = "application/pdf"


def header_text(text: str, limit: int = MAX_HEADER_TEXT) -> str:
    """`text` safe to reuse in a mail header: no CR, LF or any other control character (each run becomes one
    blank: no header injection, whatever the Python's email package does), no bidi overrides or other
    invisible format characters, blanks collapsed, at most `limit` characters."""
    plain = _CONTROLS.sub(" ", unicodedata.normalize("NFC", text))
    plain = "".join(ch for ch in plain if unicodedata.category(ch) != "Cf")
    plain = " ".join(plain.split())
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


def message_id(queue: str, reference: str, purpose: str = "", domain: str = "portalbots.test") -> str:
    """The same for every attempt of one request and purpose, unique across requests and purposes."""
    key = f"{queue}:{reference}" + (f":{purpose}" if purpose else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    name = queue.replace("_", "-") + (f"-{purpose}" if purpose else "")
    return f"<{name}-{digest}@{domain}>"


def send_once(
    ctx: Context,
    to: str,
    subject: str,
    body: str,
    attachments: Sequence[Attachment] = (),
    *,
    checkpoint: str,
    purpose: str = "",
    domain: str = "portalbots.test",
    headers: Mapping[str, str] | None = None,
    record: Mapping[str, Any] | None = None,
    address_key: str = "to",
) -> dict[str, Any]:
    """Send one message of this item for `purpose` unless the item's `checkpoint` says it went out; its sending
    record (message id, and the address under `address_key`), with `record` kept beside it in the same
    checkpoint. Subject, extra header values and attachment names pass through header_text."""
    done = ctx.recall(checkpoint)
    if done:
        return dict(done)
    msg = ctx.mailer.message(
        header_text(to),
        header_text(subject, 400),
        body,
        message_id=message_id(ctx.item.queue, ctx.item.reference, purpose, domain),
    )
    for name, value in (headers or {}).items():
        msg[name] = header_text(value, 400)
    for att in attachments:
        maintype, _, subtype = att.media_type.partition("/")
        msg.add_attachment(
            att.data, maintype=maintype, subtype=subtype, filename=header_text(att.filename) or "Anhang"
        )
    sent = {**(record or {}), "message_id": ctx.mailer.send(msg), address_key: to}
    ctx.remember(checkpoint, sent)
    return sent
