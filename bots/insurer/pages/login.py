"""The login screen."""

from __future__ import annotations

from playwright.sync_api import Page, Response


class LoginPage:
    FORM = "#login-form"
    USERNAME = "#username"
    PASSWORD = "#password"
    SUBMIT = "#login-submit"
    ERROR = "#login-error"

    def __init__(self, page: Page) -> None:
        self.page = page

    def log_in(self, user: str, password: str) -> Response | None:
        """Fill and send the form; the system sends the robot on to the page it asked for."""
        self.page.fill(self.USERNAME, user)
        self.page.fill(self.PASSWORD, password)
        with self.page.expect_navigation() as navigation:
            self.page.click(self.SUBMIT)
        return navigation.value
