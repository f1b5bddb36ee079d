"""The claims forwarder's words: why a file was refused, the department's mail, the customer's receipt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bots.claims_forwarder.inspection import TYPE_NAMES
from bots.insurer.outbound import header_text

MB = 1000 * 1000


def _mb(size: int) -> str:
    """Sizes as customers read them: '10 MB'."""
    return f"{size / MB:.0f} MB" if size >= MB else f"{size / 1000:.0f} KB"


def refusal_reason(reason: str, detail: str, limits: Mapping[str, Any]) -> str:
    """Why a file is refused, completing "Die Datei „x“ …"."""
    names = [TYPE_NAMES[t] for t in limits["allowed"]] or ["PDF"]
    allowed = names[0] if len(names) == 1 else f"{', '.join(n + '-' for n in names[:-1])} oder {names[-1]}"
    texts = {
        "empty": "ist leer",
        "type": f"ist keine {allowed}-Datei (wir prüfen den Inhalt, nicht den Dateinamen)",
        "too_large": f"ist größer als {_mb(limits['max_file_bytes'])}",
        "damaged": "ist beschädigt oder unvollständig und lässt sich nicht öffnen",
        "encrypted": "ist mit einem Kennwort geschützt; wir können sie nicht öffnen",
        "active_content": "enthält aktive Inhalte (JavaScript oder automatisch ausgeführte Aktionen), die wir "
        "aus Sicherheitsgründen nicht annehmen",
        "no_pages": "enthält keine Seiten",
        "too_many_pages": f"hat mehr als {limits['max_pdf_pages']} Seiten",
        "too_many_pixels": "hat eine zu hohe Bildauflösung (mehr als "
        f"{limits['max_image_pixels'] / 1_000_000:.0f} Megapixel)",
    }
    return texts.get(reason, "konnte nicht geprüft werden")


def files_refused(refused: Sequence[tuple[str, str]], total: int) -> str:
    """The customer message of a refused submission; `refused` as (file name, reason)."""
    lines = "\n".join(f"- Die Datei „{header_text(name)}“ {reason}." for name, reason in refused)
    return (
        f"Wir konnten Ihre Belege nicht weiterleiten:\n{lines}\n\n"
        f"Damit nichts nur zum Teil ankommt, haben wir keine der {total} Dateien weitergeleitet. Bitte reichen "
        "Sie Ihre Belege im Kundenportal erneut ein, als PDF, JPEG oder PNG, ohne Kennwort und in lesbarer Form, "
        "zum Beispiel als Foto oder Scan der Rechnung."
    )


def submission_too_large(limit: int) -> str:
    return (
        f"Ihre Dateien sind zusammen größer als {_mb(limit)}. Bitte reichen Sie Ihre Belege in mehreren "
        "Sendungen ein. Wir haben keine Datei weitergeleitet."
    )


def request_label(payload: Mapping[str, Any]) -> str:
    """'Ihre Belege für den Vertrag KV-4712-0004 (3 Dateien)'."""
    numbers = [str(n) for n in payload.get("policy_numbers", [])]
    files = len(payload.get("files", []))
    which = f"den Vertrag {numbers[0]}" if len(numbers) == 1 else f"die Verträge {_and(numbers)}"
    count = "1 Datei" if files == 1 else f"{files} Dateien"
    return f"Ihre Belege für {which} ({count})"


def forward_subject(policy_numbers: Sequence[str], customer_id: str) -> str:
    """`Leistungsantrag KV <policy> – Kunde <id>`; several policies are listed one after another."""
    return header_text(f"Leistungsantrag KV {', '.join(policy_numbers)} – Kunde {customer_id}", 400)


def forward_body(
    customer_name: str,
    customer_id: str,
    policies: Sequence[str],
    submitted: str,
    files: Sequence[Mapping[str, Any]],
    message: str,
    reference: str,
) -> str:
    listed = "\n".join(
        f"  {n}. {f['sent_name']} ({f['type_name']}, {f['pages']} S.)" for n, f in enumerate(files, 1)
    )
    note = message.strip() or "(keine)"
    return (
        "Guten Tag,\n\n"
        f"über das Kundenportal sind Belege zur Leistungsabrechnung eingegangen.\n\n"
        f"Kunde: {customer_name} ({customer_id})\n"
        f"Verträge: {', '.join(policies)}\n"
        f"Eingang: {submitted}\n"
        f"Vorgang: {reference}\n\n"
        f"Anhänge: das Deckblatt, alle Belege in einem PDF und die Originaldateien:\n{listed}\n\n"
        f"Nachricht des Kunden (unverändert übernommen):\n{note}\n\n"
        "Diese Nachricht wurde automatisch erstellt; die Prüfsummen (SHA-256) stehen auf dem Deckblatt.\n"
    )


def receipt_subject() -> str:
    return "Ihre Belege sind bei uns eingegangen"


def receipt_body(
    submitted: str, forwards: Sequence[Mapping[str, Any]], files: Sequence[Mapping[str, Any]], contact: str
) -> str:
    where = "\n".join(
        f"- Vertrag {_and(list(f['policies']))}: an die {f['department_name']}" for f in forwards
    )
    listed = "\n".join(f"- {f['name']} ({f['type_name']}, {_pages(f['pages'])})" for f in files)
    return (
        "Guten Tag,\n\n"
        f"vielen Dank für Ihre Belege vom {submitted}. Wir haben sie zur Leistungsabrechnung weitergeleitet:\n"
        f"{where}\n\n"
        f"Weitergeleitete Dateien:\n{listed}\n\n"
        "Sie müssen nichts weiter tun; über die Erstattung informiert Sie die Leistungsabteilung.\n\n"
        f"{contact}"
    )


def _pages(n: int) -> str:
    return "1 Seite" if n == 1 else f"{n} Seiten"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} und {items[-1]}"
