"""Running the code of another checkout of this repository (the benchmarks' `--against`).

Its modules come first on PYTHONPATH, but the bots a worker loads are named by the entry points of the
installed project, which is this checkout: an older checkout lacks some of their modules and its worker
stops at start. So a process of another checkout also gets, before the installed project, a record of
that checkout as a distribution (`portalbots`, its own pyproject.toml's entry points), which Python's
importlib.metadata then finds first (it keeps the first distribution of a name along sys.path).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "portalbots"

_records: dict[Path, Path] = {}


def pythonpath(code: Path, *more: Path) -> str:
    """PYTHONPATH for a process running checkout `code` (then `more`): this checkout's as installed, another
    checkout's with its own entry points."""
    code = code.resolve()
    paths = [code, *more]
    if code != ROOT:
        paths.insert(1, _record(code))
    return os.pathsep.join(str(p) for p in paths)


def migrate(url: str, code: Path) -> None:
    """Build the schema of checkout `code` in the database at `url` (its own migrations: another checkout's
    tables and indexes may differ)."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bots.runtime.migrate import upgrade; upgrade(sys.argv[1])",
            url,
        ],
        cwd=code,
        env=os.environ | {"PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"},
        check=True,
    )


def _record(code: Path) -> Path:
    """A folder holding `portalbots-0.dist-info` with the entry points of checkout `code`, made once per run."""
    if code not in _records:
        folder = Path(tempfile.mkdtemp(prefix="pb-checkout-"))
        atexit.register(shutil.rmtree, folder, True)
        project = tomllib.loads((code / "pyproject.toml").read_text())["project"]
        info = folder / f"{DISTRIBUTION}-0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: 0\n")
        lines = []
        for group, points in project.get("entry-points", {}).items():
            lines += [f"[{group}]", *(f"{name} = {target}" for name, target in points.items()), ""]
        (info / "entry_points.txt").write_text("\n".join(lines))
        _records[code] = folder
    return _records[code]
