"""ARK certificate bot: certificates for every insured person of a travel policy, into the Postfach."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from bots.ark_certificate import rules
from bots.ark_certificate.certificate import IssuedCertificate, issue_certificates
from bots.ark_certificate.message import certificate_body, certificate_subject, request_label
from bots.ark_certificate.request import ArkRequest
from bots.ark_certificate.settings import ArkSettings
from bots.insurer.letterhead import insurer_from_settings
from bots.insurer.notices import CustomerNotices
from bots.insurer.pages import SYSTEM, open_policy_admin
from bots.insurer.postfach import Attachment, Postfach
from bots.runtime.bot import Bot
from bots.runtime.calendar import ServiceCalendar
from bots.runtime.context import Context
from bots.runtime.errors import FieldInvalid, HandOff, Reject
from bots.runtime.models import Mail, WorkItem
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
        self.notices = CustomerNotices(self.settings)

    def due_at(self, submitted: datetime, calendar: Callable[[str], ServiceCalendar]) -> datetime:
        """The close of the policy administration's next service day ("bis zum nächsten Werktag")."""
        return calendar(SYSTEM).next_service_day_end(submitted)

    def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail:
        what = request_label(item.payload)
        customer = item.customer_id or str(item.payload.get("customer_id", ""))
        if isinstance(outcome, Reject):
            return self.notices.refused(customer, what, item.created_at, outcome.customer_message)
        return self.notices.with_clerk(customer, what, item.created_at, outcome.unit, self.case_sla.days)

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
        delivered = ctx.recall("result")
        if delivered:  # a retry after the delivery was made: never a second message
            return dict(delivered)

        with open_policy_admin(ctx, self.settings) as admin:
            policy = admin.policy(request.policy_number)
        rules.check_policy(request, policy)
        assert policy is not None

        insurer = insurer_from_settings(self.settings)
        certificates = issue_certificates(request, policy, _today(ctx), insurer)
        stored = self._store_certificates(ctx, certificates)
        delivery = self.postfach.deliver(
            ctx,
            request.customer_id,
            certificate_subject(request, policy),
            certificate_body(request, policy, certificates),
            [Attachment(c.filename, c.pdf, c.media_type) for c in certificates],
        )
        result = {
            **delivery,
            "insured_persons": [p.full_name for p in policy.insured_persons],
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


def _today(ctx: Context) -> date:
    return ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()
