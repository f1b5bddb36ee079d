"""The boundaries between runtime, insurer layer, bots, sandbox and console are a contract `lint-imports` checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("bots", "sandbox", "console", "i18n")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    if not LINT_IMPORTS.exists():
        pytest.fail(f"lint-imports is not installed next to {sys.executable} (the dev extra has it)")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_project(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("*.ttf", "__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", target)
    return target


def test_the_project_keeps_its_contracts() -> None:
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("bots/runtime/leak.py", "import bots.ark_certificate.bot", "The runtime imports no bot"),
        ("bots/runtime/leak.py", "import bots.insurer.pages", "no insurer layer"),
        ("bots/insurer/leak.py", "import sandbox.server", "No bot and no insurer module imports the sandbox"),
        (
            "bots/bank_change/leak.py",
            "import bots.ark_certificate.rules",
            "Bots are independent of each other",
        ),
        ("console/leak.py", "import bots.runtime.store", "The console talks only to the operator API"),
    ],
)
def test_an_import_across_a_boundary_breaks_the_build(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = copy_of_the_project(tmp_path)
    (tree / module).write_text(f'"""A change that crosses a boundary."""\n\n{line}\n')
    run = lint_imports(tree)
    assert run.returncode != 0, run.stdout
    assert "1 broken" in run.stdout, run.stdout
    report = run.stdout.split("Broken contracts", 1)[1]
    leak = module.removesuffix(".py").replace("/", ".")
    assert contract in report and f"{leak} -> {line.split()[1]} (l.3)" in report, run.stdout
