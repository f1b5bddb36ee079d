"""The clerk's inbox: the open and claimed cases of my units by due date (overdue ones stand out); claim,
release, notes, and resolving a case with the choices its bot offers."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.client import Page
from console.formatting import CASE_STATUS, label, when
from console.i18n import _
from console.models.cases import COL_DUE, COL_NOTE, CasesModel
from console.session import Session
from console.tasks import Channel
from console.views.base import View
from console.views.item_detail import ItemDetail
from console.views.table import DataTable

OPEN_STATES = ("open", "claimed")


class InboxView(View):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("inbox_view")
        self.model = CasesModel(self)
        self.table = DataTable(self.model, self)
        self.table.setObjectName("cases_table")
        self.table.column_caps = {COL_NOTE: 200}
        self.table.enable_sorting(COL_DUE)  # the most urgent first, as the API sends them
        self.case: dict[str, Any] | None = None
        self.case_channel = Channel(session.tasks, self)  # only the selected case counts
        self.next_cursor: str | None = None

        self.include_resolved = QCheckBox(_("Show resolved cases"))
        self.mine_only = QCheckBox(_("Only mine"))
        self.include_resolved.toggled.connect(self.refresh)
        self.mine_only.toggled.connect(self.refresh)
        self.search.textChanged.connect(self.table.proxy.setFilterFixedString)
        self.model.more_wanted.connect(self.load_more)

        # the case pane
        self.case_header = QLabel(_("No case selected"))
        self.case_header.setObjectName("case_header")
        self.case_header.setWordWrap(True)
        self.case_header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QPlainTextEdit(readOnly=True)
        self.notes.setObjectName("case_notes")
        self.claim_button = QPushButton(_("Claim"))
        self.release_button = QPushButton(_("Release"))
        self.claim_button.clicked.connect(self.claim)
        self.release_button.clicked.connect(self.release)
        self.note_text = QLineEdit()
        self.note_text.setObjectName("note_text")
        self.note_text.setPlaceholderText(_("A note on this case"))
        self.note_button = QPushButton(_("Add note"))
        self.note_button.clicked.connect(self.add_note)
        self.note_text.returnPressed.connect(self.add_note)
        self.note_text.textChanged.connect(self._enable)
        self.resolution = QComboBox()
        self.resolution.setObjectName("resolution")
        self.resolution.currentIndexChanged.connect(self._enable)
        self.resolution_note = QPlainTextEdit()
        self.resolution_note.setObjectName("resolution_note")
        self.resolution_note.setPlaceholderText(_("Note on the decision (required where marked *)"))
        self.resolution_note.setMaximumHeight(90)
        self.resolution_note.textChanged.connect(self._enable)
        self.resolve_button = QPushButton(_("Decide"))
        self.resolve_button.setObjectName("resolve_button")
        self.resolve_button.clicked.connect(self.resolve)
        self.item_detail = ItemDetail(session, self)

        case_pane = QWidget()
        pane = QVBoxLayout(case_pane)
        pane.addWidget(self.case_header)
        buttons = QHBoxLayout()
        buttons.addWidget(self.claim_button)
        buttons.addWidget(self.release_button)
        buttons.addStretch(1)
        pane.addLayout(buttons)
        pane.addWidget(QLabel(_("Notes")))
        pane.addWidget(self.notes, 1)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_text, 1)
        note_row.addWidget(self.note_button)
        pane.addLayout(note_row)
        pane.addWidget(QLabel(_("Decision")))
        pane.addWidget(self.resolution)
        pane.addWidget(self.resolution_note)
        resolve_row = QHBoxLayout()
        resolve_row.addStretch(1)
        resolve_row.addWidget(self.resolve_button)
        pane.addLayout(resolve_row)
        self.tabs = QTabWidget()
        self.tabs.addTab(case_pane, _("Case"))
        self.tabs.addTab(self.item_detail, _("Item"))

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.mine_only)
        bar.addWidget(self.include_resolved)
        units = session.units
        self.units_label = QLabel(
            _("Units: {units}").format(units=", ".join(units)) if units else _("All units")
        )
        bar.addWidget(self.units_label)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("inbox_split")
        self.split.addWidget(self.table)
        self.split.addWidget(self.tabs)
        self.split.setSizes([940, 480])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.problem)
        layout.addWidget(self.split, 1)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self._show_case(None)

    def title(self) -> str:
        return _("Inbox")

    # ------------------------------------------------------------ loading

    def statuses(self) -> tuple[str, ...]:
        return () if self.include_resolved.isChecked() else OPEN_STATES

    def refresh(self) -> None:
        limit = min(max(100, self.model.rowCount()), 500)
        self.load(self.session.client.cases, status=self.statuses(), limit=limit, then=self._first_page)

    def _first_page(self, page: Page) -> None:
        self.next_cursor = page.next_cursor
        self.table.replace(self._mine(page.rows), has_more=page.next_cursor is not None)
        self._selected()

    def load_more(self) -> None:
        if self.next_cursor:
            self.load(
                self.session.client.cases,
                status=self.statuses(),
                cursor=self.next_cursor,
                then=self._next_page,
            )

    def _next_page(self, page: Page) -> None:
        self.next_cursor = page.next_cursor
        self.table.append(self._mine(page.rows), page.next_cursor is not None)

    def _mine(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.mine_only.isChecked():
            return rows
        return [r for r in rows if r.get("assignee") == self.session.name]

    # ------------------------------------------------------------ the selected case

    def _selected(self, *_args: Any) -> None:
        rows = self.table.selected_rows()
        row = rows[0] if rows else None
        if row is None:
            self._show_case(None)
            return
        if (
            self.case is None
            or self.case["id"] != row["id"]
            or self.case.get("updated_at") != row.get("updated_at")
        ):
            self.case_channel.run(
                self.session.client.case, row["id"], returned=self._show_case, errored=self.report
            )

    def _show_case(self, case: dict[str, Any] | None) -> None:
        changed_case = case is None or self.case is None or self.case["id"] != case["id"]
        self.case = case
        if case is None:
            self.case_header.setText(_("No case selected"))
            self.notes.setPlainText("")
            self.resolution.clear()
            self.item_detail.show_item(None)
            self._enable()
            return
        e = html.escape
        item = case.get("item") or {}
        title, overdue = _("Case {id}").format(id=case["id"]), _("overdue")
        lines = [
            f"<b>{e(title)}</b> · {e(case['unit'])} · {e(case['queue'])} · "
            f"<b>{e(label(CASE_STATUS, case['status']))}</b>",
            e(_("Due {due}").format(due=when(case.get("due_at")) or "–"))
            + (f" <span style='color:#b3261e'><b>{e(overdue)}</b></span>" if case.get("overdue") else ""),
            e(f"{case.get('reason_code')}: {case.get('note') or ''}"),
            e(_("Item {id} · reference {reference} · customer {customer}").format(
                id=case["item_id"], reference=item.get("reference", ""), customer=item.get("customer_id") or "–")),
            e(_("Assigned to {who}").format(who=case.get("assignee") or "–")),
        ]  # fmt: skip
        if case.get("resolution"):
            lines.append(
                e(_("Resolution: {title}").format(title=case.get("resolution_title") or case["resolution"]))
            )
        self.case_header.setText("<br>".join(lines))
        notes = case.get("notes") or []
        self.notes.setPlainText(
            "\n".join(f"{when(n.get('at'))}  {n.get('author')}: {n.get('text')}" for n in notes)
            or _("No notes yet.")
        )
        if changed_case or self.resolution.count() != len(case.get("resolutions") or []):
            self.resolution.clear()
            for r in case.get("resolutions") or []:
                self.resolution.addItem(r["title"] + (" *" if r.get("needs_note") else ""), r)
        if changed_case:
            self.item_detail.show_item(case["item_id"])
        self._enable()

    def _enable(self, *_args: Any) -> None:
        case = self.case or {}
        live = bool(case) and case["status"] != "resolved"
        assignee = case.get("assignee")
        mine = assignee == self.session.name
        self.claim_button.setEnabled(live and not mine)
        self.release_button.setEnabled(live and (mine or (self.session.is_supervisor and bool(assignee))))
        self.note_button.setEnabled(live and bool(self.note_text.text().strip()))
        chosen = self.resolution.currentData()
        note_ok = not (chosen and chosen.get("needs_note")) or bool(
            self.resolution_note.toPlainText().strip()
        )
        self.resolve_button.setEnabled(live and chosen is not None and note_ok)
        for w in (self.resolution, self.resolution_note, self.note_text):
            w.setEnabled(live)

    # ------------------------------------------------------------ actions

    def claim(self) -> None:
        if self.case:
            self.act(self.session.client.claim, self.case["id"], then=self._show_case_and_row)

    def release(self) -> None:
        if self.case:
            self.act(self.session.client.release, self.case["id"], then=self._show_case_and_row)

    def add_note(self) -> None:
        text = self.note_text.text().strip()
        if self.case and text:
            self.note_text.clear()
            self.act(self.session.client.add_note, self.case["id"], text, then=self._show_case_and_row)

    def resolve(self) -> None:
        chosen = self.resolution.currentData()
        if not self.case or not chosen:
            return
        note = self.resolution_note.toPlainText().strip()

        def done(body: dict[str, Any]) -> None:
            self.resolution_note.clear()
            self._show_case_and_row(body["case"])

        self.act(self.session.client.resolve, self.case["id"], chosen["code"], note, then=done)

    def _show_case_and_row(self, case: dict[str, Any]) -> None:
        keep_item = {k: v for k, v in (self.case or {}).items() if k == "item"}
        self._show_case({**keep_item, **case})
