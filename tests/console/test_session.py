"""Signing in, the first supervisor of a fresh local store, and a window that never freezes while the API
is away."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from bots.runtime.clock import FixedClock
from bots.runtime.serve import ThreadedServer
from console.client import ApiClient
from console.tasks import Tasks
from console.views.main_window import MainWindow
from console.views.signin import SetupDialog, SignInDialog
from tests.console.conftest import PASSWORDS, OpsApi, start_ops
from tests.console.helpers import idle, show

Open = Callable[..., MainWindow]


def test_a_fresh_local_store_asks_for_the_first_supervisor(
    qtbot: Any, tmp_path: Path, clock: FixedClock
) -> None:
    for ops in start_ops(tmp_path, clock, operators=False, data=False):
        client = ApiClient(ops.url)
        tasks = Tasks()
        assert client.setup_needed()
        dialog = SetupDialog(client, tasks)
        qtbot.addWidget(dialog)
        dialog.name.setText("erste-leitung")
        dialog.password.setText("zu-kurz")
        dialog.repeat.setText("zu-kurz")
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        assert "mindestens 10 Zeichen" in dialog.message.text()
        dialog.password.setText("ein-langes-passwort")
        dialog.repeat.setText("ein-langes-passwort")
        with qtbot.waitSignal(dialog.signed_in, timeout=5000) as signed:
            qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        assert signed.args[0] == {"name": "erste-leitung", "role": "supervisor", "units": []}
        assert not client.setup_needed()
        assert client.me()["name"] == "erste-leitung"
        tasks.wait()
        client.close()


def test_sign_in_says_when_the_password_is_wrong(qtbot: Any, ops: OpsApi) -> None:
    client = ApiClient(ops.url)
    tasks = Tasks()
    dialog = SignInDialog(client, tasks)
    qtbot.addWidget(dialog)
    dialog.name.setText("anna")
    dialog.password.setText("falsches-passwort")
    with qtbot.waitSignal(tasks.idle, timeout=5000):
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    assert dialog.message.text() == "Name oder Passwort ist falsch."
    dialog.password.setText(PASSWORDS["anna"])
    with qtbot.waitSignal(dialog.signed_in, timeout=5000):
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    assert client.operator == {"name": "anna", "role": "clerk", "units": ["Kranken"]}
    tasks.wait()
    client.close()


class StallMeter:
    """The longest gap between the ticks of a 5 ms timer: how long the GUI thread was busy."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._tick)
        self.longest_ms = 0
        self.ticks = 0

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        self.longest_ms = max(self.longest_ms, self.clock.restart())
        self.ticks += 1

    def stop(self) -> int:
        self.timer.stop()
        return self.longest_ms


def refresh_all_for(qtbot: Any, window: MainWindow, seconds: float) -> None:
    """Every view refreshes again and again for `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for key in window.views:
            window.tab_to(key)
            window.refresh()
            qtbot.wait(20)


def test_the_window_stays_responsive_while_the_api_is_down(qtbot: Any, ops: OpsApi, console: Open) -> None:
    """First the API hangs (its port takes connections and never answers: a request made on the GUI thread
    would freeze the window for the client's whole timeout), then it is gone (connections refused)."""
    window = console(ops, "chef", timeout=httpx.Timeout(1.5, connect=1.0))
    for key in ("queues", "items", "exceptions", "inbox", "backlog", "alerts"):
        show(qtbot, window, key)
    assert ops.server is not None
    port = ops.server.port
    ops.server.stop()

    meter = StallMeter()
    meter.start()
    with socket.create_server(("127.0.0.1", port), backlog=64):  # never accepts: every request hangs
        refresh_all_for(qtbot, window, seconds=2.0)
        idle(qtbot, window)
    refresh_all_for(qtbot, window, seconds=1.0)  # now refused at once
    idle(qtbot, window)
    longest = meter.stop()
    print(f"longest GUI-thread stall while the API hung or was down: {longest} ms over {meter.ticks} ticks")
    assert meter.ticks > 100
    # a request on the GUI thread would block it for 1.5 s or more; the bound leaves room for a busy machine
    assert longest < 750, f"the GUI thread stalled {longest} ms"
    assert not window.reachable
    assert "nicht erreichbar" in window.connection.text()
    assert window.retry_timer.isActive()
    assert window.views["alerts"].problem.text() == "Die Operator-API ist nicht erreichbar."

    # the API comes back: the next retry finds it and the status bar says so
    back = ThreadedServer(ops.server.app, port=port, name="ops-api-again").start()
    try:
        qtbot.waitUntil(lambda: window.reachable, timeout=20_000)
        assert window.connection.text().startswith("Verbunden mit")
    finally:
        idle(qtbot, window)
        back.stop()
