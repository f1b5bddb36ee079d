"""The main window: the views as tabs, auto-refresh, shortcuts, a status bar that says when the API cannot
be reached (and retries), the window's state kept in QSettings."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QTabWidget, QWidget

from console.formatting import ROLE, label
from console.i18n import _, language
from console.session import Session
from console.views.alerts import AlertsView
from console.views.backlog import BacklogView
from console.views.base import View
from console.views.exceptions import ExceptionsView
from console.views.inbox import InboxView
from console.views.items import ItemsView
from console.views.queues import QueuesView

REFRESH_MS = 15_000
RETRY_STEPS_S = (2, 4, 8, 15, 30)


class MainWindow(QMainWindow):
    language_wanted = Signal(str)
    sign_out_wanted = Signal()
    closed = Signal()

    def __init__(self, session: Session, settings: QSettings, refresh_ms: int = REFRESH_MS) -> None:
        super().__init__()
        self.setObjectName("main_window")
        self.session = session
        self.settings = settings
        self.setWindowTitle(_("PortalBots console"))
        self.tabs = QTabWidget()
        self.tabs.setObjectName("views")
        self.tabs.setDocumentMode(True)
        self.views: dict[str, View] = {}
        if session.is_supervisor:
            self._add("queues", QueuesView(session))
            self._add("items", ItemsView(session))
            self._add("exceptions", ExceptionsView(session))
            self._add("inbox", InboxView(session))
        else:  # a clerk starts at their cases
            self._add("inbox", InboxView(session))
            self._add("items", ItemsView(session))
            self._add("queues", QueuesView(session))
        self._add("backlog", BacklogView(session))
        self._add("alerts", AlertsView(session))
        self.setCentralWidget(self.tabs)

        self.operator_label = QLabel(f"{session.name} ({label(ROLE, session.operator.get('role'))})")
        self.connection = QLabel(_("Connected to {url}").format(url=session.client.base_url))
        self.connection.setObjectName("connection")
        self.statusBar().addPermanentWidget(self.connection)
        self.statusBar().addPermanentWidget(self.operator_label)

        self.refresh_timer = QTimer(self, interval=refresh_ms)
        self.refresh_timer.timeout.connect(self.refresh)
        self.retry_timer = QTimer(self, singleShot=True)
        self.retry_timer.timeout.connect(self.refresh)
        self.countdown = QTimer(self, interval=1000)
        self.countdown.timeout.connect(self._count_down)
        self._failures = 0
        self._retry_in = 0
        self.reachable = True

        session.hub.reachability.connect(self._reachability)
        session.hub.changed.connect(self.refresh)
        session.hub.message.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        self.tabs.currentChanged.connect(lambda _index: self.refresh())
        self._menus()
        self.restore()

    def _add(self, key: str, view: View) -> None:
        self.views[key] = view
        self.tabs.addTab(view, view.title())

    def _menus(self) -> None:
        file = self.menuBar().addMenu(_("&File"))
        sign_out = QAction(_("Sign out"), self)
        sign_out.triggered.connect(self.sign_out_wanted)
        file.addAction(sign_out)
        quit_ = QAction(_("Quit"), self)
        quit_.setShortcut(QKeySequence.StandardKey.Quit)
        quit_.triggered.connect(self.close)
        file.addAction(quit_)

        view = self.menuBar().addMenu(_("&View"))
        self.refresh_action = QAction(_("Refresh"), self)
        self.refresh_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))  # F5
        self.refresh_action.setShortcuts([QKeySequence("F5"), QKeySequence("Ctrl+Shift+R")])
        self.refresh_action.triggered.connect(self.refresh)
        view.addAction(self.refresh_action)
        self.search_action = QAction(_("Search"), self)
        self.search_action.setShortcut(QKeySequence("Ctrl+F"))
        self.search_action.triggered.connect(self.focus_search)
        view.addAction(self.search_action)
        self.retry_action = QAction(_("Retry selected items"), self)
        self.retry_action.setShortcut(QKeySequence("Ctrl+R"))
        self.retry_action.triggered.connect(self.retry_selected)
        self.retry_action.setEnabled(self.session.is_supervisor)
        view.addAction(self.retry_action)
        for n in range(min(self.tabs.count(), 9)):
            go = QAction(self.tabs.tabText(n), self)
            go.setShortcut(QKeySequence(f"Ctrl+{n + 1}"))
            go.triggered.connect(lambda _checked=False, n=n: self.tabs.setCurrentIndex(n))
            view.addAction(go)

        lang = self.menuBar().addMenu(_("&Language"))
        group = QActionGroup(self)
        for code, name in (("de", "Deutsch"), ("en", "English")):
            action = QAction(name, self, checkable=True, checked=language() == code)
            action.triggered.connect(lambda _checked=False, code=code: self._language(code))
            group.addAction(action)
            lang.addAction(action)

    def _language(self, code: str) -> None:
        if code != language():
            self.settings.setValue("language", code)
            self.language_wanted.emit(code)

    # ------------------------------------------------------------ refreshing

    def current(self) -> View:
        widget = self.tabs.currentWidget()
        assert isinstance(widget, View)
        return widget

    def refresh(self) -> None:
        """Reload what the current view shows (the others reload when they are shown)."""
        self.current().refresh()

    def start(self) -> None:
        self.refresh()
        self.refresh_timer.start()

    def focus_search(self) -> None:
        search = self.current().search
        search.setFocus()
        search.selectAll()

    def retry_selected(self) -> None:
        if self.session.is_supervisor:
            self.current().retry_selected()

    def _reachability(self, ok: bool, why: str) -> None:
        if ok:
            if not self.reachable:
                self.statusBar().showMessage(_("The operator API answers again."), 5000)
            self.reachable = True
            self._failures = 0
            self.countdown.stop()
            self.retry_timer.stop()
            self.connection.setText(_("Connected to {url}").format(url=self.session.client.base_url))
            self.connection.setStyleSheet("")
            return
        self.reachable = False
        self.connection.setToolTip(why)
        if self.retry_timer.isActive():  # a retry is already planned: more failures until then change nothing
            return
        self._retry_in = RETRY_STEPS_S[min(self._failures, len(RETRY_STEPS_S) - 1)]
        self._failures += 1
        self.connection.setStyleSheet("color: #b3261e; font-weight: bold;")
        self._show_countdown()
        self.retry_timer.start(self._retry_in * 1000)
        self.countdown.start()

    def _count_down(self) -> None:
        self._retry_in = max(self._retry_in - 1, 0)
        self._show_countdown()

    def _show_countdown(self) -> None:
        self.connection.setText(
            _("The operator API cannot be reached – retrying in {seconds} s").format(seconds=self._retry_in)
        )

    # ------------------------------------------------------------ window state

    def _splitters(self) -> dict[str, QSplitter]:
        return {s.objectName(): s for s in self.findChildren(QSplitter) if s.objectName()}

    def restore(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1440, 900)
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        for name, splitter in self._splitters().items():
            value = s.value(f"splitters/{name}")
            if isinstance(value, QByteArray):
                splitter.restoreState(value)
        tab = s.value("window/tab")
        if isinstance(tab, str) and tab in self.views:
            self.tabs.setCurrentWidget(self.views[tab])

    def save(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        for name, splitter in self._splitters().items():
            s.setValue(f"splitters/{name}", splitter.saveState())
        key = next((k for k, v in self.views.items() if v is self.tabs.currentWidget()), "")
        s.setValue("window/tab", key)
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.refresh_timer.stop()
        self.retry_timer.stop()
        self.countdown.stop()
        self.save()
        super().closeEvent(event)
        self.closed.emit()

    def view(self, key: str) -> Any:
        return self.views[key]

    def tab_to(self, key: str) -> View:
        view = self.views[key]
        self.tabs.setCurrentWidget(view)
        return view

    def show_view(self, widget: QWidget) -> None:
        self.tabs.setCurrentWidget(widget)
