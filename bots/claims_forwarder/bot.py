"""Claims forwarder: receipts a customer submits for their health (KV) policies ("Rechnungen einreichen",
`POST /v1/claims` as multipart, or the portal's mail through `portalbots submit claims --eml FILE`),
checked by content and forwarded to the department of each policy's Krankenbereich."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bots.claims_forwarder import rules
from bots.claims_forwarder.checker import Checker, CheckerFailed, CheckerLimits
from bots.claims_forwarder.cover import CoverFile, CoverPolicy, CoverSheet, render_cover
from bots.claims_forwarder.inspection import MEDIA_TYPES, TYPE_NAMES
from bots.claims_forwarder.message import (
    files_refused,
    forward_body,
    forward_subject,
    receipt_body,
    receipt_subject,
    refusal_reason,
    request_label,
    submission_too_large,
)
from bots.claims_forwarder.names import distinct_names, with_extension
from bots.claims_forwarder.request import ClaimsForm, ClaimsRequest
from bots.claims_forwarder.settings import ClaimsSettings
from bots.insurer.letterhead import insurer_from_settings
from bots.insurer.notices import CustomerNotices
from bots.insurer.outbound import Attachment, header_text, send_once
from bots.insurer.pages import SYSTEM, open_policy_admin
from bots.insurer.postfach import Postfach
from bots.runtime.bot import Bot, UploadLimits
from bots.runtime.context import Context
from bots.runtime.errors import HandOff, Reject
from bots.runtime.models import Mail, WorkItem
from bots.runtime.scenario import DemoScenario
from bots.runtime.store import Upload
from bots.runtime.store.artifacts import NewFile

FILES = "claims:files"  # checkpoint: the facts of every file, once its checks passed
RECEIPT = "receipt"  # the purpose of the customer's receipt in the Postfach


class ClaimsForwarderBot(Bot):
    queue = "claims_forwarder"
    route = "claims"
    title = "Rechnungen einreichen"
    request_model = ClaimsRequest
    form_model = ClaimsForm
    multipart = True
    systems = (SYSTEM,)  # the policy administration: whose policies, which Krankenbereich
    sla = timedelta(days=1)

    def __init__(self, settings: ClaimsSettings | None = None) -> None:
        self.settings = settings or ClaimsSettings()
        self.postfach = Postfach(self.settings)
        self.notices = CustomerNotices(self.settings)
        self.checker = Checker(
            CheckerLimits(self.settings.claims_check_seconds, self.settings.claims_check_memory_mb)
        )

    # -- intake ------------------------------------------------------------------------------------

    def upload_limits(self) -> UploadLimits:
        s = self.settings
        return UploadLimits(
            min_files=1,
            max_files=s.claims_max_files,
            max_file_bytes=s.claims_max_file_bytes,
            max_total_bytes=s.claims_max_submission_bytes,
        )

    def stored_uploads(self, uploads: list[Upload]) -> list[Upload]:
        """Each file under a safe name (no path parts, no control characters), never two alike."""
        names = distinct_names(u.filename for u in uploads)
        return [
            Upload(name, header_text(u.media_type, 100), u.data)
            for name, u in zip(names, uploads, strict=True)
        ]

    def payload_from_form(self, fields: Mapping[str, list[str]], files: list[Upload]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            name: fields[name][-1] for name in ("customer_id", "message") if name in fields
        }
        payload["policy_numbers"] = list(fields.get("policy_numbers", []))
        names = distinct_names(f.filename for f in files)
        payload["files"] = [
            {
                "name": name,
                "declared_type": f.media_type,
                "size": len(f.data),
                "sha256": hashlib.sha256(f.data).hexdigest(),
            }
            for name, f in zip(names, files, strict=True)
        ]
        return payload

    def notice(self, item: WorkItem, outcome: Reject | HandOff) -> Mail:
        return self.notices.about(item, request_label(item.payload), outcome, self.case_sla.days)

    def demo(self) -> DemoScenario:
        from bots.claims_forwarder.demo import ClaimsDemo

        return ClaimsDemo()

    # -- the run -----------------------------------------------------------------------------------

    def precheck(self, item: WorkItem, ctx: Context) -> None:
        """At any hour, before the service window: every file by its content, in the isolated checker. One bad
        file refuses the whole submission, naming each bad file and why; nothing is forwarded half-way."""
        if ctx.recall(FILES) is not None:
            return
        request = ClaimsRequest.model_validate(item.payload)
        s = self.settings
        if sum(f.size for f in request.files) > s.claims_max_submission_bytes:
            raise Reject("submission_too_large", submission_too_large(s.claims_max_submission_bytes))
        blobs = self._file_bytes(ctx, request)
        limits = self._limits()
        facts, refused = [], []
        for f in request.files:
            data = blobs[f.sha256]
            result: dict[str, Any]
            if len(data) > s.claims_max_file_bytes:
                result = {"ok": False, "reason": "too_large", "detail": str(len(data))}
            else:
                result = self._check(data, limits)
            if not result.get("ok"):
                ctx.log.info(
                    "item %s: file %r refused: %s %s",
                    item.id,
                    f.name,
                    result.get("reason"),
                    result.get("detail"),
                )
                refused.append(
                    (f.name, refusal_reason(str(result.get("reason")), str(result.get("detail", "")), limits))
                )
                continue
            facts.append(
                {
                    "name": f.name,
                    "kind": result["kind"],
                    "pages": int(result["pages"]),
                    "width": int(result.get("width", 0)),
                    "height": int(result.get("height", 0)),
                    "size": len(data),
                    "sha256": f.sha256,
                }
            )
        if refused:
            raise Reject("file_refused", files_refused(refused, len(request.files)))
        ctx.remember(FILES, facts)

    def process(self, item: WorkItem, ctx: Context) -> dict[str, Any]:
        """Read every chosen policy (the customer's, KV, in force, its Krankenbereich), then one forward per
        department naming only its policies, each exactly once, then the customer's receipt, once."""
        request = ClaimsRequest.model_validate(item.payload)
        done = ctx.recall(Postfach.checkpoint(RECEIPT))
        if done:
            return dict(done)
        facts = ctx.recall(FILES)
        if facts is None:  # precheck runs first in every run; this is a programming error
            raise RuntimeError("the files were not checked")
        with open_policy_admin(ctx, self.settings) as admin:
            policies = {n: admin.policy(n) for n in request.policy_numbers}
            rules.check_policies(request.customer_id, request.policy_numbers, policies)
            routes = rules.routes(request.policy_numbers, policies, self.settings.claims_departments)
            customer = admin.customer(request.customer_id)
        files = self._sent_files(item, facts)
        blobs = self._file_bytes(ctx, request)
        submitted = self._when(item.created_at, ctx)
        holder = customer.full_name if customer else request.customer_id
        forwards = []
        for route in routes:
            sheet = CoverSheet(
                customer_id=request.customer_id,
                customer_name=holder,
                customer_birth_date=customer.birth_date if customer else None,
                department_name=self._department_name(route.department),
                policies=tuple(
                    CoverPolicy(n, p.tariff.name, p.health_department, p.insured_persons)
                    for n in route.policies
                    if (p := policies[n]) is not None
                ),
                files=tuple(
                    CoverFile(
                        f["sent_name"],
                        f["name"],
                        f["kind"],
                        f["pages"],
                        f["size"],
                        f["sha256"],
                        f["width"],
                        f["height"],
                    )
                    for f in files
                ),
                submitted=submitted,
                message=request.message,
                reference=item.reference,
            )
            forwards.append(self._forward(item, ctx, request, route, sheet, files, blobs, holder))
        contact = self.notices.contact()
        return self.postfach.deliver(
            ctx,
            request.customer_id,
            receipt_subject(),
            receipt_body(
                submitted,
                [{**f, "department_name": self._department_name(f["department"])} for f in forwards],
                files,
                contact,
            ),
            purpose=RECEIPT,
            record={
                "forwards": forwards,
                "files": [{k: f[k] for k in ("sent_name", "kind", "pages", "sha256")} for f in files],
            },
        )

    # -- parts -------------------------------------------------------------------------------------

    def _forward(
        self,
        item: WorkItem,
        ctx: Context,
        request: ClaimsRequest,
        route: rules.Route,
        sheet: CoverSheet,
        files: list[dict[str, Any]],
        blobs: Mapping[str, bytes],
        holder: str,
    ) -> dict[str, Any]:
        """The department's mail with the cover sheet, the bundle and the originals, exactly once."""
        checkpoint = f"claims:forward:{route.department}"
        done = ctx.recall(checkpoint)
        if done:
            return dict(done)
        cover_name, bundle_name = _document_names(item.reference, route.department)
        documents = ctx.recall(f"claims:documents:{route.department}")
        if documents is None:
            cover = render_cover(sheet, insurer_from_settings(self.settings))
            bundle = self._bundle(
                cover, files, blobs, f"Belege {request.customer_id} – {', '.join(route.policies)}"
            )
            documents = ctx.keep(
                f"claims:documents:{route.department}",
                [
                    NewFile(cover_name, "application/pdf", cover, "cover_sheet"),
                    NewFile(bundle_name, "application/pdf", bundle, "bundle"),
                ],
                lambda stored: [a.id for a in stored],
            )
        cover, bundle = (ctx.artifact_bytes(i) for i in documents)
        attachments = [
            Attachment(cover_name, cover),
            Attachment(bundle_name, bundle),
            *(Attachment(f["sent_name"], blobs[f["sha256"]], MEDIA_TYPES[f["kind"]]) for f in files),
        ]
        return send_once(
            ctx,
            route.address,
            forward_subject(route.policies, request.customer_id),
            forward_body(
                holder,
                request.customer_id,
                route.policies,
                sheet.submitted,
                files,
                request.message,
                item.reference,
            ),
            attachments,
            checkpoint=checkpoint,
            purpose=f"forward-{route.department.lower()}",
            domain=self.settings.mail_domain,
            headers={"Reply-To": self.postfach.address(request.customer_id)},
            record={"department": route.department, "policies": list(route.policies)},
        )

    def _bundle(
        self, cover: bytes, files: list[dict[str, Any]], blobs: Mapping[str, bytes], title: str
    ) -> bytes:
        labels = [f"Beleg {n} von {len(files)}: {f['sent_name']}" for n, f in enumerate(files, 1)]
        seconds = self.settings.claims_check_seconds * (len(files) + 1)
        try:
            answer, out = self.checker.call(
                "bundle",
                {"kinds": [f["kind"] for f in files], "labels": labels, "title": header_text(title)},
                [cover, *(blobs[f["sha256"]] for f in files)],
                seconds=seconds,
            )
        except CheckerFailed as exc:  # the files passed their checks: retried as a system error
            raise RuntimeError(f"the bundle could not be built: {exc}") from None
        if not answer.get("ok") or not out:
            raise RuntimeError(f"the bundle could not be built: {answer.get('detail', '')}")
        return out[0]

    def _check(self, data: bytes, limits: Mapping[str, Any]) -> dict[str, Any]:
        """The checker's verdict on one file; a timeout, crash or unexpected error means "unchecked"."""
        try:
            answer, _ = self.checker.call("check", dict(limits), [data])
        except CheckerFailed as exc:
            return {"ok": False, "reason": "unchecked", "detail": str(exc)}
        if answer.get("ok") and answer.get("kind") in MEDIA_TYPES:
            return answer
        if answer.get("ok") or answer.get("reason") == "error":
            return {"ok": False, "reason": "unchecked", "detail": str(answer.get("detail", ""))}
        return answer

    def _limits(self) -> dict[str, Any]:
        s = self.settings
        return {
            "allowed": [t for t in s.claims_allowed_types if t in MEDIA_TYPES],
            "max_pdf_pages": s.claims_max_pdf_pages,
            "max_image_pixels": s.claims_max_image_pixels,
            "max_file_bytes": s.claims_max_file_bytes,
        }

    @staticmethod
    def _file_bytes(ctx: Context, request: ClaimsRequest) -> dict[str, bytes]:
        """The bytes of every file of the request, from the item's upload artifacts, by SHA-256."""
        by_digest = {a.sha256: a.id for a in ctx.uploads()}
        missing = [f.name for f in request.files if f.sha256 not in by_digest]
        if missing:
            raise RuntimeError(f"the item's uploads lack {', '.join(missing)}")
        return {f.sha256: ctx.artifact_bytes(by_digest[f.sha256]) for f in request.files}

    @staticmethod
    def _sent_files(item: WorkItem, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The checked files as forwarded: named with the extension of their content, distinct from each other
        and from the cover sheet and bundle."""
        reserved = list(_document_names(item.reference, ""))
        names = distinct_names([*reserved, *(with_extension(f["name"], f["kind"]) for f in facts)])[2:]
        return [
            {**f, "sent_name": name, "type_name": TYPE_NAMES[f["kind"]]}
            for name, f in zip(names, facts, strict=True)
        ]

    def _department_name(self, department: str) -> str:
        return self.settings.claims_department_names.get(department, f"Leistungsabteilung {department}")

    @staticmethod
    def _when(at: datetime, ctx: Context) -> str:
        local = at.astimezone(ZoneInfo(ctx.settings.timezone))
        return format_datetime(local, "d. MMMM yyyy 'um' HH:mm 'Uhr'", locale="de")


def _document_names(reference: str, department: str) -> tuple[str, str]:
    tag = hashlib.sha256(reference.encode()).hexdigest()[:6].upper()
    suffix = f"-{department}" if department else ""
    return f"Deckblatt-{tag}{suffix}.pdf", f"Belege-{tag}{suffix}.pdf"
