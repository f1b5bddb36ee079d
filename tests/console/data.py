"""Realistic work for the console's tests and screenshots, made through the runtime store as the runner
makes it: ARK certificates and bank changes submitted over the last days, done, failed with error codes,
tracebacks, screenshots and traces, deferred for the service window, handed to clerks of Kranken and
Leben, one queue paused by the circuit breaker, backlog snapshots every few hours."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from bots.runtime.calendar import Calendars
from bots.runtime.clock import FixedClock
from bots.runtime.models import ItemError, WorkItem
from bots.runtime.settings import Settings
from bots.runtime.states import DeferReason, Status
from bots.runtime.store import Store

LEASE = timedelta(minutes=5)
WORKER = "worker-1@bots-01"
COUNTRIES = ("TH", "US", "ZA", "JP", "BR", "AU", "CA", "MX", "IN", "NZ")
IBANS = ("DE89370400440532013000", "DE02120300000000202051", "DE12500105170648489890", "AT611904300234573201")
TRACEBACK = """Traceback (most recent call last):
  File "/opt/portalbots/bots/runtime/runner.py", line 171, in _process
    result = bot.process(item, ctx)
  File "/opt/portalbots/bots/{queue}/bot.py", line 98, in process
    policy = admin.open_policy(request.policy_number)
  File "/opt/portalbots/bots/insurer/pages/policy.py", line 64, in open_policy
    self.page.locator(self.POLICY_TABLE).wait_for(timeout=self.timeout_ms)
playwright._impl._errors.TimeoutError: Locator.wait_for: Timeout 15000ms exceeded.
Call log:
  - waiting for locator("#policy-table") to be visible
{exception}: {message}
"""
ERRORS = (
    ("system", "layout_changed", "Vertragsübersicht: Element #policy-table fehlt (Layout geändert?)"),
    ("system", "timeout", "Bestandsführung antwortet nicht innerhalb von 15 s"),
    ("system", "session_lost", "Sitzung der Bestandsführung abgelaufen, Anmeldung erneut nötig"),
)
EXCEPTIONS = {
    "layout_changed": "bots.insurer.pages.LayoutChanged",
    "timeout": "playwright._impl._errors.TimeoutError",
    "session_lost": "bots.insurer.pages.SessionLost",
}


@dataclass
class World:
    """What was made, for tests to find their way in it."""

    store: Store
    clock: FixedClock
    failed: list[WorkItem] = field(default_factory=list)
    kranken_cases: list[int] = field(default_factory=list)
    leben_cases: list[int] = field(default_factory=list)
    deferred: list[WorkItem] = field(default_factory=list)
    done: list[WorkItem] = field(default_factory=list)
    by_customer: dict[str, list[int]] = field(default_factory=dict)


def screenshot_png(title: str, problem: str) -> bytes:
    """A failure screenshot as the policy administration would show it (IBANs masked in the page)."""
    image = Image.new("RGB", (1280, 800), "#f3f5f8")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 64), fill="#00457c")
    draw.text((24, 22), "Bestandsführung · Vertragsverwaltung", fill="white")
    draw.rectangle((24, 96, 1256, 150), fill="#fde7e6", outline="#b3261e")
    draw.text((40, 116), problem, fill="#b3261e")
    draw.text((24, 180), title, fill="#1f2933")
    for row in range(10):
        y = 220 + row * 44
        draw.rectangle((24, y, 1256, y + 36), fill="white" if row % 2 else "#e9eef4")
        draw.text(
            (40, y + 12),
            f"Vertrag {4711 + row}-{815 + row:04d}    aktiv    IBAN DE** **** **** **** **{row:02d} 00",
            fill="#1f2933",
        )
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def certificate_pdf(customer: str, country: str) -> bytes:
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4)
    canvas.setFont("Helvetica-Bold", 16)
    canvas.drawString(72, 770, "Bescheinigung Auslandsreise-Krankenversicherung")
    canvas.setFont("Helvetica", 11)
    canvas.drawString(72, 740, f"Kunde {customer}, Reiseziel {country}")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def trace_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("trace.trace", '{"type":"context-options"}\n')
        z.writestr("trace.network", "")
    return out.getvalue()


def ark_payload(n: int) -> dict[str, Any]:
    start = datetime(2027, 1, 10) + timedelta(days=n % 60)
    return {
        "customer_id": f"K{100001 + n % 40}",
        "policy_number": f"ARK-{4711 + n % 40}-{815 + n:04d}",
        "travel_start": start.date().isoformat(),
        "travel_end": (start + timedelta(days=14 + n % 10)).date().isoformat(),
        "country": COUNTRIES[n % len(COUNTRIES)],
        "languages": ["de", "en"],
    }


def bank_payload(n: int) -> dict[str, Any]:
    return {
        "customer_id": f"K{100001 + n % 40}",
        "iban": IBANS[n % len(IBANS)],
        "policies": [{"policy_number": f"LV-{4713 + n % 40}-{n:04d}", "roles": ["debit", "credit"]}],
    }


class Builder:
    def __init__(self, store: Store, clock: FixedClock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.calendar = Calendars(settings).get("policy_admin")
        self.world = World(store, clock)
        self.n = 0

    def submit(self, queue: str) -> WorkItem:
        self.n += 1
        payload = ark_payload(self.n) if queue == "ark_certificate" else bank_payload(self.n)
        prefix = "ARK" if queue == "ark_certificate" else "BV"
        item, _created = self.store.submit(
            queue,
            payload,
            reference=f"{prefix}-2026-{10000 + self.n}",
            customer_id=payload["customer_id"],
            due_in=timedelta(hours=24) if queue == "ark_certificate" else timedelta(hours=48),
        )
        self.world.by_customer.setdefault(payload["customer_id"], []).append(item.id)
        return item

    def run(self, item: WorkItem) -> WorkItem:
        claimed = self.store.claim(item.id, WORKER, LEASE)
        assert claimed is not None
        return claimed

    def done(self, item: WorkItem) -> WorkItem:
        running = self.run(item)
        result: dict[str, Any] = {"delivered": True}
        finished = self.store.finish(running, Status.DONE, actor=WORKER, reason="done", result=result)
        if item.queue == "ark_certificate":
            self.store.add_artifact(
                item.id,
                certificate_pdf(item.customer_id or "", item.payload["country"]),
                "application/pdf",
                f"ARK-Bescheinigung-{item.reference}.pdf",
                "certificate",
            )
        self.world.done.append(finished)
        return finished

    def fail(self, item: WorkItem, which: int) -> WorkItem:
        kind, code, message = ERRORS[which % len(ERRORS)]
        running = self.run(item)
        self.store.add_artifact(item.id, screenshot_png(item.reference, message), "image/png",
                                f"{item.reference}-failure.png", "screenshot")  # fmt: skip
        if item.queue == "ark_certificate":
            self.store.add_artifact(
                item.id, trace_zip(), "application/zip", f"{item.reference}-trace.zip", "trace"
            )
        error = ItemError(
            kind,
            code,
            message,
            TRACEBACK.format(queue=item.queue, exception=EXCEPTIONS[code], message=message),
        )
        failed = self.store.finish(
            running, Status.FAILED, actor=WORKER, reason=f"{kind}: {code}", error=error
        )
        self.world.failed.append(failed)
        return failed

    def defer(self, item: WorkItem) -> WorkItem:
        running = self.run(item)
        opening = self.calendar.next_opening(self.clock.now() + timedelta(hours=14))
        deferred = self.store.finish(
            running,
            Status.DEFERRED,
            actor=WORKER,
            reason="policy_admin closed",
            not_before=opening,
            defer_reason=DeferReason.SERVICE_WINDOW,
            refund_attempt=True,
        )
        self.world.deferred.append(deferred)
        return deferred

    def hand_off(self, item: WorkItem, unit: str, reason: str, note: str) -> int:
        running = self.run(item)
        _item, case = self.store.hand_off(
            running, unit=unit, reason_code=reason, note=note, case_due=timedelta(days=2), actor=WORKER
        )
        (self.world.kranken_cases if unit == "Kranken" else self.world.leben_cases).append(case.id)
        return case.id

    def reject(self, item: WorkItem) -> WorkItem:
        running = self.run(item)
        error = ItemError("reject", "policy_not_active", "Der Vertrag ist nicht mehr in Kraft.")
        return self.store.finish(
            running, Status.REJECTED, actor=WORKER, reason="reject: policy_not_active", error=error
        )


def build(store: Store, clock: FixedClock, settings: Settings, *, days: int = 3, scale: int = 1) -> World:
    """About 110 × `scale` items over the last `days` days, ending at the clock's present."""
    end = clock.now()
    b = Builder(store, clock, settings)
    steps = days * 4
    for step in range(steps):
        clock.set(end - timedelta(hours=6 * (steps - step)))
        for _ in range(scale * (3 + step % 4)):
            for queue in ("ark_certificate", "bank_change"):
                item = b.submit(queue)
                roll = (b.n // 2 + (3 if queue == "bank_change" else 0)) % 10
                if step < steps - 2 and roll < 6:
                    b.done(item)
                elif roll == 6 and step < steps - 1:
                    b.fail(item, b.n)
                elif roll == 7 and step % 3 == 0:
                    b.reject(item)
        store.record_backlog()
    clock.set(end - timedelta(hours=3))
    # cases for the clerks: Kranken (ARK: cover questions), Leben (bank change: intermediary, dunning)
    for note in (
        "Reiseziel außerhalb des Geltungsbereichs (Tarif Europa)",
        "Versicherte Person erst ab 01.01.2027 versichert",
    ):
        b.hand_off(b.submit("ark_certificate"), "Kranken", "cover_unclear", note)
    clock.set(end - timedelta(days=3))  # overdue by now
    b.hand_off(
        b.submit("ark_certificate"), "Kranken", "residence_abroad", "Versicherungsnehmer wohnt in Österreich"
    )
    b.hand_off(b.submit("bank_change"), "Leben", "intermediary", "Kunde ist Vermittler des Vertrags")
    clock.set(end - timedelta(hours=1))
    for note in (
        "Mahnverfahren aktiv – Lastschrift gesperrt",
        "Kontoinhaber weicht vom Versicherungsnehmer ab",
    ):
        b.hand_off(b.submit("bank_change"), "Leben", "dunning_active", note)
    # the last hour's work: done today, the throughput per hour
    for minutes in (55, 45, 35, 25, 15):
        clock.set(end - timedelta(minutes=minutes))
        b.done(b.submit("ark_certificate"))
        b.done(b.submit("bank_change"))
    # deferred for the service window and a few waiting
    clock.set(end - timedelta(minutes=30))
    for _ in range(3 * scale):
        b.defer(b.submit("bank_change"))
        b.defer(b.submit("ark_certificate"))
    for _ in range(4 * scale):
        b.submit("ark_certificate")
    clock.set(end)
    store.record_backlog()
    # the circuit breaker paused the bank change after five system errors in a row
    store.pause_queue(
        "bank_change",
        "breaker",
        "5 Systemfehler in Folge (timeout)",
        resume_at=end + timedelta(minutes=10),
        cooldown=timedelta(minutes=10),
    )
    return b.world
