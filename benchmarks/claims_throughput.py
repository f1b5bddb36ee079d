"""Forwarded claims per second end to end against the sandbox (5 receipts each), and building the bundle
against a plain pypdf merge of the same files, in one run.

Run: .venv/bin/python benchmarks/claims_throughput.py [--items N] [--workers W] [--rounds R]

Real parts, as benchmarks/bank_change_throughput.py: `portalbots sandbox` as a process (web UI + Postfach and
department mailboxes over SMTP), a SQLite store, Redis as broker, `portalbots worker --concurrency W` with
Debian's Chromium, the clock on a Tuesday 10:00. Each of the N submissions carries 5 receipts (2 invoices as
PDF, 2 photos as JPEG, 1 screenshot as PNG) for one active KV policy: the worker checks each file in its
isolated checker process, reads the policy screen, renders the cover sheet, builds the bundle, mails the
department and confirms into the Postfach. Printed: submissions/s, CPU seconds per submission of the
worker's process tree (checker children included) and of the sandbox.

Then, in this process, R rounds over the same 5 files: a plain merge (pypdf appends the PDFs, Pillow saves
each image as a PDF page) against the bot's bundle (cover sheet, images upright on A4 pages, bookmarks, in
the checker process) and against the bot's 5 file checks; printed as ms per submission and as ratios of
the plain merge.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402
from pypdf import PdfReader, PdfWriter  # noqa: E402
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
from bots.claims_forwarder.bot import ClaimsForwarderBot  # noqa: E402
from bots.claims_forwarder.checker import Checker  # noqa: E402
from bots.claims_forwarder.samples import invoice_pdf, receipt_image  # noqa: E402
from bots.claims_forwarder.settings import ClaimsSettings  # noqa: E402
from bots.runtime.store import Upload  # noqa: E402

QUEUE = "claims_forwarder"


def receipts(n: int) -> list[tuple[str, bytes]]:
    """5 receipts, different bytes per submission (the store keeps each blob once)."""
    return [
        (f"Arztrechnung-{n}.pdf", invoice_pdf(f"Patient {n}", 2, n)),
        (f"Laborrechnung-{n}.pdf", invoice_pdf(f"Patient {n}", 1, n + 10_000)),
        (f"IMG_{n}.jpg", receipt_image("jpeg", label=f"Apotheke {n}")),
        (f"IMG_{n}b.jpg", receipt_image("jpeg", (1200, 1600), label=f"Sanitätshaus {n}")),
        (f"Screenshot-{n}.png", receipt_image("png", (700, 1000), label=f"Online-Apotheke {n}")),
    ]


def kv_policies(rig: Rig) -> list[tuple[str, str]]:
    seeded = httpx.post(
        f"{rig.url}/admin/seed", json={"customers": CUSTOMERS}, headers=ADMIN, timeout=120
    ).json()
    return [
        (c["customer_id"], p["policy_number"])
        for c in seeded["customers"]
        for p in c["policies"]
        if p["line"] == "KV" and p["status"] == "aktiv" and p.get("health_department")
    ]


def drain(rig: Rig, n: int, workers: int, policies: list[tuple[str, str]]) -> dict[str, float]:
    """N submissions of three receipts each (a PDF invoice, two photos), drained in service hours."""
    bot = ClaimsForwarderBot(ClaimsSettings(_env_file=None))  # type: ignore[call-arg]  # its form reading only
    requests = []
    for k in range(n):
        customer, policy = policies[k % len(policies)]
        uploads = bot.stored_uploads(
            [Upload(name, "application/octet-stream", data) for name, data in receipts(k)]
        )
        fields = {"customer_id": [customer], "policy_numbers": [policy], "message": ["Benchmark"]}
        requests.append((customer, bot.payload_from_form(fields, uploads), uploads))
    return drain_in_hours(
        rig,
        (QUEUE,),
        workers,
        [Submission(QUEUE, payload, customer, tuple(up)) for customer, payload, up in requests],
    )


def plain_merge(files: list[tuple[str, bytes]]) -> bytes:
    """What a script would do: pypdf appends each PDF, Pillow turns each image into a PDF page."""
    writer = PdfWriter()
    for name, data in files:
        if name.endswith(".pdf"):
            writer.append(PdfReader(io.BytesIO(data)))
        else:
            page = io.BytesIO()
            Image.open(io.BytesIO(data)).convert("RGB").save(page, format="PDF")
            writer.append(PdfReader(page))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def bundle_rounds(rounds: int) -> dict[str, list[float]]:
    files = receipts(0)
    kinds = ["pdf", "pdf", "jpeg", "jpeg", "png"]
    cover = invoice_pdf("Deckblatt", 1)
    checker = Checker()
    limits = {"allowed": ["pdf", "jpeg", "png"], "max_pdf_pages": 50, "max_image_pixels": 40_000_000}
    checker.call("check", limits, [files[0][1]])  # the child's start is not a round's
    times: dict[str, list[float]] = {"plain": [], "bundle": [], "checks": []}
    sizes = {}
    try:
        for _ in range(rounds):
            t0 = time.perf_counter()
            sizes["plain"] = len(plain_merge(files))
            t1 = time.perf_counter()
            _, out = checker.call(
                "bundle", {"kinds": kinds, "labels": [n for n, _ in files], "title": "Belege"},
                [cover, *(d for _, d in files)], seconds=60,
            )  # fmt: skip
            t2 = time.perf_counter()
            for _, data in files:
                checker.call("check", limits, [data])
            t3 = time.perf_counter()
            sizes["bundle"] = len(out[0])
            times["plain"].append(t1 - t0)
            times["bundle"].append(t2 - t1)
            times["checks"].append(t3 - t2)
    finally:
        checker.close()
    console.print(
        f"bundle {sizes['bundle'] / 1e6:.2f} MB (cover + 5 files, images ≤2400 px as JPEG on A4), "
        f"plain merge {sizes['plain'] / 1e6:.2f} MB; the 5 files {sum(len(d) for _, d in files) / 1e6:.2f} MB"
    )
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of bundle against plain merge")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-claims-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
    env.update(PYTHONPATH=str(ROOT), PORTALBOTS_DATA_DIR=str(tmp / "var"))
    # the sandbox too stands on the Tuesday morning, whatever the wall clock says
    env["PORTALBOTS_CLOCK_SHIFT"] = f"{(TUESDAY_10 - datetime.now(UTC)).total_seconds():.3f}"
    rig = Rig(tmp, env)
    try:
        policies = kv_policies(rig)
        claims = drain(rig, args.items, args.workers, policies)
    finally:
        rig.close()
        shutil.rmtree(tmp, ignore_errors=True)
    table = Table(
        title=f"{args.items} submissions of 5 receipts, {args.workers} worker processes, {os.cpu_count()} CPUs"
    )
    for col in (
        "bot",
        "submissions/s",
        "receipts/s",
        "wall s",
        "worker CPU s/submission",
        "sandbox CPU s/submission",
    ):
        table.add_column(col, justify="right")
    table.add_row(
        "claims forwarder", f"{claims['rate']:.2f}", f"{claims['rate'] * 5:.1f}", f"{claims['seconds']:.0f}",
        f"{claims['cpu']:.3f}", f"{claims['sandbox']:.3f}",
    )  # fmt: skip
    console.print(table)

    times = bundle_rounds(args.rounds)
    plain = statistics.median(times["plain"])
    rows = Table(title=f"the same 5 receipts, median of {args.rounds} rounds")
    for col in ("step", "ms per submission", "× plain merge"):
        rows.add_column(col, justify="right")
    for label, key in (
        ("plain pypdf merge (baseline)", "plain"),
        ("bot's bundle (isolated process)", "bundle"),
        ("bot's 5 file checks (isolated)", "checks"),
    ):
        median = statistics.median(times[key])
        rows.add_row(label, f"{median * 1000:.1f}", f"{median / plain:.2f}×")
    console.print(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
