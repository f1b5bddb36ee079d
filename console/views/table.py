"""A table view over one RowModel behind a QSortFilterProxyModel, which keeps the selection, the current
row and the scroll position across a refresh (by the rows' keys)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView, QWidget

from console.models.base import KEY_ROLE, ROW_ROLE, SORT_ROLE, RowModel

MAX_COLUMN_WIDTH = 360


class DataTable(QTableView):
    def __init__(self, model: RowModel, parent: QWidget | None = None, *, multi: bool = False) -> None:
        super().__init__(parent)
        self.source = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.setModel(self.proxy)
        self.setSortingEnabled(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(
            QAbstractItemView.SelectionMode.ExtendedSelection
            if multi
            else QAbstractItemView.SelectionMode.SingleSelection
        )
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setHighlightSections(False)
        header.setResizeContentsPrecision(40)  # fitting the columns looks at the first 40 rows, not all
        self._fitted = False
        self.column_caps: dict[int, int] = {}  # widest a column may start (its full text is in the detail)

    def enable_sorting(self, column: int = -1, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a header click; by `column` from the start, or (-1) in the API's order until a click."""
        self.horizontalHeader().setSortIndicator(column, order)
        self.setSortingEnabled(True)

    # ------------------------------------------------------------ rows

    def replace(self, rows: Sequence[dict[str, Any]], has_more: bool = False) -> None:
        """Show `rows`, keeping what is selected, the current row and the scroll position."""
        selected = self.selected_keys()
        current = self.current_key()
        vertical = self.verticalScrollBar().value()
        horizontal = self.horizontalScrollBar().value()
        selection = self.selectionModel()
        blocked = selection.blockSignals(
            True
        )  # the selection is put back at once: no flicker of detail panes
        try:
            reset = self.source.set_rows(rows, has_more)
            if reset:
                self._restore(selected, current)
        finally:
            selection.blockSignals(blocked)
        if reset:
            self.verticalScrollBar().setValue(vertical)
            self.horizontalScrollBar().setValue(horizontal)
            if selected != self.selected_keys():  # a selected row is gone: the detail follows
                selection.selectionChanged.emit(QItemSelection(), QItemSelection())
        if not self._fitted and rows:
            self.fit_columns()

    def append(self, rows: Sequence[dict[str, Any]], has_more: bool) -> None:
        self.source.append_rows(rows, has_more)

    def _restore(self, keys: list[Hashable], current: Hashable | None) -> None:
        selection = self.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for key in keys:
            index = self.index_of(key)
            if index is not None:
                selection.select(index, flags)
        if current is not None:
            index = self.index_of(current)
            if index is not None:
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)

    def index_of(self, key: Hashable) -> Any:
        row = self.source.row_of(key)
        if row < 0:
            return None
        index = self.proxy.mapFromSource(self.source.index(row, 0))
        return index if index.isValid() else None

    def selected_rows(self) -> list[dict[str, Any]]:
        rows = self.selectionModel().selectedRows()
        return [self.proxy.data(i, ROW_ROLE) for i in sorted(rows, key=lambda i: i.row())]

    def selected_keys(self) -> list[Hashable]:
        return [self.proxy.data(i, KEY_ROLE) for i in self.selectionModel().selectedRows()]

    def current_key(self) -> Hashable | None:
        index = self.selectionModel().currentIndex()
        return self.proxy.data(index.siblingAtColumn(0), KEY_ROLE) if index.isValid() else None

    def select_key(self, key: Hashable) -> bool:
        index = self.index_of(key)
        if index is None:
            return False
        self.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.scrollTo(index)
        return True

    def visible_rows(self) -> list[dict[str, Any]]:
        return [self.proxy.data(self.proxy.index(r, 0), ROW_ROLE) for r in range(self.proxy.rowCount())]

    def cell(self, row: int, column: int) -> str:
        return str(self.proxy.data(self.proxy.index(row, column)) or "")

    def fit_columns(self, sample: int = 40) -> None:
        """Columns as wide as their header and the texts of the first `sample` rows, none wider than its cap.
        Measured here with the font's metrics: Qt's resizeColumnsToContents asks the model for every role of
        every sampled cell, which costs more than the rows' first paint."""
        self._fitted = True
        header = self.horizontalHeader()
        cell = self.fontMetrics()
        font = self.font()
        font.setBold(True)
        bold = QFontMetrics(font)
        head = QFontMetrics(header.font())
        padding = 2 * self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 6
        rows = min(sample, self.source.rowCount())
        for column in range(self.source.columnCount() - 1):
            title = str(self.source.headerData(column, Qt.Orientation.Horizontal) or "")
            width = head.horizontalAdvance(title) + padding + 12  # the sort indicator
            for row in range(rows):
                text = self.source.data(self.source.index(row, column))
                if text:
                    metrics = bold if self.source.bold(self.source.row_at(row), column) else cell
                    width = max(width, metrics.horizontalAdvance(str(text)) + padding)
            header.resizeSection(column, min(width, self.column_caps.get(column, MAX_COLUMN_WIDTH)))
