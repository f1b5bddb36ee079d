"""Schemathesis over the operator API's own OpenAPI document, signed in as a clerk of one unit: no 5xx, no
answer outside the schema, and never a case (or an item) of another unit in any answer.

    .venv/bin/python scripts/ops_contract.py                    # full size
    .venv/bin/python scripts/ops_contract.py --max-examples 10  # what CI runs (test_ops_contract.py)

Serves the operator API (`create_ops_app`) on a free local port over a throwaway SQLite store seeded with
items and cases of two units (Kranken, Leben) and signs in as a clerk of Kranken; the hooks
(scripts/ops_contract_hooks.py) look through every answer for a case or item the clerk may not see.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bots.runtime.bot import Registry  # noqa: E402
from bots.runtime.migrate import upgrade  # noqa: E402
from bots.runtime.models import ItemError, Role  # noqa: E402
from bots.runtime.operators import add_operator  # noqa: E402
from bots.runtime.ops_api import create_ops_app  # noqa: E402
from bots.runtime.serve import ThreadedServer  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402
from bots.runtime.states import Status  # noqa: E402
from bots.runtime.store import Store  # noqa: E402

HOOKS = "scripts.ops_contract_hooks"
CLERK, UNIT, PASSWORD = "anna", "Kranken", "contract-password"
LEASE = timedelta(minutes=5)


def seed(store: Store, queue: str) -> list[int]:
    """Items of both units (cases, artifacts), a failed one and a waiting one; the ids of the items the clerk
    may see."""
    visible: list[int] = []
    for i in range(12):
        unit = UNIT if i % 2 else "Leben"
        item, _ = store.submit(queue, {"customer_id": f"K{i}"}, customer_id=f"K{i}")
        held = store.claim(item.id, "worker", LEASE)
        assert held is not None
        if i % 4 == 3:
            store.finish(
                held, Status.FAILED, actor="worker", reason="boom", error=ItemError("system", "boom", "!")
            )
            continue
        store.hand_off(
            held, unit=unit, reason_code="check", note=f"case {i}", case_due=LEASE * i, actor="worker"
        )
        store.add_artifact(item.id, f"file {i}".encode(), "text/plain", f"file-{i}.txt", "upload")
        if unit == UNIT:
            visible.append(item.id)
    store.submit(queue, {"customer_id": "K99"}, customer_id="K99")
    return visible


def print_answers(stats: Path) -> None:
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
    parser.add_argument("--max-examples", type=int, default=200, help="test cases per operation and phase")
    parser.add_argument("--seed", type=int, default=None, help="repeat a run (schemathesis --seed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pb-ops-contract-") as tmp:
        # a cheap password hash: this run signs in often, and its passwords protect nothing
        settings = Settings(  # type: ignore[call-arg]
            data_dir=Path(tmp),
            _env_file=None,
            ops_argon2_time_cost=1,
            ops_argon2_memory_kib=8,
            ops_argon2_parallelism=1,
        )
        url = f"sqlite:///{Path(tmp) / 'contract.db'}"
        upgrade(url)
        store = Store(url)
        registry = Registry.discover(settings.bots)
        add_operator(store, settings, "chef", Role.SUPERVISOR, (), PASSWORD, actor="contract")
        add_operator(store, settings, CLERK, Role.CLERK, (UNIT,), PASSWORD, actor="contract")
        queue = registry.queues[0]
        visible = seed(store, queue)
        app = create_ops_app(store, registry, settings, allow_setup=False)
        with ThreadedServer(app, name="ops") as server:
            login = httpx.post(f"{server.url}/v1/ops/login", json={"name": CLERK, "password": PASSWORD})
            token = login.raise_for_status().json()["token"]
            cmd = [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {token}",
                "--exclude-path",
                "/v1/ops/logout",  # it would end the clerk's sign-in for the rest of the run
                "--max-examples",
                str(args.max_examples),
                "--generation-deterministic" if args.seed is None else f"--seed={args.seed}",
                "--suppress-health-check",
                "all",
            ]
            stats, leaks = Path(tmp) / "answers.jsonl", Path(tmp) / "leaks.jsonl"
            env = {
                **os.environ,
                "SCHEMATHESIS_HOOKS": HOOKS,
                "PYTHONPATH": str(ROOT),
                "PORTALBOTS_CONTRACT_STATS": str(stats),
                "PORTALBOTS_OPS_LEAKS": str(leaks),
                "PORTALBOTS_OPS_UNITS": json.dumps([UNIT]),
                "PORTALBOTS_OPS_VISIBLE_ITEMS": json.dumps(visible),
            }
            code = subprocess.run(cmd, env=env, cwd=ROOT).returncode
            print_answers(stats)
            found = leaks.read_text().splitlines() if leaks.exists() else []
            print(f"answers with a case or item outside {UNIT}: {len(found)}")
            for line in found[:20]:
                print("  " + line)
        store.dispose()
    return code or (1 if found else 0)


if __name__ == "__main__":
    raise SystemExit(main())
