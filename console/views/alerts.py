"""The alerts view: breaker pauses and resumes, items past their due date, cases past theirs."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from console.formatting import ALERT_KIND, label
from console.i18n import _
from console.models.alerts import AlertsModel
from console.session import Session
from console.views.base import View
from console.views.table import DataTable


class AlertsView(View):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("alerts_view")
        self.model = AlertsModel(self)
        self.table = DataTable(self.model, self)
        self.table.setObjectName("alerts_table")
        self.kind = QComboBox()
        self.kind.addItem(_("All alerts"), "")
        for kind in ALERT_KIND:
            self.kind.addItem(label(ALERT_KIND, kind), kind)
        self.kind.currentIndexChanged.connect(self._filter)
        self.search.textChanged.connect(self.table.proxy.setFilterFixedString)
        self.count = QLabel()
        self._rows: list[dict[str, Any]] = []
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.kind)
        bar.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.problem)
        layout.addWidget(self.table, 1)

    def title(self) -> str:
        return _("Alerts")

    def refresh(self) -> None:
        self.load(self.session.client.alerts, then=self._show)

    def _show(self, alerts: list[dict[str, Any]]) -> None:
        self._rows = alerts
        self._filter()

    def _filter(self, *_args: Any) -> None:
        kind = self.kind.currentData()
        rows = [a for a in self._rows if not kind or a["kind"] == kind]
        self.table.replace(rows)
        self.count.setText(_("{n} alerts").format(n=len(rows)))
