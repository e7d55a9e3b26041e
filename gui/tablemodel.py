"""A table model that loads its rows lazily, page by page, on worker threads.

A ``TableSource`` says what a table shows (columns, the query, what the search box matches); the
``LazyTableModel`` asks it for a count and the first page when it (re)loads, and for the next page
when the view scrolls near the end (``canFetchMore``/``fetchMore``). Every query runs on the pool
(``gui.workers``), so 100,000 contacts open at once and a slow search never freezes the window.
Pages are keyed by id (``id < last id`` on the primary key) in the default order, and by
LIMIT/OFFSET when the admin sorts by another indexed column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import peewee as pw
from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from gui.workers import start_job

PAGE_SIZE = 500
AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column:
    """One column: ``key`` in the row dicts, its title, a width in pixels, how to show it."""

    key: str
    title: str
    width: int = 140
    kind: str = "text"  # text, number, bool, datetime, date, state, label
    sort: Any = None  # a peewee expression on an indexed column; None: not sortable
    labels: dict[str, str] | None = None  # kind "label": stored value -> what the admin reads
    stretch: bool = False  # takes the width the other columns leave


def tr(text: str) -> str:
    return QCoreApplication.translate("Columns", text)


def local_time(value: datetime | None) -> str:
    """The store keeps naive UTC; the admin reads local time."""
    if value is None:
        return ""
    if isinstance(value, str):  # SQLite hands back text for computed columns
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")


STATE_TITLES = {"subscribed": "Subscribed", "unsubscribed": "Unsubscribed", "removed": "Removed"}


def format_value(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if column.kind == "bool":
        return tr("Yes") if value else tr("No")
    if column.kind == "datetime":
        return local_time(value)
    if column.kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if column.kind == "state":
        return tr(STATE_TITLES.get(value, value))
    if column.kind == "label" and column.labels:
        return column.labels.get(value, str(value))
    if column.kind == "number" and isinstance(value, int):
        return f"{value:,}"
    return str(value)


class TableSource:
    """What a lazy table shows. Its query methods run on worker threads: peewee only, no Qt."""

    #: the primary key the default order and the keyset paging use
    id_field: Any = None
    #: newest first by default: what the admin just created or imported is on top
    descending = True
    #: or sorted by a column from the start: (column number, descending)
    default_sort: tuple[int, bool] | None = None

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def query(self) -> pw.Select:
        """The rows, every column selected under its ``Column.key`` alias, plus ``id``."""
        raise NotImplementedError

    def matches(self, text: str) -> Any:
        """The condition the search box adds, for non-empty ``text``; None: no search."""
        return None

    def muted(self, row: dict[str, Any]) -> bool:
        """Rows shown in grey (inactive, removed)."""
        return False

    # -- used by the model (worker threads) -----------------------------------------------------

    def filtered(self, search: str) -> pw.Select:
        query = self.query()
        text = search.strip()
        if text:
            condition = self.matches(text)
            if condition is not None:
                query = query.where(condition)
        return query

    def count(self, search: str) -> int:
        return int(self.filtered(search).order_by().count())

    def ordered(self, search: str, sort: tuple[int, bool] | None) -> pw.Select:
        """Every matching row in the view's order: newest first, or by the sorted column."""
        query = self.filtered(search)
        if sort is None:
            return query.order_by(self.id_field.desc() if self.descending else self.id_field)
        column, descending = sort
        expression = self.columns()[column].sort
        return query.order_by(expression.desc() if descending else expression.asc(),
                              self.id_field)

    def page(self, search: str, sort: tuple[int, bool] | None, after: int | None, offset: int,
             limit: int) -> list[dict[str, Any]]:
        """One page: after the id ``after`` in the default order, else from row ``offset``."""
        query = self.ordered(search, sort)
        if sort is None:
            if after is not None:
                query = query.where(self.id_field < after if self.descending
                                    else self.id_field > after)
        else:
            query = query.offset(offset)
        return list(query.limit(limit).dicts())


def like_any(fields: list[Any], text: str) -> Any:
    """Each word of ``text`` found in one of ``fields`` (case-insensitive for ASCII)."""
    condition = None
    for word in text.split():
        pattern = f"%{word.replace('%', '').replace('_', '')}%"
        if pattern == "%%":
            continue
        either = None
        for field in fields:
            part = field ** pattern  # peewee: ILIKE, which SQLite spells LIKE
            either = part if either is None else (either | part)
        condition = either if condition is None else (condition & either)
    return condition


def _first_page(source: TableSource, generation: int, search: str,
                sort: tuple[int, bool] | None, limit: int) -> tuple[int, int, list[dict[str, Any]]]:
    rows = source.page(search, sort, None, 0, limit)
    total = len(rows) if len(rows) < limit else source.count(search)
    return generation, total, rows


def _next_page(source: TableSource, generation: int, search: str, sort: tuple[int, bool] | None,
               after: int | None, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    return generation, source.page(search, sort, after, offset, limit)


class LazyTableModel(QAbstractTableModel):
    """Rows of a ``TableSource``, a page at first and more as the view scrolls."""

    loaded = Signal()  # a (re)load finished: the first page and the total are in
    failed = Signal(str)

    def __init__(self, source: TableSource, page_size: int = PAGE_SIZE,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.source = source
        self.page_size = page_size
        self._columns = source.columns()
        self._rows: list[dict[str, Any]] = []
        self._total = 0
        self._search = ""
        self._sort: tuple[int, bool] | None = source.default_sort
        self._generation = 0
        self._loading = False
        self._fetching = False
        self._ever_loaded = False
        self._muted = QBrush(QColor("#8a8f98"))

    # -- state ---------------------------------------------------------------------------------

    @property
    def search(self) -> str:
        return self._search

    def total(self) -> int:
        return self._total

    def is_loading(self) -> bool:
        return self._loading or self._fetching

    def has_loaded(self) -> bool:
        return self._ever_loaded

    def columns(self) -> list[Column]:
        return list(self._columns)

    def current_sort(self) -> tuple[int, bool] | None:
        return self._sort

    def row(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    def row_id(self, row: int) -> int:
        return int(self._rows[row]["id"])

    def row_of_id(self, record_id: int) -> int:
        for number, values in enumerate(self._rows):
            if values["id"] == record_id:
                return number
        return -1

    def set_search(self, text: str) -> None:
        if text.strip() != self._search.strip():
            self._search = text
            self.reload()

    def reload(self) -> None:
        """Count and fetch the first page again (after an edit, a search, a sort)."""
        self._generation += 1
        self._loading = True
        self._fetching = False
        start_job(_first_page, self.source, self._generation, self._search, self._sort,
                  self.page_size, on_done=self._first_page_in, on_failed=self._load_failed)

    def _first_page_in(self, result: tuple[int, int, list[dict[str, Any]]]) -> None:
        generation, total, rows = result
        if generation != self._generation:
            return  # a newer search or reload superseded this one
        self.beginResetModel()
        self._rows, self._total = rows, total
        self._loading = False
        self._ever_loaded = True
        self.endResetModel()
        self.loaded.emit()

    def _load_failed(self, message: str, trace: str) -> None:
        self._loading = self._fetching = False
        self.failed.emit(message)

    # -- lazy loading --------------------------------------------------------------------------

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid() or self._loading or self._fetching:
            return False
        return len(self._rows) < self._total

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        after = self._rows[-1]["id"] if self._rows else None
        start_job(_next_page, self.source, self._generation, self._search, self._sort, after,
                  len(self._rows), self.page_size, on_done=self._next_page_in,
                  on_failed=self._load_failed)

    def _next_page_in(self, result: tuple[int, list[dict[str, Any]]]) -> None:
        generation, rows = result
        if generation != self._generation:
            return
        self._fetching = False
        if not rows:
            self._total = len(self._rows)  # rows were deleted meanwhile
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    # -- Qt's model interface ------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self._columns[index.column()]
        values = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_value(column, values.get(column.key))
        if role == Qt.ItemDataRole.ToolTipRole:
            text = format_value(column, values.get(column.key))
            return text if len(text) > 24 else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.kind == "number":
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self.source.muted(values):
            return self._muted
        if role == Qt.ItemDataRole.UserRole:
            return values["id"]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].title
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column < 0 or self._columns[column].sort is None:
            wanted = None
        else:
            wanted = (column, order == Qt.SortOrder.DescendingOrder)
        if wanted != self._sort:
            self._sort = wanted
            self.reload()

    def is_sortable(self, column: int) -> bool:
        return self._columns[column].sort is not None
