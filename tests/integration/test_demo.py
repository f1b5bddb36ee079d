"""README's demo command, as a user runs it: `portalbots demo` in a fresh directory, embedded defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [sys.executable, "-m", "bots.cli", "demo", "--customers", "12", "--at", "2026-11-24T10:00"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    output = run.stdout
    assert "Ergebnis" in output and "Zugestellte PDFs" in output
    assert output.count("erledigt") >= 3 and output.count("abgelehnt") >= 3
    assert "Wiederholung erkannt" in output and "422" in output
    assert "wartet bis Montag" in output
    # on Saturday night a bank change naming another customer's policy is refused at once (contract overview)
    assert "sofort entschieden (policy_not_owned)" in output
    assert "1 erst später versichert" in output and "Geltungsbereich" in output
    # every refused request reached its customer's Postfach as a message of its own
    assert output.count("Ihre Anfrage: ") == output.count("abgelehnt") >= 3
    # claims: two submissions forwarded (one to two departments), one refused for its broken photo
    assert output.count("Ihre Belege sind bei uns eingegangen") == 2 and "Voll: KV-" in output
    assert output.count("Ihre Anfrage: Ihre Belege") == 1
    pdfs = sorted((tmp_path / "var" / "demo" / "postfach").rglob("*.pdf"))
    certificates = [p for p in pdfs if p.name.startswith("ARK-")]
    letters = [p for p in pdfs if p.name.startswith("Bestaetigung-Bankverbindung")]
    # the family in four languages, the single traveller, the family whose child is covered only later,
    # and on Saturday night the family in two: 4 + 1 + 1 + 2
    assert len(certificates) == 8, output
    # bank changes: one policy, two policies, and on Saturday night one (applied at Monday's opening);
    # the one in a dunning procedure went to a clerk, the invalid IBAN was refused at the intake
    assert len(letters) == 3 and len(pdfs) == 11, output
    assert (
        "Mahnverfahren" in output
        and "Ihre Anfrage ist in Bearbeitung: die Änderung Ihrer Bankverbindung" in output
    )
    for pdf in pdfs:
        assert PdfReader(pdf).pages[0].extract_text().strip()
