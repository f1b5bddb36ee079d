"""ARK certificate bot: a certificate of the insured persons of a travel policy, into the Postfach."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from pydantic import BaseModel

from bots.ark_certificate import rules
from bots.ark_certificate.certificate import (
    CertificateData,
    IssuedCertificate,
    UnprintableName,
    issue_certificates,
)
from bots.ark_certificate.message import certificate_body, certificate_subject, request_label
from bots.ark_certificate.request import ArkRequest
from bots.ark_certificate.settings import ArkSettings
from bots.insurer.facts import BusinessUnit
from bots.insurer.letterhead import insurer_from_settings
from bots.insurer.notices import CustomerNotices
from bots.insurer.pages import SYSTEM, open_policy_admin
from bots.insurer.postfach import Attachment, Postfach
from bots.runtime.bot import Bot
from bots.runtime.calendar import ServiceCalendar
from bots.runtime.context import Context
from bots.runtime.errors import FieldInvalid, HandOff, Reject
from bots.runtime.models import Artifact, Mail, WorkItem
from bots.runtime.scenario import DemoScenario
from bots.runtime.store.artifacts import NewFile

CERTIFICATE_KIND = "certificate"


class ArkCertificateBot(Bot):
    queue = "ark_certificate"
    route = "ark-certificates"
    title = "ARK-Bescheinigung (Auslandsreise-Krankenversicherung)"
    request_model = ArkRequest
    systems = (SYSTEM,)
    sla = timedelta(days=1)
    max_attempts = 5

    def __init__(self, settings: ArkSettings | None = None) -> None:
        self.settings = settings or ArkSettings()
        self.postfach = Postfach(self.settings)
        self.notices = CustomerNotices(self.settings)

    def due_at(self, submitted: datetime, calendar: Callable[[str], ServiceCalendar]) -> datetime:
        """The close of the policy administration's next service day ("bis zum nächsten Werktag")."""
        return calendar(SYSTEM).next_service_day_end(submitted)

    def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail:
        return self.notices.about(item, request_label(item.payload), outcome, self.case_sla.days)

    def admit(self, request: BaseModel, today: date) -> None:
        assert isinstance(request, ArkRequest)
        latest = today + timedelta(days=self.settings.ark_max_future_days)
        if request.travel_start > latest:
            raise FieldInvalid(
                "travel_start",
                f"a trip may start at most {self.settings.ark_max_future_days} days ahead (on {latest} at the latest)",
            )

    def demo(self) -> DemoScenario:
        from bots.ark_certificate.demo import ArkDemo

        return ArkDemo()

    def precheck(self, item: WorkItem, ctx: Context) -> None:
        rules.check_request(
            ArkRequest.model_validate(item.payload), _today(ctx), self.settings.ark_max_past_days
        )

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        request = ArkRequest.model_validate(item.payload)
        delivered = ctx.recall(Postfach.checkpoint())
        if delivered:  # a retry after the delivery was made: never a second message, no second look
            return dict(delivered)

        # the policy, with its holder's residence, as the core system shows it now
        with open_policy_admin(ctx, self.settings) as admin:
            policy = admin.policy(request.policy_number)
        rules.check_policy(request, policy)
        assert policy is not None
        rules.check_residence(request, policy.holder_country)
        certified = rules.certified_persons(request, policy)

        data = CertificateData.build(
            request,
            policy,
            persons=certified.persons,
            residence=policy.holder_country,
            issue_date=_today(ctx),
            reference=item.reference,
        )
        try:
            certificates = issue_certificates(data, request.languages, insurer_from_settings(self.settings))
        except UnprintableName as exc:
            raise _unprintable(exc, policy.policy_number) from exc
        stored = self._store_certificates(ctx, certificates)
        return self.postfach.deliver(
            ctx,
            request.customer_id,
            certificate_subject(request, policy),
            certificate_body(request, policy, certified, certificates),
            [Attachment(c.filename, c.pdf, c.media_type) for c in certificates],
            record={  # the item's result, kept with the delivery in one checkpoint
                "certificate_number": data.certificate_number,
                "insured_persons": [p.full_name for p in data.insured_persons],
                "not_yet_covered": [p.full_name for p in certified.later],
                "certificates": stored,
            },
        )

    @staticmethod
    def _store_certificates(ctx: Context, certificates: list[IssuedCertificate]) -> list[dict[str, Any]]:
        """The PDFs as artifacts of the item, once (a retry renders them again), in one transaction."""
        saved = ctx.recall("certificates")
        if saved:
            return list(saved)
        files = [NewFile(c.filename, c.media_type, c.pdf, CERTIFICATE_KIND) for c in certificates]

        def describe(artifacts: list[Artifact]) -> list[dict[str, Any]]:
            return [
                {"lang": c.lang, "number": c.certificate_number, "filename": c.filename, "artifact_id": a.id}
                for c, a in zip(certificates, artifacts, strict=True)
            ]

        return list(ctx.keep("certificates", files, describe))


def _unprintable(exc: UnprintableName, policy_number: str) -> HandOff:
    """A name the certificate font cannot draw: a clerk issues this certificate, no retry helps."""
    person = exc.person
    glyphs = ", ".join(f"„{char}“ (U+{ord(char):04X})" for char in exc.missing)
    born = format_date(person.birth_date, "medium", locale="de_DE")
    return HandOff(
        BusinessUnit.KRANKEN,
        "unprintable_name",
        f"Vertrag {policy_number}: Der Name der versicherten Person {person.full_name} (geboren am {born}) "
        f"enthält Zeichen, für die die Schrift der Bescheinigung kein Zeichen hat: {glyphs}. "
        "Bitte die Bescheinigung manuell ausstellen.",
    )


def _today(ctx: Context) -> date:
    return ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()
