"""`portalbots demo`: every bot end to end on the embedded defaults, with the sandbox as core system.

What runs: the sandbox (policy administration web app + Postfach SMTP) in this process, the intake API in
this process, one `portalbots worker` process (Celery on the embedded filesystem broker, SQLite store,
headless Chromium). Each bot contributes its scenario (`Bot.demo()`): requests in business hours and on a
Saturday night, and a summary line per finished item. Requests go in through the intake API as the portal
sends them. Time is moved with the clock shift every process reads, so the demo stands in business hours,
then on a Saturday night, then at Monday's opening, whatever the wall clock says.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from babel.dates import format_datetime
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bots.runtime.bot import Bot, Registry
from bots.runtime.calendar import ServiceCalendar
from bots.runtime.clock import ShiftedClock
from bots.runtime.dispatch import CeleryDispatcher, configure
from bots.runtime.intake import create_intake_app
from bots.runtime.mail import Mailer
from bots.runtime.maintenance import tick
from bots.runtime.migrate import upgrade
from bots.runtime.models import WorkItem
from bots.runtime.scenario import DemoRequest, DemoScenario
from bots.runtime.serve import ThreadedServer
from bots.runtime.settings import Settings
from bots.runtime.states import Status
from bots.runtime.store import Store
from sandbox.seed import summarize
from sandbox.server import SandboxServer
from sandbox.settings import SandboxSettings

SYSTEM = "policy_admin"
WAIT_SECONDS = 240.0
STATUS_DE = {
    "pending": "wartet",
    "running": "läuft",
    "done": "erledigt",
    "rejected": "abgelehnt",
    "handed_off": "an Sachbearbeitung",
    "failed": "fehlgeschlagen",
    "deferred": "zurückgestellt",
    "abandoned": "aufgegeben",
}
STATUS_STYLE = {"done": "green", "rejected": "yellow", "deferred": "cyan", "failed": "red"}
_FINAL = {Status.DONE, Status.REJECTED, Status.FAILED, Status.HANDED_OFF, Status.ABANDONED}

out = Console(width=None if sys.stdout.isatty() else 150)


@dataclass
class Submission:
    """A demo request of one bot, as sent and as answered."""

    bot: Bot
    request: DemoRequest
    key: str = field(default_factory=lambda: f"demo-{uuid.uuid4().hex[:12]}")
    answer: int = 0
    item_id: int | None = None
    refusal: str = ""

    @property
    def label(self) -> str:
        return self.request.label


def run_demo(settings: Settings, at: str | None = None, customers: int = 20) -> int:
    tz = ZoneInfo(settings.timezone)
    calendar = ServiceCalendar.from_settings(SYSTEM, settings)
    start = _start_time(at, tz, calendar)
    saturday = _next_saturday_night(start, tz)
    monday = calendar.next_opening(saturday)

    home = (settings.data_dir / "demo").resolve()
    out.rule("[bold]PortalBots-Demo")
    out.print(f"Arbeitsverzeichnis {home} (wird neu angelegt); Datenbank SQLite, Broker eingebettet.")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    demo = settings.model_copy(update={"data_dir": home, "database_url": None, "broker_url": None})
    url = demo.resolved_database_url()
    upgrade(url)

    clock = ShiftedClock(start - datetime.now(UTC))
    sandbox_settings = SandboxSettings(**demo.model_dump())
    with SandboxServer(sandbox_settings, clock, data_dir=home / "sandbox", customers=customers) as sandbox:
        demo = demo.model_copy(update={"smtp_host": sandbox.smtp_host, "smtp_port": sandbox.smtp_port})
        out.print(f"Sandbox-Bestandsführung {sandbox.url} (Anmeldung {sandbox_settings.sandbox_user}), "
                  f"Postfach-SMTP {sandbox.smtp_host}:{sandbox.smtp_port}, {customers} Kunden angelegt.")  # fmt: skip
        store = Store(url, clock)
        dispatcher = CeleryDispatcher(configure(demo))
        registry = Registry.discover(demo.bots)
        scenarios = {bot.queue: (bot, scenario) for bot in registry if (scenario := bot.demo()) is not None}
        out.print(f"Bots: {', '.join(bot.title for bot, _ in scenarios.values())}")
        intake = ThreadedServer(create_intake_app(store, registry, dispatcher, demo), name="intake")
        with intake:
            out.print(f"Intake-API {intake.url}/v1/…")
            token = demo.intake_token.get_secret_value()
            portal = httpx.Client(
                base_url=intake.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            worker = Worker(demo, sandbox.url, list(scenarios), home / "worker.log")
            try:
                mailer = Mailer(demo.smtp_host, demo.smtp_port, demo.mail_from)
                phases = Phases(store, dispatcher, portal, worker, clock, tz, mailer)
                all_subs = phases.run(
                    list(scenarios.values()), summarize(sandbox.db).customers, start, saturday, monday
                )
            finally:
                worker.stop()
                portal.close()
        _summary(store, all_subs, tz)
        _export_postfach(sandbox, store, all_subs, home / "postfach")
        store.dispose()
    out.print(f"\nProtokoll des Workers: {home / 'worker.log'}")
    return 0


@dataclass
class Phases:
    """The demo's day: business hours, Saturday night, Monday's opening."""

    store: Store
    dispatcher: CeleryDispatcher
    portal: httpx.Client
    worker: Worker
    clock: ShiftedClock
    tz: ZoneInfo
    mailer: Mailer

    def run(
        self,
        scenarios: list[tuple[Bot, DemoScenario]],
        customers: Sequence[dict[str, Any]],
        start: datetime,
        saturday: datetime,
        monday: datetime,
    ) -> list[Submission]:
        seeded = list(customers)
        weekday = [
            Submission(bot, request)
            for bot, scenario in scenarios
            for request in scenario.daytime(seeded, start.astimezone(self.tz).date())
        ]
        self.stand_at(start, "Werktag in der Servicezeit")
        for sub in weekday:
            _submit(self.portal, sub)
        first = weekday[0]
        replay = Submission(
            first.bot,
            dataclasses.replace(
                first.request, label="dieselbe Anfrage noch einmal (gleicher Idempotency-Key)"
            ),
            first.key,
        )
        _submit(self.portal, replay)
        _wait(self.store, weekday, lambda i: i.status in _FINAL, "Anfragen bearbeitet")
        self.housekeeping()

        night = [
            Submission(bot, request)
            for bot, scenario in scenarios
            for request in scenario.night(seeded, saturday.astimezone(self.tz).date())
        ]
        self.stand_at(saturday, "Bestandsführung geschlossen")
        for sub in night:
            _submit(self.portal, sub)
        # each waits for the opening, or was decided at once by the request's own checks
        settled = {Status.DEFERRED, *_FINAL}
        _wait(self.store, night, lambda i: i.status in settled, "zurückgestellt bis zur Servicezeit")
        self.store.record_backlog()  # the console's backlog chart shows the night
        for sub in night:
            if sub.item_id is not None:
                item = self.store.get(sub.item_id)
                if item.status != Status.DEFERRED:
                    code = item.error.code if item.error else item.status.value
                    out.print(f"  Auftrag {item.id} sofort entschieden ({code}), ohne auf Montag zu warten.")
                    continue
                out.print(f"  Auftrag {item.id} wartet bis [bold]{_de(item.not_before or monday, self.tz)}[/bold] "
                          f"(Kunde sah im Portal: „bis zum nächsten Werktag“).")  # fmt: skip

        self.stand_at(monday, "Montag, Öffnung der Bestandsführung")
        self.housekeeping()
        _wait(self.store, night, lambda i: i.status in _FINAL, "nach Öffnung bearbeitet")
        self.housekeeping()
        return [*weekday, replay, *night]

    def housekeeping(self) -> None:
        """One round of what `portalbots beat` does: release what is due, send the outbox, and a snapshot of
        the backlog for the console's chart."""
        done = tick(self.store, self.dispatcher, mailer=self.mailer)
        self.store.record_backlog()
        if done["released"] or done["mailed"]:
            out.print(f"  Wartung: {done['released']} zurückgestellte Aufträge freigegeben, "
                      f"{done['mailed']} Nachrichten an Kunden ins Postfach versandt.")  # fmt: skip

    def stand_at(self, moment: datetime, what: str) -> None:
        self.clock.shift = moment - datetime.now(UTC)
        out.rule(f"{_de(moment, self.tz)} – {what}")
        self.worker.start(self.clock.shift.total_seconds())


class Worker:
    """One `portalbots worker` process; restarted whenever the demo moves the clock."""

    def __init__(self, settings: Settings, sandbox_url: str, queues: list[str], log: Path) -> None:
        self.settings = settings
        self.sandbox_url = sandbox_url
        self.queues = queues
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, shift_seconds: float) -> None:
        self.stop()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTALBOTS_")}
        s = self.settings
        env.update(
            PORTALBOTS_DATA_DIR=str(s.data_dir),
            PORTALBOTS_SANDBOX_URL=self.sandbox_url,
            PORTALBOTS_SMTP_HOST=s.smtp_host,
            PORTALBOTS_SMTP_PORT=str(s.smtp_port),
            PORTALBOTS_CLOCK_SHIFT=f"{shift_seconds:.3f}",
            PORTALBOTS_TIMEZONE=s.timezone,
            PORTALBOTS_SERVICE_HOURS=s.service_hours,
            PORTALBOTS_HOLIDAY_STATE=s.holiday_state,
            PORTALBOTS_CLOSING_DAYS=s.closing_days,
            PORTALBOTS_CHROMIUM_PATH=s.chromium_path,
        )
        if s.bots:
            env["PORTALBOTS_BOTS"] = s.bots
        if s.systems:
            env["PORTALBOTS_SYSTEMS"] = json.dumps({k: v.model_dump() for k, v in s.systems.items()})
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bots.cli", "worker", "--queues", ",".join(self.queues), "--concurrency", "2",
                 "--loglevel", "WARNING"],
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def check(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the worker stopped (exit {self.proc.returncode}):\n{tail}")


def _start_time(at: str | None, tz: ZoneInfo, calendar: ServiceCalendar) -> datetime:
    if at:
        moment = datetime.fromisoformat(at)
        return moment if moment.tzinfo else moment.replace(tzinfo=tz)
    day = datetime.now(tz).date()
    for _ in range(30):  # the next working day at 10:00 local time
        candidate = datetime(day.year, day.month, day.day, 10, 0, tzinfo=tz)
        if candidate > datetime.now(tz) and calendar.is_open(candidate):
            return candidate
        day += timedelta(days=1)
    raise RuntimeError("no opening of the core systems within 30 days; check PORTALBOTS_SERVICE_HOURS")


def _de(moment: datetime, tz: ZoneInfo) -> str:
    return format_datetime(moment.astimezone(tz), "EEEE, dd.MM.yyyy HH:mm", locale="de") + " Uhr"


def _next_saturday_night(after: datetime, tz: ZoneInfo) -> datetime:
    day = after.astimezone(tz).date() + timedelta(days=1)
    while day.weekday() != 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 23, 0, tzinfo=tz)


def _submit(portal: httpx.Client, sub: Submission) -> None:
    route, headers = f"/v1/{sub.bot.route}", {"Idempotency-Key": sub.key}
    if sub.request.files:
        files = [("files", (f.filename, f.data, f.media_type)) for f in sub.request.files]
        r = portal.post(route, data=sub.request.body, files=files, headers=headers)
    else:
        r = portal.post(route, json=sub.request.body, headers=headers)
    sub.answer = r.status_code
    if r.status_code == 202:
        sub.item_id = r.json()["id"]
        replay = " (Wiederholung erkannt, derselbe Auftrag)" if r.headers.get("Idempotent-Replayed") else ""
        out.print(f"  Portal → {sub.label}: [green]202[/green] Auftrag {sub.item_id}{replay}")
    else:
        fields = ", ".join(f["field"] for f in r.json().get("fields", []))
        sub.refusal = f"{r.json().get('message', '')} ({fields})" if fields else r.json().get("message", "")
        out.print(f"  Portal → {sub.label}: [yellow]{r.status_code}[/yellow] {sub.refusal}")


def _wait(store: Store, subs: list[Submission], done: Callable[[WorkItem], bool], what: str) -> None:
    ids = [s.item_id for s in subs if s.item_id is not None]
    deadline = time.monotonic() + WAIT_SECONDS
    with Progress(
        TextColumn("  {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=out, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task(what, total=len(ids))
        while True:
            finished = sum(1 for i in ids if done(store.get(i)))
            progress.update(task, completed=finished)
            if finished == len(ids):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the demo waited {WAIT_SECONDS:.0f} s for: {what}")
            time.sleep(0.2)


def _summary(store: Store, subs: list[Submission], tz: ZoneInfo) -> None:
    table = Table(title="Ergebnis", show_lines=False)
    for col in ("Auftrag", "Anfrage", "Kunde", "Status", "Ergebnis"):
        table.add_column(col, overflow="fold")
    seen: set[int] = set()
    for sub in subs:
        if sub.item_id is None:
            customer = str(sub.request.body.get("customer_id", ""))
            refused = f"vom Intake abgewiesen: {sub.refusal}"
            table.add_row("–", sub.label, customer, f"[yellow]{sub.answer}[/yellow]", refused)
            continue
        if sub.item_id in seen:
            customer = str(sub.request.body.get("customer_id", ""))
            table.add_row(str(sub.item_id), sub.label, customer, "–", "kein zweiter Auftrag")
            continue
        seen.add(sub.item_id)
        item = store.get(sub.item_id)
        style = STATUS_STYLE.get(item.status.value, "white")
        table.add_row(
            str(item.id), sub.label, item.customer_id or "", f"[{style}]{STATUS_DE[item.status.value]}[/{style}]",
            _outcome(sub.bot, item, tz),
        )  # fmt: skip
    out.print(table)


def _outcome(bot: Bot, item: WorkItem, tz: ZoneInfo) -> str:
    scenario = bot.demo()
    if item.status == Status.DONE and scenario is not None:
        return scenario.outcome(item)
    if item.error is not None:
        return (
            item.error.message if item.error.kind == "reject" else f"{item.error.code}: {item.error.message}"
        )
    if item.not_before is not None:
        return f"wartet bis {item.not_before.astimezone(tz):%d.%m.%Y %H:%M}"
    return ""


def _export_postfach(sandbox: SandboxServer, store: Store, subs: list[Submission], folder: Path) -> None:
    """Write the PDFs each customer found in their Postfach, as delivered, and list their paths."""
    customers = sorted({store.get(s.item_id).customer_id or "" for s in subs if s.item_id is not None})
    paths: list[Path] = []
    for customer in customers:
        for message in sandbox.db.messages("postfach", customer):
            for attachment in message.attachments:
                got = sandbox.db.attachment("postfach", customer, message.no, attachment.idx)
                if got is None:
                    continue
                target = folder / customer / attachment.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(got[2])
                paths.append(target)
    out.print(f"\n[bold]Zugestellte PDFs[/bold] ({len(paths)}, aus den Postfächern der Kunden):")
    for path in paths:
        out.print(f"  {path}")
    notices = [
        (customer, message.subject)
        for customer in customers
        for message in sandbox.db.messages("postfach", customer)
        if not message.attachments
    ]
    out.print(f"\n[bold]Nachrichten ohne Anhang[/bold] ({len(notices)}: Absagen und Hinweise an die Kunden):")
    for customer, subject in notices:
        out.print(f"  {customer}: {subject}", highlight=False)
