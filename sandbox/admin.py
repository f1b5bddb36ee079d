"""The sandbox's admin JSON API for tests, the demo and acceptance runs: it shows full IBANs and mailboxes
and sets fault knobs, so it wants its bearer token, and answers only loopback clients unless the sandbox
is told to serve beyond loopback."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from sandbox.data import SandboxDB
from sandbox.faults import FaultInjector
from sandbox.models import Account, AccountChange, MailMessage
from sandbox.postfach import DEPARTMENT, DEPARTMENTS, POSTFACH, TEAM, TEAMS
from sandbox.seed import policy_record, seed
from sandbox.throttle import LoginThrottle


class FlagsUpdate(BaseModel):
    dunning_active: bool | None = None
    cancellation_pending: bool | None = None


class IntermediaryUpdate(BaseModel):
    intermediary_id: str | None  # the customer id of an intermediary; null: the policy has none


class SeedRequest(BaseModel):
    customers: int = Field(default=50, ge=0, le=100_000)
    rng_seed: int = 7


def message_json(message: MailMessage) -> dict[str, Any]:
    return {
        "no": message.no,
        "message_id": message.message_id,
        "subject": message.subject,
        "sender": message.sender,
        "to": message.to,
        "date": message.date,
        "body_text": message.body_text,
        "received_at": message.received_at.isoformat(),
        "duplicates": message.duplicates,
        "attachments": [
            {
                "idx": a.idx,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            }
            for a in message.attachments
        ],
    }


def change_json(change: AccountChange) -> dict[str, Any]:
    values = vars(change).copy()
    values["changed_at"] = change.changed_at.isoformat()
    return values


def account_json(account: Account) -> dict[str, Any]:
    values = vars(account).copy()
    del values["policy_number"]
    return values


def download_headers(filename: str, inline: bool = False) -> dict[str, str]:
    """Content-Disposition for any file name (RFC 6266 with an ASCII fallback)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = "inline" if inline else "attachment"
    return {
        "Content-Disposition": f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    }


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def admin_router(
    db: SandboxDB, faults: FaultInjector, token: str, throttle: LoginThrottle, allow_remote: bool = False
) -> APIRouter:
    async def admin_only(request: Request) -> None:
        client = request.client.host if request.client else ""
        if not allow_remote and not is_loopback(client):
            raise HTTPException(403, "the admin API answers loopback clients only")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given and hmac.compare_digest(given.encode(), token.encode()):
            throttle.succeeded(client)
            return
        wait = throttle.failed(client)
        await asyncio.sleep(wait)
        headers = {"WWW-Authenticate": "Bearer"}
        if wait:
            headers["Retry-After"] = str(max(1, round(wait)))
        raise HTTPException(
            401, "the admin API needs its bearer token (PORTALBOTS_SANDBOX_ADMIN_TOKEN)", headers
        )

    router = APIRouter(prefix="/admin", dependencies=[Depends(admin_only)])

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        return faults.faults.to_dict()

    @router.put("/faults")
    async def put_faults(request: Request) -> dict[str, Any]:
        """Change the knobs given in the JSON object; the others keep their values."""
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of fault knobs")
            new = faults.faults.updated(changes)
        except (ValueError, TypeError) as exc:
            raise HTTPException(422, str(exc)) from None
        return faults.set(new).to_dict()

    @router.post("/faults/reset")
    def reset_faults() -> dict[str, Any]:
        return faults.reset().to_dict()

    def mailbox(kind: str, name: str) -> dict[str, Any]:
        return {"mailbox": name, "messages": [message_json(m) for m in db.messages(kind, name)]}

    def attachment(kind: str, name: str, no: int, idx: int) -> Response:
        found = db.attachment(kind, name, no, idx)
        if found is None:
            raise HTTPException(404, "no such attachment")
        filename, content_type, data = found
        return Response(data, media_type=content_type, headers=download_headers(filename))

    @router.get("/postfach/{customer_id}")
    def postfach(customer_id: str) -> dict[str, Any]:
        if db.customer(customer_id) is None:
            raise HTTPException(404, "no such customer")
        return mailbox(POSTFACH, customer_id)

    @router.get("/postfach/{customer_id}/{no}/attachments/{idx}")
    def postfach_attachment(customer_id: str, no: int, idx: int) -> Response:
        return attachment(POSTFACH, customer_id, no, idx)

    def shared_kind(name: str) -> str:
        if name.lower() in DEPARTMENTS:
            return DEPARTMENT
        if name.lower() in TEAMS:
            return TEAM
        known = ", ".join([*DEPARTMENTS, *TEAMS])
        raise HTTPException(404, f"no such department or team mailbox (known: {known})")

    @router.get("/mailboxes/{name}")
    def department(name: str) -> dict[str, Any]:
        return mailbox(shared_kind(name), name.lower())

    @router.get("/mailboxes/{name}/{no}/attachments/{idx}")
    def department_attachment(name: str, no: int, idx: int) -> Response:
        return attachment(shared_kind(name), name.lower(), no, idx)

    def policy_json(number: str) -> dict[str, Any]:
        policy = db.policy(number)
        if policy is None:
            raise HTTPException(404, "no such policy")
        record = policy_record(
            policy, db.insured_persons(number), db.accounts(number), db.travel_tariff(policy.tariff)
        )
        insured = record.pop("insured_persons")
        accounts = record.pop("accounts")
        flags = {k: record.pop(k) for k in ("dunning_active", "cancellation_pending")}
        record["customer_id"] = policy.customer_id
        return {"policy": record, "insured_persons": insured, "accounts": accounts, "flags": flags}

    @router.get("/policies/{number}")
    def get_policy(number: str) -> dict[str, Any]:
        return policy_json(number)

    @router.put("/policies/{number}/flags")
    def put_flags(number: str, body: FlagsUpdate) -> dict[str, Any]:
        if db.set_flags(number, body.dunning_active, body.cancellation_pending) is None:
            raise HTTPException(404, "no such policy")
        return policy_json(number)["flags"]

    @router.get("/policies/{number}/accounts")
    def get_accounts(number: str) -> dict[str, Any]:
        """The policy's accounts (the holder is always the policy holder) and their history, newest first."""
        if db.policy(number) is None:
            raise HTTPException(404, "no such policy")
        return {
            "policy_number": number,
            "accounts": [account_json(a) for a in db.accounts(number)],
            "history": [change_json(c) for c in db.account_changes(number, newest_first=True)],
        }

    @router.put("/policies/{number}/intermediary")
    def put_intermediary(number: str, body: IntermediaryUpdate) -> dict[str, Any]:
        try:
            policy = db.set_intermediary(number, body.intermediary_id)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        if policy is None:
            raise HTTPException(404, "no such policy")
        return {
            "intermediary_id": policy.intermediary_id,
            "holder_is_intermediary": policy.holder_is_intermediary,
        }

    @router.get("/account-changes")
    def account_changes(policy_number: str | None = None) -> list[dict[str, Any]]:
        return [change_json(c) for c in db.account_changes(policy_number)]

    @router.get("/sessions")
    def get_sessions() -> dict[str, int]:
        return {"logins": db.logins}

    @router.post("/sessions/expire")
    def expire_sessions() -> dict[str, int]:
        """End every login session, as a session timeout or a restart of the real system does."""
        return {"expired": db.expire_sessions()}

    @router.post("/seed")
    def post_seed(body: SeedRequest) -> dict[str, Any]:
        return seed(db, body.customers, body.rng_seed).to_dict()

    return router
