"""The ARK bot's part of `portalbots demo`: a family and a single traveller, and what the rules refuse."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bots.runtime.models import WorkItem
from bots.runtime.scenario import Customers, DemoRequest, DemoScenario

Policy = tuple[str, dict[str, Any]]


class ArkDemo(DemoScenario):
    def daytime(self, customers: Customers, today: date) -> list[DemoRequest]:
        policies = _policies(customers)
        family, single, other = policies[0], policies[-1], policies[1]
        trip = today + timedelta(days=21)
        return [
            DemoRequest("ARK: Familie, Thailand, de/en/es/fr", _body(family, trip, 15, "TH", ["de", "en", "es", "fr"])),
            DemoRequest("ARK: Einzelperson, Frankreich, fr", _body(single, trip, 10, "FR", ["fr"])),
            DemoRequest("ARK: Reise ins Inland (Deutschland)", _body(other, trip, 7, "DE", ["de"])),
            DemoRequest("ARK: Reise länger als der Tarif erlaubt", _body(other, trip, 90, "ES", ["es"])),
            DemoRequest("ARK: fremder Vertrag", {**_body(family, trip, 7, "IT", ["de"]), "customer_id": other[0]}),
            DemoRequest(
                "ARK: ungültige Sprache (it)", {**_body(single, trip, 7, "IT", ["de"]), "languages": ["it"]}
            ),
        ]  # fmt: skip

    def night(self, customers: Customers, today: date) -> list[DemoRequest]:
        family = _policies(customers)[0]
        trip = _body(family, today + timedelta(days=10), 7, "US", ["de", "en"])
        return [DemoRequest("ARK: Samstagnacht, Familie, de+en", trip)]

    def outcome(self, item: WorkItem) -> str:
        result = item.result or {}
        numbers = ", ".join(c["number"] for c in result.get("certificates", []))
        persons = len(result.get("insured_persons", []))
        return f"{persons} Person(en); Bescheinigungen {numbers}; Versuche {item.attempts}"


def _policies(customers: Customers) -> list[Policy]:
    """Active, open-ended ARK policies, the one with most insured persons first."""
    found = [
        (c["customer_id"], p)
        for c in customers
        for p in c["policies"]
        if p["line"] == "ARK" and p["status"] == "aktiv" and p["end_date"] is None
    ]
    if len(found) < 3:
        raise RuntimeError("the ARK demo needs at least 3 active ARK policies; seed more customers (--customers)")
    return sorted(found, key=lambda cp: -len(cp[1]["insured_persons"]))


def _body(policy: Policy, start: date, days: int, country: str, languages: list[str]) -> dict[str, Any]:
    customer, p = policy
    return {
        "customer_id": customer,
        "policy_number": p["policy_number"],
        "travel_start": start.isoformat(),
        "travel_end": (start + timedelta(days=days - 1)).isoformat(),
        "country": country,
        "languages": languages,
    }
