"""The sandbox's web app: pages behind a login and the service hours, fault injection, the admin API."""

from __future__ import annotations

import asyncio
import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from bots.runtime.calendar import ServiceCalendar
from bots.runtime.clock import Clock
from sandbox.admin import admin_router
from sandbox.banking import Refused, authority_label, check_authority, check_iban
from sandbox.contracts import PREFIX as PORTAL_PREFIX
from sandbox.contracts import contracts_router
from sandbox.data import SandboxDB
from sandbox.faults import FaultInjector, Faults
from sandbox.layout import Layout, de_date, de_datetime, de_money, format_iban, iso, yes_no
from sandbox.mailboxes import add_mailbox_pages
from sandbox.models import ACCOUNT_ROLES, AREA_LABELS, ROLE_LABELS, Account, AccountChange
from sandbox.postfach import (
    DEPARTMENTS,
    POSTFACH,
)
from sandbox.settings import SandboxSettings
from sandbox.throttle import LoginThrottle

HERE = Path(__file__).parent
SESSION_COOKIE = "bestand_session"
SYSTEM = "policy_admin"
# served at any hour and without the web login: each guards itself (admin and portal with a token of their own)
OPEN_PREFIXES = ("/admin/", "/healthz", "/static/", PORTAL_PREFIX)
JSON_PREFIXES = ("/admin/", PORTAL_PREFIX)
LINE_LABELS = {
    "ARK": "ARK – Auslandsreisekranken",
    "KV": "KV – Krankenversicherung",
    "LEBEN": "Leben",
    "KOMPOSIT": "Komposit",
}
CUSTOMER_ID_RE = re.compile(r"^K\d{4,}$", re.IGNORECASE)
POLICY_NUMBER_RE = re.compile(r"^[A-Z]{2,4}-\d{3,}-\d{3,}$", re.IGNORECASE)


def mandate_reference(policy_number: str, history: list[AccountChange]) -> str:
    """The SEPA mandate of the policy's debit account: a new one with every new debit account (the bank
    changes, so the debtor signs anew), numbered per policy."""
    changes = sum(1 for change in history if change.role == "debit")
    return f"{policy_number}-M{changes + 1:02d}"


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
        authority=authority_label,
    )
    env.globals.update(
        LINE_LABELS=LINE_LABELS, ROLE_LABELS=ROLE_LABELS, AREA_LABELS=AREA_LABELS, DEPARTMENTS=DEPARTMENTS
    )
    return templates


def create_app(db: SandboxDB, clock: Clock, settings: SandboxSettings, faults: FaultInjector) -> FastAPI:
    """The web app: pages behind login, service hours and faults; admin API, the portal's contract overview
    and health outside them."""
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
    throttle = LoginThrottle(base=settings.sandbox_login_delay)
    admin_token = settings.sandbox_admin_token.get_secret_value()
    app.include_router(admin_router(db, faults, admin_token, throttle, settings.sandbox_allow_remote))
    app.include_router(contracts_router(db, clock, faults, settings.sandbox_portal_token.get_secret_value()))

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
    async def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        next: str = Form("/suche"),
    ) -> Response:
        client = request.client.host if request.client else ""
        right_user = hmac.compare_digest(username.encode(), settings.sandbox_user.encode())
        right_password = hmac.compare_digest(
            password.encode(), settings.sandbox_password.get_secret_value().encode()
        )
        if not (right_user and right_password):
            await asyncio.sleep(throttle.failed(client))  # repeated wrong logins slow down
            return render(
                request,
                "login.html",
                401,
                title="Anmeldung",
                next=_safe_next(next),
                error="Benutzername oder Kennwort ist falsch.",
                username=username,
            )
        throttle.succeeded(client)
        token = await asyncio.to_thread(db.create_session, username, clock.now())
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
        intermediary = db.customer(policy.intermediary_id) if policy.intermediary_id else None
        history = db.account_changes(number, newest_first=True)
        return render(
            request,
            "policy.html",
            status,
            title=f"Vertrag {policy.policy_number}",
            policy=policy,
            holder=db.customer(policy.customer_id),
            travel=db.travel_tariff(policy.tariff) if policy.line == "ARK" else None,
            insured=db.insured_persons(number),
            accounts=accounts,
            history=history,
            mandate=mandate_reference(number, history),
            intermediary=intermediary,
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
        request: Request, number: str, role: str, iban: str = Form(""), authority: str = Form("")
    ) -> Response:
        """Change the account of `role`: the holder is always the policy holder as the system knows them;
        the IBAN is checked and BIC and bank name derived; the history records who ordered the change."""
        policy = db.policy(number)
        if policy is None:
            return not_found(request, f"Vertrag {number} ist nicht vorhanden.")
        if role not in ACCOUNT_ROLES:
            return not_found(request, f"Unbekannte Kontoart {role}.")
        current = db.account(number, role)
        holder = db.customer(policy.customer_id)
        try:
            if current is None or holder is None:
                raise Refused(f"Für diesen Vertrag ist kein {ROLE_LABELS[role]} vorgesehen.")
            checked = check_iban(iban)
            ordered_by = check_authority(authority)
            if checked.iban == current.iban:
                raise Refused("Diese IBAN ist für dieses Konto bereits hinterlegt.")
        except Refused as refused:
            typed = {"iban": iban, "authority": authority}
            return policy_page(request, number, 422, {role: str(refused)}, {role: typed})
        new = Account(number, role, holder.name, checked.iban, checked.bic, checked.bank_name)
        user = request.state.user or "unbekannt"
        db.save_account(new, changed_by=user, at=clock.now(), authority=ordered_by)
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

    def not_found(request: Request, text: str) -> Response:
        return render(request, "not_found.html", 404, title="Nicht gefunden", text=text)

    add_mailbox_pages(app, db, render, not_found)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith(JSON_PREFIXES):
            from fastapi.exception_handlers import http_exception_handler

            return await http_exception_handler(request, exc)
        return not_found(request, str(exc.detail))

    return app


def _safe_next(target: str) -> str:
    """Only local paths, so the login cannot redirect elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") else "/suche"
