"""The bank change's words for the customer: what the request was, and the Postfach message of the letter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bots.runtime.privacy import mask_iban


def request_label(payload: Mapping[str, Any]) -> str:
    """'die Änderung Ihrer Bankverbindung für die Verträge KV-4712-0001 und LV-4713-0001 (neue IBAN DE89 …)'."""
    numbers = [str(p.get("policy_number", "")) for p in payload.get("policies", [])]
    which = f"den Vertrag {numbers[0]}" if len(numbers) == 1 else f"die Verträge {_and(numbers)}"
    iban = str(payload.get("iban", ""))
    return f"die Änderung Ihrer Bankverbindung für {which}" + (
        f" (neue IBAN {mask_iban(iban)})" if iban else ""
    )


def letter_subject() -> str:
    return "Ihre neue Bankverbindung ist eingetragen"


def letter_body(policy_numbers: Sequence[str], new_iban: str) -> str:
    which = (
        f"Ihren Vertrag {policy_numbers[0]}"
        if len(policy_numbers) == 1
        else f"Ihre Verträge {_and(policy_numbers)}"
    )
    return (
        "Guten Tag,\n\n"
        f"wir haben Ihre neue Bankverbindung (IBAN {mask_iban(new_iban)}) für {which} eingetragen. "
        "Die Bestätigung mit allen Einzelheiten, bei einem Lastschriftkonto auch Ihrem SEPA-Mandat, finden Sie "
        "im Anhang.\n\n"
        "Haben Sie diese Änderung nicht selbst veranlasst? Dann melden Sie sich bitte sofort bei uns.\n\n"
        "Freundliche Grüße\nIhr Kundenservice\n(Diese Nachricht wurde automatisch erstellt.)\n"
    )


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} und {items[-1]}"
