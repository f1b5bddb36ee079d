"""Every view with realistic data, rendered offscreen at 1440×900 into test-output/console/ (to look at)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from console.views.main_window import MainWindow
from tests.console.conftest import OpsApi

OUT = Path(__file__).resolve().parents[2] / "test-output" / "console"


@pytest.fixture
def berlin() -> Iterator[None]:
    """The desktop of a clerk in Germany: local times in Europe/Berlin."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def shoot(
    qtbot: Any, window: MainWindow, key: str, name: str, settle: Callable[[], Any] | None = None
) -> Path:
    view = window.views[key]
    with qtbot.waitSignal(view.loaded, timeout=10_000):
        if window.tabs.currentWidget() is view:
            window.refresh()
        else:
            window.tab_to(key)
    if settle is not None:
        settle()
    qtbot.waitUntil(lambda: window.session.tasks.running == 0, timeout=10_000)
    qtbot.wait(50)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    assert window.grab().save(str(path))
    return path


def test_screenshots_of_every_view(
    qtbot: Any, ops: OpsApi, console: Callable[..., MainWindow], berlin: None
) -> None:
    window = console(ops, "chef")
    shoot(
        qtbot, window, "queues", "01-queues", lambda: window.views["queues"].table.select_key("bank_change")
    )
    items = window.views["items"]

    def pick_failed() -> None:
        rows = items.table.visible_rows()
        row = next(
            i for i, r in enumerate(rows) if r["status"] == "failed" and r["queue"] == "ark_certificate"
        )
        with qtbot.waitSignal(items.detail.loaded, timeout=5000):
            items.table.selectRow(row)

    shoot(qtbot, window, "items", "02-items", pick_failed)
    items.detail.tabs.setCurrentIndex(3)
    art = items.detail.artifacts
    png = next(i for i, r in enumerate(art.visible_rows()) if r["media_type"] == "image/png")
    art.selectRow(png)
    qtbot.waitUntil(lambda: items.detail.preview.pixmap is not None, timeout=5000)
    window.grab().save(str(OUT / "03-item-artifacts.png"))
    shot = window.views["exceptions"].detail.error_shot
    shoot(
        qtbot,
        window,
        "exceptions",
        "04-exceptions",
        lambda: qtbot.waitUntil(lambda: shot.pixmap, timeout=5000),
    )
    inbox = window.views["inbox"]

    def pick_case() -> None:
        with qtbot.waitSignal(inbox.item_detail.loaded, timeout=5000):
            inbox.table.selectRow(0)

    shoot(qtbot, window, "inbox", "05-inbox", pick_case)
    shoot(qtbot, window, "backlog", "06-backlog")
    shoot(qtbot, window, "alerts", "07-alerts")
    for path in OUT.glob("0*.png"):
        assert path.stat().st_size > 10_000


def test_screenshots_of_a_clerk_and_in_english(
    qtbot: Any, ops: OpsApi, console: Callable[..., MainWindow], berlin: None
) -> None:
    case = ops.world.kranken_cases[0]
    ops.store.claim_case(case, "anna")
    ops.store.add_case_note(case, "anna", "Tarifkarte angefordert, Rückruf beim Kunden vereinbart")
    ops.store.add_case_note(case, "anna", "Kunde bestätigt: Reise nur innerhalb Europas")
    window = console(ops, "anna")
    inbox = window.views["inbox"]

    def pick() -> None:
        with qtbot.waitSignal(inbox.item_detail.loaded, timeout=5000):
            inbox.table.select_key(case)
        qtbot.waitUntil(lambda: inbox.case is not None and inbox.case["id"] == case, timeout=5000)

    shoot(qtbot, window, "inbox", "08-inbox-clerk", pick)
    window.close()

    from console.i18n import set_language

    set_language("en")
    english = console(ops, "chef")
    shoot(qtbot, english, "queues", "09-queues-english", lambda: english.views["queues"].table.selectRow(1))
