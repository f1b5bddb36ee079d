"""One item in detail: the request (IBANs come masked from the API), its error, history, artifacts, cases.

A PDF opens in the desktop's viewer from a temporary file; a screenshot shows inline; anything (the
Playwright trace) can be saved to disk on request.
"""

from __future__ import annotations

import html
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.client import Download
from console.formatting import CASE_STATUS, DEFER_REASON, STATUS, label, when
from console.i18n import _
from console.models.detail import COL_ART_CREATED, ArtifactsModel, EventsModel
from console.session import Session
from console.tasks import Channel
from console.views.base import describe
from console.views.table import DataTable

TAB_REQUEST, TAB_ERROR, TAB_HISTORY, TAB_ARTIFACTS, TAB_CASES = range(5)
PREVIEW_MAX = 5_000_000  # bytes of a screenshot shown inline


def _mono() -> Any:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def choose_save_path(parent: QWidget, suggested: str) -> str | None:
    path, _filter = QFileDialog.getSaveFileName(parent, _("Save artifact"), suggested)
    return path or None


class Screenshot(QScrollArea):
    """A PNG shown inline, scaled down to the pane's width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(_("No screenshot"))
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.pixmap: QPixmap | None = None

    def show_png(self, data: bytes | None) -> None:
        self.pixmap = None
        if data:
            pixmap = QPixmap()
            if pixmap.loadFromData(data):
                self.pixmap = pixmap
        self._fit()

    def clear(self) -> None:
        self.show_png(None)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self.pixmap is None:
            self.label.setPixmap(QPixmap())
            self.label.setText(_("No screenshot"))
            return
        width = max(self.viewport().width() - 4, 100)
        shown = (
            self.pixmap
            if self.pixmap.width() <= width
            else self.pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        )
        self.label.setPixmap(shown)


class ItemDetail(QWidget):
    loaded = Signal(object)  # the item's detail dict
    failed = Signal(str)
    artifact_opened = Signal(str)  # the temp file handed to the desktop
    artifact_saved = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("item_detail")
        self.session = session
        self.channel = Channel(session.tasks, self)
        self.shot_channel = Channel(session.tasks, self)
        self.item: dict[str, Any] | None = None
        self.choose_save_path: Callable[[QWidget, str], str | None] = choose_save_path
        self._temp = Path(tempfile.mkdtemp(prefix="portalbots-console-"))

        self.header = QLabel(_("No item selected"))
        self.header.setObjectName("item_header")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()

        self.request = QPlainTextEdit(readOnly=True)
        self.request.setObjectName("item_request")
        self.request.setFont(_mono())
        self.tabs.addTab(self.request, _("Request"))

        self.error = QPlainTextEdit(readOnly=True)
        self.error.setObjectName("item_error")
        self.error.setFont(_mono())
        self.error.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.error_shot = Screenshot()
        self.error_shot.setObjectName("error_screenshot")
        error_split = QSplitter(Qt.Orientation.Vertical)
        error_split.addWidget(self.error)
        error_split.addWidget(self.error_shot)
        error_split.setSizes([220, 300])
        self.tabs.addTab(error_split, _("Error"))

        self.events_model = EventsModel(self)
        self.events = DataTable(self.events_model)
        self.events.setObjectName("item_events")
        self.tabs.addTab(self.events, _("History"))

        self.artifacts_model = ArtifactsModel(self)
        self.artifacts = DataTable(self.artifacts_model)
        self.artifacts.setObjectName("item_artifacts")
        self.artifacts.setColumnHidden(COL_ART_CREATED, True)  # the history says when
        self.open_button = QPushButton(_("Open"))
        self.save_button = QPushButton(_("Save as…"))
        self.open_button.clicked.connect(self.open_selected)
        self.save_button.clicked.connect(self.save_selected)
        self.preview = Screenshot()
        self.preview.setObjectName("artifact_preview")
        art = QWidget()
        art_layout = QVBoxLayout(art)
        art_layout.setContentsMargins(0, 0, 0, 0)
        art_buttons = QHBoxLayout()
        art_buttons.addWidget(self.open_button)
        art_buttons.addWidget(self.save_button)
        art_buttons.addStretch(1)
        art_layout.addWidget(self.artifacts, 1)
        art_layout.addLayout(art_buttons)
        art_layout.addWidget(self.preview, 2)
        self.tabs.addTab(art, _("Artifacts"))
        self.artifacts.selectionModel().selectionChanged.connect(self._artifact_selected)

        self.cases = QLabel()
        self.cases.setObjectName("item_cases")
        self.cases.setWordWrap(True)
        self.cases.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.cases.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        cases_scroll = QScrollArea()
        cases_scroll.setWidget(self.cases)
        cases_scroll.setWidgetResizable(True)
        self.tabs.addTab(cases_scroll, _("Cases"))

        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b3261e;")
        self.problem.setWordWrap(True)
        self.problem.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.problem)
        layout.addWidget(self.tabs, 1)
        self._artifact_selected()

    # ------------------------------------------------------------ loading

    def show_item(self, item_id: int | None, tab: int | None = None) -> None:
        if tab is not None:
            self.tabs.setCurrentIndex(tab)
        if item_id is None:
            self.clear()
            return
        self.channel.run(self.session.client.item, item_id, returned=self._show, errored=self._failed)

    def clear(self) -> None:
        self.item = None
        self.header.setText(_("No item selected"))
        for text in (self.request, self.error):
            text.setPlainText("")
        self.events.replace([])
        self.artifacts.replace([])
        self.cases.setText("")
        self.error_shot.clear()
        self.preview.clear()

    def _failed(self, exc: Exception) -> None:
        self.problem.setText(describe(exc))
        self.problem.show()
        self.failed.emit(describe(exc))

    def _show(self, item: dict[str, Any]) -> None:
        self.problem.hide()
        same = self.item is not None and self.item["id"] == item["id"]
        self.item = item
        status = label(STATUS, item["status"])
        if item.get("defer_reason"):
            status += f" ({label(DEFER_REASON, item['defer_reason'])}, {when(item.get('not_before'))})"
        e = html.escape
        title = _("Item {id}").format(id=item["id"])
        lines = [
            f"<b>{e(title)}</b> · {e(item['queue'])} · <b>{e(status)}</b>",
            e(_("Reference {reference} · customer {customer} · attempt {attempts} of {max}").format(
                reference=item.get("reference") or "",
                customer=item.get("customer_id") or "–",
                attempts=item.get("attempts", 0),
                max=item.get("max_attempts", 0),
            )),
            e(_("Created {created} · due {due} · changed {changed}").format(
                created=when(item.get("created_at")),
                due=when(item.get("due_at")) or "–",
                changed=when(item.get("updated_at")),
            )),
        ]  # fmt: skip
        self.header.setText("<br>".join(lines))
        request = {"payload": item.get("payload")}
        if item.get("result"):
            request["result"] = item["result"]
        if item.get("clerk_authority"):
            request["clerk_authority"] = item["clerk_authority"]
        self.request.setPlainText(json.dumps(request, indent=2, ensure_ascii=False))
        error = item.get("error")
        if error:
            text = f"{error['kind']} · {error['code']}\n{error['message']}\n\n{error.get('traceback') or ''}"
            self.error.setPlainText(text.rstrip())
        else:
            self.error.setPlainText(_("No error."))
        self.events.replace(item.get("events") or [])
        self.artifacts.replace(item.get("artifacts") or [])
        if not same or not self.artifacts.selected_rows():
            self._artifact_selected()
        self.cases.setText(self._cases_html(item.get("cases") or []))
        shot = self.screenshot_artifact()
        if shot is None:
            self.error_shot.clear()
        elif not same or self.error_shot.pixmap is None:
            self.shot_channel.run(
                self.session.client.artifact,
                item["id"],
                shot["id"],
                returned=self._show_error_shot,
                errored=self._failed,
            )
        self.loaded.emit(item)

    def _cases_html(self, cases: list[dict[str, Any]]) -> str:
        if not cases:
            return _("No cases.")
        e = html.escape
        parts = []
        for c in cases:
            head = _("Case {id} · {unit} · {status}").format(
                id=c["id"], unit=c["unit"], status=label(CASE_STATUS, c["status"])
            )
            body = [f"<b>{e(head)}</b>", e(f"{c.get('reason_code')}: {c.get('note') or ''}")]
            if c.get("assignee"):
                body.append(e(_("Assigned to {who}").format(who=c["assignee"])))
            if c.get("resolution"):
                body.append(
                    e(_("Resolution: {title}").format(title=c.get("resolution_title") or c["resolution"]))
                )
            for note in c.get("notes") or []:
                body.append(e(f"{when(note.get('at'))} {note.get('author')}: {note.get('text')}"))
            parts.append("<br>".join(body))
        return "<hr>".join(parts)

    def screenshot_artifact(self) -> dict[str, Any] | None:
        arts = (self.item or {}).get("artifacts") or []
        shots = [a for a in arts if a.get("media_type") == "image/png"]
        return shots[-1] if shots else None

    def _show_error_shot(self, download: Download) -> None:
        self.error_shot.show_png(download.data if len(download.data) <= PREVIEW_MAX else None)

    # ------------------------------------------------------------ artifacts

    def _selected_artifact(self) -> dict[str, Any] | None:
        rows = self.artifacts.selected_rows()
        return rows[0] if rows else None

    def _artifact_selected(self, *_args: Any) -> None:
        art = self._selected_artifact()
        self.open_button.setEnabled(art is not None)
        self.save_button.setEnabled(art is not None)
        if art is None or art.get("media_type") != "image/png" or self.item is None:
            self.preview.clear()
            return
        self.shot_channel.run(
            self.session.client.artifact,
            self.item["id"],
            art["id"],
            returned=lambda d: self.preview.show_png(d.data),
            errored=self._failed,
        )

    def open_selected(self) -> None:
        """Save the artifact to a temporary file and hand it to the desktop's viewer (a PDF reader …)."""
        art = self._selected_artifact()
        if art is None or self.item is None:
            return
        self.session.tasks.run(
            self.session.client.artifact,
            self.item["id"],
            art["id"],
            owner=self,
            returned=self._open,
            errored=self._failed,
        )

    def _open(self, download: Download) -> None:
        path = self._temp / _safe(download.filename)
        path.write_bytes(download.data)
        path.chmod(0o600)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        self.artifact_opened.emit(str(path))

    def save_selected(self) -> None:
        """Save the artifact (the Playwright trace, a PDF …) where the operator chooses."""
        art = self._selected_artifact()
        if art is None or self.item is None:
            return
        target = self.choose_save_path(self, str(Path.home() / _safe(art.get("filename") or "artifact")))
        if not target:
            return

        def write(download: Download) -> None:
            try:
                Path(target).write_bytes(download.data)
            except OSError as exc:
                self._failed(exc)
                return
            self.artifact_saved.emit(target)

        self.session.tasks.run(
            self.session.client.artifact,
            self.item["id"],
            art["id"],
            owner=self,
            returned=write,
            errored=self._failed,
        )


def _safe(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)
    return cleaned.strip("._") or "artifact"
