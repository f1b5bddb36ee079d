"""The bank change's part of `portalbots demo`: a change for one and for two policies, an invalid IBAN, one
during a dunning procedure (to a clerk), and on Saturday night one applied at Monday's opening and one naming
another customer's policy (refused at once: the portal's contract overview answers at any hour)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bots.runtime.models import WorkItem
from bots.runtime.scenario import Customers, DemoRequest, DemoScenario

NEW_IBANS = (
    "DE89370400440532013000",
    "DE02120300000000202051",
    "NL91ABNA0417164300",
    "DE75512108001245126199",
)


class BankChangeDemo(DemoScenario):
    def daytime(self, customers: Customers, today: date) -> list[DemoRequest]:
        clean = _customers(customers, lambda p: _changeable(p))
        two = [(c, ps) for c, ps in clean if len(ps) >= 2]
        single = [(c, ps) for c, ps in clean if not two or c != two[0][0]]
        requests = []
        if single:
            customer, policies = single[0]
            requests.append(
                _request("Bank: neue IBAN, ein Vertrag, Beitragseinzug", customer, policies[:1], ["debit"], 0)
            )
        if two:
            customer, policies = two[0]
            requests.append(
                _request(
                    "Bank: neue IBAN für zwei Verträge, beide Konten",
                    customer,
                    policies[:2],
                    ["debit", "credit"],
                    1,
                )
            )
        if clean:
            customer, policies = clean[-1]
            invalid = _request(
                "Bank: IBAN mit falscher Prüfziffer (422)", customer, policies[:1], ["debit"], 0
            )
            invalid.body["iban"] = "DE88370400440532013000"
            requests.append(invalid)
        dunning = _customers(
            customers, lambda p: p["dunning_active"] and p["line"] != "ARK" and _has_accounts(p)
        )
        if dunning:
            customer, policies = dunning[0]
            unit = policies[0]["business_unit"]
            requests.append(
                _request(f"Bank: Mahnverfahren läuft (→ {unit})", customer, policies[:1], ["debit"], 2)
            )
        return requests

    def night(self, customers: Customers, today: date) -> list[DemoRequest]:
        clean = _customers(customers, lambda p: _changeable(p))
        if len(clean) < 2:
            return []
        customer, policies = clean[1]
        requests = [_request("Bank: Samstagnacht, Auszahlungskonto", customer, policies[:1], ["credit"], 3)]
        if len(clean) >= 3:  # the contract overview answers at night: decided at once, no wait for Monday
            other = clean[2][1]
            requests.append(
                _request(
                    "Bank: Samstagnacht, Vertrag eines anderen Kunden", customer, other[:1], ["debit"], 3
                )
            )
        return requests

    def outcome(self, item: WorkItem) -> str:
        result = item.result or {}
        changed = result.get("changed", [])
        policies = sorted({c["policy_number"] for c in changed})
        accounts = "1 Konto" if len(changed) == 1 else f"{len(changed)} Konten"
        return f"{accounts} in {', '.join(policies) or '–'}; Versuche {item.attempts}"


def _customers(customers: Customers, wanted: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    found = []
    for c in customers:
        policies = [p for p in c["policies"] if wanted(p) and p.get("intermediary_id") != c["customer_id"]]
        if policies:
            found.append((c["customer_id"], policies))
    return found


def _changeable(policy: dict[str, Any]) -> bool:
    calm = not policy["dunning_active"] and not policy["cancellation_pending"]
    return calm and policy["status"] == "aktiv" and policy["line"] != "ARK" and _has_accounts(policy)


def _has_accounts(policy: dict[str, Any]) -> bool:
    return {a["role"] for a in policy["accounts"]} >= {"debit", "credit"}


def _request(
    label: str, customer: str, policies: list[dict[str, Any]], roles: list[str], iban: int
) -> DemoRequest:
    body = {
        "customer_id": customer,
        "iban": NEW_IBANS[iban],
        "policies": [{"policy_number": p["policy_number"], "roles": roles} for p in policies],
    }
    return DemoRequest(label, body)
