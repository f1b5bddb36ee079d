"""The claims forwarder's part of `portalbots demo`: receipts for two policies in two departments (two
forwards, one receipt), a submission with a broken file (refused at once, naming the file), and receipts on
Saturday night (checked at once, forwarded at Monday's opening)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bots.claims_forwarder.samples import invoice_pdf, receipt_image, truncated
from bots.runtime.models import WorkItem
from bots.runtime.scenario import Customers, DemoFile, DemoRequest, DemoScenario


class ClaimsDemo(DemoScenario):
    def daytime(self, customers: Customers, today: date) -> list[DemoRequest]:
        requests = []
        multi = _with_departments(customers, 2)
        if multi:
            customer, name, policies = multi[0]
            requests.append(
                DemoRequest(
                    f"Belege: zwei Verträge, zwei Krankenbereiche ({policies[0]['health_department']}, "
                    f"{policies[1]['health_department']})",
                    _form(customer, policies[:2], "Arztrechnung und Apothekenbelege vom Oktober."),
                    (
                        DemoFile("Arztrechnung Oktober.pdf", invoice_pdf(name, 2), "application/pdf"),
                        DemoFile("IMG_2041.jpg", receipt_image("jpeg"), "image/jpeg"),
                        DemoFile("Screenshot Apotheke.png", receipt_image("png", (700, 1000)), "image/png"),
                    ),
                )
            )
        single = _with_departments(customers, 1)
        if single:
            customer, name, policies = single[-1]
            requests.append(
                DemoRequest(
                    "Belege: ein Foto unvollständig (die Antwort nennt die Datei)",
                    _form(customer, policies[:1], "Rechnung Zahnarzt"),
                    (
                        DemoFile("Rechnung Zahnarzt.pdf", invoice_pdf(name, 1, 7), "application/pdf"),
                        DemoFile("Foto Beleg.jpg", truncated(receipt_image("jpeg")), "image/jpeg"),
                    ),
                )
            )
        return requests

    def night(self, customers: Customers, today: date) -> list[DemoRequest]:
        single = _with_departments(customers, 1)
        if len(single) < 2:
            return []
        customer, name, policies = single[0]
        return [
            DemoRequest(
                "Belege: Samstagnacht (weitergeleitet zur Öffnung)",
                _form(customer, policies[:1], ""),
                (DemoFile("Rechnung.pdf", invoice_pdf(name, 1, 9), "application/pdf"),),
            )
        ]

    def outcome(self, item: WorkItem) -> str:
        result = item.result or {}
        forwards = result.get("forwards", [])
        where = ", ".join(f"{f['department']}: {' '.join(f['policies'])}" for f in forwards)
        files = len(result.get("files", []))
        return f"{files} {'Datei' if files == 1 else 'Dateien'} → {where or '–'}; Versuche {item.attempts}"


def _with_departments(customers: Customers, count: int) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Customers with active KV policies in at least `count` Krankenbereiche: one policy per department."""
    found = []
    for c in customers:
        by_department: dict[str, dict[str, Any]] = {}
        for p in c["policies"]:
            if p["line"] == "KV" and p["status"] == "aktiv" and p.get("health_department"):
                by_department.setdefault(p["health_department"], p)
        if len(by_department) >= count:
            found.append(
                (c["customer_id"], f"{c['first_name']} {c['last_name']}", list(by_department.values()))
            )
    return found


def _form(customer: str, policies: list[dict[str, Any]], message: str) -> dict[str, Any]:
    return {
        "customer_id": customer,
        "policy_numbers": [p["policy_number"] for p in policies],
        "message": message,
    }
