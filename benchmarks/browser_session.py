"""Per-item browser cost: one reused Chromium with a fresh context per item vs a new Chromium per item.

Each item logs in to the sandbox policy administration (/login: #username, #password, #login-submit),
lands on a policy page and reads its policy number. Run: .venv/bin/python benchmarks/browser_session.py
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bots.runtime.browser import ProcessBrowser
from bots.runtime.clock import FixedClock
from bots.runtime.context import Context
from bots.runtime.mail import Mailer
from bots.runtime.migrate import upgrade
from bots.runtime.settings import Settings
from bots.runtime.store import Store
from sandbox.seed import summarize
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings

# A Tuesday, 10:00 in Berlin: the sandbox is in service.
CLOCK = FixedClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))


def contexts(store: Store, settings: Settings, pb: ProcessBrowser, n: int, tag: str) -> list[Context]:
    out = []
    for i in range(n):
        store.submit("bench", {"i": i}, reference=f"{tag}-{i}")
        item = store.claim_next("bench", "bench", timedelta(minutes=10))
        assert item is not None
        out.append(
            Context(
                item=item,
                store=store,
                settings=settings,
                clock=CLOCK,
                mailer=Mailer(settings.smtp_host, settings.smtp_port, settings.mail_from),
                calendars={},
                resources={"browser": pb},
                log=logging.getLogger("bench"),
            )
        )
    return out


def one_item(pb: ProcessBrowser, ctx: Context, url: str, policy: str, settings: SandboxSettings) -> None:
    with pb.session(ctx, base_url=url) as page:
        page.goto(f"/login?next=/vertraege/{policy}")
        page.fill("#username", settings.sandbox_user)
        page.fill("#password", settings.sandbox_password.get_secret_value())  # the sandbox's robot login
        page.click("#login-submit")
        value = page.locator("#policy-data [data-field=policy-number]").get_attribute("data-value")
        if value != policy:
            raise AssertionError(f"read {value!r}, expected {policy!r}")


def timed_pairs(
    pairs: list[tuple[Context, Context]],
    step_a: Callable[[Context], None],
    step_b: Callable[[Context], None],
    deadline: float,
) -> tuple[list[float], list[float]]:
    """Alternate (a) and (b) item by item, so both see the same machine load; stop at the deadline."""
    times: tuple[list[float], list[float]] = ([], [])
    for ctx_a, ctx_b in pairs:
        if time.monotonic() > deadline:
            break
        for step, ctx, out in ((step_a, ctx_a, times[0]), (step_b, ctx_b, times[1])):
            t0 = time.perf_counter()
            step(ctx)
            out.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--budget", type=float, default=50.0, help="seconds; stops early past it")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pb-bench-") as tmp:
        settings = SandboxSettings(data_dir=Path(tmp), smtp_port=1)
        url = f"sqlite:///{Path(tmp) / 'runtime.db'}"
        upgrade(url)
        store = Store(url, CLOCK)
        with SandboxServer(settings, CLOCK, customers=3) as sandbox:
            policy = summarize(sandbox.db).customers[0]["policies"][0]["policy_number"]
            reused = ProcessBrowser(settings)
            try:
                # (a) one browser, a fresh context per item; the first launch is paid before timing starts
                reused.browser()
                one_item(
                    reused, contexts(store, settings, reused, 1, "warm")[0], sandbox.url, policy, settings
                )

                # (b) a new browser per item; `reused` stays open so the Playwright driver is shared, as in a worker
                def fresh(ctx: Context) -> None:
                    pb = ProcessBrowser(settings)
                    try:
                        one_item(pb, ctx, sandbox.url, policy, settings)
                    finally:
                        pb.close()

                pairs = list(
                    zip(
                        contexts(store, settings, reused, args.items, "a"),
                        contexts(store, settings, reused, args.items, "b"),
                        strict=True,
                    )
                )
                a, b = timed_pairs(
                    pairs,
                    lambda ctx: one_item(reused, ctx, sandbox.url, policy, settings),
                    fresh,
                    started + args.budget,
                )
            finally:
                reused.close()
        store.dispose()
    med_a, med_b = statistics.median(a), statistics.median(b)
    note = "" if len(a) == args.items else f" (time budget reached after {len(a)} of {args.items})"
    print(f"sandbox login + policy page read, tracing on; {len(a)} items each{note}")
    print(f"(a) reused browser, new context per item: median {med_a * 1000:7.1f} ms")
    print(f"(b) new browser per item:                 median {med_b * 1000:7.1f} ms")
    print(f"ratio (b)/(a): {med_b / med_a:.1f}x   total {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
