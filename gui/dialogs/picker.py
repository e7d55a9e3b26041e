"""Choosing contacts, leads or companies from a searchable lazy table."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gui.sources import SOURCES
from gui.tablemodel import LazyTableModel, TableSource
from gui.widgets import RecordTable, SearchField


class RecordPicker(QDialog):
    """Pick one or several records; ``picked(ids)`` is emitted when the admin presses OK."""

    picked = Signal(list)

    def __init__(self, entity: str, title: str, multi: bool = True,
                 parent: QWidget | None = None, source: TableSource | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordPicker")
        self.setWindowTitle(title)
        self.resize(760, 520)
        self.model = LazyTableModel(source or SOURCES[entity](), parent=self)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        hint = QLabel(self.tr("Select one or more rows (Ctrl or Shift to add to the selection).")
                      if multi else self.tr("Select one row."))
        top.addWidget(hint, 1)
        self.search = SearchField(self.tr("Search by email, name or company"))
        self.search.setObjectName("pickerSearch")
        top.addWidget(self.search)
        layout.addLayout(top)
        self.table = RecordTable(self.model, multi=multi)
        self.table.setObjectName("pickerTable")
        layout.addWidget(self.table, 1)
        self.count = QLabel()
        self.count.setObjectName("pickerCount")
        layout.addWidget(self.count)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.setObjectName("dialogButtons")
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setText(self.tr("Add") if multi else self.tr("Choose"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.search.searched.connect(self.model.set_search)
        self.model.loaded.connect(self._update)
        self.table.selectionModel().selectionChanged.connect(self._update)
        self.table.open_requested.connect(self.accept)
        self._update()
        self.model.reload()

    def _update(self, *_: object) -> None:
        selected = len(self.table.selected_ids())
        self.ok_button.setEnabled(selected > 0)
        self.count.setText(self.tr("{0} found, {1} selected").format(
            f"{self.model.total():,}", selected))

    def accept(self) -> None:
        ids = self.table.selected_ids()
        if not ids:
            return
        self.picked.emit(ids)
        super().accept()


class RecordField(QWidget):
    """A field holding one record (a contact's company, a company's primary contact)."""

    changed = Signal()

    def __init__(self, entity: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entity, self.title = entity, title
        self.record_id: int | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.text = QLineEdit()
        self.text.setReadOnly(True)
        self.text.setPlaceholderText(self.tr("None"))
        self.text.setObjectName("recordFieldText")
        self.choose = QToolButton()
        self.choose.setText(self.tr("Choose…"))
        self.choose.setObjectName("recordFieldChoose")
        self.clear = QToolButton()
        self.clear.setText("✕")
        self.clear.setToolTip(self.tr("Clear"))
        self.clear.setObjectName("recordFieldClear")
        layout.addWidget(self.text, 1)
        layout.addWidget(self.choose)
        layout.addWidget(self.clear)
        self.choose.clicked.connect(self.open_picker)
        self.clear.clicked.connect(lambda: self.set_record(None, ""))

    def set_record(self, record_id: int | None, label: str) -> None:
        self.record_id = record_id
        self.text.setText(label)
        self.clear.setEnabled(record_id is not None)
        self.changed.emit()

    def open_picker(self) -> None:
        picker = RecordPicker(self.entity, self.title, multi=False, parent=self)
        picker.picked.connect(self._picked)
        picker.finished.connect(picker.deleteLater)
        picker.open()

    def _picked(self, ids: list[int]) -> None:
        from core.models.store import MODEL_FOR_KIND

        record = MODEL_FOR_KIND[self.entity].get_or_none(id=ids[0])
        if record is not None:
            self.set_record(record.id, str(record))
