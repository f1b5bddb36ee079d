"""The console's views driven through the UI against a real operator API on a real store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QDate, QObject, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices

from bots.runtime.clock import FixedClock
from bots.runtime.states import CaseStatus, Status
from console.errors import Forbidden, Invalid
from console.views.main_window import MainWindow
from console.views.reason import ReasonDialog
from tests.console.conftest import OpsApi, start_ops
from tests.console.helpers import idle, reload, row_index, show, with_modal

Open = Callable[..., MainWindow]
BERLIN = ZoneInfo("Europe/Berlin")


def test_item_filters_change_the_rows(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "chef")
    items = show(qtbot, window, "items")
    assert items.model.rowCount() == 100 and items.next_cursor  # the first page of many
    qtbot.waitUntil(lambda: items.queue.findData("bank_change") > 0, timeout=5000)

    reload(qtbot, items, lambda: items.queue.setCurrentIndex(items.queue.findData("bank_change")))
    assert {r["queue"] for r in items.table.visible_rows()} == {"bank_change"}

    reload(qtbot, items, lambda: items.status.setCurrentIndex(items.status.findData("failed")))
    rows = items.table.visible_rows()
    failed = [i for i in ops.world.failed if i.queue == "bank_change"]
    assert sorted(r["id"] for r in rows) == sorted(i.id for i in failed)
    assert items.table.cell(0, 2) == "fehlgeschlagen"

    reload(qtbot, items, lambda: items.status.setCurrentIndex(0))
    customer = failed[0].customer_id
    reload(qtbot, items, lambda: items.customer.setText(customer))
    mine = {r["id"] for r in items.table.visible_rows()}
    expected = {i.id for i in ops.store.list_items(queue="bank_change", customer_id=customer, limit=500)}
    assert mine == expected and mine

    reload(qtbot, items, lambda: (items.customer.clear(), items.reference.setText(failed[0].reference)))
    assert [r["id"] for r in items.table.visible_rows()] == [failed[0].id]

    # created on one day (the desktop's local day)
    reload(qtbot, items, lambda: (items.reference.clear(), items.queue.setCurrentIndex(0)))
    day = datetime(2026, 11, 23).astimezone()
    reload(
        qtbot, items, lambda: (items.date_from.setDate(QDate(2026, 11, 23)), items.use_from.setChecked(True))
    )
    reload(qtbot, items, lambda: (items.date_to.setDate(QDate(2026, 11, 23)), items.use_to.setChecked(True)))
    days = {datetime.fromisoformat(r["created_at"]).astimezone().date() for r in items.table.visible_rows()}
    assert days == {day.date()}


def test_retry_moves_a_failed_item_to_pending(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "chef")
    exceptions = show(qtbot, window, "exceptions")
    target = ops.world.failed[0]
    group = row_index(exceptions.groups, lambda g: target.id in g["item_ids"])
    exceptions.groups.selectRow(group)
    qtbot.waitUntil(lambda: target.id in [r["id"] for r in exceptions.items.visible_rows()], timeout=5000)
    exceptions.items.selectRow(row_index(exceptions.items, lambda r: r["id"] == target.id))
    with qtbot.waitSignal(exceptions.detail.loaded, timeout=5000):
        pass
    assert "Traceback" in exceptions.detail.error.toPlainText()
    with qtbot.waitSignal(exceptions.acted, timeout=5000):
        qtbot.mouseClick(exceptions.retry_button, Qt.MouseButton.LeftButton)
    assert ops.store.get(target.id).status == Status.PENDING
    assert ops.store.get(target.id).attempts == 0
    idle(qtbot, window)
    qtbot.waitUntil(lambda: target.id not in [r["id"] for r in exceptions.items.visible_rows()], timeout=5000)
    events = ops.store.events("item", target.id)
    assert events[-1].actor == "chef" and events[-1].to_state == "pending"

    # and the shortcut in the items view: Ctrl+R retries the selected failed items
    other = ops.world.failed[1]
    items = show(qtbot, window, "items")
    qtbot.waitUntil(lambda: items.queue.findData("bank_change") > 0, timeout=5000)
    reload(qtbot, items, lambda: items.status.setCurrentIndex(items.status.findData("failed")))
    items.table.selectRow(row_index(items.table, lambda r: r["id"] == other.id))
    window.activateWindow()
    with qtbot.waitSignal(items.acted, timeout=5000):
        qtbot.keyClick(items.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert ops.store.get(other.id).status == Status.PENDING


def test_abandon_without_a_reason_is_refused(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "chef")
    exceptions = show(qtbot, window, "exceptions")
    qtbot.waitUntil(lambda: exceptions.items.model().rowCount() > 0, timeout=5000)
    target = exceptions.items.selected_rows()[0]["id"]

    def blank(dialog: Any) -> None:
        assert isinstance(dialog, ReasonDialog)
        assert not dialog.ok.isEnabled()
        dialog.text.setPlainText("   ")
        assert not dialog.ok.isEnabled()
        dialog.accept()  # Enter on a blank reason: the dialog stays
        assert dialog.isVisible()
        dialog.reject()

    with_modal(blank, lambda: qtbot.mouseClick(exceptions.abandon_button, Qt.MouseButton.LeftButton))
    idle(qtbot, window)
    assert ops.store.get(target).status == Status.FAILED

    # the API refuses a blank reason as well
    with pytest.raises(Invalid):
        window.session.client.abandon([target], "  ")
    assert ops.store.get(target).status == Status.FAILED

    def reason(dialog: Any) -> None:
        dialog.text.setPlainText("Kunde hat Antrag zurückgezogen")
        assert dialog.ok.isEnabled()
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)

    with qtbot.waitSignal(exceptions.acted, timeout=5000):
        with_modal(reason, lambda: qtbot.mouseClick(exceptions.abandon_button, Qt.MouseButton.LeftButton))
    assert ops.store.get(target).status == Status.ABANDONED
    last = ops.store.events("item", target)[-1]
    assert (last.actor, last.reason) == ("chef", "Kunde hat Antrag zurückgezogen")


def test_a_clerk_of_kranken_never_sees_a_leben_case(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "anna")
    assert "exceptions" not in window.views  # supervisors only
    assert not window.retry_action.isEnabled()
    inbox = show(qtbot, window, "inbox")
    units = {r["unit"] for r in inbox.table.visible_rows()}
    assert units == {"Kranken"}
    assert {r["id"] for r in inbox.table.visible_rows()} == set(ops.world.kranken_cases)
    reload(qtbot, inbox, lambda: inbox.include_resolved.setChecked(True))
    assert {r["unit"] for r in inbox.table.visible_rows()} == {"Kranken"}

    kranken_items = {ops.store.get_case(c).item_id for c in ops.world.kranken_cases}
    items = show(qtbot, window, "items")
    assert {r["id"] for r in items.table.visible_rows()} == kranken_items
    queues = show(qtbot, window, "queues")
    assert not queues.pause_button.isVisible() and not queues.resume_button.isVisible()
    alerts = show(qtbot, window, "alerts")
    assert {r["kind"] for r in alerts.table.visible_rows()} <= {"case_overdue"}

    leben = ops.world.leben_cases[0]
    with pytest.raises(Forbidden):
        window.session.client.case(leben)
    with pytest.raises(Forbidden):
        window.session.client.item(ops.store.get_case(leben).item_id)
    with pytest.raises(Forbidden):
        window.session.client.cases(unit=["Leben"])


def test_resolving_a_case_records_the_operator(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "anna")
    inbox = show(qtbot, window, "inbox")
    case_id = ops.world.kranken_cases[0]
    with qtbot.waitSignal(inbox.item_detail.loaded, timeout=5000):
        inbox.table.selectRow(row_index(inbox.table, lambda r: r["id"] == case_id))
    assert inbox.case["id"] == case_id
    assert inbox.claim_button.isEnabled() and not inbox.release_button.isEnabled()
    with qtbot.waitSignal(inbox.acted, timeout=5000):
        qtbot.mouseClick(inbox.claim_button, Qt.MouseButton.LeftButton)
    assert ops.store.get_case(case_id).assignee == "anna"
    qtbot.waitUntil(lambda: inbox.release_button.isEnabled(), timeout=5000)

    inbox.note_text.setText("Tarif geprüft, Reiseziel ist abgedeckt")
    with qtbot.waitSignal(inbox.acted, timeout=5000):
        qtbot.mouseClick(inbox.note_button, Qt.MouseButton.LeftButton)
    assert ops.store.get_case(case_id).notes[-1].author == "anna"

    codes = [inbox.resolution.itemData(i)["code"] for i in range(inbox.resolution.count())]
    inbox.resolution.setCurrentIndex(codes.index("done_manually"))
    with qtbot.waitSignal(inbox.acted, timeout=5000):
        qtbot.mouseClick(inbox.resolve_button, Qt.MouseButton.LeftButton)
    case = ops.store.get_case(case_id)
    assert (case.status, case.resolution) == (CaseStatus.RESOLVED, "done_manually")
    item = ops.store.get(case.item_id)
    assert item.status == Status.DONE
    assert ops.store.events("item", item.id)[-1].actor == "anna"
    assert any(e.actor == "anna" and e.to_state == "resolved" for e in ops.store.events("case", case_id))
    idle(qtbot, window)
    qtbot.waitUntil(lambda: case_id not in [r["id"] for r in inbox.table.visible_rows()], timeout=5000)


def test_a_reason_that_needs_a_note_waits_for_it(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "lars")
    inbox = show(qtbot, window, "inbox")
    case_id = ops.world.leben_cases[0]
    with qtbot.waitSignal(inbox.item_detail.loaded, timeout=5000):
        inbox.table.selectRow(row_index(inbox.table, lambda r: r["id"] == case_id))
    codes = [inbox.resolution.itemData(i)["code"] for i in range(inbox.resolution.count())]
    assert codes == ["apply_anyway", "reject", "done_manually"]  # what the bank change offers
    inbox.resolution.setCurrentIndex(codes.index("reject"))
    assert not inbox.resolve_button.isEnabled()
    with pytest.raises(Invalid) as refused:
        window.session.client.resolve(case_id, "reject", "")
    assert "note" in refused.value.field_names()
    inbox.resolution_note.setPlainText("Das Konto gehört nicht dem Versicherungsnehmer.")
    assert inbox.resolve_button.isEnabled()


def test_backlog_shows_the_next_opening_for_a_fixed_clock(qtbot: Any, tmp_path: Path, console: Open) -> None:
    saturday_night = FixedClock(datetime(2026, 11, 28, 23, 0, tzinfo=BERLIN))
    for ops in start_ops(tmp_path, saturday_night):
        window = console(ops, "chef")
        backlog = show(qtbot, window, "backlog")
        row = row_index(backlog.table, lambda r: r["system"] == "policy_admin")
        monday_7 = datetime(2026, 11, 30, 7, 0, tzinfo=BERLIN).astimezone()
        assert backlog.table.cell(row, 1).startswith("geschlossen")
        assert backlog.table.cell(row, 2) == monday_7.strftime("%d.%m.%Y %H:%M")
        assert backlog.series  # the chart has the snapshots
        assert backlog.series["ark_certificate"].count() > 3


def test_pause_and_resume_by_a_supervisor(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "chef")
    queues = show(qtbot, window, "queues")
    queues.table.selectRow(row_index(queues.table, lambda r: r["queue"] == "ark_certificate"))
    queues.ask_reason = lambda *_a: "Wartung der Bestandsführung"
    with qtbot.waitSignal(queues.acted, timeout=5000):
        qtbot.mouseClick(queues.pause_button, Qt.MouseButton.LeftButton)
    state = ops.store.queue_state("ark_certificate")
    assert (state.paused, state.paused_by, state.paused_reason) == (
        True,
        "chef",
        "Wartung der Bestandsführung",
    )
    qtbot.waitUntil(lambda: queues.resume_button.isEnabled(), timeout=5000)
    assert "angehalten von chef" in queues.detail.text()
    queues.ask_reason = lambda *_a: "Wartung beendet"
    with qtbot.waitSignal(queues.acted, timeout=5000):
        qtbot.mouseClick(queues.resume_button, Qt.MouseButton.LeftButton)
    assert not ops.store.queue_state("ark_certificate").paused


class UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_item_detail_masks_ibans_opens_pdfs_and_saves_traces(
    qtbot: Any, ops: OpsApi, console: Open, tmp_path: Path
) -> None:
    window = console(ops, "chef")
    items = show(qtbot, window, "items")
    detail = items.detail
    bank = next(i for i in ops.world.done if i.queue == "bank_change")
    reload(qtbot, items, lambda: items.reference.setText(bank.reference))
    with qtbot.waitSignal(detail.loaded, timeout=5000):
        items.table.selectRow(0)
    request = detail.request.toPlainText()
    assert bank.payload["iban"] not in request and bank.payload["iban"][:4] in request  # masked by the API

    ark = next(i for i in ops.world.done if i.queue == "ark_certificate")
    reload(qtbot, items, lambda: items.reference.setText(ark.reference))
    with qtbot.waitSignal(detail.loaded, timeout=5000):
        items.table.selectRow(0)
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        detail.artifacts.selectRow(
            row_index(detail.artifacts, lambda a: a["media_type"] == "application/pdf")
        )
        with qtbot.waitSignal(detail.artifact_opened, timeout=5000) as opened:
            qtbot.mouseClick(detail.open_button, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    path = Path(opened.args[0])
    assert path.read_bytes().startswith(b"%PDF") and catcher.urls == [QUrl.fromLocalFile(str(path))]

    failed = next(i for i in ops.world.failed if i.queue == "ark_certificate")
    reload(qtbot, items, lambda: items.reference.setText(failed.reference))
    with qtbot.waitSignal(detail.loaded, timeout=5000):
        items.table.selectRow(0)
    qtbot.waitUntil(lambda: detail.error_shot.pixmap is not None, timeout=5000)  # the screenshot, inline
    target = tmp_path / "trace.zip"
    detail.choose_save_path = lambda _parent, _suggested: str(target)
    detail.artifacts.selectRow(row_index(detail.artifacts, lambda a: a["kind"] == "trace"))
    with qtbot.waitSignal(detail.artifact_saved, timeout=5000):
        qtbot.mouseClick(detail.save_button, Qt.MouseButton.LeftButton)
    assert target.read_bytes().startswith(b"PK")
    assert failed.error is not None and failed.error.code in detail.error.toPlainText()


def test_a_refresh_keeps_the_selection_and_the_scroll_position(
    qtbot: Any, ops: OpsApi, console: Open
) -> None:
    window = console(ops, "chef")
    items = show(qtbot, window, "items")
    assert items.model.rowCount() == 100
    with qtbot.waitSignal(items.loaded, timeout=5000):  # scrolling to the end loads the next page
        items.table.scrollToBottom()
        items.model.fetchMore(items.model.index(-1, -1))
    loaded = items.model.rowCount()
    assert loaded > 100
    items.table.selectRow(60)
    chosen = items.table.selected_keys()
    items.table.scrollTo(items.table.model().index(60, 0))
    scrolled = items.table.verticalScrollBar().value()
    assert scrolled > 0
    for n in range(3):  # new work arrives: the rows move down
        ops.store.submit("ark_certificate", {"customer_id": f"K9{n}"}, customer_id=f"K9{n}")
    reload(qtbot, items, window.refresh)
    assert items.model.rowCount() == loaded  # as many rows as were shown, fetched a page at a time
    assert items.model.row_of(chosen[0]) == 63
    assert items.table.selected_keys() == chosen
    assert items.table.verticalScrollBar().value() == scrolled
    assert items.detail.item is None or items.detail.item["id"] == chosen[0]


def test_the_window_speaks_english_on_request(qtbot: Any, ops: OpsApi, console: Open) -> None:
    from console.i18n import set_language

    set_language("en")
    window = console(ops, "chef")
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Queues", "Items", "Exceptions", "Inbox", "Backlog", "Alerts"
    ]  # fmt: skip
    queues = show(qtbot, window, "queues")
    assert queues.model.headerData(1, Qt.Orientation.Horizontal) == "Waiting"


def test_retry_a_whole_group_at_once(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "chef")
    exceptions = show(qtbot, window, "exceptions")
    group = exceptions.group()
    assert group is not None and group["count"] >= 2
    qtbot.waitUntil(lambda: exceptions.items.model().rowCount() == group["count"], timeout=5000)
    exceptions.items.clearSelection()  # no item chosen: the action concerns the group
    assert exceptions.target_ids() == group["item_ids"]
    with qtbot.waitSignal(exceptions.acted, timeout=5000) as acted:
        window.retry_action.trigger()
    assert all(r["ok"] for r in acted.args[0])
    assert {ops.store.get(i).status for i in group["item_ids"]} == {Status.PENDING}


def test_the_language_menu_asks_for_english_and_keeps_it(qtbot: Any, ops: OpsApi, console: Open) -> None:
    window = console(ops, "chef")
    english = next(a for a in window.findChildren(QAction) if a.text() == "English")
    with qtbot.waitSignal(window.language_wanted, timeout=1000) as wanted:
        english.trigger()
    assert wanted.args == ["en"]
    assert window.settings.value("language") == "en"
