"""The customer portal's contract overview: which policies a customer has in force, at any hour.

The portal shows every customer all their active policies in a table (policy number, end date, premium and
payment frequency) day and night, while the policy administration keeps service hours. Bots ask the
service behind that table (read-only JSON, bearer token) for the rules that must not wait for the core
system's opening, such as whether the policies a request names are the customer's at all. The policy
administration stays the authority when a bot runs there.

    GET {contracts_url}/portal/kunden/{customer_id}/vertraege
        -> {"customer_id", "as_of", "contracts": [{"policy_number", "line", "status", …}]}
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from bots.insurer.settings import InsurerSettings
from bots.runtime.errors import SystemUnavailable

SYSTEM = "portal_contracts"
UNKNOWN_CUSTOMER = "unknown_customer"  # the `error` of a 404 that means: no such customer


class ContractsUnavailable(SystemUnavailable):
    """The contract overview did not answer (unreachable, timed out, 5xx): the runtime defers the item and
    asks again later without using an attempt; never a reason to refuse a request."""

    def __init__(self, detail: str) -> None:
        super().__init__(SYSTEM, detail)


class _Contract(BaseModel):
    model_config = ConfigDict(extra="ignore")

    policy_number: str


class _Overview(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer_id: str
    contracts: list[_Contract]


class ContractOverview:
    """A client of the contract overview; one short HTTP request per question, so it is safe in any worker
    process or thread."""

    def __init__(self, settings: InsurerSettings) -> None:
        self.url = settings.contracts_url
        self.token = settings.portal_contracts_token
        self.timeout = httpx.Timeout(settings.portal_contracts_timeout_seconds)

    def active_policies(self, customer_id: str) -> frozenset[str]:
        """The policy numbers (upper case) the customer has in force; empty for a customer the portal does not
        know. ContractsUnavailable when the overview cannot answer now; PermissionError when it refuses the
        token, RuntimeError for an answer it should never give (both are errors of the setup, not of the
        request: retried, then failed, for an operator to see)."""
        url = f"{self.url}/portal/kunden/{quote(customer_id, safe='')}/vertraege"
        headers = {"Authorization": f"Bearer {self.token.get_secret_value()}", "Accept": "application/json"}
        try:
            response = httpx.get(url, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise ContractsUnavailable(f"keine Antwort der Vertragsübersicht ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise ContractsUnavailable(f"Vertragsübersicht nicht erreichbar ({type(exc).__name__})") from exc
        if response.status_code >= 500:
            raise ContractsUnavailable(f"die Vertragsübersicht antwortet {response.status_code}")
        if response.status_code in (401, 403):
            raise PermissionError(
                f"the contract overview refused the token ({response.status_code}): "
                "check PORTALBOTS_PORTAL_CONTRACTS_TOKEN"
            )
        if response.status_code == 404 and _error_code(response) == UNKNOWN_CUSTOMER:
            return frozenset()
        if response.status_code != 200:
            # a 404 without the overview's own error is a wrong URL: refusing every request would be worse
            raise RuntimeError(f"the contract overview answered {response.status_code} at {url}")
        try:
            overview = _Overview.model_validate_json(response.content)
        except ValidationError as exc:
            raise RuntimeError(f"the contract overview's answer is not what it promises: {exc}") from None
        if overview.customer_id.upper() != customer_id.strip().upper():
            raise RuntimeError(
                f"the contract overview answered for customer {overview.customer_id}, not {customer_id}"
            )
        return frozenset(c.policy_number.strip().upper() for c in overview.contracts)


def _error_code(response: httpx.Response) -> str:
    """The `error` of a JSON answer; "" when it has none."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""
