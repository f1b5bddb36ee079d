"""Delivery into the customer's Postfach (the portal's secure mailbox), exactly once per item and purpose.

Exactly once holds across crashes and retries by two means: the Message-ID derives from the item's
reference (not its database id, which another database may reuse), and the Postfach stores a Message-ID
once; and a checkpoint of the item records the delivery, so a retry does not even send again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bots.insurer.settings import InsurerSettings
    from bots.runtime.context import Context


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    media_type: str = "application/pdf"


def message_id(queue: str, reference: str, purpose: str = "", domain: str = "portalbots.test") -> str:
    """The same for every attempt of one request and purpose, unique across requests and purposes."""
    key = f"{queue}:{reference}" + (f":{purpose}" if purpose else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    name = queue.replace("_", "-") + (f"-{purpose}" if purpose else "")
    return f"<{name}-{digest}@{domain}>"


class Postfach:
    """The customers' Postfach as an SMTP address per customer."""

    def __init__(self, settings: InsurerSettings) -> None:
        self.settings = settings

    def address(self, customer_id: str) -> str:
        return self.settings.postfach_address.format(customer_id=customer_id)

    def deliver(
        self,
        ctx: Context,
        customer_id: str,
        subject: str,
        body: str,
        attachments: Sequence[Attachment] = (),
        *,
        purpose: str = "",
        record: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one message of this item for `purpose` unless it was sent before; its delivery record
        (message id, address), with `record` kept beside it in the same checkpoint."""
        checkpoint = self.checkpoint(purpose)
        done = ctx.recall(checkpoint)
        if done:
            return dict(done)
        to = self.address(customer_id)
        msg = ctx.mailer.message(
            to,
            subject,
            body,
            message_id=message_id(ctx.item.queue, ctx.item.reference, purpose, self.settings.mail_domain),
        )
        for att in attachments:
            maintype, _, subtype = att.media_type.partition("/")
            msg.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
        delivery = {**(record or {}), "message_id": ctx.mailer.send(msg), "postfach": to}
        ctx.remember(checkpoint, delivery)
        return delivery

    @staticmethod
    def checkpoint(purpose: str = "") -> str:
        """The item's checkpoint that records the delivery for `purpose` (see Context.recall)."""
        return f"postfach:{purpose or 'message'}"
