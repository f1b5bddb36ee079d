"""The exceptions view (supervisors): failed items grouped by error kind and code, each item's traceback and
screenshot; retry or abandon (with a reason) one item, several, or a whole group."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from console.client import Page
from console.i18n import _
from console.models.exceptions import COL_COUNT, ExceptionsModel
from console.models.items import COL_QUEUE, COL_STATUS, ItemsModel
from console.session import Session
from console.tasks import Channel
from console.views.base import View, results_text
from console.views.item_detail import TAB_ERROR, ItemDetail
from console.views.reason import ask_reason
from console.views.table import DataTable


class ExceptionsView(View):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("exceptions_view")
        self.model = ExceptionsModel(self)
        self.groups = DataTable(self.model, self)
        self.groups.setObjectName("exception_groups")
        self.groups.enable_sorting(COL_COUNT, Qt.SortOrder.DescendingOrder)
        self.items_model = ItemsModel(self)
        self.items = DataTable(self.items_model, self, multi=True)
        self.items.setObjectName("exception_items")
        for column in (COL_QUEUE, COL_STATUS):  # the group says both
            self.items.setColumnHidden(column, True)
        self.detail = ItemDetail(session, self)
        self.items_channel = Channel(session.tasks, self)  # only the selected group's items count
        self.ask_reason = ask_reason
        self.retry_button = QPushButton(_("Retry (Ctrl+R)"))
        self.abandon_button = QPushButton(_("Abandon…"))
        self.retry_button.clicked.connect(self.retry_selected)
        self.abandon_button.clicked.connect(self.abandon_selected)
        self.hint = QLabel(_("Without a selection of items, an action concerns the whole group."))
        self.hint.setStyleSheet("color: #5f6368;")
        self.search.textChanged.connect(self.groups.proxy.setFilterFixedString)
        self.groups.selectionModel().selectionChanged.connect(self._group_selected)
        self.items.selectionModel().selectionChanged.connect(self._item_selected)

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.hint)
        bar.addWidget(self.retry_button)
        bar.addWidget(self.abandon_button)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.groups)
        left.addWidget(self.items)
        left.setSizes([330, 420])
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("exceptions_split")
        self.split.addWidget(left)
        self.split.addWidget(self.detail)
        self.split.setSizes([760, 660])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.problem)
        layout.addWidget(self.split, 1)
        self._item_selected()

    def title(self) -> str:
        return _("Exceptions")

    def refresh(self) -> None:
        self.load(self.session.client.exceptions, then=self._show)

    def _show(self, groups: list[dict[str, Any]]) -> None:
        self.groups.replace(groups)
        if not self.groups.selected_rows() and groups:
            self.groups.selectRow(0)
        else:
            self._load_items()

    def group(self) -> dict[str, Any] | None:
        rows = self.groups.selected_rows()
        return rows[0] if rows else None

    def _group_selected(self, *_args: Any) -> None:
        self._load_items()

    def _load_items(self) -> None:
        group = self.group()
        if group is None:
            self.items.replace([])
            self._item_selected()
            return
        filters = {
            "queue": group["queue"],
            "status": "failed",
            "error_kind": group["kind"],
            "error_code": group["code"],
        }
        self.items_channel.run(
            self.session.client.items,
            filters,
            limit=200,
            returned=self._show_items,
            errored=self.report,
        )

    def _show_items(self, page: Page) -> None:
        self.items.replace(page.rows)
        if not self.items.selected_rows() and page.rows:
            self.items.selectRow(0)
        self._item_selected()

    def _item_selected(self, *_args: Any) -> None:
        rows = self.items.selected_rows()
        self.retry_button.setEnabled(bool(rows) or self.group() is not None)
        self.abandon_button.setEnabled(bool(rows) or self.group() is not None)
        if len(rows) == 1:
            self.detail.show_item(rows[0]["id"], TAB_ERROR)
        elif not rows:
            self.detail.show_item(None)

    def target_ids(self) -> list[int]:
        """The selected items, or every item of the selected group."""
        rows = self.items.selected_rows()
        if rows:
            return [r["id"] for r in rows]
        group = self.group()
        return list(group["item_ids"]) if group else []

    def retry_selected(self) -> None:
        ids = self.target_ids()
        if ids:
            self.act(self.session.client.retry, ids, _("retried from the console"), then=self._results)

    def abandon_selected(self) -> None:
        ids = self.target_ids()
        if not ids:
            return
        reason = self.ask_reason(
            self,
            _("Abandon items"),
            _("Why abandon {n} failed item(s)? They will not be run again.").format(n=len(ids)),
        )
        if reason:
            self.act(self.session.client.abandon, ids, reason, then=self._results)

    def _results(self, results: list[dict[str, Any]]) -> None:
        self.session.hub.message.emit(results_text(results))
