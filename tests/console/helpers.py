"""Driving the console in tests: waiting for views, finding rows, answering modal dialogs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from console.views.base import View
from console.views.main_window import MainWindow


def show(qtbot: Any, window: MainWindow, key: str) -> Any:
    """Switch to a view and wait until it shows fresh data."""
    view = window.views[key]
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        if window.tabs.currentWidget() is view:
            window.refresh()
        else:
            window.tab_to(key)
    return view


def reload(qtbot: Any, view: View, action: Callable[[], Any]) -> None:
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        action()


def idle(qtbot: Any, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.session.tasks.running == 0, timeout=10_000)


def row_index(table: Any, predicate: Callable[[dict[str, Any]], bool]) -> int:
    return next(i for i, r in enumerate(table.visible_rows()) if predicate(r))


def with_modal(handle: Callable[[QWidget], None], then: Callable[[], Any]) -> Any:
    """Run `then` (which opens a modal dialog) while `handle` gets the dialog once it is shown."""
    seen: list[QWidget] = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(20, poll)
            return
        seen.append(dialog)
        handle(dialog)

    QTimer.singleShot(20, poll)
    result = then()
    assert seen, "no dialog was shown"
    return result
