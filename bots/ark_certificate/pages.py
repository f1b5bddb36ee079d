"""Page objects for the policy administration's web UI: what the ARK bot reads, by the documented ids.

The element contract is the core system's (documented in the sandbox, which stands in for it); the bot
never imports the sandbox. A closed system answers every page with `body#system-unavailable`; a page
without a session sends the robot to the login form, which it fills and is sent on to the page it asked for.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from playwright.sync_api import Page, Response

from bots.ark_certificate.facts import DEFAULT_MAX_TRIP_DAYS, InsuredPerson, PolicyFacts
from bots.runtime.errors import SystemUnavailable

SYSTEM = "policy_admin"
POLICY_FIELDS = ("policy-number", "holder-customer-id", "line", "status", "start", "end", "tariff")
PERSON_FIELDS = ("first-name", "last-name", "birth-date")

# One round trip for all fields of a page (rather than one per field): [data-field] -> data-value or text.
_READ_FIELDS = """els => Object.fromEntries(els.map(e => [e.getAttribute('data-field'),
    e.hasAttribute('data-value') ? e.getAttribute('data-value') : e.textContent.trim()]))"""
_READ_ROWS = """rows => rows.map(r => Object.fromEntries([...r.querySelectorAll('[data-field]')].map(e =>
    [e.getAttribute('data-field'), e.hasAttribute('data-value') ? e.getAttribute('data-value')
                                                                 : e.textContent.trim()])))"""


class LayoutChanged(RuntimeError):
    """A page lacks an element of the contract: the core system's UI changed; the page objects need care."""


class PolicyAdmin:
    """The policy administration as the robot user sees it."""

    def __init__(self, page: Page, user: str, password: str) -> None:
        self.page = page
        self.user = user
        self.password = password

    def policy(self, policy_number: str) -> PolicyFacts | None:
        """The policy and all its insured persons; None when the system knows no such policy."""
        response = self._open(f"/vertraege/{quote(policy_number, safe='')}")
        if response is not None and response.status == 404:
            return None
        self.page.locator("#policy-data").wait_for()  # times out when the layout changed
        fields: dict[str, str] = self.page.eval_on_selector_all("main [data-field]", _READ_FIELDS)
        missing = [name for name in POLICY_FIELDS if name not in fields]
        if missing:
            raise LayoutChanged(f"the policy page lacks {', '.join(missing)} at {self.page.url}")
        end, max_days = fields.get("end", ""), fields.get("max-trip-days", "")
        return PolicyFacts(
            policy_number=fields["policy-number"],
            holder_customer_id=fields["holder-customer-id"],
            line=fields["line"],
            status=fields["status"],
            start_date=date.fromisoformat(fields["start"]),
            end_date=date.fromisoformat(end) if end else None,
            tariff_name=fields["tariff"],
            max_trip_days=int(max_days) if max_days else DEFAULT_MAX_TRIP_DAYS,
            insured_persons=self._insured_persons(),
        )

    def _insured_persons(self) -> tuple[InsuredPerson, ...]:
        self.page.locator("#insured-persons").wait_for()
        rows: list[dict[str, str]] = self.page.eval_on_selector_all("[data-field=insured-person]", _READ_ROWS)
        persons = []
        for n, row in enumerate(rows, 1):
            missing = [name for name in PERSON_FIELDS if not row.get(name)]
            if missing:
                raise LayoutChanged(f"insured person {n} lacks {', '.join(missing)} at {self.page.url}")
            persons.append(
                InsuredPerson(row["first-name"], row["last-name"], date.fromisoformat(row["birth-date"]))
            )
        return tuple(persons)

    def _open(self, path: str) -> Response | None:
        response = self.page.goto(path)
        self._check_available()
        if self.page.locator("#login-form").count():
            response = self._login()
        return response

    def _login(self) -> Response | None:
        self.page.fill("#username", self.user)
        self.page.fill("#password", self.password)
        with self.page.expect_navigation() as navigation:
            self.page.click("#login-submit")
        self._check_available()
        if self.page.locator("#login-error").count():
            raise PermissionError(f"the policy administration refused the login of {self.user!r}")
        return navigation.value

    def _check_available(self) -> None:
        if self.page.locator("body#system-unavailable").count():
            opening = self.page.locator("[data-field=next-opening]")
            value = opening.get_attribute("data-value") if opening.count() else None
            until = datetime.fromisoformat(value) if value else None
            raise SystemUnavailable(SYSTEM, "die Bestandsführung ist außerhalb ihrer Servicezeit", until)
        if self.page.locator("body#system-error").count():
            raise RuntimeError(f"the policy administration answered with an error page at {self.page.url}")
