"""The customer portal's contract overview, as a read-only JSON service the bots may ask at any hour.

The portal shows every customer "alle aktiven Verträge in einer Übersicht in Tabellenform mit Information
zu VSNR, Ablaufdatum und Beitrag/Zahlweise", day and night. This router stands in for the service behind
that table: outside the policy administration's service hours and without its web login, behind a bearer
token of its own (PORTALBOTS_SANDBOX_PORTAL_TOKEN). It names policies only: no names, no IBANs.

    GET /portal/kunden/{customer_id}/vertraege
        200 {"customer_id", "as_of", "contracts": [{"policy_number", "line", "business_unit", "status",
             "start_date", "end_date", "premium", "payment_frequency"}]}   the policies in force ("aktiv")
        401 without the token or with a wrong one
        404 {"error": "unknown_customer", "detail"} when there is no such customer
        503 while the fault knob `portal_down` is set; a path in `hang_paths` never answers
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from bots.runtime.clock import Clock
from sandbox.data import SandboxDB
from sandbox.faults import FaultInjector
from sandbox.models import Policy

PREFIX = "/portal/"
IN_FORCE = "aktiv"  # what the overview lists; "ruhend" and "storniert" policies it does not show


def contract_json(policy: Policy) -> dict[str, Any]:
    """One row of the overview: the policy number (VSNR), what it is, its end (Ablaufdatum; null: open-ended)
    and its premium with the payment frequency (Beitrag/Zahlweise)."""
    return {
        "policy_number": policy.policy_number,
        "line": policy.line,
        "business_unit": policy.business_unit,
        "status": policy.status,
        "start_date": policy.start_date.isoformat(),
        "end_date": policy.end_date.isoformat() if policy.end_date else None,
        "premium": str(policy.premium),
        "payment_frequency": policy.payment_frequency,
    }


def contracts_router(db: SandboxDB, clock: Clock, faults: FaultInjector, token: str) -> APIRouter:
    """The overview's routes; served at any hour (the web app lets PREFIX past its service hours)."""

    async def served(request: Request) -> None:
        if faults.hangs(request.url.path):
            await faults.hang()
        if faults.faults.portal_down:
            raise HTTPException(503, "the contract overview is not available")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not (scheme.lower() == "bearer" and given and hmac.compare_digest(given.encode(), token.encode())):
            raise HTTPException(
                401,
                "the contract overview needs its bearer token (PORTALBOTS_SANDBOX_PORTAL_TOKEN)",
                {"WWW-Authenticate": "Bearer"},
            )

    router = APIRouter(prefix=PREFIX.rstrip("/"), dependencies=[Depends(served)])

    @router.get("/kunden/{customer_id}/vertraege")
    def contracts(customer_id: str) -> Any:
        """The customer's policies in force, ordered by policy number."""
        customer = db.customer(customer_id.strip().upper())
        if customer is None:
            return JSONResponse(
                {"error": "unknown_customer", "detail": f"Kunde {customer_id} ist nicht vorhanden."}, 404
            )
        return {
            "customer_id": customer.customer_id,
            "as_of": clock.now().isoformat(),
            "contracts": [
                contract_json(p) for p in db.policies_of(customer.customer_id) if p.status == IN_FORCE
            ],
        }

    return router
