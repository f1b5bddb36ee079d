"""The claims forwarder's rules on what the policy administration shows: each chosen policy is the
customer's, a health (KV) policy, in force, and its Krankenbereich names the department that settles it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bots.insurer.facts import BusinessUnit, Line, Policy
from bots.runtime.errors import HandOff, Reject


@dataclass(frozen=True)
class Route:
    """One department and the policies of the submission whose claims it settles."""

    department: str  # the Krankenbereich as the policy administration shows it: Voll | Zusatz | Pflege
    address: str
    policies: tuple[str, ...]


def check_policies(customer_id: str, numbers: Sequence[str], policies: Mapping[str, Policy | None]) -> None:
    """Refuse the whole submission when a chosen policy is unknown, not the customer's, not a health policy
    or not in force: nothing is forwarded."""
    for number in numbers:
        policy = policies.get(number)
        if policy is None or policy.holder_customer_id.upper() != customer_id.upper():
            raise Reject(
                "policy_not_found",
                f"Den Vertrag {number} finden wir unter Ihrer Kundennummer nicht. Bitte wählen Sie im "
                "Kundenportal nur Ihre eigenen Krankenversicherungsverträge aus. Wir haben keine Belege "
                "weitergeleitet.",
            )
        if policy.line != Line.KV:
            raise Reject(
                "not_health_policy",
                f"Der Vertrag {number} ist keine Krankenversicherung; Belege über „Rechnungen einreichen“ "
                "nehmen wir nur für Krankenversicherungsverträge an. Wir haben keine Belege weitergeleitet.",
            )
        if not policy.in_force:
            raise Reject(
                "policy_not_in_force",
                f"Der Vertrag {number} ist nicht in Kraft. Bitte wählen Sie im Kundenportal einen "
                "bestehenden Krankenversicherungsvertrag aus; bei Fragen zu Belegen aus der Zeit davor "
                "helfen wir Ihnen gern persönlich. Wir haben keine Belege weitergeleitet.",
            )


def routes(
    numbers: Sequence[str], policies: Mapping[str, Policy | None], table: Mapping[str, str]
) -> list[Route]:
    """The departments of the chosen policies by the routing table, each with only its policies, in the
    order of their first policy. A Krankenbereich the table does not know goes to a clerk of Kranken."""
    by_department: dict[str, list[str]] = {}
    for number in numbers:
        policy = policies[number]
        assert policy is not None  # check_policies came first
        department = policy.health_department
        if department not in table:
            raise HandOff(
                BusinessUnit.KRANKEN,
                "no_department",
                f"Belege für Vertrag {number}: die Bestandsführung nennt den Krankenbereich "
                f"„{department or '(leer)'}“, für den keine Leistungsabteilung eingetragen ist "
                "(PORTALBOTS_CLAIMS_DEPARTMENTS). Bitte die Belege von Hand weiterleiten oder die "
                "Zuordnung ergänzen und „zurück an den Bot“ wählen.",
            )
        by_department.setdefault(department, []).append(number)
    return [Route(d, table[d], tuple(ns)) for d, ns in by_department.items()]
