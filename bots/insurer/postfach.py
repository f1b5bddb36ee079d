"""Delivery into the customer's Postfach (the portal's secure mailbox), exactly once per item and purpose
(see bots.insurer.outbound: a stable Message-ID, which the Postfach stores once, and a checkpoint)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bots.insurer.outbound import Attachment, message_id, send_once

if TYPE_CHECKING:
    from bots.insurer.settings import InsurerSettings
    from bots.runtime.context import Context

__all__ = ["Attachment", "Postfach", "message_id"]


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
        return send_once(
            ctx,
            to,
            subject,
            body,
            attachments,
            checkpoint=checkpoint,
            purpose=purpose,
            domain=self.settings.mail_domain,
            record=record,
            address_key="postfach",
        )

    @staticmethod
    def checkpoint(purpose: str = "") -> str:
        """The item's checkpoint that records the delivery for `purpose` (see Context.recall)."""
        return f"postfach:{purpose or 'message'}"
