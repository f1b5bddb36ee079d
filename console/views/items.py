"""The items view: server-side filters (queue, state, date, customer, reference), keyset paging as the
list scrolls, a detail pane, retry and abandon for supervisors."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.client import Page
from console.formatting import STATUS, STATUSES, count, label
from console.i18n import _, language
from console.models.items import ItemsModel
from console.session import Session
from console.views.base import View, results_text
from console.views.item_detail import TAB_REQUEST, ItemDetail
from console.views.reason import ask_reason
from console.views.table import DataTable

PAGE = 100
MAX_PAGE = 500  # the API's limit: a refresh reloads at most this many rows


class ItemsView(View):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("items_view")
        self.model = ItemsModel(self)
        self.table = DataTable(self.model, self, multi=True)
        self.table.setObjectName("items_table")
        self.table.enable_sorting()  # by a header click; the API's order (newest first) until then
        self.detail = ItemDetail(session, self)
        self.ask_reason = ask_reason
        self.next_cursor: str | None = None
        self._known_queues: list[str] = []

        self.queue = QComboBox()
        self.queue.setObjectName("filter_queue")
        self.queue.addItem(_("All queues"), "")
        self.status = QComboBox()
        self.status.setObjectName("filter_status")
        self.status.addItem(_("All states"), "")
        for status in STATUSES:
            self.status.addItem(label(STATUS, status), status)
        self.use_from = QCheckBox(_("from"))
        self.date_from = QDateEdit()
        self.use_to = QCheckBox(_("to"))
        self.date_to = QDateEdit()
        for day in (self.date_from, self.date_to):
            day.setCalendarPopup(True)
            day.setDate(QDate.currentDate())
            day.setDisplayFormat("dd.MM.yyyy" if language() == "de" else "yyyy-MM-dd")
            day.setEnabled(False)
        self.use_from.toggled.connect(self.date_from.setEnabled)
        self.use_to.toggled.connect(self.date_to.setEnabled)
        self.customer = QLineEdit()
        self.customer.setObjectName("filter_customer")
        self.customer.setPlaceholderText(_("Customer number"))
        self.reference = QLineEdit()
        self.reference.setObjectName("filter_reference")
        self.reference.setPlaceholderText(_("Reference"))
        self.retry_button = QPushButton(_("Retry (Ctrl+R)"))
        self.abandon_button = QPushButton(_("Abandon…"))
        for button in (self.retry_button, self.abandon_button):
            button.setVisible(session.is_supervisor)
        self.retry_button.clicked.connect(self.retry_selected)
        self.abandon_button.clicked.connect(self.abandon_selected)
        self.count = QLabel()
        self.count.setObjectName("items_count")

        # typing waits a moment before it asks the server; choosing from a list asks at once
        self._debounce = QTimer(self, singleShot=True, interval=350)
        self._debounce.timeout.connect(self.reload)
        for line in (self.customer, self.reference):
            line.textChanged.connect(self._debounce.start)
        for combo in (self.queue, self.status):
            combo.currentIndexChanged.connect(self.reload)
        for box in (self.use_from, self.use_to):
            box.toggled.connect(self.reload)
        for day in (self.date_from, self.date_to):
            day.dateChanged.connect(self._debounce.start)
        self.search.textChanged.connect(self.table.proxy.setFilterFixedString)
        self.search.setPlaceholderText(_("Search in the loaded items (Ctrl+F)"))
        self.model.more_wanted.connect(self.load_more)
        self.table.selectionModel().selectionChanged.connect(self._selected)

        filters = QHBoxLayout()
        for text, widget in (
            (_("Queue"), self.queue),
            (_("State"), self.status),
            (None, self.use_from),
            (None, self.date_from),
            (None, self.use_to),
            (None, self.date_to),
            (None, self.customer),
            (None, self.reference),
        ):
            if text:
                filters.addWidget(QLabel(text))
            filters.addWidget(widget)
        filters.addStretch(1)
        actions = QHBoxLayout()
        actions.addWidget(self.search, 1)
        actions.addWidget(self.count)
        actions.addWidget(self.retry_button)
        actions.addWidget(self.abandon_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(actions)
        left_layout.addWidget(self.table, 1)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("items_split")
        self.split.addWidget(left)
        self.split.addWidget(self.detail)
        self.split.setSizes([960, 460])
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.problem)
        layout.addWidget(self.split, 1)
        self._selected()

    def title(self) -> str:
        return _("Items")

    # ------------------------------------------------------------ filters and pages

    def filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "queue": self.queue.currentData() or "",
            "status": self.status.currentData() or "",
            "customer_id": self.customer.text().strip(),
            "reference": self.reference.text().strip(),
        }
        if self.use_from.isChecked():
            found["created_from"] = self._day(self.date_from.date())
        if self.use_to.isChecked():
            found["created_to"] = self._day(self.date_to.date().addDays(1))
        return found

    @staticmethod
    def _day(day: QDate) -> str:
        """Local midnight of `day` as an ISO instant with the desktop's offset."""
        from datetime import datetime

        return datetime(day.year(), day.month(), day.day()).astimezone().isoformat()

    def set_queues(self, queues: list[str]) -> None:
        if queues == self._known_queues:
            return
        self._known_queues = queues
        current = self.queue.currentData()
        self.queue.blockSignals(True)
        while self.queue.count() > 1:
            self.queue.removeItem(1)
        for q in queues:
            self.queue.addItem(q, q)
        index = self.queue.findData(current)
        self.queue.setCurrentIndex(max(index, 0))
        self.queue.blockSignals(False)

    def reload(self) -> None:
        """The filters changed: the first page anew."""
        self.load(self.session.client.items, self.filters(), limit=PAGE, then=self._first_page)

    def refresh(self) -> None:
        """The same filters again, as many rows as are shown now (at most MAX_PAGE)."""
        if not self._known_queues:
            self.session.tasks.run(
                self.session.client.queues,
                owner=self,
                returned=lambda body: self.set_queues([q["queue"] for q in body["queues"]]),
            )
        count = min(max(PAGE, self.model.rowCount()), MAX_PAGE)
        self.load(self.session.client.items_up_to, self.filters(), count, page=PAGE, then=self._first_page)

    def _first_page(self, page: Page) -> None:
        self.next_cursor = page.next_cursor
        self.table.replace(page.rows, has_more=page.next_cursor is not None)
        self._counted()
        self._selected()

    def load_more(self) -> None:
        if self.next_cursor is None:
            return
        self.load(
            self.session.client.items,
            self.filters(),
            limit=PAGE,
            cursor=self.next_cursor,
            then=self._next_page,
        )

    def _next_page(self, page: Page) -> None:
        self.next_cursor = page.next_cursor
        self.table.append(page.rows, page.next_cursor is not None)
        self._counted()

    def _counted(self) -> None:
        more = "+" if self.next_cursor else ""
        self.count.setText(_("{n} items").format(n=count(self.model.rowCount())) + more)

    # ------------------------------------------------------------ selection and actions

    def _selected(self, *_args: Any) -> None:
        rows = self.table.selected_rows()
        failed = [r for r in rows if r["status"] == "failed"]
        self.retry_button.setEnabled(bool(failed))
        self.abandon_button.setEnabled(bool(failed))
        if len(rows) == 1:
            self.detail.show_item(rows[0]["id"])
        elif not rows:
            self.detail.show_item(None, TAB_REQUEST)

    def retry_selected(self) -> None:
        if not self.session.is_supervisor:
            return
        ids = [r["id"] for r in self.table.selected_rows() if r["status"] == "failed"]
        if ids:
            self.act(self.session.client.retry, ids, _("retried from the console"), then=self._results)

    def abandon_selected(self) -> None:
        ids = [r["id"] for r in self.table.selected_rows() if r["status"] == "failed"]
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
