"""A page built around one lazy table: actions, search, empty state, export, counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.export import export_view
from gui.tablemodel import LazyTableModel, TableSource
from gui.widgets import EmptyState, RecordTable, SearchField, button
from gui.workers import start_job


class TablePage(QWidget):
    """A title, an action bar, a search box and a lazy table (or an empty state)."""

    status_changed = Signal()  # the counts in the status bar need refreshing
    message = Signal(str)  # a passing message for the status bar

    #: what the rows are called, e.g. "Contacts" (the export's file name)
    noun = "Records"
    #: the status bar's count of one row and of several, e.g. ("{0} contact", "{0} contacts")
    count_words = ("{0} record", "{0} records")
    #: whether Ctrl+N and the New button make something here
    can_create = True

    def __init__(self, source: TableSource, title: str, search_placeholder: str,
                 empty_title: str, empty_sentence: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LazyTableModel(source, parent=self)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(self._load_failed)
        self.model.rowsInserted.connect(lambda *_: self.status_changed.emit())
        self._select_after: int | None = None
        self._stale = False
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(300)  # an import changes thousands of rows: reload once
        self._reload_timer.timeout.connect(self.reload)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        self.title_label = QLabel(title)
        self.title_label.setObjectName("pageTitle")
        layout.addWidget(self.title_label)

        self.action_bar = QHBoxLayout()
        self.action_bar.setObjectName("pageActions")
        self.action_bar.setSpacing(6)
        self.new_button = button(self.tr("New"), "newButton", "SP_FileIcon",
                                 self.tr("Create a new one (Ctrl+N)"))
        self.edit_button = button(self.tr("Edit…"), "editButton", "SP_FileDialogDetailedView",
                                  self.tr("Edit the selected row (Enter)"))
        self.delete_button = button(self.tr("Delete"), "deleteButton", "SP_TrashIcon",
                                    self.tr("Delete the selected rows (Del)"))
        self.export_button = button(self.tr("Export CSV…"), "exportButton", "SP_DialogSaveButton",
                                    self.tr("Export the rows shown, with the current search"))
        for widget in (self.new_button, self.edit_button, self.delete_button):
            self.action_bar.addWidget(widget)
        self.extra_actions = QHBoxLayout()
        self.extra_actions.setSpacing(6)
        self.action_bar.addLayout(self.extra_actions)
        self.action_bar.addWidget(self.export_button)
        self.action_bar.addStretch(1)
        self.search = SearchField(search_placeholder)
        self.action_bar.addWidget(self.search)
        layout.addLayout(self.action_bar)

        self.table = RecordTable(self.model)
        self.empty = EmptyState(empty_title, empty_sentence)
        self.stack = QStackedWidget()
        self.stack.setObjectName("tableStack")
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        layout.addWidget(self.stack, 1)

        self.new_button.clicked.connect(self.new_record)
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.choose_export_file)
        self.search.searched.connect(self.model.set_search)
        self.table.open_requested.connect(self.open_selected)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selection_changed()
        self.new_button.setVisible(self.can_create)

    # -- loading -------------------------------------------------------------------------------

    def reload(self, select_id: int | None = None) -> None:
        self._reload_timer.stop()
        # Keep the admin's place: after a reload the same record stays selected if it is there.
        self._select_after = select_id if select_id is not None else self.table.current_id()
        self._stale = False
        self.model.reload()

    def mark_stale(self) -> None:
        """Data changed elsewhere: reload soon if the admin is looking, else when they come back."""
        if self.isVisible():
            self._reload_timer.start()
        else:
            self._stale = True

    def activate(self) -> None:
        """The page became the current one."""
        if self._stale or not self.model.has_loaded() and not self.model.is_loading():
            self.reload()

    def _loaded(self) -> None:
        empty = self.model.total() == 0 and not self.model.search.strip()
        self.stack.setCurrentWidget(self.empty if empty else self.table)
        if self._select_after is not None:
            self.table.select_id(self._select_after)
            self._select_after = None
        self._selection_changed()
        self.status_changed.emit()

    def _load_failed(self, message: str) -> None:
        self.message.emit(self.tr("Could not read the list: {0}").format(message))

    def count_text(self, count: int) -> str:
        one, several = self.count_words
        return (one if count == 1 else several).format(f"{count:,}")

    def status_text(self) -> str:
        """"600 contacts", or "2 contacts matching “curie”": how many rows there are, however
        few the table has read so far (it reads on as the admin scrolls)."""
        if not self.model.has_loaded():
            return self.tr("Loading…")
        text = self.count_text(self.model.total())
        if self.model.search.strip():
            text = self.tr("{count} matching “{search}”").format(
                count=text, search=self.model.search.strip())
        return text

    # -- actions (the window's shortcuts call these too) -----------------------------------------

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def new_record(self) -> None:
        """Open the dialog that creates one; subclasses fill it in."""

    def edit_record(self, record_id: int) -> None:
        """Open the dialog that edits one; subclasses fill it in."""

    def delete_records(self, ids: list[int]) -> None:
        """Delete after the admin confirmed; subclasses fill it in."""

    def describe_for_delete(self, ids: list[int]) -> str:
        if len(ids) == 1:
            return self.tr("Delete the selected row?")
        return self.tr("Delete the {0} selected rows?").format(len(ids))

    def open_selected(self) -> None:
        """A double click or Enter on a row: edit it, unless the page opens rows otherwise."""
        self.edit_selected()

    def edit_selected(self) -> None:
        record_id = self.table.current_id()
        if record_id is not None:
            self.edit_record(record_id)

    def delete_selected(self) -> None:
        ids = self.table.selected_ids()
        if not ids:
            return
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Delete"),
                          self.describe_for_delete(ids),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setObjectName("confirmDelete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Delete"))

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                self.delete_records(ids)
            box.deleteLater()

        box.finished.connect(answered)
        box.open()

    def _selection_changed(self, *_: Any) -> None:
        count = len(self.table.selectionModel().selectedRows())
        self.edit_button.setEnabled(count == 1)
        self.delete_button.setEnabled(count > 0)

    # -- export --------------------------------------------------------------------------------

    def export_file_name(self) -> str:
        return f"{self.noun.lower().replace(' ', '-')}.csv"

    def choose_export_file(self) -> None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Export CSV"), str(Path(folder) / self.export_file_name()),
            self.tr("CSV files (*.csv)"))
        if path:
            self.export_to(path)

    def export_job(self, path: str) -> tuple[Callable[..., int], tuple[Any, ...]]:
        """What writes the file (on a worker): by default the table's own columns."""
        return export_view, (self.model.source, self.model.columns(), self.model.search,
                             self.model.current_sort(), path)

    def export_to(self, path: str) -> None:
        """Write what the table shows (all pages, same search and order) to ``path``."""
        self.export_button.setEnabled(False)
        self.message.emit(self.tr("Exporting to {0}…").format(Path(path).name))
        func, args = self.export_job(path)
        self._export_path = path
        start_job(func, *args, on_done=self._exported, on_failed=self._export_failed)

    def _exported(self, count: int) -> None:
        self.export_button.setEnabled(True)
        self.message.emit(self.tr("Exported {0} rows to {1}").format(
            f"{count:,}", Path(self._export_path).name))

    def _export_failed(self, message: str, trace: str) -> None:
        self.export_button.setEnabled(True)
        QMessageBox.warning(self, self.tr("Export CSV"),
                            self.tr("The file could not be written: {0}").format(message))
