"""Schemathesis over the intake's OpenAPI document with every check, at a small size (the full-size run is
`.venv/bin/python scripts/intake_contract.py`): no 5xx, no answer outside the schema, valid requests accepted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_intake_keeps_its_contract() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "intake_contract.py"), "--max-examples", "15"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout
    accepted = next(
        line for line in run.stdout.splitlines() if line.startswith("answers of POST /v1/ark-certificates")
    )
    assert "202 × " in accepted, accepted  # requests built from the schema alone are accepted
