"""The window keeps its state, and `portalbots console` without --api serves a local operator API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QSettings

from bots.cli import parser
from bots.cli_console import local_api
from bots.runtime.settings import Settings
from console.hub import Hub
from console.session import Session
from console.tasks import Tasks
from console.views.main_window import MainWindow
from tests.console.conftest import OpsApi
from tests.console.helpers import show

Open = Callable[..., MainWindow]


def test_the_window_keeps_its_state(qtbot: Any, ops: OpsApi, console: Open, tmp_path: Path) -> None:
    window = console(ops, "chef")
    show(qtbot, window, "backlog")
    window.resize(1200, 760)
    window.views["items"].split.setSizes([700, 500])
    window.close()
    settings = QSettings(str(tmp_path / "console-chef.ini"), QSettings.Format.IniFormat)
    assert settings.value("window/tab") == "backlog"
    again = MainWindow(window.session, settings)
    qtbot.addWidget(again)
    assert again.tabs.currentWidget() is again.views["backlog"]
    assert again.height() == 760  # (the offscreen screen is 800 px wide: Qt fits the width into it)
    assert again.views["items"].split.sizes()[0] < again.views["items"].split.sizes()[1] + 300


def test_the_console_command_serves_a_local_api_over_the_local_store(tmp_path: Path) -> None:
    args = parser().parse_args(["console", "--lang", "en"])
    assert (args.api, args.lang) == (None, "en")
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    with local_api(settings) as url:
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(url + "/v1/ops/setup").json() == {"needed": True}  # a fresh store: first-run setup
    assert (tmp_path / "portalbots.db").exists()
    with pytest.raises(httpx.ConnectError):  # it runs in a child process, which ends with the console
        httpx.get(url + "/healthz", timeout=2)


def test_a_session_knows_the_operators_role() -> None:
    session = Session(None, Tasks(), Hub(), {"name": "anna", "role": "clerk", "units": ["Kranken"]})  # type: ignore[arg-type]
    assert (session.name, session.is_supervisor, session.units) == ("anna", False, ["Kranken"])


def test_switching_the_language_rebuilds_the_window_and_keeps_the_console_running(
    qtbot: Any, ops: OpsApi, tmp_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QApplication

    from console.app import Console

    quits: list[int] = []
    monkeypatch.setattr(QApplication, "quit", lambda: quits.append(1))
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    app = Console(ops.client("chef"), settings)
    app.session.operator = dict(app.client.operator or {})
    first = app.show_main()
    qtbot.addWidget(first)
    first.language_wanted.emit("en")
    second = app.window
    assert second is not None and second is not first
    qtbot.addWidget(second)
    assert second.tabs.tabText(0) == "Queues" and not first.isVisible()
    assert quits == []  # replacing the window ends nothing
    second.close()
    assert quits == [1]  # closing it ends the console
    qtbot.waitUntil(lambda: app.tasks.running == 0, timeout=10_000)  # the answers still on their way
    app.client.close()
