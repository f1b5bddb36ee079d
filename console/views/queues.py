"""The queues view: per bot what waits, runs, failed and is done, and pause/resume for supervisors."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from console.formatting import count, number, when
from console.i18n import _
from console.models.queues import COL_QUEUE, QueuesModel
from console.session import Session
from console.views.base import View
from console.views.reason import ask_reason
from console.views.table import DataTable


class QueuesView(View):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.setObjectName("queues_view")
        self.model = QueuesModel(self)
        self.table = DataTable(self.model, self)
        self.table.setObjectName("queues_table")
        self.table.enable_sorting(COL_QUEUE)
        self.table.column_caps = {COL_QUEUE: 250}
        self.ask_reason = ask_reason
        self.pause_button = QPushButton(_("Pause…"))
        self.resume_button = QPushButton(_("Resume…"))
        self.pause_button.clicked.connect(self.pause_selected)
        self.resume_button.clicked.connect(self.resume_selected)
        for button in (self.pause_button, self.resume_button):
            button.setVisible(session.is_supervisor)  # the API refuses clerks anyway
        self.at = QLabel()
        self.at.setObjectName("queues_at")
        self.detail = QLabel()
        self.detail.setObjectName("queue_detail")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setStyleSheet(
            "QLabel#queue_detail { background: white; border: 1px solid #d0d4da; padding: 10px; }"
        )
        self.search.textChanged.connect(self.table.proxy.setFilterFixedString)

        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.resume_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.problem)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("queues_split")
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setSizes([300, 460])
        layout.addWidget(split, 1)
        layout.addWidget(self.at)
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self._selected()

    def title(self) -> str:
        return _("Queues")

    def refresh(self) -> None:
        self.load(self.session.client.queues, then=self._show)

    def _show(self, body: dict[str, Any]) -> None:
        self.table.replace(body["queues"])
        self.at.setText(_("As of {at}").format(at=when(body.get("at"), seconds=True)))
        self._selected()

    def _current(self) -> dict[str, Any] | None:
        rows = self.table.selected_rows()
        return rows[0] if rows else None

    def _selected(self, *_args: Any) -> None:
        row = self._current()
        self.pause_button.setEnabled(bool(row) and not row.get("paused"))  # type: ignore[union-attr]
        self.resume_button.setEnabled(bool(row) and bool(row.get("paused")))  # type: ignore[union-attr]
        if row is None:
            self.detail.setText(_("Select a queue to pause or resume it."))
            return
        self.detail.setText(self._detail_html(row))

    def _detail_html(self, row: dict[str, Any]) -> str:
        """The selected queue in full: every count, deferrals by reason, who paused it and why."""
        e = html.escape
        counts = row.get("counts") or {}
        lines = [
            (_("Waiting"), count(counts.get("pending", 0))),
            (_("Running"), count(counts.get("running", 0))),
            (_("Deferred"), self.model.deferred_text(row) or "0"),
            (_("With clerks"), count(counts.get("handed_off", 0))),
            (_("Failed"), count(counts.get("failed", 0))),
            (_("Done today"), count(row.get("done_today", 0))),
            (_("Per hour"), number(row.get("throughput_per_hour"))),
            (_("Oldest waiting"), when(row.get("oldest_waiting_at")) or "–"),
            (_("Past due"), count(row.get("past_due", 0))),
        ]
        if row.get("paused"):
            lines.append((_("Paused"), _("paused by {who}: {why}").format(
                who=row.get("paused_by") or "?", why=row.get("paused_reason") or "")))  # fmt: skip
            lines.append(("", _("paused at {at}").format(at=when(row.get("paused_at")))))
            if row.get("resume_at"):
                lines.append(("", _("trial run from {at}").format(at=when(row["resume_at"]))))
        else:
            lines.append((_("Paused"), _("no")))
        cells = "".join(
            f"<tr><td style='padding-right:16px;color:#5f6368'>{e(k)}</td><td>{e(v)}</td></tr>"
            for k, v in lines
        )
        title = e(str(row.get("title") or row["queue"]))
        return f"<p><b>{title}</b> <span style='color:#5f6368'>({e(row['queue'])})</span></p><table>{cells}</table>"

    def pause_selected(self) -> None:
        row = self._current()
        if row is None:
            return
        reason = self.ask_reason(self, _("Pause queue"), _("Why pause {queue}?").format(queue=row["queue"]))
        if reason:
            self.act(self.session.client.pause, row["queue"], reason)

    def resume_selected(self) -> None:
        row = self._current()
        if row is None:
            return
        reason = self.ask_reason(self, _("Resume queue"), _("Why resume {queue}?").format(queue=row["queue"]))
        if reason:
            self.act(self.session.client.resume, row["queue"], reason)
