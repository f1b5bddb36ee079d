"""Asking an operator why (pause, resume, abandon): the reason is mandatory, OK stays off while it is blank."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from console.i18n import _


class ReasonDialog(QDialog):
    def __init__(self, title: str, prompt: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("reason_dialog")
        layout = QVBoxLayout(self)
        self.prompt = QLabel(prompt)
        self.prompt.setWordWrap(True)
        layout.addWidget(self.prompt)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText(_("Reason (required)"))
        self.text.setTabChangesFocus(True)
        layout.addWidget(self.text)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(_("Confirm"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(_("Cancel"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.text.textChanged.connect(self._changed)
        self._changed()
        self.resize(460, 220)

    @property
    def ok(self) -> Any:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok)

    def reason(self) -> str:
        return self.text.toPlainText().strip()

    def _changed(self) -> None:
        self.ok.setEnabled(bool(self.reason()))

    def accept(self) -> None:
        if not self.reason():  # Enter in an empty dialog: still no
            return
        super().accept()


def ask_reason(parent: QWidget, title: str, prompt: str) -> str | None:
    """The reason the operator typed, or None when they cancelled."""
    dialog = ReasonDialog(title, prompt, parent)
    return dialog.reason() if dialog.exec() == QDialog.DialogCode.Accepted else None
