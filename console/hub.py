"""The one signal hub of the console: app-wide events, so views need not know each other."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Hub(QObject):
    # the API answered (True) or could not be reached (False, why); the status bar shows it
    reachability = Signal(bool, str)
    # an action changed work (retry, abandon, pause, resolve …): views refresh what they show
    changed = Signal()
    # the token was refused (expired or revoked): sign in again
    session_expired = Signal()
    # a message for the status bar
    message = Signal(str)
