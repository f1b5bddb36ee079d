"""The sandbox policy administration web app ("Bestandsführung") and its Postfach, served together.

Bots drive these pages through page objects written from the contract below; they never import
sandbox code. All page texts are German. Everything a bot reads carries an ``id`` (unique
elements) or a ``data-field`` attribute (values, repeated rows). Each ``data-field`` element also
carries ``data-value`` with the machine value: ISO date ``YYYY-MM-DD``, codes (``ARK``), decimals
(``49.90``), ``true``/``false``, ``""`` for none; its text is the German display form.

Under the alternative layout (fault ``alt_layout``) every id and data-field below is rendered with
the prefix ``v2-`` (``#username`` -> ``#v2-username``, ``[data-field=iban]`` ->
``[data-field=v2-iban]``); CSS classes, URLs, form field names and ``data-value`` do not change.
Only ``#system-unavailable``, ``#system-error`` and ``[data-field=next-opening]`` stay the same in
both layouts.

URLs (GET unless said):
    /login, POST /login (form: username, password, next), POST /logout
    /suche?q=...            customer search (name, customer id "K100001" or policy number "ARK-4711-0001")
    /kunden/{customer_id}   customer page
    /vertraege/{number}     policy page
    POST /vertraege/{number}/konten/{debit|credit}  (form: iban, authority) -> 303 to the policy page
                            (?gespeichert=<role>); a refused change answers 422 with the policy page
    POST /vertraege/{number}/kennzeichen           (form checkboxes: dunning_active, cancellation_pending)
    /postfach/{customer_id}, /postfach/{customer_id}/{no}, /postfach/{customer_id}/{no}/anhang/{idx}
    /abteilungen/{voll|zusatz|pflege} (+ /{no}, /{no}/anhang/{idx})   department mailboxes
Without a session every page answers 303 to /login?next=<path>. Outside the service hours of
"policy_admin" every page (also /login) answers 503; an injected error answers 500.

Element contract ([df=x] means [data-field=x]):

=================  ==================================================================================
Page               Elements
=================  ==================================================================================
every page         #page-title (h1); when logged in: #current-user, #logout-submit, #nav-search
login              #login-form, #username, #password, #login-submit, #login-error (wrong login, 401)
search             #search-form, #search-query, #search-submit, #search-results (table),
                   rows [df=search-result] with [df=customer-id] [df=name] [df=birth-date] [df=city]
                   [df=intermediary] [df=customer-link] (a); #search-empty when nothing was found;
                   #search-count (data-value = number of rows)
customer           #customer-data with [df=customer-id] [df=title] [df=first-name] [df=last-name]
                   [df=birth-date] [df=street] [df=zip] [df=city] [df=country] [df=email]
                   [df=intermediary] (data-value true/false, text ja/nein); #postfach-link (a);
                   #policy-list (table), rows [df=policy-row] with [df=policy-number] [df=line]
                   [df=health-department] [df=business-unit] [df=status] [df=start] [df=end]
                   [df=tariff] [df=policy-link] (a)
policy             #policy-data with [df=policy-number] [df=line] (ARK|KV|LEBEN|KOMPOSIT)
                   [df=health-department] (Voll|Zusatz|Pflege|"") [df=business-unit]
                   (Kranken|Leben|Komposit) [df=status] (aktiv|ruhend|storniert) [df=start] [df=end]
                   [df=intermediary-customer-id] (customer id of the policy's intermediary, "" for none)
                   [df=intermediary-name];
                   #policy-tariff with [df=tariff] [df=max-trip-days] (int or "") [df=premium]
                   [df=payment-frequency]
                   [df=holder-customer-id] [df=holder-name] #holder-link (a)
                   [df=holder-country] (ISO 3166-1 alpha-2 of the holder's residence);
                   ARK policies only, in #policy-tariff, what the travel tariff covers: [df=area]
                   (WORLD_EXCEPT_DE|EUROPE, text "weltweit außer Deutschland"|"Europa außer
                   Deutschland"), [df=sum-insured] (per insured person: decimal, or "unlimited",
                   text "unbegrenzt"), [df=deductible] (decimal, "0.00" for none, text "keine"),
                   [df=cover-urgent-treatment] [df=cover-hospital] [df=cover-repatriation]
                   [df=cover-repatriation-of-remains] [df=direct-settlement] (true/false);
                   #critical-process (only when a flag is set or the holder is the policy's own
                   intermediary);
                   #insured-persons (table), rows [df=insured-person] with [df=first-name]
                   [df=last-name] [df=birth-date] [df=role] (VN|Ehepartner|Kind)
                   [df=covered-from] (the day this person's cover begins: the policy's start,
                   or later for a person added later);
                   per role R in debit, credit: #account-R (section) with [df=iban] (compact) [df=bic]
                   ("" when the registry knows no BIC) [df=bank-name] [df=holder] (always the policy
                   holder), for debit [df=mandate-reference] (the SEPA mandate; a new one after
                   each change of the debit account), or [df=account-missing] (data-value R) when there is none;
                   form #account-R-form with #account-R-iban, #account-R-authority (who ordered the
                   change: "bot" or "clerk:<name>"; required), #account-R-submit;
                   after a refused change #account-R-error (HTTP 422, the German reason: length,
                   checksum, country format, unknown bank code, not a SEPA country, no authority,
                   the IBAN already stored) and nothing is stored; after a stored change
                   #account-R-saved;
                   #account-history (table; outside the #account-R sections), rows
                   [df=account-change], newest first, with [df=changed-at] (ISO UTC instant, the
                   system's clock) [df=account-role] (debit|credit) [df=old-iban] ("" for none)
                   [df=new-iban] [df=new-bic] [df=new-bank-name] [df=authority] (as ordered; text
                   "Robot (Dunkelverarbeitung)" | "Sachbearbeitung: <name>") [df=changed-by] (the
                   login that entered it); #account-history-empty when there is no change;
                   #flags with [df=dunning-active] [df=cancellation-pending] (true/false);
                   form #flags-form with checkboxes #flag-dunning-active,
                   #flag-cancellation-pending and #flags-submit; after saving #flags-saved
mailbox list       #mailbox-name, #message-list (table), rows [df=message-row] with [df=message-no]
                   [df=subject] [df=sender] [df=received-at] [df=attachment-count]
                   [df=message-link] (a); #mailbox-empty when there is no message
message            #message-subject, #message-from, #message-to, #message-date, #message-id,
                   #message-body, #attachment-list, rows [df=attachment] with [df=filename]
                   [df=content-type] [df=size] [df=sha256] [df=attachment-link] (a, download)
503 (closed)       <body id="system-unavailable">, [df=next-opening] (data-value ISO UTC instant),
                   header Retry-After (seconds)
500 (fault)        <body id="system-error">
=================  ==================================================================================

Admin JSON API (bearer token PORTALBOTS_SANDBOX_ADMIN_TOKEN; loopback clients only unless
PORTALBOTS_SANDBOX_ALLOW_REMOTE, which needs a token of its own; not subject to hours or faults): see
sandbox.admin and GET /healthz.

The customer portal's contract overview (JSON, bearer token PORTALBOTS_SANDBOX_PORTAL_TOKEN, no web login,
at any hour; fault knob ``portal_down`` answers 503): GET /portal/kunden/{customer_id}/vertraege lists the
customer's policies in force; see sandbox.contracts.
"""

from __future__ import annotations

import signal
import threading
from datetime import UTC
from pathlib import Path
from typing import Any

from bots.runtime.calendar import ServiceCalendar
from bots.runtime.clock import Clock, clock_from_shift
from bots.runtime.serve import ThreadedServer, free_port
from sandbox.app import SYSTEM, create_app
from sandbox.data import SandboxDB
from sandbox.faults import FaultInjector, Faults
from sandbox.postfach import start_smtp
from sandbox.seed import seed, summarize
from sandbox.settings import SandboxSettings


def sandbox_db_path(settings: SandboxSettings, data_dir: Path | None = None) -> Path:
    return (data_dir or settings.data_dir / "sandbox") / "sandbox.db"


class SandboxServer:
    """The web app (uvicorn in a background thread) and the Postfach SMTP server, started together."""

    def __init__(
        self,
        settings: SandboxSettings,
        clock: Clock,
        *,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        http_port: int = 0,
        smtp_port: int = 0,
        customers: int | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.host = host
        self.smtp_host = host
        self.smtp_port = smtp_port or free_port(host)
        self.db = SandboxDB(sandbox_db_path(settings, data_dir))
        if customers is not None:
            seed(self.db, customers)
        self.faults = FaultInjector(faults)
        self.app = create_app(self.db, clock, settings, self.faults)
        self._http = ThreadedServer(self.app, host, http_port, name="sandbox-http")
        self.http_port = self._http.port
        self.url = self._http.url
        self._smtp: Any = None

    def start(self) -> SandboxServer:
        self._http.start()
        try:
            self._smtp = start_smtp(self.db, self.smtp_host, self.smtp_port, self.clock, self.faults)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None
        self.faults.release_hangs()  # a hung request answers, so the server can finish
        self._http.stop()
        self.db.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def seed_command(customers: int, as_json: bool, settings: SandboxSettings) -> str:
    """Seed the sandbox database from settings; the summary as JSON or one German line."""
    with SandboxDB(sandbox_db_path(settings)) as db:
        summary = seed(db, customers)
        if as_json:
            return summary.summary_json()
        return f"{len(summary.customers)} Kunden mit {summary.policy_count} Verträgen angelegt in {db.path}"


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class RemoteRefused(RuntimeError):
    """The sandbox shows invented customers' full IBANs and mailboxes: beyond loopback only when told."""


MIN_ADMIN_TOKEN = 16


def check_admin_token(settings: SandboxSettings) -> None:
    """Served beyond loopback, the admin API needs a secret of its own: not the published development token,
    and at least MIN_ADMIN_TOKEN characters."""
    if not settings.sandbox_allow_remote:
        return
    token = settings.sandbox_admin_token.get_secret_value()
    default = SandboxSettings.model_fields["sandbox_admin_token"].default.get_secret_value()
    if token == default or len(token) < MIN_ADMIN_TOKEN:
        raise RemoteRefused(
            "PORTALBOTS_SANDBOX_ALLOW_REMOTE=true needs PORTALBOTS_SANDBOX_ADMIN_TOKEN: a secret of at least "
            f"{MIN_ADMIN_TOKEN} characters, not the development token"
        )


def run_forever(settings: SandboxSettings) -> None:
    """Serve the web app and the Postfach on the ports from settings until Ctrl-C."""
    if settings.sandbox_host not in LOOPBACK_HOSTS and not settings.sandbox_allow_remote:
        raise RemoteRefused(
            f"refusing to serve the sandbox on {settings.sandbox_host}: it answers loopback only unless "
            "PORTALBOTS_SANDBOX_ALLOW_REMOTE=true (and then set PORTALBOTS_SANDBOX_ADMIN_TOKEN)"
        )
    check_admin_token(settings)
    clock = clock_from_shift(settings.clock_shift)
    faults = Faults.from_json(settings.sandbox_faults)
    server = SandboxServer(
        settings,
        clock,
        host=settings.sandbox_host,
        http_port=settings.sandbox_port,
        smtp_port=settings.smtp_port,
        faults=faults,
    )
    if server.db.customer_count() == 0:
        seed(server.db, 50)
    count = len(summarize(server.db).customers)
    with server:
        calendar = ServiceCalendar.from_settings(SYSTEM, settings)
        now = clock.now()
        state = "geöffnet" if calendar.is_open(now) else "geschlossen"
        print(f"Bestandsführung (Sandbox): {server.url}  (Anmeldung: {settings.sandbox_user} / "
              f"{settings.sandbox_password.get_secret_value()})")  # fmt: skip
        print(f"Postfach-SMTP:             {server.smtp_host}:{server.smtp_port}")
        print(f"Daten: {server.db.path} ({count} Kunden); Servicezeiten {settings.service_hours}, "
              f"jetzt {state} ({now.astimezone(UTC):%Y-%m-%d %H:%M} UTC). Beenden mit Strg+C.")  # fmt: skip
        # SIGTERM (service managers, the demo) stops as cleanly as Ctrl-C
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("Sandbox beendet.")
