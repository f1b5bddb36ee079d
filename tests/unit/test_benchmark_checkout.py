"""A benchmark's `--against` runs another checkout with the bots that checkout names (benchmarks/checkout.py),
not the bots of the project installed from this one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks import checkout

SHOW_BOTS = (
    "from importlib.metadata import entry_points; "
    "print(sorted(e.value for e in entry_points(group='portalbots.bots')))"
)


def bots_seen(pythonpath: str) -> str:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    return subprocess.run(
        [sys.executable, "-c", SHOW_BOTS], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_another_checkout_sees_only_the_bots_its_own_project_names(tmp_path: Path) -> None:
    older = tmp_path / "older"
    older.mkdir()
    (older / "pyproject.toml").write_text(
        '[project]\nname = "portalbots"\n\n'
        '[project.entry-points."portalbots.bots"]\nark_certificate = "bots.ark_certificate.bot:ArkCertificateBot"\n'
    )
    path = checkout.pythonpath(older)
    assert path.split(os.pathsep)[0] == str(older.resolve())
    assert bots_seen(path) == "['bots.ark_certificate.bot:ArkCertificateBot']"


def test_this_checkout_keeps_its_installed_bots() -> None:
    assert checkout.pythonpath(checkout.ROOT) == str(checkout.ROOT)
    assert "bots.bank_change.bot:BankChangeBot" in bots_seen(checkout.pythonpath(checkout.ROOT))
