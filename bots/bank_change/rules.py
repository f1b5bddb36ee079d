"""The bank change's rules on what the policy administration shows: whose policies, which accounts, and
the critical business processes during which no robot changes anything; and, at any hour, whose policies
as the portal's contract overview lists them.

All or nothing: the rules look at every policy of the request before any account is changed, so a request
is either applied to all its policies or to none (refused, or handed to a clerk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bots.bank_change.request import BankChangeRequest
from bots.insurer.facts import BusinessUnit, Policy
from bots.runtime.errors import HandOff, Reject

ROLE_NAMES = {"debit": "Beitragseinzug", "credit": "Auszahlungskonto"}
PROCESS_NAMES = {
    "dunning_active": "Mahnverfahren aktiv",
    "cancellation_pending": "Kündigung in Bearbeitung",
    "intermediary": "Kunde ist Vermittler des Vertrags",
}
# which unit owns the cases of a policy whose business unit the system leaves empty
DEFAULT_UNIT = BusinessUnit.KRANKEN


@dataclass(frozen=True)
class Blocked:
    """A policy on which a critical process runs now."""

    policy_number: str
    unit: str
    processes: tuple[str, ...]  # codes of PROCESS_NAMES


def check_owned(request: BankChangeRequest, active: AbstractSet[str]) -> None:
    """Refuse the whole request when a chosen policy is not among the customer's active policies, as the
    portal's contract overview lists them (`active`: upper-case policy numbers). Needs no core system, so it
    runs at any hour; `check_policies` asks the policy administration again when the request is applied."""
    foreign = [c.policy_number for c in request.policies if c.policy_number.upper() not in active]
    if not foreign:
        return
    which = (
        f"Der Vertrag {foreign[0]} gehört"
        if len(foreign) == 1
        else f"Die Verträge {', '.join(foreign[:-1])} und {foreign[-1]} gehören"
    )
    raise Reject(
        "policy_not_owned",
        f"{which} nicht zu Ihren aktiven Verträgen. Bitte wählen Sie im Kundenportal nur Verträge, die Ihre "
        "Vertragsübersicht zeigt. Wir haben keine Bankverbindung geändert.",
    )


def check_policies(request: BankChangeRequest, policies: Mapping[str, Policy | None]) -> None:
    """Refuse the whole request when a policy is unknown, not the customer's, not in force, or has no account
    of a chosen role."""
    for choice in request.policies:
        policy = policies.get(choice.policy_number)
        if policy is None or policy.holder_customer_id.upper() != request.customer_id.upper():
            raise Reject(
                "policy_not_found",
                f"Den Vertrag {choice.policy_number} finden wir unter Ihrer Kundennummer nicht. Bitte wählen "
                "Sie im Kundenportal nur Verträge aus, deren Versicherungsnehmer Sie sind. Wir haben keine "
                "Bankverbindung geändert.",
            )
        if not policy.in_force:
            raise Reject(
                "policy_not_in_force",
                f"Der Vertrag {choice.policy_number} ist nicht mehr in Kraft; für ihn ändern wir keine "
                "Bankverbindung mehr. Wir haben keine Bankverbindung geändert.",
            )
        missing = [role for role in choice.roles if policy.accounts.get(role) is None]
        if missing:
            names = " und ".join(ROLE_NAMES[role] for role in missing)
            raise Reject(
                "no_such_account",
                f"Für den Vertrag {choice.policy_number} ist kein Konto für {names} vorgesehen. Bitte wählen "
                "Sie im Kundenportal nur die Konten aus, die der Vertrag hat. Wir haben keine Bankverbindung "
                "geändert.",
            )


def blocked(request: BankChangeRequest, policies: Mapping[str, Policy | None]) -> list[Blocked]:
    """The policies of the request on which a critical process runs now."""
    found = []
    for choice in request.policies:
        policy = policies[choice.policy_number]
        assert policy is not None  # check_policies came first
        running = list(policy.critical.running)
        if policy.holder_is_intermediary:
            running.append("intermediary")
        if running:
            unit = policy.business_unit or DEFAULT_UNIT
            found.append(Blocked(policy.policy_number, unit, tuple(running)))
    return found


def previous_iban(policy: Policy, role: str, new_iban: str) -> str | None:
    """The IBAN `role` had before the change to `new_iban`: the one shown now, or, when the policy shows the new
    one already (a retry after a crash), the old IBAN of that change in the account history."""
    account = policy.accounts.get(role)
    if account is not None and account.iban != new_iban:
        return account.iban
    for change in policy.account_history:  # newest first
        if change.role == role and change.new_iban == new_iban:
            return change.old_iban
    return None


def hand_off(
    request: BankChangeRequest, found: Sequence[Blocked], policies: Mapping[str, Policy | None]
) -> HandOff:
    """One case for the unit of the first blocked policy; its note names every policy and process, and any
    account that shows the new IBAN already (a run cut off after a change, then a process began)."""
    applied = [
        f"{c.policy_number} ({ROLE_NAMES[role]})"
        for c in request.policies
        for role in c.roles
        if (p := policies.get(c.policy_number)) is not None
        and (a := p.accounts.get(role)) is not None
        and a.iban == request.iban
    ]
    lines = [
        f"Vertrag {b.policy_number} ({b.unit}): {', '.join(PROCESS_NAMES[p] for p in b.processes)}"
        for b in found
    ]
    wanted = ", ".join(
        f"{c.policy_number} ({' und '.join(ROLE_NAMES[r] for r in c.roles)})" for c in request.policies
    )
    return HandOff(
        found[0].unit,
        found[0].processes[0],
        "Neue Bankverbindung nicht automatisch übernommen, weil ein kritischer Geschäftsvorfall läuft:\n"
        + "\n".join(lines)
        + f"\nGewünscht für: {wanted}. "
        + (f"Bereits mit der neuen IBAN: {', '.join(applied)}. " if applied else "Nichts wurde geändert. ")
        + "Bitte Kunden kontaktieren; „Trotzdem ausführen“ übernimmt die Änderung für alle genannten Verträge.",
    )
