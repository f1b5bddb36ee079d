"""ARK certificate rendering: certificates per second for a 4-language family request, against a baseline.

Run: .venv/bin/python benchmarks/ark_render.py [--seconds 3]
The baseline, measured in the same run, is a minimal one-page reportlab document in the same bundled font;
the ratio says how many baseline documents one certificate costs. Rates are per CPU second of this
process (rendering is single-threaded and CPU-bound), so other load on the machine does not skew them;
the wall-clock rate is printed beside.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from bots.ark_certificate.certificate import CertificateData, issue_certificates
from bots.ark_certificate.request import ArkRequest
from bots.insurer.facts import InsuredPerson, Policy, Tariff, TravelCover
from bots.insurer.letterhead import FONT, default_insurer, register_fonts

REQUEST = ArkRequest(
    customer_id="K-100",
    policy_number="ARK-4711-0815",
    travel_start=date(2027, 3, 3),
    travel_end=date(2027, 4, 13),
    country="TH",
    languages=["de", "en", "es", "fr"],
)
FACTS = Policy(
    policy_number="ARK-4711-0815",
    holder_customer_id="K-100",
    holder_country="DE",
    line="ARK",
    status="aktiv",
    start_date=date(2020, 1, 1),
    end_date=None,
    tariff=Tariff(
        "ARK-Jahr Familie 42",
        42,
        TravelCover("WORLD_EXCEPT_DE", None, Decimal(0), True, True, True, True, True),
    ),
    insured_persons=(
        InsuredPerson("Łucja", "Öztürk-Şahin", date(1985, 5, 17)),
        InsuredPerson("Mehmet Emre", "Öztürk-Şahin", date(1983, 11, 2)),
        InsuredPerson("Zoë", "Öztürk-Şahin", date(2014, 2, 28)),
        InsuredPerson("Ádám Ferenc", "Őrsi-Nagy", date(2017, 9, 9)),
    ),
)
INSURER = default_insurer()
DATA = CertificateData.build(
    REQUEST,
    FACTS,
    persons=FACTS.insured_persons,
    residence="DE",
    issue_date=date(2027, 2, 20),
    reference="bench",
)


def certificates() -> int:
    """One request's certificates (render only, no rules, no I/O); returns how many PDFs."""
    return len(issue_certificates(DATA, REQUEST.languages, INSURER))


def baseline() -> int:
    """A minimal one-page document in the same font: the fixed cost of any reportlab PDF."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, invariant=True)
    doc.build([Paragraph("Łucja Öztürk-Şahin, 3. März 2027", ParagraphStyle("b", fontName=FONT))])
    return 1


def rate(work: Callable[[], int], seconds: float) -> tuple[float, float, float]:
    """Documents per CPU second (median of five rounds), their spread (max - min), documents per wall second."""
    work()  # warm up: font parsing, catalog loading
    rounds, total, wall_start = [], 0, time.perf_counter()
    for _ in range(5):
        done, start, wall_round = 0, time.process_time(), time.perf_counter()
        # a CPU-time budget per round, capped in wall time so a busy machine cannot stretch the run
        while (elapsed := time.process_time() - start) < seconds / 5 or done == 0:
            done += work()
            if time.perf_counter() - wall_round > 2.5 * seconds / 5:
                elapsed = time.process_time() - start
                break
        rounds.append(done / elapsed)
        total += done
    wall = total / (time.perf_counter() - wall_start)
    return statistics.median(rounds), max(rounds) - min(rounds), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU seconds of measuring per subject")
    args = parser.parse_args()
    register_fonts()
    base, base_spread, base_wall = rate(baseline, args.seconds)
    certs, certs_spread, certs_wall = rate(certificates, args.seconds)
    print(
        f"baseline (1-page reportlab doc, DejaVu): {base:7.1f} docs/CPU-s  "
        f"(spread {base_spread:.1f}; wall {base_wall:.1f}/s)"
    )
    print(
        f"ARK certificates (4-language request):   {certs:7.1f} certs/CPU-s "
        f"(spread {certs_spread:.1f}; wall {certs_wall:.1f}/s)"
    )
    print(
        f"  = {certs / len(REQUEST.languages):.1f} requests/CPU-s, {1000 / certs:.1f} ms CPU per certificate"
    )
    print(f"ratio certificate / baseline cost: {base / certs:.1f}x")


if __name__ == "__main__":
    main()
