"""The console's start: sign in (or, on a fresh local store, create the first supervisor), then the main
window; switching the language rebuilds the window, signing out goes back to the sign-in."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QApplication, QDialog

from console.client import ApiClient
from console.errors import ApiError, Unreachable
from console.hub import Hub
from console.i18n import DEFAULT_LANGUAGE, LANGUAGES, set_language
from console.session import Session
from console.tasks import Tasks
from console.views.main_window import MainWindow
from console.views.signin import SetupDialog, SignInDialog


class Console(QObject):
    """Holds the session and the window across sign-ins and language changes."""

    def __init__(self, client: ApiClient, settings: QSettings) -> None:
        super().__init__()
        self.client = client
        self.settings = settings
        self.tasks = Tasks(self)
        self.hub = Hub(self)
        self.session = Session(client, self.tasks, self.hub)
        self.window: MainWindow | None = None
        self._replacing = False  # closing a window to open another (sign-out, language) ends nothing
        self.hub.session_expired.connect(self._expired)

    def sign_in(self) -> bool:
        """Ask for the first supervisor or for credentials; False when the operator gave up."""
        try:
            needed = self.client.setup_needed()  # before any window: nothing to freeze
        except (Unreachable, ApiError):
            needed = False  # the sign-in dialog says what is wrong when it tries
        dialog: QDialog = (
            SetupDialog(self.client, self.tasks) if needed else SignInDialog(self.client, self.tasks)
        )
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.session.operator = dict(dialog.operator or {})  # type: ignore[attr-defined]
        return True

    def show_main(self) -> MainWindow:
        old = self.window
        window = MainWindow(self.session, self.settings)
        window.language_wanted.connect(self.change_language)
        window.sign_out_wanted.connect(self.sign_out)
        window.closed.connect(self._closed)
        if old is not None:
            self._close(old)
        window.show()
        window.start()
        self.window = window
        return window

    def _close(self, window: MainWindow) -> None:
        self._replacing = True
        try:
            window.close()
        finally:
            self._replacing = False
        window.deleteLater()

    def _closed(self) -> None:
        if not self._replacing:
            QApplication.quit()  # the operator closed the window

    def change_language(self, lang: str) -> None:
        set_language(lang)
        self.show_main()

    def sign_out(self) -> None:
        self._again(logout=True)

    def _expired(self) -> None:
        if self.window is not None and self.window.isVisible():
            self._again(logout=False)

    def _again(self, *, logout: bool) -> None:
        """Back to the sign-in (after signing out, or when the token expired); quit if the operator gives up."""
        if self.window is not None:
            self._close(self.window)
            self.window = None
        if logout:
            try:
                self.client.logout()
            except (Unreachable, ApiError):
                pass  # the token is forgotten here anyway
        if self.sign_in():
            self.show_main()
        else:
            QApplication.quit()


def main(api_url: str, lang: str | None = None) -> int:
    """Run the console against the operator API at `api_url` until its window closes."""
    app = QApplication.instance() or QApplication(sys.argv)
    QApplication.setQuitOnLastWindowClosed(False)  # the Console quits when the main window is closed
    app.setOrganizationName("PortalBots")
    app.setApplicationName("Console")
    settings = QSettings()
    chosen = lang or str(settings.value("language", DEFAULT_LANGUAGE))
    set_language(chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE)
    console = Console(ApiClient(api_url), settings)
    if not console.sign_in():
        return 0
    console.show_main()
    code = app.exec()
    console.tasks.wait(5000)
    console.client.close()
    return int(code)
