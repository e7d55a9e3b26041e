"""The INES CRM integration's settings: the plugin's three tabs (seeds 002 and 003), as the
generic integration dialog with INES's part (``gui.extensions.IntegrationPart``).

- **Enable/Auth**: the generic form, built from ``InesConnector.form_fields()`` (Account, User,
  Password in the keyring, the service address under Advanced) with its Check Connection row
  (INES's check: OK, or which kind of failure), the integration's active status named
  **Published**, and the plugin's setup steps.
- **Contact Field Mapping**: shown once the connection works (the tab says so until then); see
  ``gui.ines.mapping_tab``.
- **Features**: "Push contacts to this integration", "Full sync of all contacts" (ticking it ticks
  push), how many contacts a run sends, the non-overwritable field checkboxes for every
  overwritable mapped field, and "View journal".

Above the tabs, a banner says why nothing synchronises while the stop-sync field or a reference
field is unmapped (fail closed, ines.md §3.4). Opening the dialog on a saved integration drops
the cached INES configuration and tests the connection at once (§3.1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from connectors.ines.catalogue import (
    SPECIAL_LOCAL_FIELDS,
    InesConfig,
    InesField,
    catalogue,
)
from connectors.ines.mapping import DEFAULT_LEADS_PER_RUN, MappingSettings, leads_per_run
from core.integrations import public_settings
from gui.extensions import IntegrationPart
from gui.ines.mapping_tab import MappingPanel
from gui.ines.work import (
    CREDENTIALS,
    NETWORK,
    TLS,
    UNEXPECTED,
    InesExtras,
    MappingData,
    create_local_fields,
    mapping_data,
    mapping_json,
    save_extras,
    saved_state,
    sync_problems,
    try_connection,
)
from gui.workers import start_job

STYLE = """
#copyMappingResult[outcome="success"] { color: #1e7b34; }
#copyMappingResult[outcome="failure"] { color: #b3261e; }
#syncBlocked {
    background: #fff3cd; color: #5c4400; border: 1px solid #e9d38a; border-radius: 4px;
    padding: 6px 8px;
}
#mappingUnavailableTitle { font-size: 15px; font-weight: 600; }
#notEcrasableScroll, #notEcrasableBody, #mappingScroll, #mappingBody {
    background: transparent;
}
QLabel[note="true"], #publishedHelp, #pushHelp, #fullSyncHelp, #journalHelp,
#notEcrasableHelp { color: #5f6368; }
"""


class InesSettingsPart(IntegrationPart):
    """INES's part of the integration dialog: its banner, setup steps, mapping and features."""

    main_tab_title = "Enable/Auth"

    def __init__(self, dialog: Any) -> None:
        super().__init__(dialog)
        self.setObjectName("inesSettings")
        self.integration = dialog.integration
        self.state = saved_state(self.integration) if self.integration is not None else None
        self.config: InesConfig | None = None
        self.connected = False
        self._opening = self.integration is not None
        self._ticked: set[str] = set(self.state.not_ecrasable) if self.state else set()
        self._saved_mapping = self._initial_mapping()
        self._style = dialog.styleSheet()
        dialog.setStyleSheet(self._style + STYLE)
        if dialog.integration is None:
            dialog.resize(max(dialog.width(), 820), dialog.height())
        form = dialog.connector_form
        form.check_job = self._check_job
        form.describe_check = self._describe
        self.blocked = QLabel()
        self.blocked.setObjectName("syncBlocked")
        self.blocked.setWordWrap(True)
        self.blocked.hide()
        self.mapping_tab = self._build_mapping_tab()
        self.features_tab = self._build_features_tab()
        self.published_help = QLabel()
        self.published_help.setObjectName("publishedHelp")
        self.published_help.setWordWrap(True)
        self.setup_group = self._build_setup_group()
        active = dialog.active_check
        active.setText(self.tr("Published"))
        active.setToolTip(self.tr("ON: the integration pushes contacts and runs its full sync. "
                                  "OFF: nothing is sent to INES."))
        active.toggled.connect(self._published_toggled)

    def _initial_mapping(self) -> dict[str, str]:
        from connectors.ines.mapping import local_field_exists

        fields = self.state.mapping if self.state else MappingSettings.of({}).fields
        return {k: v for k, v in fields.items() if v and local_field_exists(v)}

    # -- what the dialog places ------------------------------------------------------------------

    def header(self) -> QWidget:
        return self.blocked

    def main_widgets(self) -> list[QWidget]:
        return [self.published_help, self.setup_group]

    def tabs(self) -> list[tuple[QWidget, str]]:
        return [(self.mapping_tab, self.tr("Contact Field Mapping")),
                (self.features_tab, self.tr("Features"))]

    def dispose(self) -> None:
        active = self.dialog.active_check
        active.toggled.disconnect(self._published_toggled)
        active.setText(self.tr("Active"))
        active.setToolTip(self.tr("Only active integrations synchronize on schedule."))
        self.dialog.setStyleSheet(self._style)
        super().dispose()

    def _set_mapping_tip(self, text: str) -> None:
        tabs = self.dialog.tabs
        index = tabs.indexOf(self.mapping_tab)
        if index >= 0:
            tabs.setTabToolTip(index, text)

    # -- Enable/Auth ------------------------------------------------------------------------------

    def _build_setup_group(self) -> QGroupBox:
        """The plugin's setup steps, each with where it stands (read live from the tabs)."""
        group = QGroupBox(self.tr("Setting up INES"))
        group.setObjectName("setupGroup")
        grid = QGridLayout(group)
        grid.setColumnStretch(1, 1)
        grid.setHorizontalSpacing(10)
        self.setup_marks: list[QLabel] = []
        self.setup_texts: list[QLabel] = []
        for number in range(4):
            mark = QLabel()
            mark.setObjectName(f"setupMark{number + 1}")
            mark.setFixedWidth(18)
            text = QLabel()
            text.setObjectName(f"setupStep{number + 1}")
            text.setWordWrap(True)
            grid.addWidget(mark, number, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(text, number, 1)
            self.setup_marks.append(mark)
            self.setup_texts.append(text)
        return group

    def _update_setup(self) -> None:
        if not hasattr(self, "setup_marks") or not hasattr(self, "full_check"):
            return
        tested = self.dialog.connector_form.check_outcome()
        missing = sync_problems(self.current_mapping())
        push, full = self.push_check.isChecked(), self.full_check.isChecked()
        steps = [
            (self.connected, self.tr("<b>Test the connection.</b> ") + (
                self.tr("Connected.") if self.connected else
                self.tr("It failed: see above.") if tested == "failure" else
                self.tr("Not tested yet."))),
            (not missing, self.tr("<b>Map the fields</b> (Contact Field Mapping): ") + (
                self.tr("the INES refs and the stop-sync field are mapped.") if not missing
                else self.tr("not mapped yet: {0}.").format(", ".join(
                    self._problem_labels()[m] for m in missing)))),
            (push or full, self.tr("<b>Choose the features</b> (Features): ") + ", ".join([
                self.tr("push on") if push else self.tr("push off"),
                self.tr("full sync on") if full else self.tr("full sync off")]) + "."),
            (self.dialog.active_check.isChecked(), self.tr("<b>Switch Published ON</b> ") + (
                self.tr("(it is ON).") if self.dialog.active_check.isChecked() else
                self.tr("once the steps above are done (it is OFF)."))),
        ]
        for (done, text), mark, label in zip(steps, self.setup_marks, self.setup_texts,
                                             strict=True):
            mark.setText("<span style='color:#1e7b34'>✓</span>" if done
                         else "<span style='color:#8a5a00'>•</span>")
            label.setText(text)

    def _problem_labels(self) -> dict[str, str]:
        return {"stop-sync indicator": self.tr("the stop-sync field"),
                "INES contact reference": self.tr("the INES contact ref"),
                "INES client reference": self.tr("the INES client ref")}

    def _published_toggled(self, on: bool) -> None:
        self._update_setup()
        self.published_help.setText(
            self.tr("Published is ON: “Push to INES” works on contacts and marketing lists, and "
                    "the full sync runs on schedule if it is ticked in Features.") if on else
            self.tr("Published is OFF: nothing is sent to INES, neither pushes nor the full "
                    "sync. Switch it ON once the mapping and the features are set."))

    # -- Contact Field Mapping -------------------------------------------------------------------

    def _build_mapping_tab(self) -> QWidget:
        tab = QWidget()
        tab.setObjectName("mappingTab")
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(12, 12, 12, 12)
        self.mapping_stack = QStackedWidget()
        self.mapping_stack.setObjectName("mappingStack")
        self.unavailable = QWidget()
        self.unavailable.setObjectName("mappingUnavailable")
        box = QVBoxLayout(self.unavailable)
        box.addStretch(1)
        title = QLabel(self.tr("Test the connection to map fields"))
        title.setObjectName("mappingUnavailableTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box.addWidget(title)
        self.unavailable_text = QLabel()
        self.unavailable_text.setObjectName("mappingUnavailableText")
        self.unavailable_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unavailable_text.setWordWrap(True)
        box.addWidget(self.unavailable_text)
        again = QHBoxLayout()
        again.addStretch(1)
        self.mapping_test_button = QPushButton(self.tr("Check Connection"))
        self.mapping_test_button.setObjectName("mappingTestButton")
        self.mapping_test_button.clicked.connect(lambda: self.test_connection())
        again.addWidget(self.mapping_test_button)
        again.addStretch(1)
        box.addLayout(again)
        box.addStretch(2)
        self.mapping_panel = MappingPanel()
        self.mapping_panel.changed.connect(self._mapping_changed)
        self.mapping_panel.create_button.clicked.connect(self.create_fields)
        self.mapping_panel.copy_button.clicked.connect(self.copy_mapping_json)
        self.mapping_stack.addWidget(self.unavailable)
        self.mapping_stack.addWidget(self.mapping_panel)
        layout.addWidget(self.mapping_stack)
        return tab

    def mapping_available(self) -> bool:
        return self.mapping_stack.currentWidget() is self.mapping_panel

    def _show_unavailable(self, text: str) -> None:
        self.unavailable_text.setText(text)
        self.mapping_stack.setCurrentWidget(self.unavailable)
        self._set_mapping_tip(self.tr("Test the connection to map fields"))

    def _show_mapping(self, data: MappingData) -> None:
        keep = self.mapping_panel.mapping() if self.mapping_panel.is_loaded() else None
        self.mapping_panel.set_data(data, keep)
        self.mapping_stack.setCurrentWidget(self.mapping_panel)
        self._set_mapping_tip("")
        self._mapping_changed()

    def _mapping_changed(self) -> None:
        self._refresh_not_ecrasable()
        self._update_blocked()

    def current_mapping(self) -> dict[str, str]:
        """The mapping as the dialog holds it: the tab's choices once shown, else the saved."""
        if self.mapping_panel.is_loaded():
            return self.mapping_panel.mapping()
        return dict(self._saved_mapping)

    def _settings_for_mapping(self) -> dict[str, Any]:
        return dict(self.state.settings) if self.state else {}

    def create_fields(self) -> None:
        self.mapping_panel.create_button.setEnabled(False)
        start_job(create_local_fields, self._settings_for_mapping(), self.config,
                  on_done=self._fields_created, on_failed=self._fields_failed)

    def _fields_created(self, data: MappingData) -> None:
        self.mapping_panel.create_button.setEnabled(True)
        self._show_mapping(data)
        for key, (local, _kind, _label) in SPECIAL_LOCAL_FIELDS.items():
            self.mapping_panel.set_local(key, local)
        self.mapping_panel.show_copied(self.tr("The ListBridge fields exist and are mapped; "
                                               "save to keep the mapping."))

    def _fields_failed(self, message: str, _trace: str) -> None:
        self.mapping_panel.create_button.setEnabled(True)
        self.mapping_panel.show_copied(self.tr("The fields could not be created: {0}")
                                       .format(message), ok=False)

    def copy_mapping_json(self) -> None:
        start_job(mapping_json, self.current_mapping(), sorted(self.not_ecrasable()), self.config,
                  on_done=self._json_ready,
                  on_failed=lambda message, _t: self.mapping_panel.show_copied(message, ok=False))

    def _json_ready(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.mapping_panel.show_copied(self.tr("getMapping JSON copied to the clipboard ({0} "
                                               "fields).").format(text.count('"concept"')))

    # -- Features --------------------------------------------------------------------------------

    def _build_features_tab(self) -> QWidget:
        tab = QWidget()
        tab.setObjectName("featuresTab")
        layout = QVBoxLayout(tab)
        self.features_layout = layout
        layout.setContentsMargins(14, 14, 14, 14)
        layout.setSpacing(6)
        self.push_check = QCheckBox(self.tr("Push contacts to this integration"))
        self.push_check.setObjectName("feature_push_lead")
        self.push_check.toggled.connect(lambda _on: self._update_setup())
        layout.addWidget(self.push_check)
        layout.addWidget(self._help("pushHelp", self.tr(
            "Contacts created or changed (by hand, by an import or by another integration) "
            "are pushed to INES by the integration's next run, which starts at once unless the "
            "schedule is manual only. Also adds “Push to INES” to contacts and to marketing lists "
            "of contacts: created or updated in INES at once, with an INES lead. Ticked by the "
            "full sync.")))
        self.full_check = QCheckBox(self.tr("Full sync of all contacts"))
        self.full_check.setObjectName("feature_full_sync")
        self.full_check.toggled.connect(self._full_toggled)
        layout.addSpacing(6)
        layout.addWidget(self.full_check)
        layout.addWidget(self._help("fullSyncHelp", self.tr(
            "Every contact with an email and a company goes to INES: new and changed contacts "
            "are queued, deletions too, and the queue is sent on schedule (or by “listbridge "
            "ines sync”). Contacts never synchronised are added to the queue 100 at a time.")))
        schedule_row = QHBoxLayout()
        schedule_row.setContentsMargins(24, 0, 0, 0)
        self.per_run_spin = QSpinBox()
        self.per_run_spin.setObjectName("field_leads_per_run")
        self.per_run_spin.setRange(1, 10_000)
        self.per_run_spin.setValue(DEFAULT_LEADS_PER_RUN)
        self.per_run_spin.setSuffix(self.tr(" contacts"))
        self.per_run_spin.setToolTip(self.tr("The most queued contacts one run sends (the "
                                             "plugin's --number-of-leads-to-process)."))
        schedule_row.addWidget(QLabel(self.tr("Each run sends at most")))
        schedule_row.addWidget(self.per_run_spin)
        schedule_row.addWidget(QLabel(self.tr("(“Synchronize every” on Enable/Auth sets how "
                                              "often)")))
        schedule_row.addStretch(1)
        layout.addLayout(schedule_row)
        self.npai_check = QCheckBox(self.tr("Mark hard-bounced contacts “mail returned” (NPai)"))
        self.npai_check.setObjectName("option_npai_from_bounces")
        layout.addSpacing(6)
        layout.addWidget(self.npai_check)
        layout.addWidget(self._help("npaiHelp", self.tr(
            "A contact whose email hard-bounced in a Dotmailer integration is sent with NPai "
            "set, as the 2017 rewrite of the plugin did; “Desabo” stays for unsubscribes and "
            "“Do not contact”. NPai is only written while it is empty in INES.")))

        journal_row = QHBoxLayout()
        self.journal_button = QPushButton(self.tr("View journal"))
        self.journal_button.setObjectName("viewJournalButton")
        self.journal_button.clicked.connect(self.view_journal)
        journal_row.addWidget(self.journal_button)
        journal_row.addWidget(self._help("journalHelp", self.tr(
            "The queue of the full sync and every push: the 200 latest, planned, done or failed. "
            "A row failing 3 times becomes FAILED and is skipped until retried.")), 1)
        layout.addSpacing(8)
        layout.addLayout(journal_row)

        self.not_ecrasable_group = QGroupBox(self.tr("Non-overwritable fields"))
        self.not_ecrasable_group.setObjectName("notEcrasableGroup")
        group_layout = QVBoxLayout(self.not_ecrasable_group)
        group_layout.addWidget(self._help("notEcrasableHelp", self.tr(
            "A ticked field is not overwritable: its ListBridge value only fills the INES field "
            "while that one is empty. Only mapped fields are listed.")))
        scroll = QScrollArea()
        self.not_ecrasable_scroll = scroll
        scroll.setObjectName("notEcrasableScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.not_ecrasable_body = QWidget()
        self.not_ecrasable_body.setObjectName("notEcrasableBody")
        self.not_ecrasable_grid = QGridLayout(self.not_ecrasable_body)
        self.not_ecrasable_grid.setContentsMargins(0, 0, 0, 0)
        scroll.setWidget(self.not_ecrasable_body)
        group_layout.addWidget(scroll, 1)
        layout.addSpacing(8)
        layout.addWidget(self.not_ecrasable_group, 1)
        self.features_stretch = QWidget()
        layout.addWidget(self.features_stretch, 0)
        self.not_ecrasable_checks: dict[str, QCheckBox] = {}
        return tab

    @staticmethod
    def _help(name: str, text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName(name)
        label.setWordWrap(True)
        if name in ("pushHelp", "fullSyncHelp", "npaiHelp"):
            label.setContentsMargins(24, 0, 0, 0)
        return label

    def _full_toggled(self, on: bool) -> None:
        self._update_setup()
        if on:
            self.push_check.setChecked(True)
        self.push_check.setEnabled(not on)
        self.push_check.setToolTip(self.tr("Implied by “Full sync of all contacts”.") if on
                                   else "")

    def _overwritable_mapped(self) -> list[InesField]:
        if self.mapping_panel.is_loaded():
            mapped = self.mapping_panel.mapped_fields()
        else:
            fields = catalogue(self.config)
            mapped = [f for f in fields if self._saved_mapping.get(f.mapping_key)]
        return [f for f in mapped if f.offers_checkbox]

    def _refresh_not_ecrasable(self) -> None:
        fields = self._overwritable_mapped()
        keys = [f.mapping_key for f in fields]
        if keys == list(self.not_ecrasable_checks):
            return
        for check in self.not_ecrasable_checks.values():
            self.not_ecrasable_grid.removeWidget(check)
            check.deleteLater()
        self.not_ecrasable_checks = {}
        while self.not_ecrasable_grid.count():
            item = self.not_ecrasable_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if not fields:
            empty = QLabel(self.tr("No overwritable field is mapped yet."))
            empty.setObjectName("notEcrasableEmpty")
            self.not_ecrasable_grid.addWidget(empty, 0, 0)
            self._fit_not_ecrasable()
            return
        columns = 2
        for number, ines_field in enumerate(fields):
            word = self.tr("Contact") if ines_field.concept == "contact" else self.tr("Client")
            check = QCheckBox(f"{word}: {ines_field.label}")
            check.setObjectName(f"noecr_{ines_field.mapping_key}")
            check.setChecked(ines_field.mapping_key in self._ticked)
            check.toggled.connect(lambda on, key=ines_field.mapping_key: self._tick(key, on))
            self.not_ecrasable_checks[ines_field.mapping_key] = check
            self.not_ecrasable_grid.addWidget(check, number // columns, number % columns)
        self._fit_not_ecrasable()

    def _fit_not_ecrasable(self) -> None:
        """The group is as tall as its boxes (scrolling past the room the tab has)."""
        layout = self.features_layout
        height = self.not_ecrasable_body.sizeHint().height() + 4
        self.not_ecrasable_scroll.setMaximumHeight(height)
        few = height < 260
        layout.setStretchFactor(self.not_ecrasable_group, 0 if few else 1)
        layout.setStretchFactor(self.features_stretch, 1 if few else 0)

    def _tick(self, key: str, on: bool) -> None:
        (self._ticked.add if on else self._ticked.discard)(key)

    def not_ecrasable(self) -> list[str]:
        """The ticked keys: those shown once the mapping is loaded, else every saved tick (a
        custom field's box is only listed once INES has been read)."""
        if not self.mapping_panel.is_loaded():
            return sorted(self._ticked)
        return [key for key in self.not_ecrasable_checks if key in self._ticked]

    def view_journal(self) -> Any:
        if self.dialog.integration is None:
            return None
        from gui.ines.journal_dialog import InesJournalDialog

        dialog = InesJournalDialog(self.dialog.integration.id, self.dialog)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    # -- loading, the banner ---------------------------------------------------------------------

    def loaded(self) -> None:
        integration, state = self.integration, self.state
        if integration is None or state is None:
            self.dialog.active_check.setChecked(False)
            self._published_toggled(False)
            self.push_check.setChecked(True)
            self.journal_button.setEnabled(False)
            self.journal_button.setToolTip(self.tr("Save the integration first."))
        else:
            settings = public_settings(integration)
            self._published_toggled(bool(integration.active))
            self.push_check.setChecked(state.push_lead)
            self.full_check.setChecked(state.full_sync)
            self.per_run_spin.setValue(leads_per_run(settings))
            self.npai_check.setChecked(state.npai_from_bounces)
        self._refresh_not_ecrasable()
        self._update_blocked()
        if integration is not None and self.dialog.credentials_filled():
            self.test_connection()
        else:
            self._show_unavailable(self.tr("Fill in the account, user and password, then press "
                                           "“Check Connection” on the Enable/Auth tab."))

    def _update_blocked(self) -> None:
        self._update_setup()
        missing = sync_problems(self.current_mapping())
        if not missing:
            self.blocked.hide()
            return
        labels = [self._problem_labels()[m] for m in missing]
        if len(labels) == 1:
            what = self.tr("{0} is not mapped to a ListBridge field").format(labels[0])
        else:
            what = self.tr("{0} and {1} are not mapped to ListBridge fields").format(
                ", ".join(labels[:-1]), labels[-1])
        self.blocked.setText(self.tr(
            "<b>Nothing is synchronised with INES</b>: {0}. Until then no contact is pushed or "
            "queued: like the plugin, ListBridge fails closed rather than send contacts meant "
            "to stay out. Map them on the Contact Field Mapping tab — “Create the ListBridge "
            "fields for me” does it in one click.").format(what))
        self.blocked.show()

    # -- Check Connection ------------------------------------------------------------------------

    def test_connection(self) -> None:
        self.dialog.connector_form.check_connection()

    def is_testing(self) -> bool:
        return bool(self.dialog.is_checking())

    def _check_job(self, settings: dict[str, Any], secrets: dict[str, str]
                   ) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """INES's check (on the worker): log in afresh and read what the mapping tab needs; the
        first one of a dialog opened on a saved integration drops the cached configuration."""
        opening, self._opening = self._opening, False
        full = {**(self.state.settings if self.state else {}), **settings}
        if "api_url" not in settings:
            full.pop("api_url", None)
        self.mapping_test_button.setEnabled(False)
        if not self.mapping_available():
            self._show_unavailable(self.tr("Connecting to INES…"))
        integration_id = self.dialog.integration.id if self.dialog.integration else None
        return try_connection, (full, secrets, integration_id, 0, opening)

    def _kind_label(self, kind: str) -> str:
        kinds = {CREDENTIALS: self.tr("Credentials refused"),
                 NETWORK: self.tr("Network problem"),
                 TLS: self.tr("TLS / secure connection problem"),
                 UNEXPECTED: self.tr("Unexpected answer from INES")}
        return kinds.get(kind, kinds[UNEXPECTED])

    def _describe(self, check: Any) -> str:
        if check.ok:
            return check.message or self.tr("Connected.")
        return f"{self._kind_label(check.kind)}: {check.message}"

    def checked(self, check: Any) -> None:
        self.mapping_test_button.setEnabled(True)
        self.connected = bool(check.ok)
        self._update_setup()
        if check.ok:
            self.config = getattr(check, "config", None)
            start_job(mapping_data, self._settings_for_mapping(), self.config,
                      on_done=self._mapping_in, on_failed=self._mapping_failed)
            return
        self._show_unavailable(self.tr("The connection failed ({0}). Fix it on the Enable/Auth "
                                       "tab and test again.").format(
                                           self._kind_label(check.kind).lower()))

    def _mapping_in(self, data: MappingData) -> None:
        if self.connected:
            self._show_mapping(data)

    def _mapping_failed(self, message: str, _trace: str) -> None:
        self._show_unavailable(self.tr("The fields could not be read: {0}").format(message))

    # -- saving ----------------------------------------------------------------------------------

    def save_job(self) -> Callable[[Any], str]:
        mapping = self.mapping_panel.mapping() if self.mapping_panel.is_loaded() else None
        extras = InesExtras(self.push_check.isChecked(), self.full_check.isChecked(), mapping,
                            self.not_ecrasable(), self.config, self.per_run_spin.value(),
                            self.npai_check.isChecked())
        return functools.partial(save_extras, extras)

    def save_refused(self, message: str) -> None:
        self.integration = self.dialog.integration
        self.dialog.tabs.setCurrentWidget(self.mapping_tab)
