"""What the customer reads in their Postfach when a request was refused or went to a clerk: polite,
specific, and saying what they can do next. The runtime sends it exactly once (see Bot.notice)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bots.insurer.letterhead import insurer_from_settings
from bots.insurer.postfach import Postfach
from bots.insurer.settings import InsurerSettings
from bots.runtime.errors import HandOff, Reject
from bots.runtime.models import Mail, WorkItem

BERLIN = ZoneInfo("Europe/Berlin")
UNITS_DE = {"Kranken": "Krankenversicherung", "Leben": "Lebensversicherung", "Komposit": "Sachversicherung"}


class CustomerNotices:
    """German messages to a customer's Postfach about their request."""

    def __init__(self, settings: InsurerSettings) -> None:
        self.postfach = Postfach(settings)
        self.insurer = insurer_from_settings(settings)

    def about(self, item: WorkItem, request: str, outcome: Reject | HandOff, case_days: int) -> Mail:
        """The message for a request that was refused or went to a clerk (what a bot's `notice` returns);
        `request` names what was asked for."""
        customer = item.customer_id or str(item.payload.get("customer_id", ""))
        if isinstance(outcome, Reject):
            return self.refused(customer, request, item.created_at, outcome.customer_message)
        return self.with_clerk(customer, request, item.created_at, outcome.unit, case_days)

    def refused(self, customer_id: str, request: str, submitted: datetime, reason: str) -> Mail:
        """`request` names what was asked for ("Ihre Bescheinigung … für Thailand"); `reason` is the
        refusal's customer message, which says why and what to do."""
        body = (
            f"Guten Tag,\n\n"
            f"Ihre Anfrage vom {_when(submitted)} – {request} – konnten wir leider nicht wie gewünscht "
            f"erledigen.\n\n{reason}\n\n{self._contact()}"
        )
        return Mail(self.postfach.address(customer_id), f"Ihre Anfrage: {request}", body)

    def with_clerk(self, customer_id: str, request: str, submitted: datetime, unit: str, days: int) -> Mail:
        """The request needs a person: a clerk of `unit` is in touch within `days` working days."""
        department = UNITS_DE.get(unit, unit)
        body = (
            f"Guten Tag,\n\n"
            f"Ihre Anfrage vom {_when(submitted)} – {request} – prüft jetzt eine Sachbearbeiterin oder ein "
            f"Sachbearbeiter unseres Fachbereichs {department}. Wir melden uns innerhalb von {days} "
            f"Werktagen bei Ihnen; Sie müssen bis dahin nichts weiter tun.\n\n{self._contact()}"
        )
        return Mail(self.postfach.address(customer_id), f"Ihre Anfrage ist in Bearbeitung: {request}", body)

    def _contact(self) -> str:
        return self.contact()

    def contact(self) -> str:
        """How the customer reaches the insurer, and the greeting that ends every message."""
        ins = self.insurer
        return (
            f"Bei Fragen erreichen Sie uns über das Kontaktformular im Kundenportal oder telefonisch unter "
            f"{ins.phone}.\n\nFreundliche Grüße\nIhr Kundenservice der {ins.name}\n"
            "(Diese Nachricht wurde automatisch erstellt.)\n"
        )


def _when(at: datetime) -> str:
    return format_datetime(at.astimezone(BERLIN), "d. MMMM yyyy 'um' HH:mm 'Uhr'", locale="de")
