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
    POST /vertraege/{number}/konten/{debit|credit}  (form: iban, holder) -> 303 to the policy page
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
                   (Kranken|Leben|Komposit) [df=status] (aktiv|ruhend|storniert) [df=start] [df=end];
                   #policy-tariff with [df=tariff] [df=max-trip-days] (int or "") [df=premium]
                   [df=payment-frequency]
                   [df=holder-customer-id] [df=holder-name] #holder-link (a);
                   #critical-process (only when a flag is set);
                   #insured-persons (table), rows [df=insured-person] with [df=first-name]
                   [df=last-name] [df=birth-date] [df=role] (VN|Ehepartner|Kind);
                   per role R in debit, credit: #account-R (section) with [df=iban] [df=bic]
                   [df=bank-name] [df=holder], or [df=account-missing] when there is none;
                   form #account-R-form with #account-R-iban, #account-R-holder, #account-R-submit;
                   after a rejected change #account-R-error (HTTP 422, German reason);
                   after a stored change #account-R-saved;
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

Admin JSON API (no login; loopback only; not subject to hours or faults): see sandbox.admin and
GET /healthz.
"""

from __future__ import annotations

import asyncio
import re
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBankCode,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    InvalidStructure,
    SchwiftyException,
)

from bots.runtime.calendar import ServiceCalendar
from bots.runtime.clock import Clock, clock_from_shift
from bots.runtime.serve import ThreadedServer, free_port
from sandbox.admin import admin_router, download_headers
from sandbox.data import SandboxDB
from sandbox.faults import FaultInjector, Faults
from sandbox.layout import Layout, de_date, de_datetime, de_money, format_iban, iso, yes_no
from sandbox.models import ACCOUNT_ROLES, ROLE_LABELS, Account, MailMessage
from sandbox.postfach import (
    DEPARTMENT,
    DEPARTMENTS,
    POSTFACH,
    department_address,
    postfach_address,
    start_smtp,
)
from sandbox.seed import seed, summarize
from sandbox.settings import SandboxSettings

HERE = Path(__file__).parent
SESSION_COOKIE = "bestand_session"
SYSTEM = "policy_admin"
OPEN_PREFIXES = ("/admin/", "/healthz", "/static/")
LINE_LABELS = {
    "ARK": "ARK – Auslandsreisekranken",
    "KV": "KV – Krankenversicherung",
    "LEBEN": "Leben",
    "KOMPOSIT": "Komposit",
}
CUSTOMER_ID_RE = re.compile(r"^K\d{4,}$", re.IGNORECASE)
POLICY_NUMBER_RE = re.compile(r"^[A-Z]{2,4}-\d{3,}-\d{3,}$", re.IGNORECASE)


def sandbox_db_path(settings: SandboxSettings, data_dir: Path | None = None) -> Path:
    return (data_dir or settings.data_dir / "sandbox") / "sandbox.db"


def iban_problem(iban: IBAN | str) -> str | None:
    """A German reason why `iban` cannot be used for a debit or credit account, or None."""
    try:
        parsed = iban if isinstance(iban, IBAN) else IBAN(iban)
    except InvalidCountryCode:
        return "Unbekanntes Länderkennzeichen in der IBAN."
    except InvalidLength:
        return "Die IBAN hat nicht die richtige Länge."
    except InvalidChecksumDigits:
        return "Die Prüfziffer der IBAN ist falsch."
    except InvalidBankCode:
        return "Die Bankleitzahl in der IBAN ist unbekannt."
    except InvalidStructure:
        return "Die IBAN enthält unzulässige Zeichen."
    except SchwiftyException:
        return "Die IBAN ist ungültig."
    if parsed.bic is None:
        return "Zu dieser IBAN ist keine Bank bekannt."
    return None


def _templates(tz: ZoneInfo) -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.filters.update(
        de_date=de_date,
        iso=iso,
        de_money=de_money,
        yes_no=yes_no,
        iban=format_iban,
        de_datetime=lambda value: de_datetime(value, tz),
    )
    env.globals.update(LINE_LABELS=LINE_LABELS, ROLE_LABELS=ROLE_LABELS, DEPARTMENTS=DEPARTMENTS)
    return templates


def create_app(db: SandboxDB, clock: Clock, settings: SandboxSettings, faults: FaultInjector) -> FastAPI:
    """The web app: pages behind login, service hours and faults; admin API and health outside them."""
    calendar = ServiceCalendar.from_settings(SYSTEM, settings)
    tz = ZoneInfo(settings.timezone)
    templates = _templates(tz)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        faults.bind_loop(asyncio.get_running_loop())
        yield
        faults.release_hangs()

    app = FastAPI(title="Bestandsführung (Sandbox)", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(admin_router(db, faults))

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        layout = getattr(request.state, "layout", Layout(faults.faults.alt_layout))
        context.update(L=layout, user=getattr(request.state, "user", None))
        return templates.TemplateResponse(request, name, context, status_code=status)

    def is_open(now: datetime, current: Faults) -> bool:
        if current.force_closed:
            return False
        return current.force_open or calendar.is_open(now)

    @app.middleware("http")
    async def pages_guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if path.startswith(OPEN_PREFIXES):
            return await call_next(request)
        if faults.hangs(path):
            await faults.hang()
        current = faults.faults
        if current.latency_ms:
            await asyncio.sleep(current.latency_ms / 1000)
        request.state.layout = Layout(current.alt_layout)
        now = clock.now()
        if not is_open(now, current):
            return closed_page(request, now, current)
        if faults.should_fail():
            return render(request, "error.html", 500, title="Interner Fehler")
        token = request.cookies.get(SESSION_COOKIE)
        user = await asyncio.to_thread(db.session_user, token) if token else None
        request.state.user = user
        if user is None and path not in ("/login", "/favicon.ico"):
            return RedirectResponse(f"/login?next={quote(path)}", status_code=303)
        return await call_next(request)

    def closed_page(request: Request, now: datetime, current: Faults) -> Response:
        opening: datetime | None = None
        if not current.force_closed:
            opening = calendar.next_opening(now)
        reason = "Wartungsfenster" if current.force_closed else calendar.closed_reason(now)
        response = render(
            request, "unavailable.html", 503, title="System nicht verfügbar", opening=opening, reason=reason
        )
        if opening is not None:
            response.headers["Retry-After"] = str(max(1, int((opening - now).total_seconds())))
        return response

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        now = clock.now()
        current = faults.faults
        open_now = is_open(now, current)
        opening = None if open_now or current.force_closed else calendar.next_opening(now).isoformat()
        return {"status": "ok", "service_open": open_now, "next_opening": opening, "now": now.isoformat()}

    # -- login -----------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def home() -> Response:
        return RedirectResponse("/suche", status_code=303)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/suche") -> Response:
        return render(request, "login.html", title="Anmeldung", next=_safe_next(next), error=None)

    @app.post("/login", response_class=HTMLResponse)
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        next: str = Form("/suche"),
    ) -> Response:
        expected = settings.sandbox_password.get_secret_value()
        if username != settings.sandbox_user or password != expected:
            return render(
                request,
                "login.html",
                401,
                title="Anmeldung",
                next=_safe_next(next),
                error="Benutzername oder Kennwort ist falsch.",
                username=username,
            )
        token = db.create_session(username, clock.now())
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax")
        return response

    @app.post("/logout")
    def logout(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            db.delete_session(token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- customers and policies ------------------------------------------------------------------

    @app.get("/suche", response_class=HTMLResponse)
    def search(request: Request, q: str = "") -> Response:
        query = q.strip()
        results = None
        if query:
            if CUSTOMER_ID_RE.match(query):
                results = db.search_customers(customer_id=query)
            elif POLICY_NUMBER_RE.match(query):
                results = db.search_customers(policy_number=query)
            else:
                results = db.search_customers(name=query)
        return render(request, "search.html", title="Kundensuche", query=query, results=results)

    @app.get("/kunden/{customer_id}", response_class=HTMLResponse)
    def customer_page(request: Request, customer_id: str) -> Response:
        customer = db.customer(customer_id)
        if customer is None:
            return not_found(request, f"Kunde {customer_id} ist nicht vorhanden.")
        return render(
            request,
            "customer.html",
            title=f"Kunde {customer.customer_id}",
            customer=customer,
            policies=db.policies_of(customer.customer_id),
            message_count=len(db.messages(POSTFACH, customer.customer_id)),
        )

    def policy_page(
        request: Request,
        number: str,
        status: int = 200,
        errors: dict[str, str] | None = None,
        entered: dict[str, dict[str, str]] | None = None,
    ) -> Response:
        policy = db.policy(number)
        if policy is None:
            return not_found(request, f"Vertrag {number} ist nicht vorhanden.")
        accounts = {a.role: a for a in db.accounts(number)}
        return render(
            request,
            "policy.html",
            status,
            title=f"Vertrag {policy.policy_number}",
            policy=policy,
            holder=db.customer(policy.customer_id),
            insured=db.insured_persons(number),
            accounts=accounts,
            roles=ACCOUNT_ROLES,
            errors=errors or {},
            entered=entered or {},
            saved=request.query_params.get("gespeichert", ""),
        )

    @app.get("/vertraege/{number}", response_class=HTMLResponse)
    def policy_view(request: Request, number: str) -> Response:
        return policy_page(request, number)

    @app.post("/vertraege/{number}/konten/{role}", response_class=HTMLResponse)
    def change_account(
        request: Request, number: str, role: str, iban: str = Form(""), holder: str = Form("")
    ) -> Response:
        policy = db.policy(number)
        if policy is None:
            return not_found(request, f"Vertrag {number} ist nicht vorhanden.")
        if role not in ACCOUNT_ROLES:
            return not_found(request, f"Unbekannte Kontoart {role}.")
        current = db.account(number, role)
        compact = re.sub(r"\s+", "", iban).upper()
        holder = " ".join(holder.split())
        problem: str | None
        if current is None:
            problem = f"Für diesen Vertrag ist kein {ROLE_LABELS[role]} vorgesehen."
        elif not holder:
            problem = "Bitte den Kontoinhaber angeben."
        elif not compact:
            problem = "Bitte eine IBAN angeben."
        else:
            problem = iban_problem(compact)
        if problem is not None:
            return policy_page(
                request, number, 422, {role: problem}, {role: {"iban": iban, "holder": holder}}
            )
        parsed = IBAN(compact)
        new = Account(number, role, holder, str(parsed), str(parsed.bic), str(parsed.bank_name or ""))
        user = request.state.user or "unbekannt"
        db.save_account(new, changed_by=user, at=clock.now())
        return RedirectResponse(f"/vertraege/{quote(number)}?gespeichert={role}#account-{role}", 303)

    @app.post("/vertraege/{number}/kennzeichen", response_class=HTMLResponse)
    def change_flags(
        request: Request,
        number: str,
        dunning_active: str | None = Form(None),
        cancellation_pending: str | None = Form(None),
    ) -> Response:
        if db.set_flags(number, dunning_active is not None, cancellation_pending is not None) is None:
            return not_found(request, f"Vertrag {number} ist nicht vorhanden.")
        return RedirectResponse(f"/vertraege/{quote(number)}?gespeichert=flags#flags", 303)

    # -- mailboxes -------------------------------------------------------------------------------

    def mailbox_target(kind: str, name: str) -> tuple[str, str, str] | None:
        """(mailbox, title, address) or None when no such mailbox exists."""
        if kind == POSTFACH:
            customer = db.customer(name)
            if customer is None:
                return None
            return customer.customer_id, f"Postfach {customer.name}", postfach_address(customer.customer_id)
        if name.lower() in DEPARTMENTS:
            dept = name.lower()
            return dept, f"Abteilungspostfach KV {DEPARTMENTS[dept]}", department_address(dept)
        return None

    def base_url(kind: str, mailbox: str) -> str:
        return f"/postfach/{mailbox}" if kind == POSTFACH else f"/abteilungen/{mailbox}"

    def mailbox_list(request: Request, kind: str, name: str) -> Response:
        target = mailbox_target(kind, name)
        if target is None:
            return not_found(request, f"Postfach {name} ist nicht vorhanden.")
        mailbox, title, address = target
        return render(
            request,
            "mailbox.html",
            title=title,
            kind=kind,
            mailbox=mailbox,
            address=address,
            base=base_url(kind, mailbox),
            messages=list(reversed(db.messages(kind, mailbox))),
            customer=db.customer(mailbox) if kind == POSTFACH else None,
        )

    def message_view(request: Request, kind: str, name: str, no: int) -> Response:
        target = mailbox_target(kind, name)
        message = _find(db.messages(kind, target[0]), no) if target else None
        if target is None or message is None:
            return not_found(request, f"Nachricht {no} ist nicht vorhanden.")
        mailbox, title, _address = target
        return render(
            request,
            "message.html",
            title=message.subject or "(ohne Betreff)",
            mailbox_title=title,
            base=base_url(kind, mailbox),
            message=message,
        )

    def attachment_download(request: Request, kind: str, name: str, no: int, idx: int) -> Response:
        mailbox = name if kind == POSTFACH else name.lower()
        found = db.attachment(kind, mailbox, no, idx)
        if found is None:
            return not_found(request, "Anhang nicht vorhanden.")
        filename, content_type, data = found
        return Response(data, media_type=content_type, headers=download_headers(filename))

    @app.get("/postfach/{customer_id}", response_class=HTMLResponse)
    def postfach_list(request: Request, customer_id: str) -> Response:
        return mailbox_list(request, POSTFACH, customer_id)

    @app.get("/postfach/{customer_id}/{no}", response_class=HTMLResponse)
    def postfach_message(request: Request, customer_id: str, no: int) -> Response:
        return message_view(request, POSTFACH, customer_id, no)

    @app.get("/postfach/{customer_id}/{no}/anhang/{idx}")
    def postfach_attachment(request: Request, customer_id: str, no: int, idx: int) -> Response:
        return attachment_download(request, POSTFACH, customer_id, no, idx)

    @app.get("/abteilungen", response_class=HTMLResponse)
    def departments() -> Response:
        return RedirectResponse(f"/abteilungen/{next(iter(DEPARTMENTS))}", status_code=303)

    @app.get("/abteilungen/{dept}", response_class=HTMLResponse)
    def department_list(request: Request, dept: str) -> Response:
        return mailbox_list(request, DEPARTMENT, dept)

    @app.get("/abteilungen/{dept}/{no}", response_class=HTMLResponse)
    def department_message(request: Request, dept: str, no: int) -> Response:
        return message_view(request, DEPARTMENT, dept, no)

    @app.get("/abteilungen/{dept}/{no}/anhang/{idx}")
    def department_attachment(request: Request, dept: str, no: int, idx: int) -> Response:
        return attachment_download(request, DEPARTMENT, dept, no, idx)

    def not_found(request: Request, text: str) -> Response:
        return render(request, "not_found.html", 404, title="Nicht gefunden", text=text)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/admin/"):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        return not_found(request, str(exc.detail))

    return app


def _safe_next(target: str) -> str:
    """Only local paths, so the login cannot redirect elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/suche"


def _find(messages: list[MailMessage], no: int) -> MailMessage | None:
    return next((m for m in messages if m.no == no), None)


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
            self._smtp = start_smtp(self.db, self.smtp_host, self.smtp_port, self.clock)
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


def run_forever(settings: SandboxSettings) -> None:
    """Serve the web app and the Postfach on the ports from settings until Ctrl-C."""
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
