"""Creating and editing a contact, a lead or a company.

The form is generated from ``core.store.fields_for`` (standard then custom fields, one editor per
kind), with a company picker, an owner, and the newsletter checklist. Everything is saved through
``core.store.save_record``; what it refuses (an invalid or duplicate email, a company without a
name) is shown above the form, the dialog stays open and nothing typed is lost.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.models.store import (
    CHECKLIST_STATES,
    MODEL_FOR_KIND,
    Contact,
    NewsletterType,
    User,
)
from core.store import (
    DuplicateEmail,
    FieldInfo,
    InvalidEmail,
    Record,
    checklist,
    custom_values,
    default_owner,
    fields_for,
    save_record,
    set_checklist,
)
from gui.dialogs.picker import RecordField
from gui.extensions import registry_of
from gui.widgets import DateField, ErrorLabel, combo_select_data, mark_invalid

ADDRESS_KEYS = ("street", "street2", "postal_code", "city", "state", "country")
SPECIAL_KEYS = {"company"}  # a contact's company is a picker, not a text field


def checklist_labels() -> dict[int, str]:
    from gui.tablemodel import tr

    return {0: tr("Not chosen"), 1: tr("Accepted"), 2: tr("Declined")}


class RecordDialog(QDialog):
    """The form for one contact, lead or company; ``saved(id)`` after a successful save."""

    saved = Signal(int)

    def __init__(self, entity: str, record_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entity = entity
        self.record_id = record_id
        self.model_class = MODEL_FOR_KIND[entity]
        self.setObjectName(f"{entity}Dialog")
        self.setWindowTitle(self._title())
        self.editors: dict[str, QWidget] = {}
        self.custom_editors: dict[str, tuple[FieldInfo, QWidget]] = {}
        self.checklist_editors: dict[int, QComboBox] = {}
        self.fields = fields_for(entity)

        layout = QVBoxLayout(self)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("recordTabs")
        layout.addWidget(self.tabs, 1)
        self._build_general()
        self._build_address()
        self._build_custom()
        self._build_checklist()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.setObjectName("dialogButtons")
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setText(self.tr("Save"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancelButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        if record_id is not None:
            history = self.buttons.addButton(self.tr("History…"),
                                             QDialogButtonBox.ButtonRole.ActionRole)
            history.setObjectName("historyButton")
            history.setToolTip(self.tr("Everything every integration did with this record"))
            history.clicked.connect(self.show_history)
        layout.addWidget(self.buttons)
        self._load()
        registry_of(parent).extend_record_dialog(self)  # a connector's tabs and buttons
        self.resize(max(self.sizeHint().width(), 520), self.sizeHint().height())
        first = self.editors.get("name" if entity == "company" else "email")
        if first is not None:
            first.setFocus()

    def show_history(self) -> None:
        from gui.history_dialog import HistoryDialog

        if self.record_id is not None:
            dialog = HistoryDialog(self.entity, self.record_id, self)
            dialog.finished.connect(dialog.deleteLater)
            dialog.open()

    def _title(self) -> str:
        new = {"contact": self.tr("New contact"), "lead": self.tr("New lead"),
               "company": self.tr("New company")}
        edit = {"contact": self.tr("Edit contact"), "lead": self.tr("Edit lead"),
                "company": self.tr("Edit company")}
        return (edit if self.record_id else new)[self.entity]

    # -- building the form ---------------------------------------------------------------------

    def _editor_for(self, info: FieldInfo) -> QWidget:
        if info.kind == "boolean":
            editor: QWidget = QCheckBox()
        elif info.kind == "date":
            editor = DateField()
        elif info.kind == "choice":
            combo = QComboBox()
            combo.addItem("", "")
            labels = {"open": self.tr("Open"), "qualified": self.tr("Qualified"),
                      "disqualified": self.tr("Disqualified")}
            for choice in info.choices:
                combo.addItem(labels.get(choice, choice) if not info.custom else choice, choice)
            editor = combo
        elif info.kind == "number" and not info.custom:
            spin = QSpinBox()
            spin.setRange(-1_000_000_000, 1_000_000_000)
            editor = spin
        elif info.kind == "number":
            line = QLineEdit()
            validator = QDoubleValidator(line)
            validator.setNotation(QDoubleValidator.Notation.StandardNotation)
            line.setValidator(validator)
            editor = line
        else:
            editor = QLineEdit()
        editor.setObjectName(f"{'custom' if info.custom else 'field'}_{info.key}")
        return editor

    def _form_page(self, title: str, object_name: str) -> QFormLayout:
        page = QWidget()
        page.setObjectName(object_name)
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setContentsMargins(12, 12, 12, 12)
        self.tabs.addTab(page, title)
        return form

    def _add_label(self, form: QFormLayout, info: FieldInfo, editor: QWidget) -> None:
        if isinstance(editor, QCheckBox):
            editor.setText(self.tr(info.label) if not info.custom else info.label)
            form.addRow("", editor)
        else:
            form.addRow((self.tr(info.label) if not info.custom else info.label) + ":", editor)

    def _build_general(self) -> None:
        form = self._form_page(self.tr("General"), "generalTab")
        for info in self.fields:
            if info.custom or info.key in ADDRESS_KEYS:
                continue
            if info.key == "company" and self.entity == "contact":
                editor: QWidget = RecordField("company", self.tr("Choose a company"))
                editor.setObjectName("field_company")
                form.addRow(self.tr("Company") + ":", editor)
            else:
                editor = self._editor_for(info)
                self._add_label(form, info, editor)
            self.editors[info.key] = editor
            if info.key == "email":
                editor.textEdited.connect(lambda _t: mark_invalid(self.editors["email"], False))
            if (self.entity == "company" and info.key == "website") or (
                    self.entity != "company" and info.key == "mobile"):
                self._add_people_rows(form)
        if self.entity == "company" and "primary_contact" not in self.editors:
            self._add_people_rows(form)

    def _add_people_rows(self, form: QFormLayout) -> None:
        """The owner, and a company's primary contact: records chosen from lists."""
        if self.entity == "company" and "primary_contact" not in self.editors:
            primary = RecordField("contact", self.tr("Choose the primary contact"))
            primary.setObjectName("field_primary_contact")
            form.addRow(self.tr("Primary contact") + ":", primary)
            self.editors["primary_contact"] = primary
        if "owner" not in self.editors:
            owner = QComboBox()
            owner.setObjectName("field_owner")
            for user in User.select().order_by(User.display_name, User.username):
                owner.addItem(str(user), user.id)
            form.addRow(self.tr("Owner") + ":", owner)
            self.editors["owner"] = owner

    def _build_address(self) -> None:
        form = self._form_page(self.tr("Address"), "addressTab")
        for info in self.fields:
            if not info.custom and info.key in ADDRESS_KEYS:
                editor = self._editor_for(info)
                self._add_label(form, info, editor)
                self.editors[info.key] = editor

    def _build_custom(self) -> None:
        custom = [info for info in self.fields if info.custom]
        if not custom:
            return
        form = self._form_page(self.tr("Custom fields"), "customTab")
        for info in custom:
            editor = self._editor_for(info)
            self._add_label(form, info, editor)
            self.custom_editors[info.key] = (info, editor)

    def _build_checklist(self) -> None:
        types = list(NewsletterType.select().order_by(NewsletterType.position,
                                                      NewsletterType.code))
        if not types:
            return
        page = QWidget()
        page.setObjectName("newslettersTab")
        outer = QVBoxLayout(page)
        hint = QLabel(self.tr("Which newsletters this person accepted or declined "
                              "(the checklist sent to CleverReach)."))
        hint.setWordWrap(True)
        outer.addWidget(hint)
        form = QFormLayout()
        labels = checklist_labels()
        for nt in types:
            combo = QComboBox()
            combo.setObjectName(f"newsletter_{nt.code}")
            for state in sorted(CHECKLIST_STATES):
                combo.addItem(labels[state], state)
            form.addRow(f"{nt.description}:", combo)
            self.checklist_editors[nt.id] = combo
        outer.addLayout(form)
        outer.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(page)
        self.tabs.addTab(scroll, self.tr("Newsletters"))

    # -- values in and out ---------------------------------------------------------------------

    def _load(self) -> None:
        record = self.model_class.get_by_id(self.record_id) if self.record_id else None
        owner = record.owner_id if record is not None else (default_owner() or User()).id
        combo_select_data(self.editors["owner"], owner)
        if record is None:
            self.editors["active"].setChecked(True)
            if self.entity == "lead":
                combo_select_data(self.editors["status"], "open")
            return
        for key, editor in self.editors.items():
            if key in ("owner",):
                continue
            if key == "company" and self.entity == "contact":
                company = record.company
                editor.set_record(company.id if company else None, str(company or ""))
            elif key == "primary_contact":
                contact = Contact.get_or_none(id=record.primary_contact_id)
                editor.set_record(contact.id if contact else None, str(contact or ""))
            else:
                self._set(editor, getattr(record, key))
        for key, value in custom_values(self.entity, record.id).items():
            if key in self.custom_editors:
                self._set(self.custom_editors[key][1], value)
        for type_id, state in checklist(record).items():
            if type_id in self.checklist_editors:
                combo_select_data(self.checklist_editors[type_id], state)

    @staticmethod
    def _set(editor: QWidget, value: Any) -> None:
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, DateField):
            editor.set_value(value)
        elif isinstance(editor, QComboBox):
            combo_select_data(editor, value if value is not None else "")
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value or 0))
        elif isinstance(editor, QLineEdit):
            editor.setText("" if value is None else str(value))

    @staticmethod
    def _get(editor: QWidget) -> Any:
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, DateField):
            return editor.value()
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, QLineEdit):
            return editor.text().strip()
        if isinstance(editor, RecordField):
            return editor.record_id
        return None

    def values(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """What the form holds: standard values by field key, custom values by key."""
        standard = {key: self._get(editor) for key, editor in self.editors.items()}
        custom = {}
        for key, (info, editor) in self.custom_editors.items():
            value = self._get(editor)
            custom[key] = None if value in ("", None) else value
            if info.kind == "boolean":
                custom[key] = bool(value)
        return standard, custom

    # -- saving --------------------------------------------------------------------------------

    def accept(self) -> None:
        self.error.clear_error()
        standard, custom = self.values()
        record = (self.model_class.get_by_id(self.record_id) if self.record_id
                  else self.model_class())
        for key, value in standard.items():
            if key == "company" and self.entity == "contact":
                record.company = value
            elif key == "primary_contact":
                record.primary_contact = value
            elif key == "owner":
                record.owner = value
            elif key == "email":
                record.email = value or None
            else:
                setattr(record, key, value)
        try:
            save_record(record, custom)
        except (InvalidEmail, DuplicateEmail) as exc:
            self._refuse(self.tr("Email: {0}").format(exc), "email")
            return
        except (ValueError, KeyError) as exc:
            self._refuse(str(exc).strip("'\""), "name" if self.entity == "company" else None)
            return
        self._save_checklist(record)
        self.record_id = record.id
        self.saved.emit(record.id)
        super().accept()

    def _refuse(self, message: str, key: str | None) -> None:
        self.error.show_error(message)
        editor = self.editors.get(key) if key else None
        if editor is not None:
            mark_invalid(editor, True)
            self.tabs.setCurrentIndex(0)
            editor.setFocus()

    def _save_checklist(self, record: Record) -> None:
        if not self.checklist_editors:
            return
        who = (default_owner() or User(username="")).username
        set_checklist(record, {type_id: int(combo.currentData())
                               for type_id, combo in self.checklist_editors.items()}, who)
