"""What the views share: loading through a Channel, telling the hub about the API, a problem line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from console.errors import ApiError, Forbidden, Invalid, TooManyAttempts, Unauthorized, Unreachable
from console.i18n import _
from console.session import Session
from console.tasks import Channel


def describe(exc: Exception) -> str:
    """An error as one line for the operator."""
    if isinstance(exc, Unreachable):
        return _("The operator API cannot be reached.")
    if isinstance(exc, Forbidden):
        return _("Not allowed: {message}").format(message=exc.message)
    if isinstance(exc, Invalid):
        fields = "; ".join(f"{f.get('field')}: {f.get('message')}" for f in exc.fields if f.get("message"))
        return _("Refused: {message}").format(message=exc.message) + (f" ({fields})" if fields else "")
    if isinstance(exc, TooManyAttempts):
        return _("Too many attempts; try again in {seconds} s.").format(seconds=int(exc.retry_after or 60))
    if isinstance(exc, ApiError):
        return f"{exc.message} ({exc.status})"
    return f"{type(exc).__name__}: {exc}"


class View(QWidget):
    """A tab of the main window: `refresh()` loads what it shows off the GUI thread."""

    loaded = Signal()  # a refresh was shown (tests wait for it)
    failed = Signal(str)  # a refresh or an action failed (the text shown)
    acted = Signal(object)  # an action's answer arrived (tests wait for it)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.channel = Channel(session.tasks, self)
        self.problem = QLabel()
        self.problem.setObjectName("problem")
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search.setPlaceholderText(_("Search in the list (Ctrl+F)"))

    def title(self) -> str:
        raise NotImplementedError

    def refresh(self) -> None:
        raise NotImplementedError

    def retry_selected(self) -> None:
        """The retry shortcut; views without failed items ignore it."""

    # ------------------------------------------------------------ loading and errors

    def load(self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None], **kw: Any) -> None:
        """Run `fn` off the GUI thread; only the newest load of this view is shown."""

        def shown(result: Any) -> None:
            self.session.hub.reachability.emit(True, "")
            self.problem.hide()
            then(result)
            self.loaded.emit()

        self.channel.run(fn, *args, returned=shown, errored=self.report, **kw)

    def act(
        self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None] | None = None, **kw: Any
    ) -> None:
        """An operator's action off the GUI thread; afterwards every view refreshes through the hub."""

        def done(result: Any) -> None:
            self.session.hub.reachability.emit(True, "")
            self.problem.hide()
            if then is not None:
                then(result)
            self.acted.emit(result)
            self.session.hub.changed.emit()

        self.session.tasks.run(fn, *args, owner=self, returned=done, errored=self.report, **kw)

    def report(self, exc: Exception) -> None:
        text = describe(exc)
        if isinstance(exc, Unreachable):
            self.session.hub.reachability.emit(False, str(exc))
        elif isinstance(exc, Unauthorized):
            self.session.hub.session_expired.emit()
        self.problem.setText(text)
        self.problem.show()
        self.failed.emit(text)


def results_text(results: list[dict[str, Any]]) -> str:
    """What a retry or abandon of several items did, in one line."""
    ok = [r for r in results if r.get("ok")]
    refused = [r for r in results if not r.get("ok")]
    text = _("{ok} of {n} done").format(ok=len(ok), n=len(results))
    if refused:
        text += "; " + _("refused: {items}").format(
            items=", ".join(f"{r['id']} ({r.get('error') or '?'})" for r in refused[:10])
        )
    return text
