"""Dotmailer data fields: which store field is sent to which data field, for one integration.

FIRSTNAME, LASTNAME and FULLNAME are mapped by default. The admin adds a mapping from any field of
contacts or leads (custom fields too) to a data field of the account; a data field missing in
Dotmailer is created there first. Deleting a data field in Dotmailer is refused by Dotmailer while
a campaign or another object uses it: the dialog then lists those dependencies (D4). Every call
to Dotmailer runs on a worker thread with a busy indicator.

``DataFieldsPanel`` is the content (reusable as a page elsewhere); ``DataFieldsDialog`` wraps it.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from connectors.dotmailer.models import DATAFIELD_TYPES
from gui.dotmailer import jobs
from gui.dotmailer.guard import guarded
from gui.rowmodel import MUTED_COLOUR, WARNING_COLOUR, RowColumn, RowTable, RowTableModel
from gui.widgets import ErrorLabel, button, combo_select_data
from gui.workers import start_job


def tr(text: str) -> str:
    return QCoreApplication.translate("DataFieldsPanel", text)


def entity_label(entity: str) -> str:
    return {"contact": tr("Contacts"), "lead": tr("Leads")}.get(entity, entity)


def mapping_columns() -> list[RowColumn]:
    return [
        RowColumn(tr("Kind"), lambda r: entity_label(r.entity), 90),
        RowColumn(tr("ListBridge field"), lambda r: r.field_label, 200),
        RowColumn(tr("Dotmailer data field"), lambda r: r.datafield, 170),
        RowColumn(tr("Sent"), lambda r: (tr("Yes") if r.exists
                                         else tr("No: not in Dotmailer")), 150,
                  colour=lambda r: None if r.exists else WARNING_COLOUR),
        RowColumn(tr("Origin"), lambda r: tr("Default") if r.is_default else tr("Added"), 80,
                  colour=lambda r: MUTED_COLOUR if r.is_default else None),
    ]


def field_columns() -> list[RowColumn]:
    return [
        RowColumn(tr("Name"), lambda r: r.name, 170),
        RowColumn(tr("Type"), lambda r: r.type, 80),
        RowColumn(tr("Visibility"), lambda r: r.visibility, 80),
        RowColumn(tr("Default value"), lambda r: r.default_value, 110),
        RowColumn(tr("Mapped from"), lambda r: ", ".join(r.mapped_from) or "—", 250,
                  colour=lambda r: None if r.mapped_from else MUTED_COLOUR),
    ]


class DataFieldsPanel(QWidget):
    """Mappings and the account's data fields for one Dotmailer integration."""

    changed = Signal()  # a mapping or a data field was added or removed
    loaded = Signal(str)  # the integration's name, once its data is shown

    def __init__(self, integration_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataFieldsPanel")
        self.integration_id = integration_id
        self.data: jobs.DataFieldsData | None = None
        self._busy = 0
        self._refreshed = False
        self._select_mapping: int | None = None
        self.mappings_model = RowTableModel(mapping_columns(), self)
        self.fields_model = RowTableModel(field_columns(), self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        intro = QLabel(self.tr(
            "Mapped fields travel with each contact at every export to Dotmailer. FIRSTNAME, "
            "LASTNAME and FULLNAME are mapped by default; only data fields that exist in "
            "Dotmailer are sent."))
        intro.setObjectName("dataFieldsIntro")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("dataFieldsTabs")
        self.tabs.addTab(self._build_mappings_tab(), self.tr("Mappings"))
        self.tabs.addTab(self._build_fields_tab(), self.tr("Data fields in Dotmailer"))
        layout.addWidget(self.tabs, 1)
        status = QHBoxLayout()
        self.busy = QProgressBar()
        self.busy.setObjectName("dataFieldsBusy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setFixedWidth(90)
        self.busy_text = QLabel()
        self.busy_text.setObjectName("dataFieldsBusyText")
        self.busy_text.setStyleSheet("color: #5b6270;")
        status.addWidget(self.busy)
        status.addWidget(self.busy_text, 1)
        layout.addLayout(status)
        self._set_busy(0, "")
        self._run(jobs.load_data_fields, self.tr("Loading…"), self._loaded, integration_id)

    # -- building ------------------------------------------------------------------------------

    def _build_mappings_tab(self) -> QWidget:
        tab = QWidget()
        tab.setObjectName("mappingsTab")
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(8, 8, 8, 8)
        self.mappings_table = RowTable(self.mappings_model, "mappingsTable")
        self.mappings_table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_actions())
        layout.addWidget(self.mappings_table, 1)
        actions = QHBoxLayout()
        self.remove_button = button(self.tr("Remove Mapping"), "removeMappingButton",
                                    "SP_TrashIcon", self.tr("Stop sending this field to "
                                                            "Dotmailer (the data field stays)"))
        self.remove_button.clicked.connect(self.remove_selected)
        actions.addWidget(self.remove_button)
        actions.addStretch(1)
        layout.addLayout(actions)

        box = QGroupBox(self.tr("Add a mapping"))
        box.setObjectName("addMappingBox")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.entity_combo = QComboBox()
        self.entity_combo.setObjectName("mappingEntity")
        for entity in jobs.PERSON_KINDS:
            self.entity_combo.addItem(entity_label(entity), entity)
        self.entity_combo.currentIndexChanged.connect(lambda _i: self._fill_local_fields())
        self.local_combo = QComboBox()
        self.local_combo.setObjectName("mappingLocalField")
        self.local_combo.currentIndexChanged.connect(lambda _i: self._local_chosen())
        self.datafield_combo = QComboBox()
        self.datafield_combo.setObjectName("mappingDataField")
        self.datafield_combo.setEditable(True)
        self.datafield_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.datafield_combo.lineEdit().setPlaceholderText(self.tr("e.g. CITY"))
        self.datafield_combo.editTextChanged.connect(lambda _t: self._datafield_changed())
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("mappingType")
        for kind in DATAFIELD_TYPES:
            self.type_combo.addItem(kind, kind)
        self.new_note = QLabel()
        self.new_note.setObjectName("newDataFieldNote")
        self.new_note.setWordWrap(True)
        self.new_note.setStyleSheet("color: #5b6270;")
        self.add_button = button(self.tr("Add Mapping"), "addMappingButton", "SP_DialogApplyButton",
                                 self.tr("Send this field to Dotmailer from the next export"))
        self.add_button.setProperty("primary", True)
        self.add_button.clicked.connect(self.add_mapping)
        form.addRow(self.tr("Kind:"), self.entity_combo)
        form.addRow(self.tr("ListBridge field:"), self.local_combo)
        form.addRow(self.tr("Dotmailer data field:"), self.datafield_combo)
        form.addRow(self.tr("Type (new field):"), self.type_combo)
        row = QHBoxLayout()
        row.addWidget(self.new_note, 1)
        row.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        form.addRow("", row)
        layout.addWidget(box)
        return tab

    def _build_fields_tab(self) -> QWidget:
        tab = QWidget()
        tab.setObjectName("fieldsTab")
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(8, 8, 8, 8)
        self.fields_table = RowTable(self.fields_model, "dataFieldsTable")
        self.fields_table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_actions())
        layout.addWidget(self.fields_table, 1)
        self.dependencies = QLabel()
        self.dependencies.setObjectName("fieldDependencies")
        self.dependencies.setWordWrap(True)
        self.dependencies.setTextFormat(Qt.TextFormat.RichText)
        self.dependencies.setStyleSheet(
            "background: #fff3cd; color: #664d03; border: 1px solid #e9d38a; "
            "border-radius: 4px; padding: 6px 8px;")
        self.dependencies.hide()
        layout.addWidget(self.dependencies)
        actions = QHBoxLayout()
        self.refresh_button = button(self.tr("Refresh from Dotmailer"), "refreshFieldsButton",
                                     "SP_BrowserReload",
                                     self.tr("Read the account's data fields again"))
        self.refresh_button.clicked.connect(self.refresh)
        self.delete_button = button(self.tr("Delete in Dotmailer…"), "deleteFieldButton",
                                    "SP_TrashIcon",
                                    self.tr("Delete the selected data field in Dotmailer, with "
                                            "its values for every contact"))
        self.delete_button.clicked.connect(self.confirm_delete)
        actions.addWidget(self.refresh_button)
        actions.addWidget(self.delete_button)
        actions.addStretch(1)
        layout.addLayout(actions)
        return tab

    # -- work on worker threads ----------------------------------------------------------------

    def _run(self, func: Any, text: str, on_done: Any, *args: Any) -> None:
        self._set_busy(self._busy + 1, text)
        start_job(func, *args, on_done=guarded(self, lambda result: self._finished(on_done,
                                                                                 result)),
                  on_failed=self._failed)

    def _finished(self, on_done: Any, result: Any) -> None:
        self._set_busy(self._busy - 1, "")
        on_done(result)

    def _failed(self, message: str, _trace: str) -> None:
        self._set_busy(self._busy - 1, "")
        self.error.show_error(message)

    def _set_busy(self, count: int, text: str) -> None:
        self._busy = max(0, count)
        self.busy.setVisible(self._busy > 0)
        self.busy_text.setText(text if self._busy else "")
        self._update_actions()

    def is_busy(self) -> bool:
        return self._busy > 0

    def _loaded(self, data: jobs.DataFieldsData) -> None:
        if not data.ever_read and not self._refreshed:
            self.refresh()  # never read: ask Dotmailer which data fields the account has
        self._show(data)

    def refresh(self) -> None:
        self._refreshed = True
        self.dependencies.hide()
        self._run(jobs.refresh_data_fields, self.tr("Reading the data fields from Dotmailer…"),
                  self._show, self.integration_id)

    def _show(self, data: jobs.DataFieldsData) -> None:
        self.data = data
        if data.message:
            self.error.show_error(data.message)
        self.mappings_table.set_rows_keeping_selection(list(data.mappings))
        if self._select_mapping is not None:
            self.mappings_table.select_id(self._select_mapping)
            self._select_mapping = None
        self.fields_table.set_rows_keeping_selection(list(data.fields))
        typed = self.datafield_combo.currentText()
        self.datafield_combo.blockSignals(True)
        self.datafield_combo.clear()
        for row in data.fields:
            self.datafield_combo.addItem(row.name, row.name)
        self.datafield_combo.setEditText(typed)
        self.datafield_combo.blockSignals(False)
        if self.local_combo.count() == 0:
            self._fill_local_fields()
        self._datafield_changed()
        self.loaded.emit(data.integration_name)

    def _fill_local_fields(self) -> None:
        if self.data is None:
            return
        entity = self.entity_combo.currentData()
        chosen = self.local_combo.currentData()
        self.local_combo.blockSignals(True)
        self.local_combo.clear()
        for info in self.data.local_fields.get(entity, ()):
            label = self.tr("{0} (custom)").format(info.label) if info.custom else self.tr(
                info.label)
            self.local_combo.addItem(label, info.key)
        combo_select_data(self.local_combo, chosen)
        self.local_combo.blockSignals(False)
        self._local_chosen()

    def _local_info(self) -> jobs.LocalField | None:
        if self.data is None:
            return None
        key = self.local_combo.currentData()
        return next((f for f in self.data.local_fields.get(self.entity_combo.currentData(), ())
                     if f.key == key), None)

    def _local_chosen(self) -> None:
        info = self._local_info()
        if info is not None:
            combo_select_data(self.type_combo, jobs.KIND_TO_TYPE.get(info.kind, "String"))
            if not self.datafield_combo.currentText().strip():
                suggestion = info.key.upper().replace(" ", "_")[:20]
                self.datafield_combo.setEditText(suggestion)
        self._datafield_changed()

    def _is_new(self, name: str) -> bool:
        known = {row.name.lower() for row in self.data.fields} if self.data else set()
        return bool(name) and name.lower() not in known

    def _datafield_changed(self) -> None:
        name = self.datafield_combo.currentText().strip()
        new = self._is_new(name)
        self.type_combo.setEnabled(new)
        if not name:
            self.new_note.setText("")
        elif new:
            problem = jobs.check_field_name(name)
            self.new_note.setText(self.tr(problem) if problem else self.tr(
                "{0} is not in Dotmailer yet: it is created there when you add the "
                "mapping.").format(name.upper()))
        else:
            self.new_note.setText(self.tr("{0} exists in Dotmailer.").format(name))
        self._update_actions()

    def _update_actions(self) -> None:
        if not hasattr(self, "delete_button"):
            return
        idle = not self.is_busy()
        self.remove_button.setEnabled(idle and self.mappings_table.current_row() is not None)
        self.delete_button.setEnabled(idle and self.fields_table.current_row() is not None)
        self.refresh_button.setEnabled(idle)
        name = self.datafield_combo.currentText().strip()
        valid = bool(name) and (not self._is_new(name) or jobs.check_field_name(name) is None)
        self.add_button.setEnabled(idle and self.data is not None and valid
                                   and self.local_combo.currentData() is not None)

    # -- actions -------------------------------------------------------------------------------

    def add_mapping(self) -> None:
        name = self.datafield_combo.currentText().strip()
        local = self.local_combo.currentData()
        if not name or local is None:
            return
        new = self._is_new(name)
        self.error.clear_error()
        mapping = jobs.NewMapping(self.integration_id, self.entity_combo.currentData(), local,
                                  name.upper() if new else name, create=new,
                                  type=self.type_combo.currentData())
        text = (self.tr("Creating {0} in Dotmailer…").format(name.upper()) if new
                else self.tr("Adding the mapping…"))
        self._run(jobs.add_mapping, text, self._added, mapping)

    def _added(self, outcome: jobs.Outcome) -> None:
        if not outcome.ok:
            self.error.show_error(outcome.message)
            return
        self.datafield_combo.setEditText("")
        self._select_mapping = int(outcome.value)
        self.changed.emit()
        self._run(jobs.load_data_fields, self.tr("Loading…"), self._show, self.integration_id)

    def remove_selected(self) -> None:
        row = self.mappings_table.current_row()
        if row is None:
            return
        self._run(jobs.remove_mapping, self.tr("Removing the mapping…"),
                  lambda _n: self._reload_after_change(), row.id)

    def _reload_after_change(self) -> None:
        self.changed.emit()
        self._run(jobs.load_data_fields, self.tr("Loading…"), self._show, self.integration_id)

    def confirm_delete(self) -> None:
        row = self.fields_table.current_row()
        if row is None:
            return
        mapped = (self.tr("\n\nIt is mapped from: {0}; those mappings are removed too.").format(
            ", ".join(row.mapped_from)) if row.mapped_from else "")
        box = QMessageBox(
            QMessageBox.Icon.Warning, self.tr("Delete Data Field"),
            self.tr("Delete the data field {0} in Dotmailer? Its value is removed from every "
                    "contact of the account.").format(row.name) + mapped,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.window())
        box.setObjectName("confirmDeleteField")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Delete"))
        name = row.name

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                self.delete_field(name)
            box.deleteLater()

        box.finished.connect(answered)
        box.open()

    def delete_field(self, name: str) -> None:
        self.dependencies.hide()
        self.error.clear_error()
        self._run(jobs.delete_data_field, self.tr("Deleting {0} in Dotmailer…").format(name),
                  self._deleted, self.integration_id, name)

    def _deleted(self, outcome: jobs.Deletion) -> None:
        if not outcome.ok:
            if outcome.dependencies or "in use" in outcome.message:
                items = "".join(f"<li>{html.escape(d)}</li>" for d in outcome.dependencies)
                self.dependencies.setText(
                    html.escape(outcome.message) + (
                        "<br>" + html.escape(self.tr("It is used by:")) + f"<ul>{items}</ul>"
                        if items else "")
                    + html.escape(self.tr("Remove it from these first, in Dotmailer.")))
                self.dependencies.show()
            else:
                self.error.show_error(outcome.message)
            return
        self.changed.emit()
        self._run(jobs.load_data_fields, self.tr("Loading…"), self._show, self.integration_id)


class DataFieldsDialog(QDialog):
    """The data-field mappings of one Dotmailer integration, in a dialog of their own."""

    def __init__(self, integration_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dotmailerDataFieldsDialog")
        self.setWindowTitle(self.tr("Dotmailer Data Fields"))
        self.resize(760, 620)
        layout = QVBoxLayout(self)
        self.panel = DataFieldsPanel(integration_id, self)
        self.panel.loaded.connect(lambda name: self.setWindowTitle(
            self.tr("Dotmailer Data Fields — {0}").format(name)))
        layout.addWidget(self.panel, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.setObjectName("dialogButtons")
        buttons.button(QDialogButtonBox.StandardButton.Close).setObjectName("closeButton")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
