"""Sending mail over SMTP: alerts to supervisors, Postfach deliveries, forwarded claims."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout = timeout

    def message(self, to: str, subject: str, body: str, message_id: str | None = None) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = message_id or make_msgid(domain="portalbots.test")
        msg.set_content(body)
        return msg

    def send(self, msg: EmailMessage) -> str:
        """Deliver `msg`; returns its Message-ID. Raises on any SMTP failure (a system error to the runner)."""
        if "From" not in msg:
            msg["From"] = self.sender
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)
        return str(msg["Message-ID"])

    def try_send(self, msg: EmailMessage) -> bool:
        """Best effort, for alerts: a mail failure is logged, never raised."""
        try:
            self.send(msg)
            return True
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("could not send mail %r to %s: %s", msg["Subject"], msg["To"], exc)
            return False
