"""The form of one connector, built from its ``FormField`` data, with its Check Connection row.

``ConnectorForm`` is the one widget every integration form is made of (the Create/Edit
Integration dialog, whichever connector, INES's Enable/Auth tab included): labels, kinds, required
marks, help, placeholders, advanced fields under "Advanced", fields shown only for some values of
others, inline errors, and "Check Connection" once the required credentials are filled in (run on
a worker thread). Rows that every integration has (Name, Active, ...) are added around the
connector's own with ``add_leading_row`` / ``add_trailing_row``, so that all labels line up.

The field kind "oauth" ("Connect with the service's sign-in page") is an ``OAuthButton``: the form
emits ``oauth_requested(key)`` when it is pressed and shows the state it is given with
``set_oauth_state``; the sign-in flow itself belongs to the connector that needs it.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIntValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from connectors.base import CheckResult, Connector, FormField
from core import secrets as keyring_secrets
from core.integrations import coerce, read_secrets
from core.models.store import User
from core.models.sync import Integration
from core.store import default_owner
from gui.widgets import combo_select_data, mark_invalid, repolish
from gui.workers import start_job

# What a check job returns: an object with ``ok``, ``message`` and ``kind`` (a ``CheckResult``).
CheckJob = tuple[Callable[..., Any], tuple[Any, ...]]


def check_connection(connector: Connector, settings: dict[str, Any], secrets: dict[str, str],
                     integration_id: int | None) -> CheckResult:
    """Try the credentials (on a worker thread); secrets left empty in an edit come from the
    keyring."""
    try:
        if integration_id is not None:
            integration = Integration.get_or_none(Integration.id == integration_id)
            if integration is not None:
                stored = read_secrets(integration)
                secrets = {**stored, **{k: v for k, v in secrets.items() if v}}
        return connector.check_connection(settings, secrets)
    except keyring_secrets.NoKeyringError as exc:
        return CheckResult(False, str(exc), "configuration")


def _numbered(generation: int, func: Callable[..., Any], *args: Any) -> tuple[int, Any]:
    return generation, func(*args)


def required_label(text: str, required: bool) -> str:
    star = "<span style='color:#c5221f'>&nbsp;*</span>" if required else ""
    return f"{html.escape(text)}{star}"


def form_label(text: str, required: bool, tooltip: str = "") -> QLabel:
    label = QLabel(required_label(text, required))
    label.setTextFormat(Qt.TextFormat.RichText)
    if tooltip:
        label.setToolTip(tooltip)
    return label


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


# -- the "oauth" field kind ----------------------------------------------------------------------

NOT_CONNECTED, CONNECTED, RECONNECT = "not_connected", "connected", "reconnect"


class OAuthButton(QWidget):
    """"Connect with the service's sign-in page": a button and the state it is given.

    ``connect_requested`` when pressed; ``set_state(NOT_CONNECTED | CONNECTED | RECONNECT,
    account)`` shows "Not connected", "Connected as X" or "Reconnect needed". Its value is the
    account connected as ("" until then, and while a reconnection is needed).
    """

    connect_requested = Signal()

    def __init__(self, service: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.state = NOT_CONNECTED
        self.account = ""
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.button = QPushButton()
        self.button.setObjectName("oauthButton")
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self.connect_requested)
        self.status = QLabel()
        self.status.setObjectName("oauthState")
        self.status.setWordWrap(True)
        row.addWidget(self.button, 0)
        row.addWidget(self.status, 1)
        self.set_state(NOT_CONNECTED)

    def set_state(self, state: str, account: str = "") -> None:
        self.state, self.account = state, account
        if state == CONNECTED:
            self.button.setText(self.tr("Connect another account…"))
            self.status.setText(self.tr("✓ Connected as {0}").format(account) if account
                                else self.tr("✓ Connected"))
        elif state == RECONNECT:
            self.button.setText(self.tr("Reconnect with {0}…").format(self.service))
            self.status.setText(self.tr("Reconnect needed: {0} no longer accepts the sign-in"
                                        "{1}.").format(self.service,
                                                       f" of {account}" if account else ""))
        else:
            self.button.setText(self.tr("Connect with {0}…").format(self.service))
            self.status.setText(self.tr("Not connected"))
        self.status.setProperty("outcome", {CONNECTED: "success", RECONNECT: "failure"}.get(
            state, ""))
        repolish(self.status)

    def value(self) -> str:
        return self.account if self.state == CONNECTED else ""


# -- the form ------------------------------------------------------------------------------------

class ConnectorForm(QWidget):
    """A connector's fields, their Advanced part and the Check Connection row.

    ``edited(key)`` when the admin changes a field, ``checked(result)`` when a check answered,
    ``oauth_requested(key)`` when an "oauth" field's button is pressed, ``resized`` when the form
    changed shape (the dialog fits its height). ``check_job`` may be set to run another check
    than ``connector.check_connection``; ``describe_check`` to word its result.
    """

    edited = Signal(str)
    checked = Signal(object)
    oauth_requested = Signal(str)
    resized = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectorForm")
        self.connector: Connector | None = None
        self.fields: list[FormField] = []
        self.rows: dict[str, FieldRow] = {}
        self.stored_secrets: set[str] = set()
        self.integration_id: int | None = None
        self.check_job: Callable[[dict[str, Any], dict[str, str]], CheckJob] | None = None
        self.describe_check: Callable[[Any], str] | None = None
        self._check_generation = 0
        self._busy = False  # a save under way: no check meanwhile
        self._leading = 0

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.form = QFormLayout()
        self.form.setObjectName("integrationForm")
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(self.form)
        self._build_advanced(layout)
        self._build_check(layout)
        self.keyring_note = QLabel()
        self.keyring_note.setObjectName("keyringNote")
        self.keyring_note.setWordWrap(True)
        self.keyring_note.hide()
        layout.addWidget(self.keyring_note)

    # -- building --------------------------------------------------------------------------------

    def add_leading_row(self, label: Any, widget: QWidget) -> None:
        """A row above the connector's fields."""
        self.form.insertRow(self._leading, label, widget)
        self._leading += 1

    def add_trailing_row(self, label: Any, widget: QWidget) -> None:
        """A row under the connector's fields."""
        self.form.addRow(label, widget)

    def _build_advanced(self, layout: QVBoxLayout) -> None:
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setObjectName("advancedToggle")
        self.advanced_toggle.setText(self.tr("Advanced"))
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.setAutoRaise(True)
        self.advanced_toggle.toggled.connect(self.show_advanced)
        self.advanced_toggle.hide()
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
        self.check_button.setAutoDefault(False)
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
        self.resized.emit()

    def set_connector(self, connector: Connector | None, integration_id: int | None = None,
                      stored_secrets: set[str] | None = None) -> None:
        """Rebuild the connector's rows (none for None)."""
        self._clear_rows()
        self.connector = connector
        self.integration_id = integration_id
        self.stored_secrets = set(stored_secrets or ())
        self.check_job = None
        self.describe_check = None
        self.fields = list(connector.form_fields()) if connector else []
        row_number = self._leading
        for form_field in self.fields:
            row = FieldRow(self._editor_for(form_field), form_field.key)
            self.rows[form_field.key] = row
            label = form_label(form_field.label, form_field.required, form_field.help)
            if form_field.advanced:
                self.advanced_form.addRow(label, row)
            else:
                self.form.insertRow(row_number, label, row)
                row_number += 1
        has_advanced = any(f.advanced for f in self.fields)
        self.advanced_toggle.setVisible(has_advanced)
        if not has_advanced:
            self.show_advanced(False)
        self._show_keyring_note()
        self.clear_check_result()
        self.values_changed()

    def _clear_rows(self) -> None:
        for row in self.rows.values():
            for form in (self.form, self.advanced_form):
                if form.indexOf(row) >= 0:
                    form.removeRow(row)  # deletes the row's label and editor (and the row)
                    break
        self.rows.clear()

    def _editor_for(self, form_field: FormField) -> QWidget:
        kind = form_field.kind
        key = form_field.key
        editor: QWidget
        if kind == "bool":
            check = QCheckBox()
            check.setChecked(bool(form_field.default))
            check.toggled.connect(lambda _v, key=key: self._edited(key))
            editor = check
        elif kind == "oauth":
            service = self.connector.label if self.connector is not None else ""
            oauth = OAuthButton(service)
            oauth.connect_requested.connect(lambda key=key: self.oauth_requested.emit(key))
            editor = oauth
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
            combo.currentIndexChanged.connect(lambda _i, key=key: self._edited(key))
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
            line.textChanged.connect(lambda _t, key=key: self._edited(key))
            line.editingFinished.connect(lambda key=key: self._check_field(key))
            editor = line
        editor.setObjectName(f"field_{key}")
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
        repolish(self.keyring_note)
        self.keyring_note.show()

    # -- values --------------------------------------------------------------------------------

    @staticmethod
    def value_of(form_field: FormField, editor: QWidget) -> Any:
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QComboBox):
            return editor.currentData()
        if isinstance(editor, QLineEdit):
            return editor.text() if form_field.secret else editor.text().strip()
        if isinstance(editor, OAuthButton):
            return editor.value()
        return None

    def field_values(self) -> dict[str, Any]:
        """The connector's fields as typed (secrets left empty in an edit mean "unchanged")."""
        return {f.key: self.value_of(f, self.rows[f.key].editor) for f in self.fields}

    def kept_secrets(self, values: dict[str, Any]) -> set[str]:
        return {f.key for f in self.fields
                if f.secret and not values.get(f.key) and f.key in self.stored_secrets}

    def settings_and_secrets(self, values: dict[str, Any] | None = None
                             ) -> tuple[dict[str, Any], dict[str, str]]:
        values = self.field_values() if values is None else values
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

    def set_value(self, key: str, value: Any) -> None:
        editor = self.rows[key].editor
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            combo_select_data(editor, value)
        elif isinstance(editor, QLineEdit):
            editor.setText("" if value is None else str(value))
        elif isinstance(editor, OAuthButton):
            editor.set_state(CONNECTED if value else NOT_CONNECTED, str(value or ""))

    def set_oauth_state(self, key: str, state: str, account: str = "") -> None:
        editor = self.rows[key].editor
        if isinstance(editor, OAuthButton):
            editor.set_state(state, account)
            self._edited(key)

    def load(self, settings: dict[str, Any]) -> None:
        """A saved integration's settings; its stored secrets read "unchanged"."""
        for f in self.fields:
            if f.secret:
                editor = self.rows[f.key].editor
                if isinstance(editor, QLineEdit) and f.key in self.stored_secrets:
                    editor.setPlaceholderText(self.tr("unchanged"))
                    editor.setToolTip((f.help + "\n\n" if f.help else "") + self.tr(
                        "Leave empty to keep the password kept in the keyring."))
            elif f.key in settings:
                self.set_value(f.key, settings[f.key])
        self.values_changed()

    # -- live reactions ------------------------------------------------------------------------

    def _edited(self, key: str) -> None:
        row = self.rows.get(key)
        if row is not None:
            row.show_error("")
        self.clear_check_result()
        self.values_changed()
        self.edited.emit(key)

    def _check_field(self, key: str) -> None:
        """When the admin leaves a field: say at once if what was typed is not acceptable."""
        form_field = next((f for f in self.fields if f.key == key), None)
        row = self.rows.get(key)
        if form_field is None or row is None:
            return
        value = self.value_of(form_field, row.editor)
        if value in (None, ""):
            return  # "required" is said on Save, not while the admin is still filling in
        row.show_error(form_field.check(value) or "")

    def values_changed(self) -> None:
        values = self.field_values()
        for f in self.fields:
            form = self.advanced_form if f.advanced else self.form
            form.setRowVisible(self.rows[f.key], f.is_shown(values))
        self.check_button.setVisible(self.credentials_filled(values) and not self._busy)

    def credentials_filled(self, values: dict[str, Any] | None = None) -> bool:
        """True once every shown, required field outside Advanced has a value (or a kept secret)."""
        if self.connector is None:
            return False
        values = self.field_values() if values is None else values
        kept = self.kept_secrets(values)
        needed = [f for f in self.fields if f.required and not f.advanced and f.is_shown(values)]
        return bool(needed) and all(
            f.key in kept or values.get(f.key) not in (None, "", False) for f in needed)

    def set_busy(self, busy: bool) -> None:
        """A save is under way: no Check Connection meanwhile."""
        self._busy = busy
        self.values_changed()

    # -- errors --------------------------------------------------------------------------------

    def validate(self) -> dict[str, str]:
        """Errors by key of the connector's shown fields."""
        errors: dict[str, str] = {}
        values = self.field_values()
        kept = self.kept_secrets(values)
        for f in self.fields:
            if f.key not in kept and f.is_shown(values):
                message = f.check(values.get(f.key))
                if message:
                    errors[f.key] = message
        return errors

    def show_errors(self, errors: dict[str, str]) -> None:
        for key, row in self.rows.items():
            row.show_error(errors.get(key, ""))
        if any(f.advanced and f.key in errors for f in self.fields):
            self.show_advanced(True)

    # -- Check Connection ----------------------------------------------------------------------

    def check_connection(self) -> None:
        if self.connector is None or not self.credentials_filled():
            return
        settings, secrets = self.settings_and_secrets()
        if self.check_job is not None:
            func, args = self.check_job(settings, secrets)
        else:
            func, args = check_connection, (self.connector, settings, secrets,
                                             self.integration_id)
        self._check_generation += 1
        self.check_button.setEnabled(False)
        self.check_busy.show()
        self.check_result.setProperty("outcome", "busy")
        self.check_result.setProperty("kind", "")
        self._show_result(self.tr("Checking the connection…"))
        start_job(_numbered, self._check_generation, func, *args,
                  on_done=self._checked, on_failed=self._check_failed)

    def is_checking(self) -> bool:
        return self.check_busy.isVisible()

    def _checked(self, answer: tuple[int, Any]) -> None:
        generation, result = answer
        if generation != self._check_generation:
            return  # the credentials changed meanwhile: this answer is about old ones
        self._check_done()
        self.check_result.setProperty("outcome", "success" if result.ok else "failure")
        self.check_result.setProperty("kind", result.kind)
        text = self.describe_check(result) if self.describe_check is not None else ""
        text = text or result.message or (self.tr("Connected.") if result.ok
                                          else self.tr("The connection failed."))
        self._show_result(("✓ " if result.ok else "✗ ") + text)
        self.checked.emit(result)

    def _check_failed(self, message: str, _trace: str) -> None:
        self._check_done()
        self.check_result.setProperty("outcome", "failure")
        self.check_result.setProperty("kind", "fatal")
        self._show_result(self.tr("✗ The check could not run: {0}").format(message))
        self.checked.emit(CheckResult(False, message, "fatal"))

    def _check_done(self) -> None:
        self.check_busy.hide()
        self.check_button.setEnabled(True)

    def _show_result(self, text: str) -> None:
        self.check_result.setText(text)
        repolish(self.check_result)
        self.check_result.show()
        self.resized.emit()

    def check_outcome(self) -> str:
        """"success", "failure", "busy" or "" (not checked since the last change)."""
        return str(self.check_result.property("outcome") or "") if \
            not self.check_result.isHidden() else ""

    def clear_check_result(self) -> None:
        self._check_generation += 1  # an answer still on its way is now about old values
        self._check_done()
        self.check_result.clear()
        self.check_result.setProperty("outcome", "")
        self.check_result.hide()
