"""The claims forwarder end to end: real sandbox web UI in headless Chromium, real SMTP into the sandbox's
department mailboxes and Postfach, real files made in the tests; what arrived is read back through the
sandbox's admin API, byte for byte."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bots.claims_forwarder.bot import ClaimsForwarderBot
from bots.claims_forwarder.settings import ClaimsSettings
from bots.runtime.bot import Registry
from bots.runtime.browser import ProcessBrowser
from bots.runtime.mail import Mailer
from bots.runtime.models import WorkItem
from bots.runtime.runner import Runner
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store, Upload
from tests.claims_files import encrypted_pdf, huge_png, jpeg, pdf, png, truncated_pdf
from tests.conftest import SATURDAY_23, Sandbox

pytestmark = pytest.mark.browser

CUSTOMER = "K100006"  # KV-4712-0004 Voll, KV-4712-0005 Zusatz, KV-4712-0006 Pflege
VOLL, ZUSATZ = "KV-4712-0004", "KV-4712-0005"


@dataclass
class Rig:
    runner: Runner
    store: Store
    sandbox: Sandbox
    bot: ClaimsForwarderBot

    def submit(
        self, files: list[tuple[str, bytes]], policies: tuple[str, ...] = (VOLL,), customer: str = CUSTOMER,
        message: str = "Rechnungen Oktober",
    ) -> int:  # fmt: skip
        """As the intake stores it: the bot's safe names, the payload from the form, the files as artifacts."""
        uploads = self.bot.stored_uploads(
            [Upload(name, "application/octet-stream", data) for name, data in files]
        )
        fields = {"customer_id": [customer], "policy_numbers": list(policies), "message": [message]}
        payload = self.bot.payload_from_form(fields, uploads)
        item, _ = self.store.submit("claims_forwarder", payload, customer_id=customer, uploads=uploads)
        return item.id

    def run(self, item_id: int) -> WorkItem:
        item = self.runner.run(item_id)
        assert item is not None
        return item

    def mailbox(self, name: str) -> list[dict[str, Any]]:
        return list(self.sandbox.admin.get(f"/admin/mailboxes/{name}").json()["messages"])

    def attachment(self, name: str, no: int, idx: int) -> bytes:
        return self.sandbox.admin.get(f"/admin/mailboxes/{name}/{no}/attachments/{idx}").content


def make_rig(sandbox: Sandbox, browser: ProcessBrowser, db_url: str, tmp_path: Path, **settings: Any) -> Rig:
    store = Store(db_url, sandbox.clock)
    bot = ClaimsForwarderBot(ClaimsSettings(policy_admin_url=sandbox.url, _env_file=None, **settings))  # type: ignore[call-arg]
    runner = Runner(
        store,
        Registry([bot]),
        sandbox.runtime_settings(tmp_path),
        sandbox.clock,
        resources={"browser": browser},
    )
    return Rig(runner, store, sandbox, bot)


@pytest.fixture
def rig(sandbox: Sandbox, process_browser: ProcessBrowser, db_url: str, tmp_path: Path) -> Iterator[Rig]:
    rig = make_rig(sandbox, process_browser, db_url, tmp_path)
    yield rig
    rig.bot.checker.close()
    rig.store.dispose()


def text_of(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_two_policies_in_two_departments_one_forward_each_with_byte_identical_originals(rig: Rig) -> None:
    disguised = pdf(2, "Zahnarzt")
    files = [
        ("Arztrechnung.pdf", pdf(3)),
        ("IMG_2041.jpg", jpeg(exif_rotated=True)),
        ("Screenshot.png", png()),
        ("Zahnarzt.jpg", disguised),  # a PDF disguised as .jpg: checked and sent as the PDF it is
        ("../../etc/Rezept.pdf", pdf(1, "Rezept")),
        ("Arztrechnung.pdf", pdf(1, "zweite")),  # the same name again: never overwrites the first
    ]
    before = {d: len(rig.mailbox(d)) for d in ("voll", "zusatz", "pflege")}
    postfach_before = len(rig.sandbox.postfach(CUSTOMER))
    item = rig.run(rig.submit(files, (VOLL, ZUSATZ), message="Bitte erstatten.\r\nBcc: evil@example.org"))
    assert item.status == Status.DONE, item.error

    after = {d: rig.mailbox(d) for d in ("voll", "zusatz", "pflege")}
    assert len(after["pflege"]) == before["pflege"]
    sent_names = [
        "Arztrechnung.pdf", "IMG_2041.jpg", "Screenshot.png", "Zahnarzt.pdf", "Rezept.pdf", "Arztrechnung (2).pdf",
    ]  # fmt: skip
    for dept, policy, other in (("voll", VOLL, ZUSATZ), ("zusatz", ZUSATZ, VOLL)):
        (mail,) = after[dept][before[dept] :]
        assert mail["subject"] == f"Leistungsantrag KV {policy} – Kunde {CUSTOMER}"
        assert mail["duplicates"] == 0
        names = [a["filename"] for a in mail["attachments"]]
        assert (
            names[0].startswith("Deckblatt-") and names[1].startswith("Belege-") and names[2:] == sent_names
        )
        for (_, data), att in zip(files, mail["attachments"][2:], strict=True):
            assert att["sha256"] == hashlib.sha256(data).hexdigest()
            assert rig.attachment(dept, mail["no"], att["idx"]) == data  # byte-identical
        types = [a["content_type"] for a in mail["attachments"][2:]]
        assert types == ["application/pdf", "image/jpeg", "image/png", "application/pdf", "application/pdf",
                         "application/pdf"]  # fmt: skip
        cover = text_of(rig.attachment(dept, mail["no"], 0))
        assert policy in cover and other not in cover  # each department's cover names only its policies
        assert "José Núñez García" in cover and "Zahnarzt.jpg" in cover  # submitted as .jpg, sent as .pdf
        for _, data in files:
            assert hashlib.sha256(data).hexdigest() in cover.replace(" ", "").replace("\n", "")
        bundle = PdfReader(io.BytesIO(rig.attachment(dept, mail["no"], 1)))
        assert len(bundle.pages) == 1 + 3 + 1 + 1 + 2 + 1 + 1
        assert "Bitte erstatten." in mail["body_text"] and "Bcc" not in str(mail["to"])

    raw = rig.sandbox.db.raw_message("department", "voll", after["voll"][-1]["no"])
    assert raw is not None
    headers = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii")
    assert "\nBcc:" not in headers and "evil@example.org" not in headers
    assert f"Reply-To: {CUSTOMER}@postfach.portalbots.test" in headers

    (receipt,) = rig.sandbox.postfach(CUSTOMER)[postfach_before:]
    assert receipt["subject"] == "Ihre Belege sind bei uns eingegangen"
    for expected in (VOLL, ZUSATZ, "Krankheitskosten-Vollversicherung", "Zusatzversicherung", "Zahnarzt.jpg"):
        assert expected in receipt["body_text"]
    result = item.result or {}
    assert [f["department"] for f in result["forwards"]] == ["Voll", "Zusatz"]
    kinds = {a.kind for a in rig.store.artifacts(item.id)}
    assert kinds >= {"upload", "cover_sheet", "bundle"}


def test_a_retried_item_never_forwards_twice(rig: Rig) -> None:
    class CrashAfterSend(Mailer):
        """The worker dies right after the SMTP server took the first department's mail."""

        crashed = False

        def send(self, msg: EmailMessage) -> str:
            message_id = super().send(msg)
            if not CrashAfterSend.crashed:
                CrashAfterSend.crashed = True
                raise ConnectionResetError("lost after sending")
            return message_id

    sandbox = rig.sandbox
    rig.runner.mailer = CrashAfterSend(
        sandbox.server.smtp_host, sandbox.server.smtp_port, "bot@portalbots.test"
    )
    before = {d: len(rig.mailbox(d)) for d in ("voll", "zusatz")}
    item_id = rig.submit([("a.pdf", pdf(1)), ("b.png", png())], (VOLL, ZUSATZ))
    first = rig.run(item_id)
    assert first.status == Status.DEFERRED and first.defer_reason == DeferReason.RETRY_BACKOFF
    sandbox.clock.advance(timedelta(minutes=5))
    rig.store.release_due()
    final = rig.run(item_id)
    assert final.status == Status.DONE, final.error
    voll, zusatz = rig.mailbox("voll")[before["voll"] :], rig.mailbox("zusatz")[before["zusatz"] :]
    assert len(voll) == 1 and voll[0]["duplicates"] == 1  # sent again with the same Message-ID, stored once
    assert len(zusatz) == 1 and zusatz[0]["duplicates"] == 0
    assert voll[0]["message_id"] != zusatz[0]["message_id"]


@pytest.mark.parametrize(
    ("bad_name", "bad", "reason"),
    [
        ("Rechnung geschützt.pdf", encrypted_pdf("geheim"), "Kennwort"),
        ("Rechnung.pdf", truncated_pdf(), "beschädigt"),
        ("Panorama.png", huge_png(), "Bildauflösung"),
        ("notiz.pdf", b"nur Text, kein PDF", "keine PDF-, JPEG- oder PNG-Datei"),
    ],
    ids=["encrypted", "truncated", "huge-pixels", "not-a-receipt-type"],
)
def test_a_bad_file_rejects_the_submission_naming_the_file_and_nothing_is_forwarded(
    rig: Rig, bad_name: str, bad: bytes, reason: str
) -> None:
    before = {d: len(rig.mailbox(d)) for d in ("voll", "zusatz")}
    item = rig.run(rig.submit([("gut.jpg", jpeg()), (bad_name, bad)], (VOLL, ZUSATZ)))
    assert item.status == Status.REJECTED and item.error is not None
    assert item.error.code == "file_refused"
    assert f"„{bad_name}“" in item.error.message and reason in item.error.message
    assert "gut.jpg" not in item.error.message and "keine der 2 Dateien" in item.error.message
    assert {d: len(rig.mailbox(d)) for d in ("voll", "zusatz")} == before
    assert rig.bot.notice(item, _reject(item)).subject.startswith(
        "Ihre Anfrage: Ihre Belege für die Verträge"
    )


def _reject(item: WorkItem) -> Any:
    from bots.runtime.errors import Reject

    assert item.error is not None
    return Reject(item.error.code, item.error.message)


def test_a_bad_file_on_saturday_night_is_rejected_at_once_a_good_one_waits_for_monday(rig: Rig) -> None:
    rig.sandbox.clock.set(SATURDAY_23)
    bad = rig.run(rig.submit([("scan.jpg", jpeg()[:2000])]))
    assert bad.status == Status.REJECTED and bad.error is not None and "„scan.jpg“" in bad.error.message
    good = rig.run(rig.submit([("scan.jpg", jpeg())]))
    assert good.status == Status.DEFERRED and good.defer_reason == DeferReason.SERVICE_WINDOW


@pytest.mark.parametrize(
    ("customer", "policy", "code"),
    [
        ("K100001", VOLL, "policy_not_found"),  # another customer's policy
        ("K100009", "KV-4712-0008", "policy_not_in_force"),  # "ruhend"
        (CUSTOMER, "ARK-4711-0001", "policy_not_found"),
    ],
)
def test_policies_not_the_customers_or_not_in_force_are_refused(
    rig: Rig, customer: str, policy: str, code: str
) -> None:
    item = rig.run(rig.submit([("a.pdf", pdf(1))], (policy,), customer=customer))
    assert item.status == Status.REJECTED and item.error is not None and item.error.code == code
    assert policy in item.error.message


def test_a_file_over_the_size_limit_is_refused_in_the_precheck(
    sandbox: Sandbox, process_browser: ProcessBrowser, db_url: str, tmp_path: Path
) -> None:
    """The intake refuses it with 413 at the door (test_claims_intake); a limit lowered since is still kept."""
    rig = make_rig(sandbox, process_browser, db_url, tmp_path, claims_max_file_bytes=20_000)
    try:
        item = rig.run(rig.submit([("klein.png", png((40, 40))), ("gross.pdf", pdf(40))]))
        assert item.status == Status.REJECTED and item.error is not None
        assert "„gross.pdf“ ist größer als 20 KB" in item.error.message
    finally:
        rig.bot.checker.close()
        rig.store.dispose()


def test_a_kv_policy_of_an_unrouted_department_goes_to_a_clerk(
    sandbox: Sandbox, process_browser: ProcessBrowser, db_url: str, tmp_path: Path
) -> None:
    rig = make_rig(
        sandbox,
        process_browser,
        db_url,
        tmp_path,
        claims_departments={"Voll": "voll@leistung.portalbots.test"},
    )
    try:
        item = rig.run(rig.submit([("a.pdf", pdf(1))], (VOLL, ZUSATZ)))
        assert item.status == Status.HANDED_OFF
        (case,) = rig.store.cases(item_id=item.id)
        assert case.unit == "Kranken" and case.reason_code == "no_department" and ZUSATZ in case.note
    finally:
        rig.bot.checker.close()
        rig.store.dispose()
