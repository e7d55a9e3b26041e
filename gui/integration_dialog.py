"""Create Integration and Edit Integration: one form, built from the connector's ``FormField`` data.

The admin chooses the type first; the form then recalculates itself to that connector's fields
(labels, kinds, required marks, help, placeholders, advanced fields under "Advanced", fields shown
only for some values of others), around what every integration has: Name, Active, Default Owner
and the schedule. "Check Connection" appears once the required credentials are filled in and tries
them on a worker thread; Save goes through ``core.integrations`` (secrets to the keyring) on a
worker thread too, so a slow keyring or service never freezes the window.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from connectors.base import CheckResult, Connector, FormField, all_connectors, get_connector
from core import secrets as keyring_secrets
from core.integrations import (
    InvalidIntegration,
    coerce,
    create_integration,
    public_settings,
    read_secrets,
    secret_names,
    update_integration,
)
from core.models.store import User
from core.models.sync import Integration
from core.store import default_owner
from gui.widgets import ErrorLabel, combo_select_data, mark_invalid, save_cancel_buttons
from gui.workers import start_job

MAX_SCHEDULE_MINUTES = 7 * 24 * 60


# -- work done on worker threads ---------------------------------------------------------------------

@dataclass(frozen=True)
class SaveOutcome:
    """What a save did: the integration's id, or errors by field, or one message for the admin."""

    integration_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


def check_connection(connector: Connector, settings: dict[str, Any], secrets: dict[str, str],
                     integration_id: int | None, generation: int) -> tuple[int, CheckResult]:
    """Try the credentials; secrets left empty in an edit are read from the keyring."""
    try:
        if integration_id is not None:
            integration = Integration.get_or_none(Integration.id == integration_id)
            if integration is not None:
                stored = read_secrets(integration)
                secrets = {**stored, **{k: v for k, v in secrets.items() if v}}
        return generation, connector.check_connection(settings, secrets)
    except keyring_secrets.NoKeyringError as exc:
        return generation, CheckResult(False, str(exc), "configuration")


def save_integration(connector: Connector, integration_id: int | None, name: str,
                     values: dict[str, Any], owner_id: int | None, active: bool,
                     schedule_minutes: int | None) -> SaveOutcome:
    owner = User.get_or_none(User.id == owner_id) if owner_id is not None else None
    try:
        if integration_id is None:
            saved = create_integration(connector, name, values, owner=owner, active=active,
                                       schedule_minutes=schedule_minutes)
        else:
            saved = update_integration(Integration.get_by_id(integration_id), connector,
                                       name=name, values=values, owner=owner, active=active,
                                       schedule_minutes=schedule_minutes)
    except InvalidIntegration as exc:
        return SaveOutcome(errors=dict(exc.errors))
    except keyring_secrets.NoKeyringError as exc:
        return SaveOutcome(message=str(exc))
    return SaveOutcome(integration_id=saved.id)


# -- one row of the form -------------------------------------------------------------------------------

class FieldRow(QWidget):
    """An editor with its inline error message underneath (hidden while the value is fine)."""

    def __init__(self, editor: QWidget, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"row_{key}")
        self.editor = editor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(editor)
        self.error = QLabel()
        self.error.setObjectName(f"error_{key}")
        self.error.setProperty("fieldError", True)
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        mark_invalid(self.editor, bool(message))


def required_label(text: str, required: bool) -> str:
    star = "<span style='color:#c5221f'>&nbsp;*</span>" if required else ""
    return f"{html.escape(text)}{star}"


# -- the dialog ----------------------------------------------------------------------------------------

class IntegrationDialog(QDialog):
    """Create an integration (``integration_id`` None) or edit one; ``saved(id)`` after a save."""

    saved = Signal(int)

    def __init__(self, integration_id: int | None = None, parent: QWidget | None = None,
                 type_name: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("integrationDialog")
        self.integration = (Integration.get_by_id(integration_id) if integration_id is not None
                            else None)
        self.connector: Connector | None = None
        self.fields: list[FormField] = []
        self.rows: dict[str, FieldRow] = {}
        self.stored_secrets: set[str] = set(secret_names(self.integration)) if self.integration \
            else set()
        self._check_generation = 0
        self._saving = False
        self.setWindowTitle(self.tr("Edit Integration — {0}").format(self.integration.name)
                            if self.integration else self.tr("Create Integration"))
        self.setMinimumWidth(620)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        self.form = QFormLayout()
        self.form.setObjectName("integrationForm")
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(self.form)
        self._build_common_rows()
        self._build_advanced(layout)
        self._build_check(layout)
        self.keyring_note = QLabel()
        self.keyring_note.setObjectName("keyringNote")
        self.keyring_note.setWordWrap(True)
        layout.addWidget(self.keyring_note)
        layout.addStretch(1)
        self.buttons = save_cancel_buttons(self)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout.addWidget(self.buttons)

        chosen = self.integration.type if self.integration else type_name
        if chosen:
            combo_select_data(self.type_combo, chosen)
        self.type_combo.currentIndexChanged.connect(self._type_chosen)
        self._type_chosen()
        if self.integration is not None:
            self._load(self.integration)
            self.type_combo.setEnabled(False)
            if self.integration.type == "dotmailer":
                self._add_dotmailer_fields_button()
        (self.name_edit if chosen else self.type_combo).setFocus()

    def _add_dotmailer_fields_button(self) -> None:
        """Dotmailer's data-field mappings (gui.dotmailer), from its integration's form."""
        fields = self.buttons.addButton(self.tr("Data Fields…"),
                                        QDialogButtonBox.ButtonRole.ActionRole)
        fields.setObjectName("dataFieldsButton")
        fields.setToolTip(self.tr("Which ListBridge fields are sent to which Dotmailer data "
                                  "fields"))
        fields.clicked.connect(self.open_data_fields)

    def open_data_fields(self) -> QDialog | None:
        from gui.dotmailer.data_fields import DataFieldsDialog

        if self.integration is None:
            return None
        dialog = DataFieldsDialog(self.integration.id, self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    # -- building --------------------------------------------------------------------------------

    def _label(self, text: str, required: bool, tooltip: str = "") -> QLabel:
        label = QLabel(required_label(text, required))
        label.setTextFormat(Qt.TextFormat.RichText)
        if tooltip:
            label.setToolTip(tooltip)
        return label

    def _build_common_rows(self) -> None:
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("field_type")
        self.type_combo.addItem(self.tr("Choose the type…"), "")
        for connector in all_connectors():
            self.type_combo.addItem(connector.label, connector.type_name)
        self.type_combo.setToolTip(self.tr("The service this integration connects to."))
        self.form.addRow(self._label(self.tr("Type"), True), self.type_combo)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("field_name")
        self.name_edit.setPlaceholderText(self.tr("e.g. Dotmailer — newsletters"))
        self.name_edit.setToolTip(self.tr("The name used to refer to the integration in ListBridge."))
        self.name_row = FieldRow(self.name_edit, "name")
        self.name_edit.textEdited.connect(lambda _t: self.name_row.show_error(""))
        self.form.addRow(self._label(self.tr("Name"), True, self.name_edit.toolTip()),
                         self.name_row)

        self.type_hint = QLabel(self.tr("Choose the type first: the form then asks for what that "
                                        "service needs."))
        self.type_hint.setObjectName("typeHint")
        self.type_hint.setWordWrap(True)
        self.form.addRow("", self.type_hint)

        self.active_check = QCheckBox(self.tr("Active"))
        self.active_check.setObjectName("field_active")
        self.active_check.setChecked(True)
        self.active_check.setToolTip(self.tr("Only active integrations synchronize on schedule."))
        self.form.addRow(self._label(self.tr("Status"), False), self.active_check)

        self.owner_combo = QComboBox()
        self.owner_combo.setObjectName("field_owner")
        for user in User.select().order_by(User.display_name, User.username):
            self.owner_combo.addItem(str(user), user.id)
        desk = default_owner()
        if desk is not None:
            combo_select_data(self.owner_combo, desk.id)
        owner_help = self.tr("Who manages the integration and owns what it imports. By default, "
                             "the person creating it.")
        self.owner_combo.setToolTip(owner_help)
        self.form.addRow(self._label(self.tr("Default Owner"), False, owner_help),
                         self.owner_combo)

        self.schedule_spin = QSpinBox()
        self.schedule_spin.setObjectName("field_schedule")
        self.schedule_spin.setRange(0, MAX_SCHEDULE_MINUTES)
        self.schedule_spin.setSuffix(self.tr(" minutes"))
        self.schedule_spin.setSpecialValueText(self.tr("Manual only"))
        schedule_help = self.tr("How often the sync runs while ListBridge (or the headless "
                                "scheduler) is running; 0 for manual synchronization only.")
        self.schedule_spin.setToolTip(schedule_help)
        self.schedule_spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.schedule_spin.setMinimumWidth(160)
        self.form.addRow(self._label(self.tr("Synchronize every"), False, schedule_help),
                         self.schedule_spin)
        self._common_after = [self.active_check, self.owner_combo, self.schedule_spin]

    def _build_advanced(self, layout: QVBoxLayout) -> None:
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setObjectName("advancedToggle")
        self.advanced_toggle.setText(self.tr("Advanced"))
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_toggle.toggled.connect(self.show_advanced)
        layout.addWidget(self.advanced_toggle)
        self.advanced_box = QWidget()
        self.advanced_box.setObjectName("advancedGroup")
        self.advanced_form = QFormLayout(self.advanced_box)
        self.advanced_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.advanced_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight
                                             | Qt.AlignmentFlag.AlignVCenter)
        self.advanced_form.setContentsMargins(18, 0, 0, 0)
        self.advanced_box.hide()
        layout.addWidget(self.advanced_box)

    def _build_check(self, layout: QVBoxLayout) -> None:
        self.check_area = QWidget()
        self.check_area.setObjectName("checkArea")
        row = QHBoxLayout(self.check_area)
        row.setContentsMargins(0, 0, 0, 0)
        self.check_button = QPushButton(self.tr("Check Connection"))
        self.check_button.setObjectName("checkConnectionButton")
        self.check_button.setToolTip(self.tr("Try the credentials with the service; nothing is "
                                             "saved."))
        self.check_button.clicked.connect(self.check_connection)
        self.check_busy = QProgressBar()
        self.check_busy.setObjectName("checkBusy")
        self.check_busy.setRange(0, 0)  # busy: no known end
        self.check_busy.setTextVisible(False)
        self.check_busy.setFixedWidth(90)
        self.check_busy.hide()
        self.check_result = QLabel()
        self.check_result.setObjectName("checkResult")
        self.check_result.setWordWrap(True)
        self.check_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_result.setSizePolicy(QSizePolicy.Policy.Expanding,
                                        QSizePolicy.Policy.Preferred)
        # Left-aligned: alone on its row (before any result), the button keeps its own size.
        row.addWidget(self.check_button, 0,
                      Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.check_busy, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.check_result, 1)
        self.check_button.hide()
        self.check_result.hide()
        layout.addWidget(self.check_area)

    def show_advanced(self, shown: bool) -> None:
        if self.advanced_toggle.isChecked() != shown:
            self.advanced_toggle.setChecked(shown)  # calls back here through toggled
            return
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if shown
                                          else Qt.ArrowType.RightArrow)
        self.advanced_box.setVisible(shown)
        self.adjustSize()

    # -- recalculating the form for a type ------------------------------------------------------

    def _type_chosen(self) -> None:
        type_name = self.type_combo.currentData() or ""
        self._clear_connector_rows()
        self.connector = get_connector(type_name) if type_name else None
        self.fields = list(self.connector.form_fields()) if self.connector else []
        position = self.form.indexOf(self.name_row)
        row_number = self.form.getWidgetPosition(self.name_row)[0] if position >= 0 else 1
        for form_field in self.fields:
            row = FieldRow(self._editor_for(form_field), form_field.key)
            self.rows[form_field.key] = row
            label = self._label(form_field.label, form_field.required, form_field.help)
            if form_field.advanced:
                self.advanced_form.addRow(label, row)
            else:
                row_number += 1
                self.form.insertRow(row_number, label, row)
        chosen = self.connector is not None
        self.form.setRowVisible(self.type_hint, not chosen)
        for widget in self._common_after:
            self.form.setRowVisible(widget, chosen)
        has_advanced = any(f.advanced for f in self.fields)
        self.advanced_toggle.setVisible(has_advanced)
        if not has_advanced:
            self.show_advanced(False)
        if self.connector is not None and self.integration is None:
            self.schedule_spin.setValue(self.connector.default_schedule_minutes or 0)
        self._show_keyring_note()
        self._clear_check_result()
        self._values_changed()
        self.error.clear_error()
        self.adjustSize()

    def _clear_connector_rows(self) -> None:
        for row in self.rows.values():
            for form in (self.form, self.advanced_form):
                if form.indexOf(row) >= 0:
                    form.removeRow(row)  # deletes the row's label and editor
        self.rows.clear()

    def _editor_for(self, form_field: FormField) -> QWidget:
        kind = form_field.kind
        editor: QWidget
        if kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(form_field.default))
            check.toggled.connect(lambda _v, key=form_field.key: self._edited(key))
            editor = check
        elif kind in ("choice", "owner"):
            combo = QComboBox()
            if not form_field.required:
                combo.addItem("", None)
            if kind == "owner":
                for user in User.select().order_by(User.display_name, User.username):
                    combo.addItem(str(user), user.id)
                desk = default_owner()
                combo_select_data(combo, form_field.default or (desk.id if desk else None))
            else:
                for value, label in form_field.choices:
                    combo.addItem(label, value)
                combo_select_data(combo, form_field.default)
            combo.currentIndexChanged.connect(lambda _i, key=form_field.key: self._edited(key))
            editor = combo
        else:
            line = QLineEdit()
            if kind == "password":
                line.setEchoMode(QLineEdit.EchoMode.Password)
            if kind == "int":
                line.setValidator(QIntValidator(line))
            if form_field.default not in (None, ""):
                line.setText(str(form_field.default))
            if form_field.placeholder:
                line.setPlaceholderText(form_field.placeholder)
            line.textChanged.connect(lambda _t, key=form_field.key: self._edited(key))
            line.editingFinished.connect(lambda key=form_field.key: self._check_field(key))
            editor = line
        editor.setObjectName(f"field_{form_field.key}")
        if form_field.help:
            editor.setToolTip(form_field.help)
        return editor

    def _show_keyring_note(self) -> None:
        if not any(f.secret for f in self.fields):
            self.keyring_note.hide()
            return
        try:
            keyring_secrets.ensure_keyring()
        except keyring_secrets.NoKeyringError as exc:
            self.keyring_note.setProperty("warning", True)
            self.keyring_note.setText(str(exc))
        else:
            self.keyring_note.setProperty("warning", False)
            self.keyring_note.setText(self.tr("{0}; nothing secret is written to the database.")
                                      .format(keyring_secrets.backend_description()))
        self.keyring_note.style().unpolish(self.keyring_note)
        self.keyring_note.style().polish(self.keyring_note)
        self.keyring_note.show()

    # -- values --------------------------------------------------------------------------------

    @staticmethod
    def _value_of(form_field: FormField, editor: QWidget) -> Any:
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QLineEdit):
            return editor.text() if form_field.secret else editor.text().strip()
        return None

    def field_values(self) -> dict[str, Any]:
        """The connector's fields as typed (secrets left empty in an edit mean "unchanged")."""
        return {f.key: self._value_of(f, self.rows[f.key].editor) for f in self.fields}

    def _kept_secrets(self, values: dict[str, Any]) -> set[str]:
        return {f.key for f in self.fields
                if f.secret and not values.get(f.key) and f.key in self.stored_secrets}

    def _settings_and_secrets(self, values: dict[str, Any]) -> tuple[dict[str, Any],
                                                                     dict[str, str]]:
        settings: dict[str, Any] = {}
        secrets: dict[str, str] = {}
        for f in self.fields:
            if not f.is_shown(values):
                continue
            value = coerce(f, values.get(f.key))
            if f.secret:
                if value:
                    secrets[f.key] = str(value)
            elif value not in (None, ""):
                settings[f.key] = value
        return settings, secrets

    def _set_value(self, form_field: FormField, value: Any) -> None:
        editor = self.rows[form_field.key].editor
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            combo_select_data(editor, value)
        elif isinstance(editor, QLineEdit):
            editor.setText("" if value is None else str(value))

    def _load(self, integration: Integration) -> None:
        self.name_edit.setText(integration.name)
        self.active_check.setChecked(bool(integration.active))
        if integration.owner_id is not None:
            combo_select_data(self.owner_combo, integration.owner_id)
        self.schedule_spin.setValue(integration.schedule_minutes or 0)
        settings = public_settings(integration)
        for f in self.fields:
            if f.secret:
                editor = self.rows[f.key].editor
                if isinstance(editor, QLineEdit) and f.key in self.stored_secrets:
                    editor.setPlaceholderText(self.tr("unchanged"))
                    editor.setToolTip((f.help + "\n\n" if f.help else "") + self.tr(
                        "Leave empty to keep the password kept in the keyring."))
            elif f.key in settings:
                self._set_value(f, settings[f.key])
        self._values_changed()

    # -- live reactions ------------------------------------------------------------------------

    def _edited(self, key: str) -> None:
        row = self.rows.get(key)
        if row is not None:
            row.show_error("")
        self._clear_check_result()
        self._values_changed()

    def _check_field(self, key: str) -> None:
        """When the admin leaves a field: say at once if what was typed is not acceptable."""
        form_field = next((f for f in self.fields if f.key == key), None)
        row = self.rows.get(key)
        if form_field is None or row is None:
            return
        value = self._value_of(form_field, row.editor)
        if value in (None, ""):
            return  # "required" is said on Save, not while the admin is still filling in
        row.show_error(form_field.check(value) or "")

    def _values_changed(self) -> None:
        values = self.field_values()
        for f in self.fields:
            form = self.advanced_form if f.advanced else self.form
            form.setRowVisible(self.rows[f.key], f.is_shown(values))
        self.check_button.setVisible(self.credentials_filled(values) and not self._saving)

    def credentials_filled(self, values: dict[str, Any] | None = None) -> bool:
        """True once every shown, required field outside Advanced has a value (or a kept secret)."""
        if self.connector is None:
            return False
        values = self.field_values() if values is None else values
        kept = self._kept_secrets(values)
        needed = [f for f in self.fields if f.required and not f.advanced and f.is_shown(values)]
        return bool(needed) and all(
            f.key in kept or values.get(f.key) not in (None, "", False) for f in needed)

    # -- Check Connection ----------------------------------------------------------------------

    def check_connection(self) -> None:
        if self.connector is None or not self.credentials_filled():
            return
        settings, secrets = self._settings_and_secrets(self.field_values())
        self._check_generation += 1
        self.check_button.setEnabled(False)
        self.check_busy.show()
        self.check_result.setProperty("outcome", "busy")
        self._show_result(self.tr("Checking the connection…"))
        start_job(check_connection, self.connector, settings, secrets,
                  self.integration.id if self.integration else None, self._check_generation,
                  on_done=self._checked, on_failed=self._check_failed)

    def is_checking(self) -> bool:
        return self.check_busy.isVisible()

    def _checked(self, answer: tuple[int, CheckResult]) -> None:
        generation, result = answer
        if generation != self._check_generation:
            return  # the credentials changed meanwhile: this answer is about old ones
        self._check_done()
        self.check_result.setProperty("outcome", "success" if result.ok else "failure")
        text = result.message or (self.tr("Connected.") if result.ok
                                  else self.tr("The connection failed."))
        self._show_result(("✓ " if result.ok else "✗ ") + text)

    def _check_failed(self, message: str, _trace: str) -> None:
        self._check_done()
        self.check_result.setProperty("outcome", "failure")
        self._show_result(self.tr("✗ The check could not run: {0}").format(message))

    def _check_done(self) -> None:
        self.check_busy.hide()
        self.check_button.setEnabled(True)

    def _show_result(self, text: str) -> None:
        self.check_result.setText(text)
        self.check_result.style().unpolish(self.check_result)
        self.check_result.style().polish(self.check_result)
        self.check_result.show()
        self.fit_height()

    def fit_height(self) -> None:
        """Grow to the height the form needs at its width. Qt sizes a dialog by its layout's
        minimum, which leaves out how tall wrapped messages get (inline errors, the check's
        result): without this the rows under them are squeezed, the editors to a sliver."""
        layout = self.layout()
        layout.activate()
        needed = (layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth()
                  else layout.totalSizeHint().height())
        if needed > self.height():
            self.resize(self.width(), needed)

    def _clear_check_result(self) -> None:
        self._check_generation += 1  # an answer still on its way is now about old values
        self._check_done()
        self.check_result.clear()
        self.check_result.hide()

    # -- saving --------------------------------------------------------------------------------

    def validate(self) -> dict[str, str]:
        """Errors by key (``name`` and the connector's fields), shown inline."""
        errors: dict[str, str] = {}
        if self.connector is None:
            errors["type"] = self.tr("Choose the type of the integration.")
        if not self.name_edit.text().strip():
            errors["name"] = self.tr("The integration needs a name.")
        values = self.field_values()
        kept = self._kept_secrets(values)
        for f in self.fields:
            if f.key not in kept and f.is_shown(values):
                message = f.check(values.get(f.key))
                if message:
                    errors[f.key] = message
        return errors

    def _show_errors(self, errors: dict[str, str], message: str = "") -> None:
        self.name_row.show_error(errors.get("name", ""))
        mark_invalid(self.type_combo, "type" in errors)
        for key, row in self.rows.items():
            row.show_error(errors.get(key, ""))
        if any(f.advanced and f.key in errors for f in self.fields):
            self.show_advanced(True)
        unplaced = [text for key, text in errors.items()
                    if key not in self.rows and key not in ("name", "type")]
        summary = message or " ".join(unplaced) or (
            self.tr("Please correct the fields marked in red.") if errors else "")
        if "type" in errors and not message:
            summary = errors["type"]
        self.error.show_error(summary)
        self.fit_height()

    def accept(self) -> None:
        if self._saving:
            return
        errors = self.validate()
        self._show_errors(errors)
        if errors or self.connector is None:
            return
        values = self.field_values()
        schedule = self.schedule_spin.value() or None
        self._set_saving(True)
        start_job(save_integration, self.connector,
                  self.integration.id if self.integration else None,
                  self.name_edit.text().strip(), values, self.owner_combo.currentData(),
                  self.active_check.isChecked(), schedule,
                  on_done=self._save_done, on_failed=self._save_failed)

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.ok_button.setEnabled(not saving)
        self.ok_button.setText(self.tr("Saving…") if saving else self.tr("Save"))

    def _save_done(self, outcome: SaveOutcome) -> None:
        self._set_saving(False)
        if outcome.integration_id is None:
            self._show_errors(outcome.errors, outcome.message)
            self._values_changed()
            return
        self.saved.emit(outcome.integration_id)
        super().accept()

    def _save_failed(self, message: str, _trace: str) -> None:
        self._set_saving(False)
        self.error.show_error(self.tr("The integration could not be saved: {0}").format(message))
        self.fit_height()
