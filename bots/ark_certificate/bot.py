"""ARK certificate bot: a certificate of the insured persons of a travel policy, into the Postfach."""

from __future__ import annotations

from datetime import date, timedelta
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
from bots.ark_certificate.message import certificate_body, certificate_subject
from bots.ark_certificate.request import ArkRequest
from bots.ark_certificate.settings import ArkSettings
from bots.insurer.facts import BusinessUnit
from bots.insurer.letterhead import insurer_from_settings
from bots.insurer.pages import SYSTEM, open_policy_admin
from bots.insurer.postfach import Attachment, Postfach
from bots.runtime.bot import Bot
from bots.runtime.context import Context
from bots.runtime.errors import FieldInvalid, HandOff
from bots.runtime.models import WorkItem
from bots.runtime.scenario import DemoScenario

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
        rules.check_request(ArkRequest.model_validate(item.payload), _today(ctx), self.settings.ark_max_past_days)

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        request = ArkRequest.model_validate(item.payload)
        delivered = ctx.recall("result")
        if delivered:  # a retry after the delivery was made: never a second message
            return dict(delivered)

        # the policy and the customer's residence in one session, as the core system shows them now
        with open_policy_admin(ctx, self.settings) as admin:
            policy = admin.policy(request.policy_number)
            rules.check_policy(request, policy)
            assert policy is not None
            customer = admin.customer(request.customer_id)
        if customer is None:  # the policy names them as its holder: the core system contradicts itself
            raise RuntimeError(f"the policy administration shows no customer {request.customer_id}")
        rules.check_residence(request, customer)
        certified = rules.certified_persons(request, policy)

        data = CertificateData.build(
            request,
            policy,
            persons=certified.persons,
            residence=customer.country,
            issue_date=_today(ctx),
            reference=item.reference,
        )
        try:
            certificates = issue_certificates(data, request.languages, insurer_from_settings(self.settings))
        except UnprintableName as exc:
            raise _unprintable(exc, policy.policy_number) from exc
        stored = self._store_certificates(ctx, certificates)
        delivery = self.postfach.deliver(
            ctx,
            request.customer_id,
            certificate_subject(request, policy),
            certificate_body(request, policy, certified, certificates),
            [Attachment(c.filename, c.pdf, c.media_type) for c in certificates],
        )
        result = {
            **delivery,
            "certificate_number": data.certificate_number,
            "insured_persons": [p.full_name for p in data.insured_persons],
            "not_yet_covered": [p.full_name for p in certified.later],
            "certificates": stored,
        }
        ctx.remember("result", result)
        return result

    @staticmethod
    def _store_certificates(ctx: Context, certificates: list[IssuedCertificate]) -> list[dict[str, Any]]:
        """Each PDF once as an artifact of the item, even when a retry renders them again."""
        saved = ctx.recall("certificates")
        if saved:
            return list(saved)
        stored = []
        for cert in certificates:
            artifact = ctx.save_artifact(cert.pdf, cert.media_type, cert.filename, CERTIFICATE_KIND)
            stored.append(
                {
                    "lang": cert.lang,
                    "number": cert.certificate_number,
                    "filename": cert.filename,
                    "artifact_id": artifact.id,
                }
            )
        ctx.remember("certificates", stored)
        return stored


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
