"""Schemathesis over the operator API's OpenAPI document, signed in as a clerk of Kranken, every check on, at a
small size (the full-size run is `.venv/bin/python scripts/ops_contract.py`): no 5xx, no answer outside
the schema, and no answer shows the clerk a case of another unit or an item without a case of theirs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_the_operator_api_keeps_its_contract_for_a_clerk() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ops_contract.py"), "--max-examples", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert summary is not None and summary.group(1) == summary.group(2), run.stdout[-2000:]
    assert "answers with a case or item outside Kranken: 0" in run.stdout
    cases = next(line for line in run.stdout.splitlines() if line.startswith("answers of GET /v1/ops/cases:"))
    assert "200 × " in cases and "403 × " in cases, cases  # it saw cases, and was refused other units
    detail = next(
        line for line in run.stdout.splitlines() if line.startswith("answers of GET /v1/ops/items/{item_id}:")
    )
    assert "200 × " in detail and "403 × " in detail, detail
