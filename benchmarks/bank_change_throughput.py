"""Bank changes per second end to end against the sandbox, with ARK certificates as the baseline of the same run.

Run: .venv/bin/python benchmarks/bank_change_throughput.py [--items N] [--workers W]

Real parts, as benchmarks/backlog_drain.py: `portalbots sandbox` as a process (web UI + Postfach SMTP), a SQLite
store, Redis as broker, `portalbots worker --concurrency W` with Debian's Chromium, the clock on a Tuesday
10:00. N bank changes (each sets a new debit IBAN on a calm policy, reads every chosen policy first, renders
and delivers the confirmation letter) and N ARK certificates (one policy screen, one PDF) are drained one
after the other on fresh stores; printed: items/s, CPU seconds per item of the worker's process tree and of
the sandbox, and the bank change's figures as ratios of ARK's (the machine's noise cancels out).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.backlog_drain import (  # noqa: E402
    ADMIN,
    CUSTOMERS,
    TUESDAY_10,
    Rig,
    Submission,
    console,
    drain_in_hours,
)

QUEUES = ("bank_change", "ark_certificate")
# valid IBANs of banks the registry knows: each round of requests sets the next one, so every request changes
IBANS = ("DE89370400440532013000", "DE02120300000000202051", "NL91ABNA0417164300", "DE75512108001245126199")


def calm_policies(rig: Rig) -> list[tuple[str, str]]:
    """(customer, policy) of every policy a bank change may change without a clerk (the seed is deterministic:
    seeding again with the same size gives the data the rig already has)."""
    seeded = httpx.post(
        f"{rig.url}/admin/seed", json={"customers": CUSTOMERS}, headers=ADMIN, timeout=120
    ).json()
    return [
        (c["customer_id"], p["policy_number"])
        for c in seeded["customers"]
        for p in c["policies"]
        if p["line"] != "ARK"
        and p["status"] == "aktiv"
        and not p["dunning_active"]
        and not p["cancellation_pending"]
        and p.get("intermediary_id") != c["customer_id"]
        and {a["role"] for a in p["accounts"]} >= {"debit"}
    ]


def bank_request(policies: list[tuple[str, str]], k: int) -> dict[str, Any]:
    customer, policy = policies[k % len(policies)]
    iban = IBANS[(k // len(policies)) % len(IBANS)]
    return {
        "customer_id": customer,
        "iban": iban,
        "policies": [{"policy_number": policy, "roles": ["debit"]}],
    }


def submission(queue: str, payload: dict[str, Any]) -> Submission:
    return Submission(queue, payload, payload["customer_id"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-bank-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(PYTHONPATH=str(ROOT), PORTALBOTS_DATA_DIR=str(tmp / "var"))
    rig = Rig(tmp, env)
    try:
        policies = calm_policies(rig)
        ark_requests = (rig.request(k, TUESDAY_10) for k in range(args.items))
        bank_requests = (bank_request(policies, k) for k in range(args.items))
        ark = drain_in_hours(
            rig, QUEUES, args.workers, [submission("ark_certificate", p) for p in ark_requests]
        )
        bank = drain_in_hours(
            rig, QUEUES, args.workers, [submission("bank_change", p) for p in bank_requests]
        )
    finally:
        rig.close()
        shutil.rmtree(tmp, ignore_errors=True)
    table = Table(title=f"{args.items} items each, {args.workers} worker processes, {os.cpu_count()} CPUs")
    for col in ("bot", "items/s", "wall s", "worker+Chromium CPU s/item", "sandbox CPU s/item"):
        table.add_column(col, justify="right")
    for name, r in (("ARK certificate (baseline)", ark), ("bank change", bank)):
        table.add_row(
            name, f"{r['rate']:.2f}", f"{r['seconds']:.0f}", f"{r['cpu']:.3f}", f"{r['sandbox']:.3f}"
        )
    console.print(table)
    console.print(
        f"bank change / ARK: items/s [bold]{bank['rate'] / ark['rate']:.2f}×[/bold], "
        f"CPU per item [bold]{bank['cpu'] / ark['cpu']:.2f}×[/bold] ({len(policies)} calm policies cycled)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
