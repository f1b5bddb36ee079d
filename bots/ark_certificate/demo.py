"""The ARK bot's part of `portalbots demo`: families and a single traveller, and what the rules refuse."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bots.runtime.models import WorkItem
from bots.runtime.scenario import Customers, DemoRequest, DemoScenario

Policy = tuple[str, dict[str, Any]]
WORLDWIDE, EUROPE = "WORLD_EXCEPT_DE", "EUROPE"


class ArkDemo(DemoScenario):
    def daytime(self, customers: Customers, today: date) -> list[DemoRequest]:
        worldwide = _policies(customers, WORLDWIDE)
        family, single, other = worldwide[0], worldwide[-1], worldwide[1]
        trip = today + timedelta(days=21)
        requests = [
            DemoRequest("ARK: Familie, Thailand, de/en/es/fr", _body(family, trip, 15, "TH", ["de", "en", "es", "fr"])),
            DemoRequest("ARK: Einzelperson, Frankreich, fr", _body(single, trip, 10, "FR", ["fr"])),
            DemoRequest("ARK: Reise ins Inland (Deutschland)", _body(other, trip, 7, "DE", ["de"])),
            DemoRequest("ARK: Reise länger als der Tarif erlaubt", _body(other, trip, 90, "ES", ["es"])),
            DemoRequest("ARK: fremder Vertrag", {**_body(family, trip, 7, "IT", ["de"]), "customer_id": other[0]}),
            DemoRequest(
                "ARK: ungültige Sprache (it)", {**_body(single, trip, 7, "IT", ["de"]), "languages": ["it"]}
            ),
        ]  # fmt: skip
        later = [p for p in worldwide if _covered_later(p, trip)]
        if later:  # a child joins the policy after departure: the others are certified, the mail says so
            label = "ARK: Familie, ein Kind erst später versichert, Italien"
            requests.append(DemoRequest(label, _body(later[0], trip, 10, "IT", ["de"])))
        europe = _policies(customers, EUROPE, at_least=0)
        if europe:  # the tariff covers Europe only
            label = "ARK: Europa-Tarif, Reise in die USA"
            requests.append(DemoRequest(label, _body(europe[0], trip, 10, "US", ["de"])))
        return requests

    def night(self, customers: Customers, today: date) -> list[DemoRequest]:
        family = _policies(customers, WORLDWIDE)[0]
        trip = _body(family, today + timedelta(days=10), 7, "US", ["de", "en"])
        return [DemoRequest("ARK: Samstagnacht, Familie, de+en", trip)]

    def outcome(self, item: WorkItem) -> str:
        result = item.result or {}
        persons = len(result.get("insured_persons", []))
        later = len(result.get("not_yet_covered", []))
        languages = "/".join(c["lang"] for c in result.get("certificates", []))
        who = f"{persons} Person(en)" + (f", {later} erst später versichert" if later else "")
        return f"{who}; Bescheinigung {result.get('certificate_number', '?')} ({languages}); Versuche {item.attempts}"


def _policies(customers: Customers, area: str, at_least: int = 3) -> list[Policy]:
    """Active, open-ended ARK policies whose tariff covers `area`, the one with most insured persons first."""
    found = [
        (c["customer_id"], p)
        for c in customers
        for p in c["policies"]
        if p["line"] == "ARK"
        and p["status"] == "aktiv"
        and p["end_date"] is None
        and (p.get("travel_cover") or {}).get("area") == area
    ]
    if len(found) < at_least:
        raise RuntimeError(
            f"the ARK demo needs at least {at_least} active ARK policies covering {area}; "
            "seed more customers (--customers)"
        )
    return sorted(found, key=lambda cp: -len(cp[1]["insured_persons"]))


def _covered_later(policy: Policy, trip: date) -> bool:
    return any(date.fromisoformat(p["covered_from"]) > trip for p in policy[1]["insured_persons"])


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
