"""Page objects for the policy administration's web UI: what the ARK bot reads, by the documented ids.

The element contract is the core system's (documented in the sandbox, which stands in for it); the bot
never imports the sandbox. A closed system answers every page with `body#system-unavailable`.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from playwright.sync_api import Locator, Page, Response

from bots.ark_certificate.facts import DEFAULT_MAX_TRIP_DAYS, InsuredPerson, PolicyFacts
from bots.runtime.errors import SystemUnavailable

SYSTEM = "policy_admin"


class PolicyAdmin:
    """The policy administration as a signed-in clerk (the robot user) sees it."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def login(self, user: str, password: str) -> None:
        self._open("/login")
        self.page.fill("#username", user)
        self.page.fill("#password", password)
        self.page.click("#login-submit")
        self.page.wait_for_load_state()
        self._check_available()
        if self.page.locator("#login-error").count():
            raise PermissionError(f"the policy administration refused the login of {user!r}")
        self.page.locator("#current-user").wait_for()

    def policy(self, policy_number: str) -> PolicyFacts | None:
        """The policy and all its insured persons; None when the system knows no such policy."""
        response = self._open(f"/vertraege/{quote(policy_number, safe='')}")
        if response is not None and response.status == 404:
            return None
        self.page.locator("#policy-data").wait_for()
        data = self.page.locator("main")  # the policy's fields stand in several cards of the page
        end = _value(data, "end")
        max_days = _value(data, "max-trip-days")
        return PolicyFacts(
            policy_number=_value(data, "policy-number"),
            holder_customer_id=_value(data, "holder-customer-id"),
            line=_value(data, "line"),
            status=_value(data, "status"),
            start_date=date.fromisoformat(_value(data, "start")),
            end_date=date.fromisoformat(end) if end else None,
            tariff_name=_value(data, "tariff"),
            max_trip_days=int(max_days) if max_days else DEFAULT_MAX_TRIP_DAYS,
            insured_persons=self._insured_persons(),
        )

    def _insured_persons(self) -> tuple[InsuredPerson, ...]:
        self.page.locator("#insured-persons").wait_for()
        rows = self.page.locator("[data-field=insured-person]")
        return tuple(
            InsuredPerson(
                first_name=_value(row, "first-name"),
                last_name=_value(row, "last-name"),
                birth_date=date.fromisoformat(_value(row, "birth-date")),
            )
            for row in rows.all()
        )

    def _open(self, path: str) -> Response | None:
        response = self.page.goto(path)
        self._check_available()
        return response

    def _check_available(self) -> None:
        if self.page.locator("body#system-unavailable").count():
            opening = self.page.locator("[data-field=next-opening]")
            value = opening.get_attribute("data-value") if opening.count() else None
            until = datetime.fromisoformat(value) if value else None
            raise SystemUnavailable(SYSTEM, "die Bestandsführung ist außerhalb ihrer Servicezeit", until)
        if self.page.locator("body#system-error").count():
            raise RuntimeError(f"the policy administration answered with an error page at {self.page.url}")


def _value(scope: Locator, field: str) -> str:
    """The machine value (`data-value`) of a data field; text as a fallback. A missing field times out."""
    element = scope.locator(f"[data-field={field}]").first
    value = element.get_attribute("data-value")
    return (value if value is not None else element.inner_text()).strip()
