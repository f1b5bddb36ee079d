"""Bank change bot: the portal's IBAN look-up (`GET /v1/iban/{iban}`) and requests to change the bank
details of policies (`POST /v1/bank-changes`)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from bots.bank_change import rules
from bots.bank_change.iban import IbanCheck, check_iban, warm_up
from bots.bank_change.letter import ChangedAccount, Confirmation, render_confirmation
from bots.bank_change.message import letter_body, letter_subject, request_label
from bots.bank_change.request import BankChangeRequest
from bots.insurer.contracts import ContractOverview, ContractsUnavailable
from bots.insurer.letterhead import insurer_from_settings
from bots.insurer.notices import CustomerNotices
from bots.insurer.pages import SYSTEM, open_policy_admin
from bots.insurer.postfach import Attachment, Postfach
from bots.insurer.settings import InsurerSettings
from bots.runtime.bot import Bot
from bots.runtime.context import Context
from bots.runtime.errors import HandOff, Reject
from bots.runtime.models import Mail, WorkItem
from bots.runtime.privacy import mask_iban
from bots.runtime.resolutions import APPLY_ANYWAY, DONE_MANUALLY, REJECT
from bots.runtime.scenario import DemoScenario

MAX_LOOKUP_INPUT = 100  # characters of the path parameter: an IBAN as typed, blanks included

IbanInput = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_LOOKUP_INPUT,
        description="the IBAN as the customer typed it: blanks (URL-encoded) and lower case are fine",
        examples=["DE89 3704 0044 0532 0130 00"],
    ),
]


class BankChangeBot(Bot):
    queue = "bank_change"
    route = "bank-changes"
    title = "Bankverbindung ändern"
    request_model = BankChangeRequest
    systems = (SYSTEM,)  # the policy administration: "policy_admin"
    # "apply anyway" overrules the critical processes for that run only (ctx.clerk_authority)
    resolutions = (APPLY_ANYWAY, REJECT, DONE_MANUALLY)

    def __init__(self, settings: InsurerSettings | None = None) -> None:
        self.settings = settings or InsurerSettings()
        self.postfach = Postfach(self.settings)
        self.notices = CustomerNotices(self.settings)
        self.contracts = ContractOverview(self.settings)

    def router(self) -> APIRouter:
        """`GET /v1/iban/{iban}`: the IBAN check for the portal's form, answered 200 whether the IBAN is
        valid or not. The bank registries are loaded here, before the first customer types."""
        warm_up()
        router = APIRouter()

        @router.get(
            "/iban/{iban}",
            response_model=IbanCheck,
            summary="IBAN prüfen",
            description="The IBAN normalised (no blanks, upper case), whether it is valid for a bank change "
            "and, if not, the first reason why (`reason`, with a German `message` for the form); for a valid "
            "IBAN the BIC and bank name from the bank registry, when it knows them. Nothing is stored.",
            response_description="The outcome of the check, valid or not",
        )
        async def look_up_iban(iban: IbanInput) -> JSONResponse:
            # a few dozen µs of CPU: answered on the event loop, no thread hand-off; serialised once here
            return JSONResponse(check_iban(iban).model_dump(mode="json"))

        return router

    def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail:
        return self.notices.about(item, request_label(item.payload), outcome, self.case_sla.days)

    def demo(self) -> DemoScenario:
        from bots.bank_change.demo import BankChangeDemo

        return BankChangeDemo()

    def precheck(self, item: WorkItem, ctx: Context) -> None:
        """At any hour: the IBAN against today's bank registry (a bank code retired since the request), then
        the chosen policies against the customer's active ones in the portal's contract overview, which is
        open day and night. When the overview cannot answer, nothing is refused for it: in the policy
        administration's service hours `process` checks the policies there (it always does); outside them
        ContractsUnavailable defers the item (no attempt used) and the overview is asked again."""
        checked = check_iban(str(item.payload.get("iban", "")))
        if not checked.valid:
            raise Reject(
                f"iban_{checked.reason}",
                f"{checked.message} Bitte geben Sie im Kundenportal eine gültige IBAN an.",
            )
        if ctx.recall(Postfach.checkpoint()):  # a retry after the letter went out: process only answers
            return
        request = BankChangeRequest.model_validate(item.payload)
        try:
            active = self.contracts.active_policies(request.customer_id)
        except ContractsUnavailable as exc:
            if ctx.calendars[SYSTEM].is_open(ctx.clock.now()):
                ctx.log.warning("item %s: %s; the policy administration checks the policies", item.id, exc)
                return
            raise
        rules.check_owned(request, active)

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        """Every chosen account of every policy gets the new IBAN, or none does.

        All policies are read first: a policy that is not the customer's, not in force or lacks a chosen
        account refuses the request; a critical process on any of them (dunning, a pending cancellation, the
        customer as the policy's intermediary) hands it to a clerk of that policy's unit, unless a clerk
        decided "apply anyway" for it (ctx.clerk_authority). Then each account is set, one already showing the
        new IBAN skipped (a retry after a crash changes nothing twice), and the confirmation letter goes into
        the Postfach once. The pages show full IBANs: no Playwright trace is kept, screenshots are masked.
        """
        request = BankChangeRequest.model_validate(item.payload)
        delivered = ctx.recall(Postfach.checkpoint())
        if delivered:  # a retry after the letter went out: nothing more to do
            return dict(delivered)
        authority = ctx.clerk_authority
        ordered_by = "bot" if authority is None else _clerk(authority.clerk)
        checked = check_iban(request.iban)

        with open_policy_admin(ctx, self.settings, trace=False) as admin:
            policies = {c.policy_number: admin.policy(c.policy_number) for c in request.policies}
            rules.check_policies(request, policies)
            found = rules.blocked(request, policies)
            if found and authority is None:
                raise rules.hand_off(request, found, policies)
            if found:
                ctx.log.info("item %s: critical processes overruled by %s", item.id, ordered_by)
            changed = []
            for choice in request.policies:
                policy = policies[choice.policy_number]
                assert policy is not None
                for role in choice.roles:
                    account = admin.change_account(choice.policy_number, role, request.iban, ordered_by)
                    changed.append(
                        ChangedAccount(
                            choice.policy_number,
                            policy.line,
                            role,
                            rules.previous_iban(policy, role, request.iban),
                            account.mandate_reference if role == "debit" else None,
                        )
                    )
            holder = account.holder

        letter = Confirmation(
            customer_id=request.customer_id,
            holder=holder,
            new_iban=request.iban,
            bic=checked.bic or "",
            bank_name=checked.bank_name or "",
            changed=tuple(changed),
            creditor_id=self.settings.insurer_creditor_id,
            issue_date=ctx.clock.now().astimezone(ZoneInfo(ctx.settings.timezone)).date(),
            reference=item.reference,
        )
        pdf = render_confirmation(letter, insurer_from_settings(self.settings))
        numbers = [c.policy_number for c in request.policies]
        return self.postfach.deliver(
            ctx,
            request.customer_id,
            letter_subject(),
            letter_body(numbers, request.iban),
            [Attachment(letter.filename, pdf, "application/pdf")],
            record={
                "policies": numbers,
                "changed": [{"policy_number": c.policy_number, "role": c.role} for c in changed],
                "authority": ordered_by,
                "iban": mask_iban(request.iban),
            },
        )


def _clerk(name: str) -> str:
    """Who ordered a change, as the policy administration's history records it: "clerk:<name>"."""
    return name if name.startswith("clerk:") else f"clerk:{name}"
