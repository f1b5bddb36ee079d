"""ARK bot end to end: certificate requests per second against the sandbox, plain loop vs the runtime.

Run: .venv/bin/python benchmarks/ark_end_to_end.py [--items N] [--budget SECONDS] [--no-worker] [--keep]
     (or `portalbots bench ark_end_to_end …`)

One in-process SandboxServer (FixedClock at Tuesday 2026-11-24 10:00 Europe/Berlin, 30 seeded customers)
serves every measurement; requests cycle through its active ARK policies whose tariff covers Thailand (the
destination of every request), each with its own travel dates
(so every item renders PDFs of its own and no blob is deduplicated). For 1-language and 4-language
requests, measured in the same run:
  (1) baseline: the bot's work in a plain loop, no runtime: one reused ProcessBrowser (a new browser
      context per item, no tracing), PolicyAdmin login + policy read (with the holder's
      residence), the rules, issue_certificates, certificate_body + Mailer.send into the Postfach;
  (2) runtime in-process: Store.submit (temp SQLite file) + Runner.run(item) with ArkCertificateBot and
      the same ProcessBrowser as resources["browser"] (Playwright tracing on, as in a worker);
  (2') the same with the browser's tracing off, to show what tracing costs;
  (3) a real `portalbots worker` subprocess (2 prefork processes, embedded filesystem broker, as
      `portalbots demo` starts it, PORTALBOTS_CLOCK_SHIFT standing in business hours): from the first
      submit + enqueue until the store says every item is done.
(1), (2) and (2') alternate item by item, so load from elsewhere on the machine hits all alike; each is
warmed up with one item first. The step table says where an item's time goes: perf_counter around the
steps of the baseline loop, and the same steps (plus each Store call, and ProcessBrowser's private
_new_context/_close_context) wrapped for the runtime's items only while one of them runs.
--budget (default 100 s) bounds the run: each mode runs up to --items items, at least 3, and stops a
language set when its share of the budget is spent; (3) gets as many items as the baseline would finish
in the time left. The sandbox (uvicorn and the Postfach SMTP) runs in this process, as in the tests.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from celery import Celery  # noqa: E402
from playwright.sync_api import BrowserContext  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bots.ark_certificate import bot as bot_module  # noqa: E402
from bots.ark_certificate import rules  # noqa: E402
from bots.ark_certificate.bot import ArkCertificateBot  # noqa: E402
from bots.ark_certificate.certificate import CertificateData, issue_certificates  # noqa: E402
from bots.ark_certificate.message import certificate_body, certificate_subject  # noqa: E402
from bots.ark_certificate.request import ArkRequest  # noqa: E402
from bots.ark_certificate.settings import ArkSettings  # noqa: E402
from bots.demo import Worker  # noqa: E402
from bots.insurer.letterhead import insurer_from_settings  # noqa: E402
from bots.insurer.pages import PolicyAdmin  # noqa: E402
from bots.insurer.postfach import message_id  # noqa: E402
from bots.runtime.bot import Registry  # noqa: E402
from bots.runtime.browser import VIEWPORT, ProcessBrowser  # noqa: E402
from bots.runtime.clock import FixedClock, ShiftedClock  # noqa: E402
from bots.runtime.dispatch import CeleryDispatcher, configure  # noqa: E402
from bots.runtime.mail import Mailer  # noqa: E402
from bots.runtime.migrate import upgrade  # noqa: E402
from bots.runtime.runner import Runner  # noqa: E402
from bots.runtime.settings import Settings  # noqa: E402
from bots.runtime.states import Status  # noqa: E402
from bots.runtime.store import Store  # noqa: E402
from sandbox.seed import summarize  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from sandbox.settings import SandboxSettings  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)
CUSTOMERS = 30
QUEUE = ArkCertificateBot.queue
LANGUAGE_SETS: dict[str, list[str]] = {"1 (de)": ["de"], "4 (de en es fr)": ["de", "en", "es", "fr"]}
TRIP_DAYS = 14
WORKER_PROCESSES = 2  # bots.demo.Worker starts `--concurrency 2`
WORKER_WAIT_SECONDS = 120.0
MIN_ITEMS = 3
IN_PROCESS_SHARE = 0.6  # of the time budget, for (1), (2) and (2') together; (3) gets what is left
WORKER_FIXED_SECONDS = 12.0  # about: worker start, two Chromium launches, warm-up, warm shutdown
BASELINE = "(1) baseline"
RUNTIME = "(2) runtime"
NO_TRACE = "(2') runtime, no trace"
# Store calls the runtime makes around (and, via ctx, inside) a bot's run
STORE_CALLS = (
    "submit",
    "get",
    "queue_state",
    "claim",
    "remember",
    "add_artifact",
    "finish",
    "renew_lease",
)

console = Console(width=None if sys.stdout.isatty() else 150)


# ------------------------------------------------------------------ timing


@dataclass
class Steps:
    """Seconds per named step, summed over the items of one mode; `items` holds each item's total."""

    seconds: dict[str, float] = field(default_factory=dict)
    items: list[float] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def ms(self, name: str) -> float | None:
        return 1000 * self.seconds[name] / len(self.items) if name in self.seconds and self.items else None

    @property
    def total(self) -> float:
        return sum(self.items)

    @property
    def mean_ms(self) -> float:
        return 1000 * self.total / len(self.items)

    @property
    def rate(self) -> float:
        return len(self.items) / self.total


class Probe:
    """Wraps callables of objects, classes or modules so their wall time lands in `steps`, until removed."""

    def __init__(self) -> None:
        self.steps = Steps()
        self._wrapped: list[tuple[Any, str, Any, str]] = []
        self._saved: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        self._wrapped.append((owner, attr, getattr(owner, attr), name))

    @contextmanager
    def installed(self, steps: Steps) -> Iterator[None]:
        self.steps = steps
        for owner, attr, original, name in self._wrapped:
            self._saved.append(
                (owner, attr, owner.__dict__.get(attr) if hasattr(owner, "__dict__") else None)
            )
            setattr(owner, attr, self._timed(original, name))
        try:
            yield
        finally:
            for owner, attr, before in reversed(self._saved):
                if before is None:
                    delattr(owner, attr)  # an instance attribute hid the class's method: show it again
                else:
                    setattr(owner, attr, before)
            self._saved.clear()

    def _timed(self, original: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.steps.add(name, time.perf_counter() - start)

        return wrapper


# ------------------------------------------------------------------ the rig


@dataclass
class Rig:
    server: SandboxServer
    clock: FixedClock
    settings: Settings
    ark: ArkSettings
    browser: ProcessBrowser
    policies: list[tuple[str, str]]  # (customer id, policy number) of active ARK policies
    tmp: Path
    _next_trip: int = 0

    def request(self, languages: list[str]) -> dict[str, Any]:
        """A valid request on the next policy, with travel dates no earlier request of this run used."""
        customer, policy = self.policies[self._next_trip % len(self.policies)]
        start = TUESDAY_10.date() + timedelta(days=7 + self._next_trip)
        self._next_trip += 1
        return {
            "customer_id": customer,
            "policy_number": policy,
            "travel_start": start.isoformat(),
            "travel_end": (start + timedelta(days=TRIP_DAYS - 1)).isoformat(),
            "country": "TH",
            "languages": languages,
        }


def active_ark_policies(server: SandboxServer) -> list[tuple[str, str]]:
    """Active ARK policies whose tariff covers the requests' destination (a Europe-only one does not)."""
    found = sorted(
        (c["customer_id"], p["policy_number"])
        for c in summarize(server.db).customers
        for p in c["policies"]
        if p["line"] == "ARK"
        and p["status"] == "aktiv"
        and p["end_date"] is None
        and p["travel_cover"]["area"] == "WORLD_EXCEPT_DE"
    )
    if not found:
        raise RuntimeError(f"the sandbox seeded with {CUSTOMERS} customers has no active ARK policy")
    return found


# ------------------------------------------------------------------ (1) the plain loop


def baseline_item(rig: Rig, mailer: Mailer, payload: dict[str, Any], steps: Steps) -> None:
    """The bot's work without the runtime, each step timed."""
    settings, ark, browser = rig.settings, rig.ark, rig.browser
    begin = time.perf_counter()
    request = ArkRequest.model_validate(payload)
    today = rig.clock.now().astimezone(ZoneInfo(settings.timezone)).date()
    with steps.timed("browser context open"):
        context = browser.browser().new_context(
            base_url=ark.policy_admin_url,
            locale="de-DE",
            timezone_id=settings.timezone,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        context.set_default_timeout(browser.timeout_ms)
        context.set_default_navigation_timeout(browser.navigation_timeout_ms)
        page = context.new_page()
    try:
        admin = PolicyAdmin(page, ark.robot_user, ark.robot_password.get_secret_value())
        with steps.timed("page: login + policy read"):
            facts = admin.policy(request.policy_number)
        with steps.timed("rules"):
            rules.check(request, facts, today, ark.ark_max_past_days)
        assert facts is not None
    finally:
        with steps.timed("browser context close"):
            context.close()
    with steps.timed("rules"):
        rules.check_residence(request, facts.holder_country)
        certified = rules.certified_persons(request, facts)
    with steps.timed("render PDFs"):
        data = CertificateData.build(
            request,
            facts,
            persons=certified.persons,
            residence=facts.holder_country,
            issue_date=today,
            reference=uuid.uuid4().hex,
        )
        certificates = issue_certificates(data, request.languages, insurer_from_settings(ark))
    with steps.timed("build message"):
        to = ark.postfach_address.format(customer_id=request.customer_id)
        body = certificate_body(request, facts, certified, certificates)
        msg = mailer.message(
            to, certificate_subject(request, facts), body, message_id(QUEUE, uuid.uuid4().hex)
        )
        for cert in certificates:
            msg.add_attachment(cert.pdf, maintype="application", subtype="pdf", filename=cert.filename)
    with steps.timed("SMTP send"):
        mailer.send(msg)
    steps.items.append(time.perf_counter() - begin)


# ------------------------------------------------------------------ (2) the runtime in-process


class RuntimeBench:
    """Store.submit + Runner.run for each item, with the bot's steps and every Store call wrapped."""

    def __init__(self, rig: Rig) -> None:
        self.url = f"sqlite:///{rig.tmp / 'runtime.db'}"
        upgrade(self.url)
        self.store = Store(self.url, rig.clock)
        self.bot = ArkCertificateBot(rig.ark)
        self.runner = Runner(
            self.store, Registry([self.bot]), rig.settings, rig.clock, resources={"browser": rig.browser}
        )
        probe = self.probe = Probe()
        for call in STORE_CALLS:
            probe.wrap(self.store, call, f"store: {call}")
        probe.wrap(self.bot, "process", "bot.process")
        probe.wrap(rig.browser, "_new_context", "browser context open")
        probe.wrap(BrowserContext, "new_page", "browser context open")
        probe.wrap(rig.browser, "_close_context", "browser context close")
        probe.wrap(PolicyAdmin, "policy", "page: login + policy read")
        probe.wrap(rules, "check_request", "rules")
        probe.wrap(rules, "check_policy", "rules")
        probe.wrap(rules, "check_residence", "rules")
        probe.wrap(rules, "certified_persons", "rules")
        probe.wrap(bot_module, "issue_certificates", "render PDFs")
        probe.wrap(bot_module, "certificate_body", "build message")
        probe.wrap(self.runner.mailer, "send", "SMTP send")

    def item(self, payload: dict[str, Any], steps: Steps) -> None:
        with self.probe.installed(steps):
            begin = time.perf_counter()
            item, _ = self.store.submit(QUEUE, payload, customer_id=payload["customer_id"])
            with steps.timed("Runner.run"):
                done = self.runner.run(item.id)
            steps.items.append(time.perf_counter() - begin)
        if done is None or done.status != Status.DONE:
            error = done.error if done is not None else "not run"
            raise RuntimeError(f"runtime item {item.id} ended {done and done.status}: {error}")

    def close(self) -> None:
        self.store.dispose()


# ------------------------------------------------------------------ (3) a worker subprocess


@dataclass
class Throughput:
    items: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.items / self.seconds


def worker_runs(rig: Rig, counts: dict[str, int]) -> dict[str, Throughput]:
    """Items through `portalbots worker` (2 prefork processes, embedded broker), per language set."""
    home = rig.tmp / "worker"
    home.mkdir()
    settings = rig.settings.model_copy(update={"data_dir": home, "database_url": None, "broker_url": None})
    upgrade(settings.resolved_database_url())
    shift = TUESDAY_10 - datetime.now(UTC)  # the worker's calendar and rules see Tuesday 10:00 on
    store = Store(settings.resolved_database_url(), ShiftedClock(shift))
    celery = configure(settings, Celery("portalbots-bench-ark"))
    dispatcher = CeleryDispatcher(celery)
    worker = Worker(settings, rig.ark.policy_admin_url, [QUEUE], home / "worker.log")

    def submit(payload: dict[str, Any]) -> int:
        item, _ = store.submit(QUEUE, payload, customer_id=payload["customer_id"])
        dispatcher.enqueue(item)
        return item.id

    def wait(ids: list[int], what: str) -> None:
        deadline = time.monotonic() + WORKER_WAIT_SECONDS
        while True:
            worker.check()
            items = [store.get(i) for i in ids]
            ended = [i for i in items if i.status not in (Status.PENDING, Status.RUNNING, Status.DONE)]
            if ended:
                first = ended[0]
                raise RuntimeError(f"worker item {first.id} ended {first.status}: {first.error}")
            if all(i.status == Status.DONE for i in items):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"waited {WORKER_WAIT_SECONDS:.0f} s for {what}; log: {worker.log}")
            time.sleep(0.02)

    results: dict[str, Throughput] = {}
    try:
        worker.start(shift.total_seconds())
        # warm up until both pool processes have run an item (Chromium launched, runner built)
        actors: set[str] = set()
        for _ in range(4):
            ids = [submit(rig.request(["de"])) for _ in range(WORKER_PROCESSES)]
            wait(ids, "the warm-up")
            actors |= {e.actor for i in ids for e in store.events("item", i) if e.actor != "intake"}
            if len(actors) >= WORKER_PROCESSES:
                break
        for label, items in counts.items():
            payloads = [rig.request(LANGUAGE_SETS[label]) for _ in range(items)]
            start = time.perf_counter()
            ids = [submit(p) for p in payloads]
            wait(ids, f"{items} items of {label} languages")
            results[label] = Throughput(items, time.perf_counter() - start)
        if len(actors) < WORKER_PROCESSES:
            console.print(f"[yellow]warm-up reached only {len(actors)} pool process(es)[/yellow]")
    finally:
        worker.stop()
        store.dispose()
        celery.close()
    return results


# ------------------------------------------------------------------ running and reporting


def in_process_runs(rig: Rig, items: int, deadlines: list[float]) -> dict[str, dict[str, Steps]]:
    """(1), (2) and (2') item by item in turn, per language set; a set stops at its deadline (perf_counter
    seconds), though not before MIN_ITEMS per mode."""
    mailer = Mailer(rig.settings.smtp_host, rig.settings.smtp_port, rig.settings.mail_from)
    runtime = RuntimeBench(rig)
    modes: dict[str, Callable[[dict[str, Any], Steps], None]] = {
        BASELINE: lambda p, s: baseline_item(rig, mailer, p, s),
        RUNTIME: runtime.item,
        NO_TRACE: runtime.item,
    }

    def run(mode: str, payload: dict[str, Any], steps: Steps) -> None:
        rig.browser.trace = mode != NO_TRACE
        modes[mode](payload, steps)

    results: dict[str, dict[str, Steps]] = {}
    try:
        console.print("[dim]warm-up: one item per mode …[/dim]")
        for mode in modes:
            run(mode, rig.request(["de", "en", "es", "fr"]), Steps())
        for (label, languages), deadline in zip(LANGUAGE_SETS.items(), deadlines, strict=True):
            console.print(f"[dim]{label} languages: up to {items} items per mode, alternating …[/dim]")
            results[label] = {mode: Steps() for mode in modes}
            for n in range(items):
                if n >= MIN_ITEMS and time.perf_counter() > deadline:
                    console.print(f"[yellow]  time budget spent after {n} items per mode[/yellow]")
                    break
                payload = rig.request(languages)
                for mode in modes:
                    run(mode, payload, results[label][mode])
    finally:
        runtime.close()
    return results


def worker_counts(results: dict[str, dict[str, Steps]], items: int, seconds: float) -> dict[str, int]:
    """Items per language set for (3): what the baseline would finish in the time left, split evenly."""
    per_set = max(seconds, 0.0) / len(results)
    return {
        label: min(items, max(2 * WORKER_PROCESSES, int(per_set * steps[BASELINE].rate)))
        for label, steps in results.items()
    }


STEP_ROWS = (
    "browser context open",
    "page: login + policy read",
    "browser context close",
    "rules",
    "render PDFs",
    "build message",
    "SMTP send",
)
STORE_ROWS = [f"store: {call}" for call in STORE_CALLS]
BOT_STORE_ROWS = ["store: remember", "store: add_artifact"]  # what the bot stores through ctx


def _sum_ms(steps: Steps, names: list[str]) -> float | None:
    values = [v for n in names if (v := steps.ms(n)) is not None]
    return sum(values) if values else None


def runner_rest_ms(steps: Steps) -> float | None:
    """Runner.run minus the bot's process and the runner's own store calls: context, middleware, bookkeeping."""
    if "bot.process" not in steps.seconds:
        return None
    outside = [n for n in STORE_ROWS if n not in BOT_STORE_ROWS and n != "store: submit"]
    return (
        (steps.ms("Runner.run") or 0.0) - (steps.ms("bot.process") or 0.0) - (_sum_ms(steps, outside) or 0.0)
    )


def bot_rest_ms(steps: Steps) -> float:
    """What the bot (or the baseline loop) spends outside the named steps."""
    if "bot.process" not in steps.seconds:
        return steps.mean_ms - (_sum_ms(steps, list(STEP_ROWS)) or 0.0)
    return (steps.ms("bot.process") or 0.0) - (_sum_ms(steps, [*STEP_ROWS, *BOT_STORE_ROWS]) or 0.0)


def own_ms(steps: Steps) -> float | None:
    """The runtime's own cost per item: every store call plus the rest of Runner.run."""
    rest = runner_rest_ms(steps)
    return None if rest is None else rest + (_sum_ms(steps, STORE_ROWS) or 0.0)


def throughput_table(rig: Rig, results: dict[str, dict[str, Steps]], worker: dict[str, Throughput]) -> Table:
    table = Table(
        "mode",
        "languages",
        "items",
        "items/s",
        "ms/item mean",
        "ms/item median",
        "ratio to (1)",
        "runtime's own ms/item (store + runner)",
        title=f"ARK certificate bot end to end ({len(rig.policies)} active ARK policies, "
        f"{os.cpu_count()} CPUs)",
    )
    for label in LANGUAGE_SETS:
        base = results[label][BASELINE]
        for mode, steps in results[label].items():
            ratio = steps.rate / base.rate
            colour = "green" if ratio >= 0.9 else "yellow" if ratio >= 0.75 else "red"
            own = own_ms(steps)
            table.add_row(
                mode,
                label,
                str(len(steps.items)),
                f"{steps.rate:.2f}",
                f"{steps.mean_ms:.0f}",
                f"{1000 * statistics.median(steps.items):.0f}",
                f"[{colour}]{ratio:.2f}[/{colour}]",
                "–" if own is None else f"{own:.1f} ({100 * own / base.mean_ms:.1f} % of (1))",
            )
        if label in worker:
            w = worker[label]
            table.add_row(
                f"(3) worker, {WORKER_PROCESSES} processes",
                label,
                str(w.items),
                f"{w.rate:.2f}",
                f"{1000 * w.seconds / w.items:.0f} (wall / items)",
                "–",
                f"{w.rate / base.rate:.2f}",
                "–",
            )
        table.add_section()
    return table


def step_table(results: dict[str, dict[str, Steps]]) -> Table:
    columns = [results[label][mode] for label in LANGUAGE_SETS for mode in results[label]]
    table = Table(
        "step (ms per item, mean)",
        *(f"{mode}\n{label} lang." for label in LANGUAGE_SETS for mode in results[label]),
        title="Where an item's time goes",
    )

    def row(name: str, values: list[float | None], style: str = "") -> None:
        table.add_row(name, *("–" if v is None else f"{v:.1f}" for v in values), style=style)

    for name in STEP_ROWS:
        row(name, [s.ms(name) for s in columns])
    for name in STORE_ROWS:
        values = [s.ms(name) for s in columns]
        if any(values):
            row(name, values, "dim")
    row("store calls, all", [_sum_ms(s, STORE_ROWS) for s in columns])
    row("runner + middleware (rest of Runner.run)", [runner_rest_ms(s) for s in columns])
    row("bot glue (the rest of bot.process / the loop)", [bot_rest_ms(s) for s in columns])
    row("total", [s.mean_ms for s in columns], "bold")
    return table


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20, help="items per mode and language set, at most")
    parser.add_argument(
        "--budget",
        type=float,
        default=100.0,
        help="seconds the run should take, about (fewer items if short)",
    )
    parser.add_argument("--no-worker", action="store_true", help="skip (3), the worker subprocess")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (databases, worker log)")
    args = parser.parse_args()
    if args.items < MIN_ITEMS:
        parser.error(f"--items must be at least {MIN_ITEMS}")

    started = time.perf_counter()
    load_before = load()
    # cumulative shares of the budget at which each in-process language set stops; (3) gets the rest
    share = IN_PROCESS_SHARE if not args.no_worker else 0.9
    deadlines = [
        started + share * args.budget * (k + 1) / len(LANGUAGE_SETS) for k in range(len(LANGUAGE_SETS))
    ]
    tmp = Path(tempfile.mkdtemp(prefix="pb-bench-ark-"))
    clock = FixedClock(TUESDAY_10)
    worker: dict[str, Throughput] = {}
    try:
        console.print(f"[dim]seeding the sandbox with {CUSTOMERS} customers …[/dim]")
        home = SandboxSettings(data_dir=tmp / "sandbox-home", _env_file=None)
        with SandboxServer(home, clock, customers=CUSTOMERS) as server:
            settings = Settings(
                data_dir=tmp,
                smtp_host=server.smtp_host,
                smtp_port=server.smtp_port,
                _env_file=None,
            )
            ark = ArkSettings(policy_admin_url=server.url, _env_file=None)
            browser = ProcessBrowser(settings)  # tracing on, as the worker's browser
            rig = Rig(server, clock, settings, ark, browser, active_ark_policies(server), tmp)
            try:
                results = in_process_runs(rig, args.items, deadlines)
            finally:
                browser.close()
            if not args.no_worker:
                left = started + args.budget - time.perf_counter() - WORKER_FIXED_SECONDS
                counts = worker_counts(results, args.items, left)
                console.print(f"[dim](3) worker subprocess, {WORKER_PROCESSES} processes: warm-up, then "
                              f"{', '.join(f'{n} items of {lb}' for lb, n in counts.items())} …[/dim]")  # fmt: skip
                worker = worker_runs(rig, counts)
    finally:
        if args.keep:
            console.print(f"databases and worker log kept in {tmp}")
        else:
            with suppress(OSError):
                shutil.rmtree(tmp)
    console.print(throughput_table(rig, results, worker))
    console.print(step_table(results))
    console.print(
        "[dim](2) and (2') include Store.submit. (3) is timed from the first submit until the last item "
        "is done; its pool processes run side by side, so its ratio can exceed 1. "
        f"Whole run {time.perf_counter() - started:.0f} s; load average (1/5/15 min) before "
        f"{load_before}, after {load()}.[/dim]"
    )


if __name__ == "__main__":
    main()
