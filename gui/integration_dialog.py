"""Create Integration and Edit Integration: one dialog for every connector.

The admin chooses the type first; the form (``gui.connector_form.ConnectorForm``) then
recalculates itself to that connector's fields, around what every integration has: Name, Active,
Default Owner and the schedule. "Check Connection" appears once the required credentials are
filled in and tries them on a worker thread; Save goes through ``core.integrations`` (secrets to
the keyring) on a worker thread too, so a slow keyring or service never freezes the window.

What a connector adds (INES's Contact Field Mapping and Features tabs, Dotmailer's Data Fields
button) comes from its ``IntegrationPart`` (``gui.extensions``): when it adds tabs, the form is
the first tab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from connectors.base import Connector, FormField, all_connectors, get_connector
from core import secrets as keyring_secrets
from core.integrations import (
    InvalidIntegration,
    create_integration,
    public_settings,
    secret_names,
    update_integration,
)
from core.models.store import User
from core.models.sync import Integration
from core.store import default_owner
from gui.connector_form import ConnectorForm, FieldRow, check_connection, form_label
from gui.extensions import ExtensionRegistry, IntegrationPart, registry_of
from gui.widgets import ErrorLabel, combo_select_data, mark_invalid, save_cancel_buttons
from gui.workers import start_job

__all__ = ["MAX_SCHEDULE_MINUTES", "FieldRow", "IntegrationDialog", "SaveOutcome",
           "check_connection", "save_integration"]

MAX_SCHEDULE_MINUTES = 7 * 24 * 60


# -- work done on worker threads ---------------------------------------------------------------------

@dataclass(frozen=True)
class SaveOutcome:
    """What a save did: the integration's id, or errors by field, or one message for the admin
    (with an id: saved, but a part of the dialog refused what it holds)."""

    integration_id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""


def save_integration(connector: Connector, integration_id: int | None, name: str,
                     values: dict[str, Any], owner_id: int | None, active: bool,
                     schedule_minutes: int | None,
                     after: tuple[Callable[[Integration], str], ...] = ()) -> SaveOutcome:
    """Create or update the integration, then run the parts' ``save_job``s with it."""
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
    for job in after:
        problem = job(Integration.get_by_id(saved.id))
        if problem:
            return SaveOutcome(saved.id, message=problem)
    return SaveOutcome(integration_id=saved.id)


# -- the dialog ----------------------------------------------------------------------------------------

class IntegrationDialog(QDialog):
    """Create an integration (``integration_id`` None) or edit one; ``saved(id)`` after a save."""

    saved = Signal(int)

    def __init__(self, integration_id: int | None = None, parent: QWidget | None = None,
                 type_name: str | None = None,
                 extensions: ExtensionRegistry | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("integrationDialog")
        self.extensions = extensions if extensions is not None else registry_of(parent)
        self.integration = (Integration.get_by_id(integration_id) if integration_id is not None
                            else None)
        self.parts: list[IntegrationPart] = []
        self._part_tabs: list[QWidget] = []
        self._part_buttons: list[QWidget] = []
        self._saving = False
        self._ready = False  # parts chosen after the dialog is built are loaded at once
        self.setWindowTitle(self.tr("Edit Integration — {0}").format(self.integration.name)
                            if self.integration else self.tr("Create Integration"))
        self.setMinimumWidth(620)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        self.header = QVBoxLayout()
        self.header.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.header)
        self.main = QWidget()
        self.main.setObjectName("integrationMain")
        main_layout = QVBoxLayout(self.main)
        main_layout.setContentsMargins(0, 0, 0, 0)
        main_layout.setSpacing(10)
        self.connector_form = ConnectorForm()
        self.connector_form.resized.connect(self.fit_height)
        main_layout.addWidget(self.connector_form)
        self.main_extras = QVBoxLayout()
        self.main_extras.setContentsMargins(0, 0, 0, 0)
        main_layout.addLayout(self.main_extras)
        main_layout.addStretch(1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("integrationTabs")
        self.tabs.hide()
        self.body = layout
        layout.addWidget(self.main, 1)
        layout.addWidget(self.tabs, 1)
        self._build_common_rows()
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
        for part in self.parts:
            part.loaded()
        self._ready = True
        (self.name_edit if chosen else self.type_combo).setFocus()

    # -- what the tests and the parts reach ----------------------------------------------------

    @property
    def connector(self) -> Connector | None:
        return self.connector_form.connector

    @property
    def fields(self) -> list[FormField]:
        return self.connector_form.fields

    @property
    def rows(self) -> dict[str, FieldRow]:
        return self.connector_form.rows

    @property
    def check_button(self) -> Any:
        return self.connector_form.check_button

    @property
    def check_result(self) -> QLabel:
        return self.connector_form.check_result

    @property
    def keyring_note(self) -> QLabel:
        return self.connector_form.keyring_note

    def part(self, kind: type[IntegrationPart]) -> Any:
        """The part of this class, or None."""
        return next((p for p in self.parts if isinstance(p, kind)), None)

    # -- building --------------------------------------------------------------------------------

    def _build_common_rows(self) -> None:
        form = self.connector_form
        self.type_combo = QComboBox()
        self.type_combo.setObjectName("field_type")
        self.type_combo.addItem(self.tr("Choose the type…"), "")
        for connector in all_connectors():
            self.type_combo.addItem(connector.label, connector.type_name)
        self.type_combo.setToolTip(self.tr("The service this integration connects to."))
        form.add_leading_row(form_label(self.tr("Type"), True), self.type_combo)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("field_name")
        self.name_edit.setPlaceholderText(self.tr("e.g. Dotmailer — newsletters"))
        self.name_edit.setToolTip(self.tr("The name used to refer to the integration in ListBridge."))
        self.name_row = FieldRow(self.name_edit, "name")
        self.name_edit.textEdited.connect(lambda _t: self.name_row.show_error(""))
        form.add_leading_row(form_label(self.tr("Name"), True, self.name_edit.toolTip()),
                             self.name_row)

        self.type_hint = QLabel(self.tr("Choose the type first: the form then asks for what that "
                                        "service needs."))
        self.type_hint.setObjectName("typeHint")
        self.type_hint.setWordWrap(True)
        form.add_leading_row("", self.type_hint)

        self.active_check = QCheckBox(self.tr("Active"))
        self.active_check.setObjectName("field_active")
        self.active_check.setChecked(True)
        self.active_check.setToolTip(self.tr("Only active integrations synchronize on schedule."))
        form.add_trailing_row(form_label(self.tr("Status"), False), self.active_check)

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
        form.add_trailing_row(form_label(self.tr("Default Owner"), False, owner_help),
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
        form.add_trailing_row(form_label(self.tr("Synchronize every"), False, schedule_help),
                              self.schedule_spin)
        self._common_after = [self.active_check, self.owner_combo, self.schedule_spin]

    def show_advanced(self, shown: bool) -> None:
        self.connector_form.show_advanced(shown)

    # -- recalculating the form for a type ------------------------------------------------------

    def _type_chosen(self) -> None:
        type_name = self.type_combo.currentData() or ""
        self._drop_parts()
        connector = get_connector(type_name) if type_name else None
        stored = set(secret_names(self.integration)) if self.integration else set()
        form = self.connector_form
        form.set_connector(connector, self.integration.id if self.integration else None, stored)
        chosen = connector is not None
        form.form.setRowVisible(self.type_hint, not chosen)
        for widget in self._common_after:
            form.form.setRowVisible(widget, chosen)
        if connector is not None and self.integration is None:
            self.schedule_spin.setValue(connector.default_schedule_minutes or 0)
        self.error.clear_error()
        self.parts = self.extensions.integration_parts(type_name, self) if chosen else []
        self._place_parts()
        if self._ready:
            for part in self.parts:
                part.loaded()
        self.adjustSize()

    def _place_parts(self) -> None:
        tabs: list[tuple[QWidget, str]] = []
        for part in self.parts:
            header = part.header()
            if header is not None:
                self.header.addWidget(part.own(header))
            for widget in part.main_widgets():
                self.main_extras.addWidget(part.own(widget))
            for button in part.buttons():
                self.buttons.addButton(part.own(button), QDialogButtonBox.ButtonRole.ActionRole)
            tabs.extend(part.tabs())
            self.connector_form.checked.connect(part.checked)
        if not tabs:
            return
        self.body.removeWidget(self.main)
        self.tabs.addTab(self.main, self.tr(self.parts[0].main_tab_title))
        self.main.show()
        for widget, title in tabs:
            self.tabs.addTab(self.parts[0].own(widget), title)
        self.tabs.show()

    def _drop_parts(self) -> None:
        if self.tabs.count():
            self.tabs.hide()
            self.tabs.removeTab(0)  # the form: back in the dialog itself
            while self.tabs.count():
                self.tabs.removeTab(0)
            self.body.insertWidget(self.body.indexOf(self.tabs), self.main, 1)
            self.main.show()
        for part in self.parts:
            self.connector_form.checked.disconnect(part.checked)
            part.dispose()
        self.parts = []

    # -- values --------------------------------------------------------------------------------

    def field_values(self) -> dict[str, Any]:
        """The connector's fields as typed (secrets left empty in an edit mean "unchanged")."""
        return self.connector_form.field_values()

    def _load(self, integration: Integration) -> None:
        self.name_edit.setText(integration.name)
        self.active_check.setChecked(bool(integration.active))
        if integration.owner_id is not None:
            combo_select_data(self.owner_combo, integration.owner_id)
        self.schedule_spin.setValue(integration.schedule_minutes or 0)
        self.connector_form.load(public_settings(integration))

    def credentials_filled(self, values: dict[str, Any] | None = None) -> bool:
        return self.connector_form.credentials_filled(values)

    # -- Check Connection ----------------------------------------------------------------------

    def check_connection(self) -> None:
        self.connector_form.check_connection()

    def is_checking(self) -> bool:
        return self.connector_form.is_checking()

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

    # -- saving --------------------------------------------------------------------------------

    def validate(self) -> dict[str, str]:
        """Errors by key (``name`` and the connector's fields), shown inline."""
        errors: dict[str, str] = {}
        if self.connector is None:
            errors["type"] = self.tr("Choose the type of the integration.")
        if not self.name_edit.text().strip():
            errors["name"] = self.tr("The integration needs a name.")
        errors.update(self.connector_form.validate())
        for part in self.parts:
            errors.update(part.validate())
        return errors

    def _show_errors(self, errors: dict[str, str], message: str = "") -> None:
        self.name_row.show_error(errors.get("name", ""))
        mark_invalid(self.type_combo, "type" in errors)
        self.connector_form.show_errors(errors)
        if errors and self.tabs.count():
            self.tabs.setCurrentIndex(0)
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
        after = tuple(job for job in (part.save_job() for part in self.parts) if job is not None)
        self._set_saving(True)
        start_job(save_integration, self.connector,
                  self.integration.id if self.integration else None,
                  self.name_edit.text().strip(), values, self.owner_combo.currentData(),
                  self.active_check.isChecked(), schedule, after,
                  on_done=self._save_done, on_failed=self._save_failed)

    def _set_saving(self, saving: bool) -> None:
        self._saving = saving
        self.ok_button.setEnabled(not saving)
        self.ok_button.setText(self.tr("Saving…") if saving else self.tr("Save"))
        self.connector_form.set_busy(saving)

    def _save_done(self, outcome: SaveOutcome) -> None:
        self._set_saving(False)
        if outcome.integration_id is None:
            self._show_errors(outcome.errors, outcome.message)
            return
        if outcome.message:  # saved, but a part refused what it holds: stay open on it
            self.integration = Integration.get_by_id(outcome.integration_id)
            self.connector_form.integration_id = self.integration.id
            self.connector_form.stored_secrets = set(secret_names(self.integration))
            self.error.show_error(outcome.message)
            for part in self.parts:
                part.save_refused(outcome.message)
            self.saved.emit(outcome.integration_id)
            return
        self.saved.emit(outcome.integration_id)
        super().accept()

    def _save_failed(self, message: str, _trace: str) -> None:
        self._set_saving(False)
        self.error.show_error(self.tr("The integration could not be saved: {0}").format(message))
        self.fit_height()
