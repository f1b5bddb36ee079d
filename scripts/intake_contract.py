"""Schemathesis over the intake's own OpenAPI document, every check on: no 5xx, no answer outside the
schema, and requests built from the schema are accepted.

    .venv/bin/python scripts/intake_contract.py                 # full size (as documented in docs/operations.md)
    .venv/bin/python scripts/intake_contract.py --max-examples 15   # what CI runs (test_intake_contract.py)

Serves the intake of every installed bot on a free local port over a throwaway SQLite store (requests are
stored, not run) and points `schemathesis run` at it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bots.runtime.bot import Registry  # noqa: E402
from bots.runtime.intake import create_intake_app  # noqa: E402
from bots.runtime.migrate import upgrade  # noqa: E402
from bots.runtime.models import WorkItem  # noqa: E402
from bots.runtime.serve import ThreadedServer  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402
from bots.runtime.store import Store  # noqa: E402

TOKEN = "contract-test-token-0123456789"
HOOKS = "scripts.intake_contract_hooks"


class Stored:
    """Requests are only stored: nobody runs them."""

    def enqueue(self, item: WorkItem) -> None:
        pass


def print_answers(stats: Path) -> None:
    """How the intake answered, per operation: how many generated requests it accepted."""
    counts: Counter[tuple[str, int]] = Counter()
    if stats.exists():
        for line in stats.read_text().splitlines():
            operation, status = json.loads(line)
            counts[(operation, status)] += 1
    for operation in sorted({op for op, _ in counts}):
        answers = ", ".join(
            f"{status} × {n}" for (op, status), n in sorted(counts.items()) if op == operation
        )
        print(f"answers of {operation}: {answers}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=300, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=None, help="repeat a run (schemathesis --seed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pb-contract-") as tmp:
        settings = Settings(data_dir=Path(tmp), intake_token=TOKEN, _env_file=None)  # type: ignore[call-arg]
        url = f"sqlite:///{Path(tmp) / 'contract.db'}"
        upgrade(url)
        store = Store(url)
        app = create_intake_app(store, Registry.discover(settings.bots), Stored(), settings)
        with ThreadedServer(app, name="intake") as server:
            cmd = [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {TOKEN}",
                "--max-examples",
                str(args.max_examples),
                "--generation-deterministic" if args.seed is None else f"--seed={args.seed}",
                "--suppress-health-check",
                "all",
                # the operator API shares the server but not the portal's token: scripts/ops_contract.py
                # runs it signed in as an operator
                "--exclude-path-regex",
                "^/v1/ops/",
            ]
            stats = Path(tmp) / "answers.jsonl"
            env = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": HOOKS,
                "PYTHONPATH": str(ROOT),
                "PORTALBOTS_CONTRACT_STATS": str(stats),
            }
            code = subprocess.run(cmd, env=env, cwd=ROOT).returncode
            print_answers(stats)
        store.dispose()
    return code


if __name__ == "__main__":
    raise SystemExit(main())
