"""The backlog view: per target system whether it is open and its next opening, what waits for it, the
measured throughput and when the backlog is drained; a chart of the backlog snapshots of the last days."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from PySide6.QtCharts import QChart, QChartView, QDateTimeAxis, QLineSeries, QValueAxis
from PySide6.QtCore import QDateTime, QMargins, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from console.formatting import parse, when
from console.i18n import _, language
from console.models.backlog import COL_SYSTEM, BacklogModel
from console.session import Session
from console.views.base import View
from console.views.table import DataTable

SERIES_COLOURS = ("#1f5fa8", "#b3261e", "#1b6e35", "#8a5300", "#6a3d9a", "#00777a")


class BacklogView(View):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("backlog_view")
        self.model = BacklogModel(self)
        self.table = DataTable(self.model, self)
        self.table.setObjectName("backlog_table")
        self.table.enable_sorting(COL_SYSTEM)
        self.days = QComboBox()
        for n in (1, 3, 7, 14):
            self.days.addItem(_("last {n} days").format(n=n) if n > 1 else _("last day"), n)
        self.days.setCurrentIndex(1)
        self.days.currentIndexChanged.connect(self.refresh)
        self.at = QLabel()
        self.at.setObjectName("backlog_at")
        self.search.textChanged.connect(self.table.proxy.setFilterFixedString)

        self.chart = QChart()
        self.chart.setTitle(_("Open items per queue"))
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart.setMargins(QMargins(6, 6, 6, 6))
        self.chart_view = QChartView(self.chart)
        self.chart_view.setObjectName("backlog_chart")
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.empty = QLabel(_("No backlog snapshots in this period."))
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(QLabel(_("Chart:")))
        bar.addWidget(self.days)
        bar.addWidget(self.at)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        chart_box = QWidget()
        chart_layout = QVBoxLayout(chart_box)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.chart_view, 1)
        chart_layout.addWidget(self.empty)
        split.addWidget(chart_box)
        split.setSizes([150, 630])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.problem)
        layout.addWidget(split, 1)
        self.series: dict[str, QLineSeries] = {}

    def title(self) -> str:
        return _("Backlog")

    def refresh(self) -> None:
        self.load(self.session.client.backlog, int(self.days.currentData() or 3), then=self._show)

    def _show(self, body: dict[str, Any]) -> None:
        self.table.replace(body["systems"])
        self.at.setText(_("As of {at}").format(at=when(body.get("at"), seconds=True)))
        self._chart(body.get("snapshots") or [])

    def _chart(self, snapshots: list[dict[str, Any]]) -> None:
        """One line per queue: its open items (every open state summed) at each snapshot."""
        totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for s in snapshots:
            totals[s["queue"]][s["at"]] += int(s["count"])
        every_at = sorted({s["at"] for s in snapshots})
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
        self.series = {}
        self.empty.setVisible(not snapshots)
        if not snapshots:
            return
        x = QDateTimeAxis()
        x.setFormat("dd.MM. HH:mm" if language() == "de" else "MM-dd HH:mm")
        x.setTitleText(_("Time"))
        x.setTickCount(7)
        y = QValueAxis()
        y.setLabelFormat("%d")
        y.setTitleText(_("Open items"))
        self.chart.addAxis(x, Qt.AlignmentFlag.AlignBottom)
        self.chart.addAxis(y, Qt.AlignmentFlag.AlignLeft)
        top = 0
        for n, (queue, points) in enumerate(sorted(totals.items())):
            series = QLineSeries()
            series.setName(queue)
            series.setPen(QPen(QColor(SERIES_COLOURS[n % len(SERIES_COLOURS)]), 2))
            for at in every_at:  # a snapshot without the queue means nothing of it was open
                moment = parse(at)
                if moment is None:
                    continue
                value = points.get(at, 0)
                top = max(top, value)
                series.append(
                    QDateTime.fromMSecsSinceEpoch(int(moment.timestamp() * 1000)).toMSecsSinceEpoch(), value
                )
            self.chart.addSeries(series)
            series.attachAxis(x)
            series.attachAxis(y)
            self.series[queue] = series
        first, last = parse(every_at[0]), parse(every_at[-1])
        if first and last:
            x.setRange(
                QDateTime.fromMSecsSinceEpoch(int(first.timestamp() * 1000)),
                QDateTime.fromMSecsSinceEpoch(int(max(last.timestamp(), first.timestamp() + 60) * 1000)),
            )
        y.setRange(0, max(top * 1.1, 5))
        y.applyNiceNumbers()
