"""ARK certificate bot: certificates for every insured person of a travel policy, into the Postfach."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bots.ark_certificate import rules
from bots.ark_certificate.certificate import IssuedCertificate, insurer_from_settings, issue_certificates
from bots.ark_certificate.delivery import certificate_message
from bots.ark_certificate.pages import PolicyAdmin
from bots.ark_certificate.request import ArkRequest
from bots.runtime.bot import Bot
from bots.runtime.context import Context
from bots.runtime.models import WorkItem

CERTIFICATE_KIND = "certificate"


class ArkCertificateBot(Bot):
    queue = "ark_certificate"
    route = "ark-certificates"
    title = "ARK-Bescheinigung (Auslandsreise-Krankenversicherung)"
    request_model = ArkRequest
    systems = ("policy_admin",)
    sla = timedelta(days=1)
    max_attempts = 5

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        request = ArkRequest.model_validate(item.payload)
        today = ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date()
        # Checks that need no core system come first: a bad request is refused even at night.
        rules.check_request(request, today, ctx.settings.ark_max_past_days)

        delivered = ctx.recall("result")
        if delivered:  # a retry after the delivery was made: never a second message
            return dict(delivered)

        with ctx.browser(base_url=ctx.settings.sandbox_url) as page:
            admin = PolicyAdmin(
                page, ctx.settings.sandbox_user, ctx.settings.sandbox_password.get_secret_value()
            )
            facts = admin.policy(request.policy_number)
        rules.check_policy(request, facts)
        assert facts is not None

        certificates = issue_certificates(request, facts, today, insurer_from_settings(ctx.settings))
        stored = self._store_certificates(ctx, certificates)
        to = ctx.settings.postfach_address.format(customer_id=request.customer_id)
        message_id = ctx.mailer.send(
            certificate_message(ctx.mailer, to, item.reference, request, facts, certificates)
        )
        result = {
            "message_id": message_id,
            "postfach": to,
            "insured_persons": [p.full_name for p in facts.insured_persons],
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
