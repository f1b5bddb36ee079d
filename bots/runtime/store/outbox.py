"""The outbox: mail to people (supervisors' alerts) written in the transaction that decided to send it,
and sent by housekeeping until the mail server takes it — an SMTP outage delays an alert, never loses it."""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bots.runtime import schema as t
from bots.runtime.models import Mail, OutboxMail
from bots.runtime.store import rows
from bots.runtime.store.engine import StoreBase


def add(conn: Connection, mail: Mail, now: datetime) -> int:
    """Queue `mail` in the caller's transaction; due at once."""
    return int(
        conn.execute(
            sa.insert(t.outbox)
            .values(
                message_id=make_msgid(domain="portalbots.test"),  # unique across databases, kept for retries
                recipient=mail.to,
                subject=mail.subject,
                body=mail.body,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
            .returning(t.outbox.c.id)
        ).scalar_one()
    )


class OutboxStore(StoreBase):
    """Mail waiting to be sent, and the record of each attempt."""

    def queue_mail(self, mail: Mail) -> int:
        now = self.now()
        with self._write() as conn:
            return add(conn, mail, now)

    def due_mail(self, limit: int = 50) -> list[OutboxMail]:
        """Unsent mail whose next attempt is due, oldest first."""
        q = (
            sa.select(t.outbox)
            .where(t.outbox.c.sent_at.is_(None), t.outbox.c.next_attempt_at <= self.now())
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [rows.outbox_mail(r) for r in conn.execute(q)]

    def outbox(self, limit: int = 100) -> list[OutboxMail]:
        """The newest mail, sent or not."""
        with self._read() as conn:
            q = sa.select(t.outbox).order_by(t.outbox.c.id.desc()).limit(limit)
            return [rows.outbox_mail(r) for r in conn.execute(q)]

    def mail_sent(self, mail_id: int) -> None:
        now = self.now()
        with self._write() as conn:
            conn.execute(
                sa.update(t.outbox)
                .where(t.outbox.c.id == mail_id)
                .values(sent_at=now, attempts=t.outbox.c.attempts + 1, last_error=None)
            )

    def mail_failed(self, mail_id: int, error: str, retry_at: datetime) -> None:
        with self._write() as conn:
            conn.execute(
                sa.update(t.outbox)
                .where(t.outbox.c.id == mail_id)
                .values(attempts=t.outbox.c.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at)
            )
