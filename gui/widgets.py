"""Small widgets used across the window: search box, empty state, inline errors, date field."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QChildEvent, QDate, QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.tablemodel import LazyTableModel

SEARCH_DELAY_MS = 250
SEARCH_WIDTH = 300  # what a search box asks for when there is room
SEARCH_MIN_WIDTH = 160  # what it shrinks to in a crowded action bar


def std_icon(name: str) -> QIcon:
    """One of the style's standard icons, by its ``QStyle.StandardPixmap`` name."""
    pixmap = getattr(QStyle.StandardPixmap, name)
    return QApplication.style().standardIcon(pixmap)


class SearchField(QLineEdit):
    """A search box that reports what was typed once the admin pauses (``searched``).

    It asks for ``SEARCH_WIDTH`` but gives way down to ``SEARCH_MIN_WIDTH`` when the action bar
    beside it is crowded, so that a page never pushes the window past its default size.
    """

    searched = Signal(str)

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchField")
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.setMinimumWidth(SEARCH_MIN_WIDTH)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._fire)
        self.textChanged.connect(self._timer.start)
        self.returnPressed.connect(self._fire)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(max(hint.width(), SEARCH_WIDTH), hint.height())

    def _fire(self) -> None:
        self._timer.stop()
        self.searched.emit(self.text())


class _Slot(QHBoxLayout):
    """The layout the services fill; tells its row each time its items change."""

    def __init__(self, changed: Any) -> None:
        super().__init__()
        self._changed = changed

    def invalidate(self) -> None:
        super().invalidate()
        self._changed()  # after an insertion: the row is shown with the button already in it


class ActionRow(QWidget):
    """A row of buttons that others fill (``slot``), hidden while none of them is to be shown.

    The connected services put their buttons here and show or hide them as integrations come
    and go; an empty row would still take a line of the page, so the row follows its buttons,
    and gives a button restyled by a property the room its new look needs.
    """

    def __init__(self, object_name: str, slot_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self._ready = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.slot = _Slot(self._follow)
        self.slot.setObjectName(slot_name)
        self.slot.setSpacing(6)
        row.addLayout(self.slot)
        row.addStretch(1)
        self.setVisible(False)
        self._ready = True

    @staticmethod
    def _wanted(widget: QWidget) -> bool:
        """Shown, or about to be once the row is: not hidden on purpose."""
        return not (widget.isHidden()
                    and widget.testAttribute(Qt.WidgetAttribute.WA_WState_ExplicitShowHide))

    def has_buttons(self) -> bool:
        return any(self._wanted(child) for child in self.children()
                   if isinstance(child, QWidget))

    def childEvent(self, event: QChildEvent) -> None:
        super().childEvent(event)
        child = event.child()
        if event.added() and isinstance(child, QWidget):
            child.installEventFilter(self)  # shown or hidden later: the row follows
        elif event.removed():
            self._follow()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.ShowToParent, QEvent.Type.HideToParent):
            self._follow()
        elif kind in (QEvent.Type.DynamicPropertyChange, QEvent.Type.StyleChange) \
                and isinstance(watched, QWidget):
            # A button restyled by a property (``primary``) may need more room: re-polishing
            # alone leaves the layout with the old size and the text cut off.
            watched.updateGeometry()
        return False

    def _follow(self) -> None:
        if not self._ready:
            return
        wanted = self.has_buttons()
        if wanted != (not self.isHidden()):
            self.setVisible(wanted)


class EmptyState(QWidget):
    """What a page shows instead of an empty table: a title, a sentence, a button or two."""

    def __init__(self, title: str, sentence: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        self.title = QLabel(title)
        self.title.setObjectName("emptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sentence = QLabel(sentence)
        self.sentence.setObjectName("emptySentence")
        self.sentence.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sentence.setWordWrap(True)
        self.sentence.setFixedWidth(540)
        layout.addWidget(self.title)
        middle = QHBoxLayout()  # stretches either side: a wrapped label gets its full height
        middle.addStretch(1)
        middle.addWidget(self.sentence)
        middle.addStretch(1)
        layout.addLayout(middle)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self._button_end = self.buttons.count()
        self.buttons.addStretch(1)
        layout.addSpacing(8)
        layout.addLayout(self.buttons)
        layout.addStretch(3)

    def add_button(self, text: str, object_name: str, primary: bool = False) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(object_name)
        button.setProperty("primary", primary)
        self.buttons.insertWidget(self._button_end, button)
        self._button_end += 1
        return button


class ErrorLabel(QLabel):
    """An inline error in a dialog: hidden while there is nothing wrong."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dialogError")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hide()

    def show_error(self, message: str) -> None:
        self.setText(message)
        self.setVisible(bool(message))

    def clear_error(self) -> None:
        self.setText("")
        self.hide()


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    """Outline a field the admin must fix (the style sheet draws ``[invalid="true"]``)."""
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


NO_DATE = QDate(1900, 1, 1)


class DateField(QDateEdit):
    """A date that may be empty: the lowest date stands for "no date" and reads as a dash."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCalendarPopup(True)
        self.setDisplayFormat("yyyy-MM-dd")
        self.setMinimumDate(NO_DATE)
        self.setSpecialValueText("—")
        self.setDate(NO_DATE)
        self.setToolTip(self.tr("Click to choose a date; select all and press Delete to clear it"))

    def mousePressEvent(self, event: Any) -> None:
        if self.date() == NO_DATE:  # open the calendar on today, not on 1900
            self.setDate(QDate.currentDate())
        super().mousePressEvent(event)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and (
                self.lineEdit().selectedText() == self.lineEdit().text()):
            self.setDate(NO_DATE)  # everything selected and erased: no date
            return
        super().keyPressEvent(event)

    def value(self) -> date | None:
        current = self.date()
        if current == NO_DATE:
            return None
        return date(current.year(), current.month(), current.day())

    def set_value(self, value: date | str | None) -> None:
        if isinstance(value, str):
            value = date.fromisoformat(value[:10]) if value else None
        if value is None:
            self.setDate(NO_DATE)
        else:
            self.setDate(QDate(value.year, value.month, value.day))


class RecordTable(QTableView):
    """A read-only table over a ``LazyTableModel``: whole rows, several at once, sortable headers.

    ``open_requested`` on a double click or Enter (not ``activated``, which some desktops send
    on a single click).
    """

    open_requested = Signal()

    def __init__(self, model: LazyTableModel, parent: QWidget | None = None,
                 multi: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("recordTable")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi
                              else QAbstractItemView.SelectionMode.SingleSelection)
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
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(False)
        header.sectionClicked.connect(self._header_clicked)
        columns = model.columns()
        header.setStretchLastSection(not any(column.stretch for column in columns))
        for number, column in enumerate(columns):
            self.setColumnWidth(number, column.width)
            if column.stretch:
                header.setSectionResizeMode(number, QHeaderView.ResizeMode.Stretch)
        self._sort: tuple[int, Qt.SortOrder] | None = None
        start = model.current_sort()
        if start is not None:
            self._sort = (start[0], Qt.SortOrder.DescendingOrder if start[1]
                          else Qt.SortOrder.AscendingOrder)
            self._show_sort()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.open_requested.emit()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event: Any) -> None:
        super().mouseDoubleClickEvent(event)
        if self.indexAt(event.position().toPoint()).isValid():
            self.open_requested.emit()

    def lazy_model(self) -> LazyTableModel:
        model = self.model()
        assert isinstance(model, LazyTableModel)
        return model

    def _header_clicked(self, section: int) -> None:
        model = self.lazy_model()
        if not model.is_sortable(section):
            self._show_sort()
            return
        if self._sort is None or self._sort[0] != section:
            self._sort = (section, Qt.SortOrder.AscendingOrder)
        elif self._sort[1] == Qt.SortOrder.AscendingOrder:
            self._sort = (section, Qt.SortOrder.DescendingOrder)
        else:
            self._sort = None  # third click: back to newest first
        model.sort(*self._sort) if self._sort else model.sort(-1)
        self._show_sort()

    def _show_sort(self) -> None:
        header = self.horizontalHeader()
        header.setSortIndicatorShown(self._sort is not None)
        if self._sort is not None:
            header.setSortIndicator(*self._sort)

    def selected_ids(self) -> list[int]:
        model = self.lazy_model()
        rows = sorted({index.row() for index in self.selectionModel().selectedRows()})
        return [model.row_id(row) for row in rows]

    def current_id(self) -> int | None:
        ids = self.selected_ids()
        if ids:
            return ids[0]
        index = self.currentIndex()
        return self.lazy_model().row_id(index.row()) if index.isValid() else None

    def select_id(self, record_id: int) -> bool:
        row = self.lazy_model().row_of_id(record_id)
        if row < 0:
            return False
        self.selectRow(row)
        self.scrollTo(self.lazy_model().index(row, 0))
        return True

    def sizeHint(self) -> QSize:
        return QSize(800, 400)


def button(text: str, object_name: str, icon: str | None = None,
           tooltip: str = "") -> QPushButton:
    widget = QPushButton(text)
    widget.setObjectName(object_name)
    if icon:
        widget.setIcon(std_icon(icon))
    if tooltip:
        widget.setToolTip(tooltip)
    return widget


def combo_select_data(combo: Any, value: Any) -> None:
    """Select the combo entry whose data is ``value`` (the first one when none is)."""
    index = combo.findData(value)
    combo.setCurrentIndex(index if index >= 0 else 0)


def save_cancel_buttons(dialog: QDialog) -> QDialogButtonBox:
    """The Save / Cancel row of the store's dialogs (found by tests as okButton)."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    buttons.setObjectName("dialogButtons")
    ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
    ok.setObjectName("okButton")
    ok.setText(dialog.tr("Save"))
    ok.setProperty("primary", True)
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def detail_label(object_name: str, rich: bool = False) -> QLabel:
    """The line under a table that tells the selected row in full (wrapped, selectable)."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    if rich:
        label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def repolish(widget: QWidget) -> None:
    """Apply the style sheet again after a property it reads (``outcome``, ``warning``) changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
