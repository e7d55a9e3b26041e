"""A read-only table over a short list of plain rows (frozen dataclasses), and its view.

The integrations grid, the journal, the runs and a record's history show at most a few hundred
rows that a worker thread reads in one go (``core.sync.journal`` returns them as frozen
dataclasses); they need no lazy paging, only columns that say how a row reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

AnyIndex = QModelIndex | QPersistentModelIndex

ERROR_COLOUR = QColor("#b3261e")
WARNING_COLOUR = QColor("#8a5a00")
MUTED_COLOUR = QColor("#8a8f98")
SUCCESS_COLOUR = QColor("#2e7d32")
RUNNING_COLOUR = QColor("#2f6fd6")
LAST_COLUMN_ROOM = 160  # what the last column (an error, a result) keeps when others fit


def run_status_colour(status: str) -> QColor | None:
    """The colour of a run's status (``core.sync.runner``), wherever a run's outcome is shown:
    the journal's runs, the Integrations grid's last result."""
    if status == "failed":
        return ERROR_COLOUR
    if status in ("partial", "retrying", "interrupted", "cancelled"):
        return WARNING_COLOUR
    return None


@dataclass(frozen=True)
class RowColumn:
    """One column: its title, how a row reads in it, its width, and how long text is tipped."""

    title: str
    text: Callable[[Any], str]
    width: int = 140
    right: bool = False  # numbers: aligned right
    colour: Callable[[Any], QColor | None] | None = None
    #: (narrowest, widest): the column follows its text within these bounds each time the rows
    #: change, until the admin sizes it by hand; None: ``width`` stays
    fit: tuple[int, int] | None = None


class RowTableModel(QAbstractTableModel):
    """Rows given whole (``set_rows``); each row has an ``id`` unless ``row_id`` says otherwise."""

    def __init__(self, columns: Sequence[RowColumn], parent: Any = None,
                 row_id: Callable[[Any], int] = lambda row: int(row.id)) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._rows: list[Any] = []
        self._row_id = row_id

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Any]:
        return list(self._rows)

    def row(self, number: int) -> Any:
        return self._rows[number]

    def row_id(self, number: int) -> int:
        return self._row_id(self._rows[number])

    def row_of_id(self, row_id: int) -> int:
        for number, row in enumerate(self._rows):
            if self._row_id(row) == row_id:
                return number
        return -1

    def refresh(self, row_id: int | None = None) -> None:
        """Repaint one row (or all) whose text depends on something outside the row."""
        if not self._rows:
            return
        if row_id is None:
            first, last = 0, len(self._rows) - 1
        else:
            first = last = self.row_of_id(row_id)
            if first < 0:
                return
        self.dataChanged.emit(self.index(first, 0), self.index(last, len(self._columns) - 1))

    def columns(self) -> list[RowColumn]:
        return list(self._columns)

    # -- Qt's model interface ------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self._columns[index.column()]
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = column.text(row)
            return text if len(text) > 24 else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column.colour is not None:
            colour = column.colour(row)
            return QBrush(colour) if colour is not None else None
        if role == Qt.ItemDataRole.UserRole:
            return self._row_id(row)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].title
        return None


class RowTable(QTableView):
    """A read-only view of a ``RowTableModel``: whole rows, one at a time."""

    def __init__(self, model: RowTableModel, object_name: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(26)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        for number, column in enumerate(model.columns()):
            self.setColumnWidth(number, column.width)
        self._fitting = False
        self._sized_by_hand: set[int] = set()
        if any(column.fit for column in model.columns()):
            model.modelReset.connect(self.fit_columns)
            model.dataChanged.connect(lambda *_: self.fit_columns())
            header.sectionResized.connect(self._section_resized)

    def fit_columns(self) -> None:
        """Size the ``fit`` columns to what they show now, within their bounds; when the view
        is too narrow for all that, they give way in proportion (down to their narrowest, never
        below their title) so that the last column, which takes the rest, keeps
        ``LAST_COLUMN_ROOM``."""
        columns = self.row_model().columns()
        last = len(columns) - 1
        bounds = {n: c.fit for n, c in enumerate(columns)
                  if c.fit is not None and n != last and n not in self._sized_by_hand}
        if not bounds:
            return
        header = self.horizontalHeader()
        lowest = {n: max(low, header.sectionSizeHint(n)) for n, (low, _high) in bounds.items()}
        wanted = {n: min(high, max(lowest[n], self.sizeHintForColumn(n)))
                  for n, (_low, high) in bounds.items()}
        others = sum(self.columnWidth(n) for n in range(last) if n not in bounds)
        excess = sum(wanted.values()) - (self.viewport().width() - others - LAST_COLUMN_ROOM)
        slack = {n: max(0, wanted[n] - lowest[n]) for n in wanted}
        if excess > 0 and sum(slack.values()) > 0:
            cut, total = min(excess, sum(slack.values())), sum(slack.values())
            wanted = {n: width - cut * slack[n] // total for n, width in wanted.items()}
        self._fitting = True
        try:
            for number, width in wanted.items():
                self.setColumnWidth(number, width)
        finally:
            self._fitting = False

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if any(column.fit for column in self.row_model().columns()):
            self.fit_columns()

    def _section_resized(self, number: int, _old: int, _new: int) -> None:
        if not self._fitting and number != len(self.row_model().columns()) - 1 \
                and self.horizontalHeader().sectionResizeMode(number) \
                == QHeaderView.ResizeMode.Interactive and self.isVisible():
            self._sized_by_hand.add(number)

    def row_model(self) -> RowTableModel:
        model = self.model()
        assert isinstance(model, RowTableModel)
        return model

    def current_id(self) -> int | None:
        rows = self.selectionModel().selectedRows()
        if not rows:
            return None
        return self.row_model().row_id(rows[0].row())

    def current_row(self) -> Any:
        rows = self.selectionModel().selectedRows()
        return self.row_model().row(rows[0].row()) if rows else None

    def select_id(self, row_id: int | None) -> bool:
        if row_id is None:
            return False
        number = self.row_model().row_of_id(row_id)
        if number < 0:
            return False
        self.selectRow(number)
        self.scrollTo(self.row_model().index(number, 0))
        return True

    def set_rows_keeping_selection(self, rows: Sequence[Any]) -> None:
        """New rows; the row selected before stays selected if it is still there."""
        selected = self.current_id()
        self.row_model().set_rows(rows)
        self.select_id(selected)

    def sizeHint(self) -> QSize:
        return QSize(800, 300)
