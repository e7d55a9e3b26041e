"""The store's settings: custom fields and newsletter types, each a list with its own dialog."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable

import peewee as pw
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.models.store import CUSTOM_FIELD_KINDS, CustomField, CustomValue, NewsletterType
from core.store import STANDARD_FIELDS
from gui.sources import entity_labels
from gui.widgets import ErrorLabel, combo_select_data, mark_invalid, save_cancel_buttons

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")


def key_from_label(label: str) -> str:
    """``Customer since`` -> ``customer_since``: lower case ASCII, words joined by underscores."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")
    if key and key[0].isdigit():
        key = "f_" + key
    return key[:64]


def kind_labels() -> dict[str, str]:
    from gui.tablemodel import tr

    return {"text": tr("Text"), "number": tr("Number"), "boolean": tr("Yes / no"),
            "date": tr("Date"), "choice": tr("Choice from a list")}


class CustomFieldDialog(QDialog):
    saved = Signal(int)

    def __init__(self, entity: str, field_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("customFieldDialog")
        self.field_id = field_id
        field = CustomField.get_by_id(field_id) if field_id else None
        self.setWindowTitle(self.tr("Edit custom field") if field else self.tr("New custom field"))
        layout = QVBoxLayout(self)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        form = QFormLayout()
        self.entity = QComboBox()
        self.entity.setObjectName("field_entity")
        for key, label in entity_labels().items():
            self.entity.addItem(label, key)
        combo_select_data(self.entity, field.entity if field else entity)
        self.entity.setEnabled(field is None)
        form.addRow(self.tr("Field of:"), self.entity)
        self.label = QLineEdit()
        self.label.setObjectName("field_label")
        form.addRow(self.tr("Label:"), self.label)
        self.key = QLineEdit()
        self.key.setObjectName("field_key")
        self.key.setToolTip(self.tr("The name used in CSV files, filters and field mappings."))
        form.addRow(self.tr("Key:"), self.key)
        self.kind = QComboBox()
        self.kind.setObjectName("field_kind")
        for kind, label in kind_labels().items():
            self.kind.addItem(label, kind)
        form.addRow(self.tr("Kind:"), self.kind)
        self.choices = QPlainTextEdit()
        self.choices.setObjectName("field_choices")
        self.choices.setPlaceholderText(self.tr("One choice per line"))
        self.choices.setFixedHeight(90)
        self.choices_label = QLabel(self.tr("Choices:"))
        form.addRow(self.choices_label, self.choices)
        layout.addLayout(form)
        layout.addWidget(save_cancel_buttons(self))
        self._key_edited = field is not None
        self.label.textEdited.connect(self._label_edited)
        self.key.textEdited.connect(self._key_typed)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        if field is not None:
            self.label.setText(field.label)
            self.key.setText(field.key)
            self.key.setEnabled(False)
            combo_select_data(self.kind, field.kind)
            self.choices.setPlainText("\n".join(field.choices))
            if CustomValue.select().where(CustomValue.field == field).exists():
                self.kind.setEnabled(False)
                self.kind.setToolTip(self.tr("Records hold values of this field; its kind "
                                             "cannot change."))
        self._kind_changed()
        self.resize(460, self.sizeHint().height())

    def _label_edited(self, text: str) -> None:
        mark_invalid(self.label, False)
        if not self._key_edited:
            self.key.setText(key_from_label(text))

    def _key_typed(self, _text: str) -> None:
        self._key_edited = True
        mark_invalid(self.key, False)

    def _kind_changed(self, *_: object) -> None:
        choice = self.kind.currentData() == "choice"
        self.choices.setVisible(choice)
        self.choices_label.setVisible(choice)

    def _refuse(self, widget: QWidget | None, message: str) -> None:
        if widget is not None:
            mark_invalid(widget, True)
            widget.setFocus()
        self.error.show_error(message)

    def accept(self) -> None:
        entity = self.entity.currentData()
        label, key = self.label.text().strip(), self.key.text().strip()
        kind = self.kind.currentData()
        choices = [line.strip() for line in self.choices.toPlainText().splitlines()
                   if line.strip()]
        if not label:
            return self._refuse(self.label, self.tr("A custom field needs a label."))
        if self.field_id is None:
            if not KEY_PATTERN.fullmatch(key):
                return self._refuse(self.key, self.tr(
                    "The key must start with a letter and hold only lower-case letters, digits "
                    "and underscores."))
            if key in {f.key for f in STANDARD_FIELDS[entity]} or key in (
                    "id", "owner", "created", "updated", "email_key"):
                return self._refuse(self.key, self.tr(
                    "“{0}” is a standard field already; choose another key.").format(key))
            if CustomField.select().where(CustomField.entity == entity,
                                          CustomField.key == key).exists():
                return self._refuse(self.key, self.tr(
                    "Another custom field already has the key “{0}”.").format(key))
        if kind == "choice" and not choices:
            return self._refuse(self.choices, self.tr("A choice field needs at least one choice."))
        if kind not in CUSTOM_FIELD_KINDS:
            return self._refuse(self.kind, self.tr("Choose a kind."))
        if self.field_id:
            field = CustomField.get_by_id(self.field_id)
        else:
            last = CustomField.select(pw.fn.MAX(CustomField.position)).where(
                CustomField.entity == entity).scalar()
            field = CustomField(entity=entity, key=key, position=(last or 0) + 1)
        field.label, field.kind = label, kind
        field.choices_json = json.dumps(choices if kind == "choice" else [])
        field.save()
        self.field_id = field.id
        self.saved.emit(field.id)
        super().accept()


class NewsletterTypeDialog(QDialog):
    saved = Signal(int)

    def __init__(self, type_id: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newsletterTypeDialog")
        self.type_id = type_id
        nt = NewsletterType.get_by_id(type_id) if type_id else None
        self.setWindowTitle(self.tr("Edit newsletter type") if nt else
                            self.tr("New newsletter type"))
        layout = QVBoxLayout(self)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        form = QFormLayout()
        self.code = QSpinBox()
        self.code.setObjectName("field_code")
        self.code.setRange(0, 1_000_000)
        self.code.setToolTip(self.tr("The number services use for this newsletter type "
                                     "(the CleverReach checklist's id)."))
        form.addRow(self.tr("Id:"), self.code)
        self.description = QLineEdit()
        self.description.setObjectName("field_description")
        form.addRow(self.tr("Description:"), self.description)
        self.position = QSpinBox()
        self.position.setObjectName("field_position")
        self.position.setRange(0, 10_000)
        form.addRow(self.tr("Position:"), self.position)
        layout.addLayout(form)
        layout.addWidget(save_cancel_buttons(self))
        if nt is not None:
            self.code.setValue(nt.code)
            self.description.setText(nt.description)
            self.position.setValue(nt.position)
        else:
            top = NewsletterType.select(pw.fn.MAX(NewsletterType.code)).scalar()
            self.code.setValue(0 if top is None else top + 1)
            last = NewsletterType.select(pw.fn.MAX(NewsletterType.position)).scalar()
            self.position.setValue(0 if last is None else last + 1)
        self.resize(420, self.sizeHint().height())

    def accept(self) -> None:
        description = self.description.text().strip()
        if not description:
            mark_invalid(self.description, True)
            self.error.show_error(self.tr("A newsletter type needs a description."))
            return
        clash = NewsletterType.select().where(NewsletterType.code == self.code.value())
        if self.type_id:
            clash = clash.where(NewsletterType.id != self.type_id)
        if clash.exists():
            mark_invalid(self.code, True)
            self.error.show_error(self.tr("Another newsletter type has the id {0}.").format(
                self.code.value()))
            return
        nt = NewsletterType.get_by_id(self.type_id) if self.type_id else NewsletterType()
        nt.code, nt.description, nt.position = (self.code.value(), description,
                                                self.position.value())
        nt.save()
        self.type_id = nt.id
        self.saved.emit(nt.id)
        super().accept()


class ManagerDialog(QDialog):
    """A small table of settings rows with New, Edit and Delete."""

    def __init__(self, title: str, object_name: str, headers: list[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setWindowTitle(title)
        self.layout_ = QVBoxLayout(self)
        self.top = QHBoxLayout()
        self.layout_.addLayout(self.top)
        self.table = QTableWidget(0, len(headers))
        self.table.setObjectName("settingsTable")
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setAlternatingRowColors(True)
        self.layout_.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.new_button = QPushButton(self.tr("New…"))
        self.new_button.setObjectName("newButton")
        self.edit_button = QPushButton(self.tr("Edit…"))
        self.edit_button.setObjectName("editButton")
        self.delete_button = QPushButton(self.tr("Delete"))
        self.delete_button.setObjectName("deleteButton")
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("dialogButtons")
        close.rejected.connect(self.reject)
        for widget in (self.new_button, self.edit_button, self.delete_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(close)
        self.layout_.addLayout(row)
        self.new_button.clicked.connect(self.new_row)
        self.edit_button.clicked.connect(self.edit_row)
        self.delete_button.clicked.connect(self.delete_row)
        self.table.doubleClicked.connect(lambda _i: self.edit_row())
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.resize(620, 380)

    def fill(self, rows: list[tuple[int, list[str]]], widths: list[int]) -> None:
        self.table.setRowCount(0)
        for row_id, values in rows:
            row = self.table.rowCount()
            self.table.insertRow(row)
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.ItemDataRole.UserRole, row_id)
                self.table.setItem(row, column, item)
        for column, width in enumerate(widths):
            self.table.setColumnWidth(column, width)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self._selection_changed()

    def current_id(self) -> int | None:
        items = self.table.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def select_id(self, row_id: int) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == row_id:
                self.table.selectRow(row)

    def _selection_changed(self) -> None:
        selected = self.current_id() is not None
        self.edit_button.setEnabled(selected)
        self.delete_button.setEnabled(selected)

    def open_child(self, dialog: QDialog, on_saved: Callable[[int], None]) -> None:
        dialog.saved.connect(on_saved)  # type: ignore[attr-defined]
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def confirm(self, text: str, then: Callable[[], None]) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, self.windowTitle(), text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDelete")
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Delete"))
        box.finished.connect(lambda result: then() if result ==
                             QMessageBox.StandardButton.Yes else None)
        box.finished.connect(box.deleteLater)
        box.open()

    def new_row(self) -> None: ...

    def edit_row(self) -> None: ...

    def delete_row(self) -> None: ...


class CustomFieldsDialog(ManagerDialog):
    def __init__(self, parent: QWidget | None = None, entity: str = "contact") -> None:
        super().__init__(self.tr("Custom fields"), "customFieldsDialog",
                         [self.tr("Label"), self.tr("Key"), self.tr("Kind"), self.tr("Choices")],
                         parent)
        self.top.addWidget(QLabel(self.tr("Custom fields of:")))
        self.entity = QComboBox()
        self.entity.setObjectName("customFieldEntity")
        for key, label in entity_labels().items():
            self.entity.addItem(label, key)
        combo_select_data(self.entity, entity)
        self.top.addWidget(self.entity)
        self.top.addStretch(1)
        hint = QLabel(self.tr("Custom fields appear in the record dialogs, in CSV imports and "
                              "in dynamic-list filters."))
        hint.setWordWrap(True)
        self.layout_.insertWidget(1, hint)
        self.entity.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh()

    def refresh(self, select: int | None = None) -> None:
        kinds = kind_labels()
        rows = [(f.id, [f.label, f.key, kinds.get(f.kind, f.kind), ", ".join(f.choices)])
                for f in CustomField.select().where(CustomField.entity == self.entity.currentData())
                .order_by(CustomField.position, CustomField.id)]
        self.fill(rows, [180, 150, 140])
        if select:
            self.select_id(select)

    def new_row(self) -> None:
        self.open_child(CustomFieldDialog(self.entity.currentData(), parent=self),
                        lambda fid: self.refresh(fid))

    def edit_row(self) -> None:
        field_id = self.current_id()
        if field_id is not None:
            self.open_child(CustomFieldDialog(self.entity.currentData(), field_id, parent=self),
                            lambda fid: self.refresh(fid))

    def delete_row(self) -> None:
        field_id = self.current_id()
        if field_id is None:
            return
        field = CustomField.get_by_id(field_id)

        def delete() -> None:
            field.delete_instance()  # its values go with it (ON DELETE CASCADE)
            self.refresh()

        self.confirm(self.tr("Delete the custom field “{0}” and the values every record holds "
                             "for it? Dynamic lists filtering on it will need a new filter.")
                     .format(field.label), delete)


class NewsletterTypesDialog(ManagerDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Newsletter types"), "newsletterTypesDialog",
                         [self.tr("Id"), self.tr("Description"), self.tr("Position")], parent)
        hint = QLabel(self.tr("The kinds of newsletter a person can accept or decline: the "
                              "checklist of each contact, lead and company."))
        hint.setWordWrap(True)
        self.top.addWidget(hint, 1)
        self.refresh()

    def refresh(self, select: int | None = None) -> None:
        rows = [(nt.id, [str(nt.code), nt.description, str(nt.position)])
                for nt in NewsletterType.select().order_by(NewsletterType.position,
                                                           NewsletterType.code)]
        self.fill(rows, [60, 320])
        if select:
            self.select_id(select)

    def new_row(self) -> None:
        self.open_child(NewsletterTypeDialog(parent=self), lambda tid: self.refresh(tid))

    def edit_row(self) -> None:
        type_id = self.current_id()
        if type_id is not None:
            self.open_child(NewsletterTypeDialog(type_id, parent=self),
                            lambda tid: self.refresh(tid))

    def delete_row(self) -> None:
        type_id = self.current_id()
        if type_id is None:
            return
        nt = NewsletterType.get_by_id(type_id)

        def delete() -> None:
            nt.delete_instance()  # the checklist answers go with it (ON DELETE CASCADE)
            self.refresh()

        self.confirm(self.tr("Delete the newsletter type “{0}” and every answer people gave "
                             "for it?").format(nt.description), delete)
