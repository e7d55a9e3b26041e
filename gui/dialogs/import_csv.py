"""The CSV import dialog: choose a file, check what was detected, map the columns, import.

Steps (a stacked dialog): the file (detected encoding and delimiter, which the admin may correct,
and a preview) → the column mapping (a field per column, prefilled by
``core.csvio.suggest_mapping``) and an optional static list → the import itself
(``core.importer.import_csv``) on a worker thread, with a progress bar and Cancel → the result:
created, updated, rejected, and the rejected rows with their line and reason.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.csvio import (
    DELIMITER_NAMES,
    ENCODING_NAMES,
    CsvInfo,
    reread,
    sniff,
    suggest_mapping,
)
from core.importer import ImportReport, import_csv
from core.models.store import MarketingList
from core.store import fields_for
from gui.sources import entity_labels
from gui.widgets import ErrorLabel, combo_select_data
from gui.workers import start_job

PREVIEW_ROWS = 8
NEW_LIST = "__new__"
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "utf-16")


class CancelFlag(threading.Event):
    """Set when the admin presses Cancel; the importer reads it between batches."""


class ImportSignals(QObject):
    progress = Signal(int, int)


class ImportDialog(QDialog):
    """``imported(entity)`` once records were written (even by a cancelled import)."""

    imported = Signal(str)

    CHOOSE, MAPPING, PROGRESS, RESULT = range(4)

    def __init__(self, entity: str = "contact", parent: QWidget | None = None,
                 list_id: int | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.setWindowTitle(self.tr("Import CSV"))
        self.info: CsvInfo | None = None
        self.report: ImportReport | None = None
        self.mapping_combos: list[QComboBox] = []
        self._sniff_generation = 0
        self._cancel = CancelFlag()
        self._signals = ImportSignals(self)
        self._signals.progress.connect(self._progress)
        self._running = False
        self._preset_list = list_id
        self._scratch = Path(tempfile.mkdtemp(prefix="listbridge-import-"))

        layout = QVBoxLayout(self)
        self.step_label = QLabel()
        self.step_label.setObjectName("importStep")
        layout.addWidget(self.step_label)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        self.pages = QStackedWidget()
        self.pages.setObjectName("importPages")
        layout.addWidget(self.pages, 1)
        self.pages.addWidget(self._choose_page(entity))
        self.pages.addWidget(self._mapping_page())
        self.pages.addWidget(self._progress_page())
        self.pages.addWidget(self._result_page())
        buttons = QHBoxLayout()
        self.back_button = QPushButton(self.tr("Back"))
        self.back_button.setObjectName("importBackButton")
        self.next_button = QPushButton(self.tr("Next"))
        self.next_button.setObjectName("importNextButton")
        self.next_button.setDefault(True)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("importCancelButton")
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.setObjectName("importCloseButton")
        buttons.addStretch(1)
        for widget in (self.back_button, self.next_button, self.cancel_button, self.close_button):
            buttons.addWidget(widget)
        layout.addLayout(buttons)
        self.back_button.clicked.connect(lambda: self._show(self.CHOOSE))
        self.next_button.clicked.connect(self._next)
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.close_button.clicked.connect(self.accept)
        self.finished.connect(lambda _r: shutil.rmtree(self._scratch, ignore_errors=True))
        self._sniff_timer = QTimer(self)
        self._sniff_timer.setSingleShot(True)
        self._sniff_timer.setInterval(400)
        self._sniff_timer.timeout.connect(self.sniff)
        self.file_path.textChanged.connect(self._path_changed)
        self._show(self.CHOOSE)
        self.resize(820, 580)

    # -- pages ---------------------------------------------------------------------------------

    def _choose_page(self, entity: str) -> QWidget:
        page = QWidget()
        page.setObjectName("importChoosePage")
        layout = QVBoxLayout(page)
        form = QFormLayout()
        self.entity = QComboBox()
        self.entity.setObjectName("importEntity")
        for key, label in entity_labels().items():
            self.entity.addItem(label, key)
        combo_select_data(self.entity, entity)
        form.addRow(self.tr("Import into:"), self.entity)
        row = QHBoxLayout()
        self.file_path = QLineEdit()
        self.file_path.setObjectName("importFilePath")
        self.file_path.setPlaceholderText(self.tr("The CSV file to import"))
        browse = QPushButton(self.tr("Browse…"))
        browse.setObjectName("importBrowseButton")
        browse.clicked.connect(self.browse)
        row.addWidget(self.file_path, 1)
        row.addWidget(browse)
        form.addRow(self.tr("File:"), row)
        read_as = QHBoxLayout()
        self.encoding = QComboBox()
        self.encoding.setObjectName("importEncoding")
        for encoding in ENCODINGS:
            self.encoding.addItem(self.tr(ENCODING_NAMES[encoding]), encoding)
        self.delimiter = QComboBox()
        self.delimiter.setObjectName("importDelimiter")
        for symbol, name in DELIMITER_NAMES.items():
            shown = "⇥" if symbol == "\t" else symbol
            self.delimiter.addItem(self.tr("{0}  ({1})").format(shown, self.tr(name)), symbol)
        read_as.addWidget(QLabel(self.tr("Encoding:")))
        read_as.addWidget(self.encoding)
        read_as.addSpacing(16)
        read_as.addWidget(QLabel(self.tr("Delimiter:")))
        read_as.addWidget(self.delimiter)
        read_as.addStretch(1)
        form.addRow(self.tr("Read as:"), read_as)
        layout.addLayout(form)
        self.encoding.setEnabled(False)
        self.delimiter.setEnabled(False)
        self.encoding.activated.connect(lambda _i: self._read_again())
        self.delimiter.activated.connect(lambda _i: self._read_again())
        self.detected = QLabel(self.tr("UTF-8, UTF-8 with BOM, Windows-1252 or UTF-16; comma, "
                                       "semicolon or tab separated. The first line holds the "
                                       "column names."))
        self.detected.setObjectName("importDetected")
        self.detected.setWordWrap(True)
        layout.addWidget(self.detected)
        self.preview = QTableWidget()
        self.preview.setObjectName("importPreview")
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.verticalHeader().setDefaultSectionSize(24)
        layout.addWidget(self.preview, 1)
        return page

    def _mapping_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("importMappingPage")
        layout = QVBoxLayout(page)
        hint = QLabel(self.tr("Choose the field each column goes to; columns set to “Do not "
                              "import” are skipped. Rows are matched to existing records by "
                              "email: a known email updates the record, and an empty cell never "
                              "clears a value."))
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.mapping = QTableWidget(0, 3)
        self.mapping.setObjectName("importMappingTable")
        self.mapping.setHorizontalHeaderLabels([self.tr("Column in the file"),
                                                self.tr("First value"), self.tr("Field")])
        self.mapping.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.mapping.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.mapping.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.mapping.verticalHeader().hide()
        self.mapping.verticalHeader().setDefaultSectionSize(32)
        self.mapping.setColumnWidth(0, 210)
        self.mapping.setColumnWidth(1, 230)
        self.mapping.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.mapping, 1)
        box = QGroupBox(self.tr("Marketing list (optional)"))
        box_layout = QHBoxLayout(box)
        box_layout.addWidget(QLabel(self.tr("Also add the imported records to:")))
        self.target_list = QComboBox()
        self.target_list.setObjectName("importTargetList")
        self.target_list.setMinimumContentsLength(24)
        box_layout.addWidget(self.target_list)
        self.new_list_name = QLineEdit()
        self.new_list_name.setObjectName("importNewListName")
        self.new_list_name.setPlaceholderText(self.tr("Name of the new static list"))
        box_layout.addWidget(self.new_list_name, 1)
        self.target_list.currentIndexChanged.connect(self._target_changed)
        layout.addWidget(box)
        return page

    def _progress_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("importProgressPage")
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        self.progress_label = QLabel()
        self.progress_label.setObjectName("importProgressLabel")
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.progress_label)
        self.progress = QProgressBar()
        self.progress.setObjectName("importProgress")
        self.progress.setRange(0, 0)
        layout.addWidget(self.progress)
        note = QLabel(self.tr("You can keep working in the window meanwhile. Cancel stops after "
                              "the current batch; what was imported by then stays."))
        note.setWordWrap(True)
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(note)
        layout.addStretch(2)
        return page

    def _result_page(self) -> QWidget:
        page = QWidget()
        page.setObjectName("importResultPage")
        layout = QVBoxLayout(page)
        self.result_title = QLabel()
        self.result_title.setObjectName("importResultTitle")
        self.result_title.setWordWrap(True)
        layout.addWidget(self.result_title)
        counts = QHBoxLayout()
        self.created_label = QLabel()
        self.created_label.setObjectName("importCreated")
        self.updated_label = QLabel()
        self.updated_label.setObjectName("importUpdated")
        self.unchanged_label = QLabel()
        self.unchanged_label.setObjectName("importUnchanged")
        self.rejected_label = QLabel()
        self.rejected_label.setObjectName("importRejected")
        for label in (self.created_label, self.updated_label, self.unchanged_label,
                      self.rejected_label):
            label.setProperty("count", True)
            counts.addWidget(label)
        counts.addStretch(1)
        layout.addLayout(counts)
        self.details = QLabel()
        self.details.setObjectName("importDetails")
        self.details.setWordWrap(True)
        layout.addWidget(self.details)
        self.warnings = QLabel()
        self.warnings.setObjectName("importWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.warnings)
        self.rejected_table = QTableWidget(0, 3)
        self.rejected_table.setObjectName("importRejectedTable")
        self.rejected_table.setHorizontalHeaderLabels([self.tr("Line"), self.tr("Email"),
                                                       self.tr("Reason")])
        self.rejected_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rejected_table.verticalHeader().hide()
        self.rejected_table.horizontalHeader().setStretchLastSection(True)
        self.rejected_table.setColumnWidth(0, 60)
        self.rejected_table.setColumnWidth(1, 240)
        self.rejected_table.setWordWrap(True)
        self.rejected_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.rejected_table, 1)
        row = QHBoxLayout()
        self.save_rejected = QPushButton(self.tr("Save rejected rows…"))
        self.save_rejected.setObjectName("importSaveRejectedButton")
        self.save_rejected.setToolTip(self.tr("A CSV file of the rejected rows with their line "
                                              "and reason, to correct and import again"))
        self.save_rejected.clicked.connect(self._save_rejected)
        row.addWidget(self.save_rejected)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    # -- navigation ----------------------------------------------------------------------------

    def _show(self, step: int) -> None:
        self.pages.setCurrentIndex(step)
        self.error.clear_error()
        titles = {
            self.CHOOSE: self.tr("Step 1 of 3: choose the file"),
            self.MAPPING: self.tr("Step 2 of 3: map the columns"),
            self.PROGRESS: self.tr("Step 3 of 3: importing"),
            self.RESULT: self.tr("Import finished"),
        }
        self.step_label.setText(titles[step])
        self.back_button.setVisible(step == self.MAPPING)
        self.next_button.setVisible(step in (self.CHOOSE, self.MAPPING))
        self.next_button.setText(self.tr("Import") if step == self.MAPPING else self.tr("Next"))
        self.cancel_button.setVisible(step != self.RESULT)
        self.close_button.setVisible(step == self.RESULT)
        self._update_next()

    def _update_next(self) -> None:
        step = self.pages.currentIndex()
        self.next_button.setEnabled(step == self.MAPPING or (
            step == self.CHOOSE and self.info is not None and bool(self.info.headers)))

    def _next(self) -> None:
        if self.pages.currentIndex() == self.CHOOSE and self.info is not None:
            self._fill_mapping()
            self._show(self.MAPPING)
        elif self.pages.currentIndex() == self.MAPPING:
            self.start_import()

    def _cancel_clicked(self) -> None:
        if self._running:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.progress_label.setText(self.tr("Stopping after the current batch…"))
        else:
            self.reject()

    def reject(self) -> None:
        if self._running:  # Escape or the title bar's close button: stop, then report
            self._cancel_clicked()
            return
        super().reject()

    # -- step 1: the file ----------------------------------------------------------------------

    def browse(self) -> None:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a CSV file"), folder,
                                              self.tr("CSV files (*.csv *.txt);;All files (*)"))
        if path:
            self.file_path.setText(path)
            self.sniff()

    def _path_changed(self, _text: str) -> None:
        self.info = None
        self._update_next()
        self._sniff_timer.start()

    def sniff(self) -> None:
        """Detect the encoding and delimiter and read a sample, on a worker thread."""
        self._sniff_timer.stop()
        path = self.file_path.text().strip()
        self._sniff_generation += 1
        if not path:
            return
        self.error.clear_error()
        self.detected.setText(self.tr("Reading {0}…").format(Path(path).name))
        generation = self._sniff_generation
        start_job(lambda: (generation, sniff(path)), on_done=self._sniffed,
                  on_failed=self._sniff_failed)

    def _read_again(self) -> None:
        if self.info is None:
            return
        self._sniff_generation += 1
        generation, info = self._sniff_generation, self.info
        encoding, delimiter = self.encoding.currentData(), self.delimiter.currentData()
        start_job(lambda: (generation, reread(info, encoding, delimiter)),
                  on_done=self._sniffed, on_failed=self._sniff_failed)

    def _sniffed(self, result: tuple[int, CsvInfo]) -> None:
        generation, info = result
        if generation != self._sniff_generation:
            return
        self.info = info
        combo_select_data(self.encoding, info.encoding)
        combo_select_data(self.delimiter, info.delimiter)
        self.encoding.setEnabled(True)
        self.delimiter.setEnabled(True)
        text = self.tr("Detected: {encoding}, delimiter “{symbol}” ({name}), {columns} columns, "
                       "about {rows} rows.").format(
            encoding=self.tr(info.encoding_name), symbol=info.delimiter.replace("\t", "⇥"),
            name=self.tr(info.delimiter_name), columns=len(info.headers),
            rows=f"{max(info.line_count - info.header_line, 0):,}")
        if info.warnings:
            text += "\n" + "\n".join(info.warnings)
        self.detected.setText(text)
        self.preview.clear()
        sample = list(info.sample_rows)[:PREVIEW_ROWS]
        self.preview.setColumnCount(len(info.headers))
        self.preview.setRowCount(len(sample))
        self.preview.setHorizontalHeaderLabels(list(info.headers))
        for row, values in enumerate(sample):
            for column, value in enumerate(list(values)[:len(info.headers)]):
                self.preview.setItem(row, column, QTableWidgetItem(value))
        self.preview.resizeColumnsToContents()
        for column in range(self.preview.columnCount()):
            self.preview.setColumnWidth(column, min(self.preview.columnWidth(column) + 12, 240))
        self._update_next()

    def _sniff_failed(self, message: str, trace: str) -> None:
        self.info = None
        self.detected.setText("")
        self.preview.clear()
        self.preview.setRowCount(0)
        self.preview.setColumnCount(0)
        self.error.show_error(message)
        self._update_next()

    # -- step 2: the mapping -------------------------------------------------------------------

    def _fill_mapping(self) -> None:
        assert self.info is not None
        entity = self.entity.currentData()
        headers = list(self.info.headers)
        suggested = suggest_mapping(entity, headers)
        fields = fields_for(entity)
        first = list(self.info.sample_rows[0]) if self.info.sample_rows else []
        self.mapping.setRowCount(len(headers))
        self.mapping_combos = []
        for row, header in enumerate(headers):
            self.mapping.setItem(row, 0, QTableWidgetItem(header))
            self.mapping.setItem(row, 1, QTableWidgetItem(first[row] if row < len(first)
                                                          else ""))
            combo = QComboBox()
            combo.setObjectName(f"mapping_{row}")
            combo.addItem(self.tr("— Do not import —"), None)
            for info in fields:
                label = info.label if info.custom else self.tr(info.label)
                combo.addItem(label + (self.tr(" (custom field)") if info.custom else ""),
                              info.key)
            combo_select_data(combo, suggested.get(header))
            self.mapping.setCellWidget(row, 2, combo)
            self.mapping_combos.append(combo)
        self._fill_lists(entity)

    def _fill_lists(self, entity: str) -> None:
        self.target_list.clear()
        self.target_list.addItem(self.tr("(no list)"), None)
        for mlist in (MarketingList.select().where(MarketingList.entity == entity,
                                                   MarketingList.list_type == "static")
                      .order_by(MarketingList.name)):
            self.target_list.addItem(mlist.name, mlist.name)
        self.target_list.addItem(self.tr("New static list…"), NEW_LIST)
        if self._preset_list:
            preset = MarketingList.get_or_none(id=self._preset_list)
            if preset is not None:
                combo_select_data(self.target_list, preset.name)
        self._target_changed()

    def _target_changed(self, *_: Any) -> None:
        self.new_list_name.setVisible(self.target_list.currentData() == NEW_LIST)

    def mapping_value(self) -> dict[str, str | None]:
        """Each header of the file to the chosen field key, or None to skip the column."""
        assert self.info is not None
        return {header: combo.currentData()
                for header, combo in zip(self.info.headers, self.mapping_combos, strict=True)}

    def list_name(self) -> str | None:
        data = self.target_list.currentData()
        if data == NEW_LIST:
            return self.new_list_name.text().strip() or None
        return data

    # -- step 3: the import --------------------------------------------------------------------

    def start_import(self) -> None:
        chosen = [combo.currentData() for combo in self.mapping_combos]
        entity = self.entity.currentData()
        if not any(chosen):
            self.error.show_error(self.tr("Map at least one column to a field."))
            return
        if entity in ("contact", "lead") and "email" not in chosen:
            self.error.show_error(self.tr("Map a column to Email: records are matched by it."))
            return
        if entity == "company" and "name" not in chosen:
            self.error.show_error(self.tr("Map a column to Name: a company needs one."))
            return
        if self.target_list.currentData() == NEW_LIST and not self.list_name():
            self.error.show_error(self.tr("Give the new list a name."))
            self.new_list_name.setFocus()
            return
        assert self.info is not None
        self._cancel.clear()
        self._running = True
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress_label.setText(self.tr("Importing {0}…").format(self.info.path.name))
        self._show(self.PROGRESS)
        signals, last = self._signals, [0.0]

        def report(done: int, total: int) -> None:  # on the worker thread
            now = time.monotonic()
            if now - last[0] >= 0.05 or done >= total:
                last[0] = now
                signals.progress.emit(done, total)

        start_job(import_csv, self.info.path, entity, self.mapping_value(), self.list_name(),
                  report, self._cancel, info=self.info,
                  rejected_csv=self._scratch / "rejected.csv",
                  on_done=self._finished, on_failed=self._failed)

    def _progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            self.progress_label.setText(self.tr("Read {0} of about {1} rows…").format(
                f"{done:,}", f"{total:,}"))

    def _finished(self, report: ImportReport) -> None:
        self._running = False
        self.report = report
        self.result_title.setText(
            self.tr("The import was cancelled after line {0}; what was imported before "
                    "stays.").format(report.last_line) if report.cancelled
            else self.tr("{0} rows read from {1}.").format(f"{report.rows_read:,}",
                                                           report.path.name))
        self.created_label.setText(self.tr("Created: {0}").format(f"{report.created:,}"))
        self.updated_label.setText(self.tr("Updated: {0}").format(f"{report.updated:,}"))
        self.unchanged_label.setText(self.tr("Unchanged: {0}").format(f"{report.unchanged:,}"))
        self.rejected_label.setText(self.tr("Rejected: {0}").format(f"{len(report.rejected):,}"))
        details = []
        if report.merged:
            details.append(self.tr("{0} rows repeated an earlier row and were merged into it.")
                           .format(f"{report.merged:,}"))
        if report.companies_created == 1:
            details.append(self.tr("1 company was created for the contacts."))
        elif report.companies_created:
            details.append(self.tr("{0} companies were created for the contacts.").format(
                f"{report.companies_created:,}"))
        if report.list_name:
            details.append(self.tr("The records were added to the list “{0}”.").format(
                report.list_name))
        self.details.setText(" ".join(details))
        self.details.setVisible(bool(details))
        self.warnings.setText("\n".join(report.warnings))
        self.warnings.setVisible(bool(report.warnings))
        self.rejected_table.setRowCount(len(report.rejected))
        for row, item in enumerate(report.rejected):
            for column, value in enumerate((str(item.line), item.email, item.reason)):
                cell = QTableWidgetItem(value)
                cell.setToolTip(value)
                self.rejected_table.setItem(row, column, cell)
        self.rejected_table.resizeRowsToContents()
        self.rejected_table.setVisible(bool(report.rejected))
        self.save_rejected.setVisible(report.rejected_csv is not None)
        self._show(self.RESULT)
        if report.created or report.updated or report.list_name:
            self.imported.emit(report.entity)

    def _failed(self, message: str, trace: str) -> None:
        self._running = False
        self._show(self.MAPPING)
        self.error.show_error(self.tr("The import stopped: {0}").format(message))
        self.imported.emit(self.entity.currentData())

    def _save_rejected(self) -> None:
        if self.report is None or self.report.rejected_csv is None:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        suggested = Path(folder) / f"{self.report.path.stem}-rejected.csv"
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save rejected rows"),
                                              str(suggested), self.tr("CSV files (*.csv)"))
        if path:
            shutil.copyfile(self.report.rejected_csv, path)
