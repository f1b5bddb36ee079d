"""Signing in, and on a fresh local store creating the first supervisor."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from console.client import ApiClient
from console.errors import TooManyAttempts, Unauthorized
from console.i18n import _
from console.tasks import Tasks
from console.views.base import describe

MIN_PASSWORD = 10


class _Form(QDialog):
    signed_in = Signal(object)  # the operator dict

    def __init__(self, client: ApiClient, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client = client
        self.tasks = tasks
        self.operator: dict[str, Any] | None = None
        self.layout_ = QVBoxLayout(self)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.layout_.addWidget(self.intro)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.name = QLineEdit()
        self.name.setObjectName("name")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(_("Operator name"), self.name)
        self.form.addRow(_("Password"), self.password)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setStyleSheet("color: #b3261e;")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.server = QLabel(_("Operator API: {url}").format(url=client.base_url))
        self.server.setStyleSheet("color: #5f6368;")

    def finish_layout(self) -> None:
        self.layout_.addWidget(self.message)
        self.layout_.addWidget(self.buttons)
        self.layout_.addWidget(self.server)
        self.setMinimumWidth(440)

    @property
    def ok(self) -> Any:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def submit(self) -> None:
        raise NotImplementedError

    def _busy(self, busy: bool) -> None:
        self.ok.setEnabled(not busy)

    def _done(self, operator: dict[str, Any]) -> None:
        self._busy(False)
        self.operator = operator
        self.signed_in.emit(operator)
        self.accept()

    def _failed(self, exc: Exception) -> None:
        self._busy(False)
        if isinstance(exc, Unauthorized):
            self.message.setText(_("Name or password is wrong."))
        elif isinstance(exc, TooManyAttempts):
            wait = int(exc.retry_after or 60)
            self.message.setText(_("Too many attempts; try again in {seconds} s.").format(seconds=wait))
            self.ok.setEnabled(False)
            QTimer.singleShot(wait * 1000, lambda: self.ok.setEnabled(True))
        else:
            self.message.setText(describe(exc))


class SignInDialog(_Form):
    def __init__(self, client: ApiClient, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(client, tasks, parent)
        self.setObjectName("signin_dialog")
        self.setWindowTitle(_("PortalBots – sign in"))
        self.intro.setText(_("Sign in with your operator name and password."))
        self.ok.setText(_("Sign in"))
        self.finish_layout()

    def submit(self) -> None:
        name, password = self.name.text().strip(), self.password.text()
        if not name or not password:
            self.message.setText(_("Enter your name and password."))
            return
        self._busy(True)
        self.message.setText("")
        self.tasks.run(
            self.client.login, name, password, owner=self, returned=self._done, errored=self._failed
        )


class SetupDialog(_Form):
    """The first start of a local console: no operator exists, the first supervisor is created."""

    def __init__(self, client: ApiClient, tasks: Tasks, parent: QWidget | None = None) -> None:
        super().__init__(client, tasks, parent)
        self.setObjectName("setup_dialog")
        self.setWindowTitle(_("PortalBots – first start"))
        self.intro.setText(
            _("No operator exists yet. Create the first supervisor; they can then add further operators.")
        )
        self.repeat = QLineEdit()
        self.repeat.setObjectName("repeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.form.addRow(_("Repeat password"), self.repeat)
        self.ok.setText(_("Create supervisor"))
        self.finish_layout()

    def submit(self) -> None:
        name, password = self.name.text().strip(), self.password.text()
        if not name:
            self.message.setText(_("Enter a name."))
            return
        if len(password) < MIN_PASSWORD:
            self.message.setText(_("The password needs at least {n} characters.").format(n=MIN_PASSWORD))
            return
        if password != self.repeat.text():
            self.message.setText(_("The passwords differ."))
            return
        self._busy(True)
        self.message.setText("")
        self.tasks.run(
            self.client.setup, name, password, owner=self, returned=self._done, errored=self._failed
        )
