"""The policy administration as the robot user sees it: log in on demand, land on the asked page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from playwright.sync_api import Page, StorageState

from bots.insurer.facts import ACCOUNT_ROLES, Account, AccountChange, Customer, Policy
from bots.insurer.pages.contract import LayoutChanged, present
from bots.insurer.pages.customer import CustomerPage
from bots.insurer.pages.login import LoginPage
from bots.insurer.pages.policy import PolicyPage, compact_iban
from bots.runtime.errors import SystemUnavailable

if TYPE_CHECKING:
    from bots.insurer.settings import InsurerSettings
    from bots.runtime.context import Context

SYSTEM = "policy_admin"


class PolicyAdmin:
    """Opens the screens of the policy administration; a closed system raises SystemUnavailable."""

    CLOSED = "body#system-unavailable"
    NEXT_OPENING = "[data-field=next-opening]"
    ERROR = "body#system-error"

    def __init__(self, page: Page, user: str, password: str, sessions: Sessions | None = None) -> None:
        self.page = page
        self.user = user
        self.password = password
        self.sessions = sessions

    def policy(self, policy_number: str) -> Policy | None:
        """The policy with its tariff, insured persons, accounts and flags; None when there is no such policy."""
        if not self._open(f"/vertraege/{quote(policy_number, safe='')}"):
            return None
        return PolicyPage(self.page).read()

    def account_history(self, policy_number: str) -> tuple[AccountChange, ...]:
        """Every change of the policy's accounts, newest first (the policy's screen, read once);
        LookupError when there is no such policy."""
        policy = self.policy(policy_number)
        if policy is None:
            raise LookupError(f"the policy administration has no policy {policy_number}")
        return policy.account_history

    def change_account(self, policy_number: str, role: str, iban: str, authority: str) -> Account:
        """Set the `role` ("debit" | "credit") account of the policy to `iban` on the order of `authority`
        ("bot" or "clerk:<name>"); the holder is always the policy holder. Returns the account the system
        confirms. A policy that already shows `iban` is left as it is (nothing is sent: a retry is safe).

        The policy's screen is loaded unless the page shows it already (read or changed just before).
        ValueError with the system's German reason when it refuses (the IBAN, the authority, no such
        account on the policy); LookupError when there is no such policy; SystemUnavailable when the system
        is closed; LayoutChanged when the screen lacks an element of the form or its confirmation.
        """
        if role not in ACCOUNT_ROLES:
            raise ValueError(f"unknown account role {role!r}: debit or credit")
        wanted = compact_iban(iban)
        path = f"/vertraege/{quote(policy_number, safe='')}"
        screen = PolicyPage(self.page)
        saved, error = (
            selector.format(role=role) for selector in (screen.ACCOUNT_SAVED, screen.ACCOUNT_ERROR)
        )
        for attempt in range(2):
            # the screen just read or just changed is current: a bot that read the policy first (as it must,
            # to check it) changes it without loading it again
            if (attempt or not screen.shows(policy_number)) and not self._open(path):
                raise LookupError(f"the policy administration has no policy {policy_number}")
            current = screen.account_form(role)
            if compact_iban(current.iban) == wanted:
                return current
            screen.submit_account(role, wanted, authority)
            shown = self._landed(saved, error, LoginPage.FORM)
            if LoginPage.FORM in shown:  # the session ended before the form arrived: nothing was stored
                continue
            if error in shown:
                raise ValueError(screen.error_text(role))
            if saved not in shown:
                raise LayoutChanged(
                    f"the page lacks {saved} after a change of the {role} account at {self.page.url}"
                )
            account = screen.account(role)
            if account is None or compact_iban(account.iban) != wanted:
                raise RuntimeError(
                    f"the policy administration confirmed the change of the {role} account of {policy_number} "
                    "but does not show the new IBAN"
                )
            return account
        raise PermissionError(f"the policy administration ended the session of {self.user!r} twice in a row")

    def customer(self, customer_id: str) -> Customer | None:
        """The customer with the list of their policies; None when there is no such customer."""
        if not self._open(f"/kunden/{quote(customer_id, safe='')}"):
            return None
        return CustomerPage(self.page).read()

    def _open(self, path: str) -> bool:
        """Go to `path`, logging in when the system asks; False when it answers 404."""
        response = self.page.goto(path)
        shown = self._landed(LoginPage.FORM)
        if LoginPage.FORM in shown:  # no session yet, or the system no longer knows it (expired, restarted)
            response = LoginPage(self.page).log_in(self.user, self.password)
            if LoginPage.ERROR in self._landed(LoginPage.ERROR):
                raise PermissionError(f"the policy administration refused the login of {self.user!r}")
            if self.sessions is not None:
                self.sessions.keep(self.page)
        return response is None or response.status != 404

    def _landed(self, *expected: str) -> set[str]:
        """Which of `expected` the page shows, after raising when the system is closed or answered an error."""
        shown = present(self.page, self.CLOSED, self.ERROR, *expected)
        if self.CLOSED in shown:
            opening = self.page.locator(self.NEXT_OPENING)
            value = opening.get_attribute("data-value") if opening.count() else None
            until = datetime.fromisoformat(value) if value else None
            raise SystemUnavailable(SYSTEM, "die Bestandsführung ist außerhalb ihrer Servicezeit", until)
        if self.ERROR in shown:
            raise RuntimeError(f"the policy administration answered with an error page at {self.page.url}")
        return shown


class Sessions:
    """The robot's logged-in session, kept per worker process and given to each item's fresh browser context:
    an item logs in only when the system no longer knows the session. Items share nothing else (no page,
    no script state); the session is the robot user's, the same for every item anyway."""

    def __init__(self) -> None:
        self.state: StorageState | None = None

    def keep(self, page: Page) -> None:
        # the cookies only: nothing an item left in local storage reaches the next item
        self.state = {"cookies": page.context.storage_state()["cookies"], "origins": []}


@contextmanager
def open_policy_admin(
    ctx: Context, settings: InsurerSettings, *, trace: bool = True
) -> Iterator[PolicyAdmin]:
    """The policy administration on a fresh page of the item's browser, with the process's robot session.
    `trace=False` for a bot whose pages show what a Playwright trace must not keep (full IBANs)."""
    key = f"policy_admin_session:{settings.policy_admin_url}:{settings.robot_user}"
    sessions = ctx.resources.setdefault(key, Sessions())
    options = {"storage_state": sessions.state} if sessions.state is not None else {}
    with ctx.browser(base_url=settings.policy_admin_url, trace=trace, **options) as page:
        yield PolicyAdmin(page, settings.robot_user, settings.robot_password.get_secret_value(), sessions)
