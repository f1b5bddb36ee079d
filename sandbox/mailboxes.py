"""The mailbox pages of the sandbox: customers' Postfach and the health departments' mailboxes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sandbox.admin import download_headers
from sandbox.data import SandboxDB
from sandbox.models import MailMessage
from sandbox.postfach import DEPARTMENT, DEPARTMENTS, POSTFACH, department_address, postfach_address

NotFound = Callable[[Request, str], Response]
Render = Callable[..., HTMLResponse]


def add_mailbox_pages(app: FastAPI, db: SandboxDB, render: Render, not_found: NotFound) -> None:
    """GET /postfach/{customer_id}[/{no}[/anhang/{idx}]] and the same below /abteilungen/{dept}."""

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


def _find(messages: list[MailMessage], no: int) -> MailMessage | None:
    return next((m for m in messages if m.no == no), None)
