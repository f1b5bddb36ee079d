"""What every table model of the console shares: rows as the API's dicts, a key per row, roles, paging."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from console.i18n import _, language

KEY_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's identity (id, queue name …)
ROW_ROLE = Qt.ItemDataRole.UserRole + 2  # the row's dict as the API sent it
SORT_ROLE = Qt.ItemDataRole.UserRole + 3  # a value that sorts right (numbers, ISO times)

Index = QModelIndex | QPersistentModelIndex

RED = QColor("#b3261e")
GREEN = QColor("#1b6e35")
AMBER = QColor("#8a5300")
BLUE = QColor("#1f5fa8")
PURPLE = QColor("#6a3d9a")
GREY = QColor("#5f6368")
OVERDUE_BACKGROUND = QColor("#fde7e6")
PAUSED_BACKGROUND = QColor("#fff4d6")

STATUS_COLOURS = {
    "failed": RED,
    "done": GREEN,
    "deferred": AMBER,
    "running": BLUE,
    "handed_off": PURPLE,
    "rejected": GREY,
    "abandoned": GREY,
}


_ANSWERED = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        KEY_ROLE,
        ROW_ROLE,
        SORT_ROLE,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.BackgroundRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.FontRole,
        Qt.ItemDataRole.TextAlignmentRole,
    }
)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as (first, last) runs of consecutive rows."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


class RowModel(QAbstractTableModel):
    """Rows (the API's dicts) in columns; subclasses name the columns and say how a cell reads."""

    HEADERS: ClassVar[Sequence[str]] = ()  # msgids, translated when asked for
    NUMERIC: ClassVar[frozenset[int]] = frozenset()  # right-aligned columns

    # the view asks for more rows (Qt's fetchMore): it loads the next page and calls append_rows
    more_wanted = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []
        self._keys: list[Hashable] = []
        self._has_more = False
        self._asked_more = False
        self._shown: dict[tuple[int, int, str], str] = {}  # display texts, formatted once per row and column

    # ------------------------------------------------------------ what subclasses say

    def key(self, row: dict[str, Any]) -> Hashable:
        return int(row["id"])

    def display(self, row: dict[str, Any], column: int) -> str:
        raise NotImplementedError

    def sort_value(self, row: dict[str, Any], column: int) -> Any:
        return self.display(row, column)

    def foreground(self, row: dict[str, Any], column: int) -> QColor | None:
        return None

    def background(self, row: dict[str, Any], column: int) -> QColor | None:
        return None

    def tooltip(self, row: dict[str, Any], column: int) -> str | None:
        return None

    def bold(self, row: dict[str, Any], column: int) -> bool:
        return False

    # ------------------------------------------------------------ filling

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def set_rows(self, rows: Sequence[dict[str, Any]], has_more: bool = False) -> bool:
        """Show `rows`; the same keys in the same order change the cells in place (selection and scroll stay
        as they are), anything else resets the model. Returns whether it reset."""
        rows = list(rows)
        keys = [self.key(r) for r in rows]
        self._has_more = has_more
        self._asked_more = False
        if keys == self._keys:
            # the same rows: repaint only those that changed (a refresh where nothing moved paints nothing)
            changed = [i for i, (old, new) in enumerate(zip(self._rows, rows, strict=True)) if old != new]
            self._rows = rows
            if changed:
                stale = set(changed)
                self._shown = {k: v for k, v in self._shown.items() if k[0] not in stale}
                last = self.columnCount() - 1
                for first, end in _runs(changed):
                    self.dataChanged.emit(self.index(first, 0), self.index(end, last))
            return False
        self._shown.clear()
        self.beginResetModel()
        self._rows, self._keys = rows, keys
        self.endResetModel()
        return True

    def append_rows(self, rows: Sequence[dict[str, Any]], has_more: bool) -> None:
        """The next page: rows not shown yet go to the end."""
        known = set(self._keys)
        new = [r for r in rows if self.key(r) not in known]
        self._has_more = has_more
        self._asked_more = False
        if not new:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._rows.extend(new)
        self._keys.extend(self.key(r) for r in new)
        self.endInsertRows()

    def row_of(self, key: Hashable) -> int:
        try:
            return self._keys.index(key)
        except ValueError:
            return -1

    def row_at(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    # ------------------------------------------------------------ Qt's model interface

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return _(self.HEADERS[section])
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ANSWERED or not index.isValid() or index.row() >= len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            key = (index.row(), column, language())
            text = self._shown.get(key)
            if text is None:
                text = self._shown[key] = self.display(row, column)
            return text
        if role == KEY_ROLE:
            return self._keys[index.row()]
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return self.sort_value(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            colour = self.foreground(row, column)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.BackgroundRole:
            colour = self.background(row, column)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, column)
        if role == Qt.ItemDataRole.FontRole and self.bold(row, column):
            from PySide6.QtGui import QFont

            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in self.NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._has_more and not self._asked_more

    def fetchMore(self, parent: Index) -> None:
        if self.canFetchMore(parent):
            self._asked_more = True
            self.more_wanted.emit()
