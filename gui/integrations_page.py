"""The Integrations grid: every integration with its status, last and next sync and last result.

Create, Edit, Delete (after a confirmation; its keyring entries go too), Schedule sync (runs now
through the ``SyncBridge``) and Cancel. A panel under the grid shows each run under way: its step,
a progress bar and a Cancel button. The grid refreshes itself when the bridge reports a run and
every little while (next sync times, runs started by a headless scheduler).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QCoreApplication, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.integrations import IntegrationBusy, delete_integration, list_integrations
from core.models.sync import Integration
from core.sync.context import Progress
from core.sync.lock import describe_holder, lock_holder
from core.sync.runner import RUN_STATUS_LABELS, RunResult
from gui.extensions import ExtensionRegistry
from gui.integration_dialog import IntegrationDialog
from gui.rowmodel import (
    MUTED_COLOUR,
    RUNNING_COLOUR,
    WARNING_COLOUR,
    RowColumn,
    RowTable,
    RowTableModel,
    run_status_colour,
)
from gui.sync_bridge import SyncBridge
from gui.tablemodel import local_time
from gui.widgets import EmptyState, ErrorLabel, button, detail_label
from gui.workers import start_job

REFRESH_MS = 20_000  # next sync times move on; a headless scheduler may run things meanwhile


def tr(text: str) -> str:
    return QCoreApplication.translate("IntegrationsPage", text)


# -- rows, read on a worker thread ---------------------------------------------------------------------

@dataclass(frozen=True)
class IntegrationRow:
    id: int
    name: str
    type: str
    type_label: str
    active: bool
    schedule_minutes: int | None
    last_sync_at: datetime | None
    next_sync_at: datetime | None
    last_status: str
    last_result: str
    running_elsewhere: str  # who holds its lock when that is not this window, else ""
    problems: tuple[str, ...] = ()  # why nothing can sync (a connector's configuration_problems)


def configuration_problems(connector: Any, integration: Integration) -> tuple[str, ...]:
    """What a connector says stops every sync of this integration (INES: fail closed, ines.md
    §3.4); connectors without a ``configuration_problems(integration)`` method have none."""
    check = getattr(connector, "configuration_problems", None)
    if check is None:
        return ()
    try:
        return tuple(str(problem) for problem in check(integration))
    except Exception:  # the grid must show even when a check breaks
        logging.getLogger("listbridge.gui").exception("configuration_problems failed for %s",
                                                     integration.name)
        return ()


def integration_rows(running_here: frozenset[int] = frozenset()) -> list[IntegrationRow]:
    from connectors.base import ConfigurationError, get_connector

    rows = []
    for integration in list_integrations():
        try:
            connector = get_connector(integration.type)
            label = connector.label
        except ConfigurationError:
            connector, label = None, integration.type
        holder = "" if integration.id in running_here else (lock_holder(integration) or "")
        rows.append(IntegrationRow(
            integration.id, integration.name, integration.type, label, bool(integration.active),
            integration.schedule_minutes, integration.last_sync_at, integration.next_sync_at,
            integration.last_status or "", integration.last_result or "",
            describe_holder(holder) if holder else "",
            configuration_problems(connector, integration)))
    return rows


def delete_by_id(integration_id: int) -> str:
    """Delete the integration and its secrets; the admin's message when it cannot be done now."""
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        return ""
    try:
        delete_integration(integration)
    except IntegrationBusy as exc:
        return str(exc)
    return ""


# -- the grid's columns --------------------------------------------------------------------------------

def result_text(row: IntegrationRow) -> str:
    if not row.last_status:
        return tr("Never synchronized")
    label = tr(RUN_STATUS_LABELS.get(row.last_status, row.last_status))
    return f"{label} — {row.last_result}" if row.last_result else label


def result_colour(row: IntegrationRow) -> QColor | None:
    return run_status_colour(row.last_status)


def next_sync_text(row: IntegrationRow) -> str:
    if not row.active:
        return "—"
    if not row.schedule_minutes:
        return tr("Manual only")
    return local_time(row.next_sync_at) if row.next_sync_at else tr("Due now")


def progress_text(progress: Progress | None) -> str:
    if progress is None:
        return tr("Starting…")
    text = progress.step_label or progress.step
    if progress.total:
        text += f" ({progress.done:,} / {progress.total:,})"
    elif progress.done:
        text += f" ({progress.done:,})"
    return text


class IntegrationsModel(RowTableModel):
    def __init__(self, bridge: SyncBridge, parent: Any = None) -> None:
        self.bridge = bridge
        super().__init__([
            # Name, Type and Status as wide as what they say; Last result gets the rest.
            RowColumn(tr("Name"), lambda r: r.name, 200, fit=(140, 260)),
            RowColumn(tr("Type"), lambda r: r.type_label, 95, fit=(80, 140)),
            RowColumn(tr("Status"), self.status_text, 120, colour=self.status_colour,
                      fit=(90, 320)),
            RowColumn(tr("Last sync"), lambda r: local_time(r.last_sync_at) or "—", 125),
            RowColumn(tr("Next sync"), next_sync_text, 125),
            RowColumn(tr("Last result"), result_text, 150, colour=result_colour),  # the rest
        ], parent)

    def status_text(self, row: IntegrationRow) -> str:
        if self.bridge.is_running(row.id):
            return tr("Synchronizing: {0}").format(
                progress_text(self.bridge.last_progress(row.id)))
        if row.running_elsewhere:
            return tr("Synchronizing {0}").format(row.running_elsewhere)
        state = tr("Active") if row.active else tr("Inactive")
        if row.problems:
            return tr("{0} — nothing syncs (see below)").format(state)
        return state

    def status_colour(self, row: IntegrationRow) -> QColor | None:
        if self.bridge.is_running(row.id) or row.running_elsewhere:
            return RUNNING_COLOUR
        if row.problems:
            return WARNING_COLOUR
        return None if row.active else MUTED_COLOUR


# -- the progress panel --------------------------------------------------------------------------------

class RunProgress(QFrame):
    """One run under way: which integration, which step, how far, and Cancel."""

    cancel_requested = Signal(int)

    def __init__(self, integration_id: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.integration_id = integration_id
        self.name = name
        self.setObjectName("runProgress")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.step_label = QLabel()
        self.step_label.setObjectName("syncStepLabel")
        self.step_label.setMinimumWidth(320)
        self.bar = QProgressBar()
        self.bar.setObjectName("syncProgressBar")
        self.bar.setRange(0, 0)
        self.bar.setMinimumWidth(240)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("panelCancelButton")
        self.cancel_button.setToolTip(self.tr("Stop this run at the next safe point; the next "
                                              "run carries on from there."))
        self.cancel_button.clicked.connect(self._cancel)
        layout.addWidget(self.step_label, 2)
        layout.addWidget(self.bar, 3)
        layout.addWidget(self.cancel_button)
        self.show_progress(None)

    def show_progress(self, progress: Progress | None) -> None:
        step = progress_text(progress) if progress is None else (
            progress.step_label or progress.step)
        detail = f" — {progress.text}" if progress is not None and progress.text else ""
        self.step_label.setText(f"<b>{html.escape(self.name)}</b>: "
                                f"{html.escape(step + detail)}")
        if progress is not None and progress.total:
            self.bar.setRange(0, progress.total)
            self.bar.setValue(min(progress.done, progress.total))
            self.bar.setFormat("%v / %m")
        else:
            self.bar.setRange(0, 0)  # no known end: busy

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText(self.tr("Cancelling…"))
        self.cancel_requested.emit(self.integration_id)


# -- the page ------------------------------------------------------------------------------------------

class IntegrationsPage(QWidget):
    status_changed = Signal()
    message = Signal(str)
    journal_requested = Signal(int)  # show the journal of this integration

    def __init__(self, bridge: SyncBridge, parent: QWidget | None = None,
                 extensions: ExtensionRegistry | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("integrationsPage")
        self.bridge = bridge
        self.extensions = extensions if extensions is not None else ExtensionRegistry()
        self.model = IntegrationsModel(bridge, self)
        self.panels: dict[int, RunProgress] = {}
        self._loaded = False
        self._loading = False
        self._again = False
        self._select_after: int | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        title = QLabel(self.tr("Integrations"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        layout.addLayout(self._build_actions())
        self.notice = ErrorLabel()
        layout.addWidget(self.notice)

        self.table = RowTable(self.model, "integrationsTable")
        self.empty = EmptyState(
            self.tr("No integrations yet"),
            self.tr("An integration connects ListBridge to Dotmailer, CleverReach or INES CRM: "
                    "your marketing lists become address books or groups there, and "
                    "unsubscribes and bounces come back here."))
        self.empty.add_button(self.tr("Create Integration…"), "emptyCreateButton",
                              primary=True).clicked.connect(self.create_integration)
        self.stack = QStackedWidget()
        self.stack.setObjectName("integrationsStack")
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        layout.addWidget(self.stack, 1)
        self.detail = detail_label("integrationDetail", rich=True)
        self.detail.hide()
        layout.addWidget(self.detail)

        self.panel = QFrame()
        self.panel.setObjectName("syncProgressPanel")
        self.panel_layout = QVBoxLayout(self.panel)
        self.panel_layout.setContentsMargins(0, 4, 0, 4)
        self.panel_layout.setSpacing(4)
        self.panel.hide()
        layout.addWidget(self.panel)

        self.table.doubleClicked.connect(lambda _index: self.edit_selected())
        self.table.activated.connect(lambda _index: self.edit_selected())
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        bridge.started.connect(self._run_started)
        bridge.progress.connect(self._run_progress)
        bridge.finished.connect(self._run_finished)
        bridge.failed.connect(self._run_failed)
        bridge.running_changed.connect(self._update_actions)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self._refresh_if_shown)
        self.refresh_timer.start()
        self._update_actions()
        self.reload()

    def _build_actions(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.create_button = button(self.tr("Create Integration…"), "createIntegrationButton",
                                    "SP_FileIcon", self.tr("Connect ListBridge to a service"))
        self.create_button.setProperty("primary", True)
        self.edit_button = button(self.tr("Edit…"), "editIntegrationButton",
                                  "SP_FileDialogDetailedView",
                                  self.tr("Edit the selected integration (Enter)"))
        self.delete_button = button(self.tr("Delete"), "deleteIntegrationButton", "SP_TrashIcon",
                                    self.tr("Delete the selected integration and its "
                                            "credentials"))
        self.sync_button = button(self.tr("Schedule Sync"), "scheduleSyncButton",
                                  "SP_BrowserReload",
                                  self.tr("Synchronize the selected integration now"))
        self.cancel_button = button(self.tr("Cancel Sync"), "cancelSyncButton",
                                    "SP_BrowserStop",
                                    self.tr("Stop the selected integration's run"))
        self.journal_button = button(self.tr("Journal"), "integrationJournalButton",
                                     "SP_FileDialogContentsView",
                                     self.tr("What the selected integration sent and what "
                                             "failed"))
        self.create_button.clicked.connect(self.create_integration)
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        self.sync_button.clicked.connect(self.sync_selected)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.journal_button.clicked.connect(self._open_journal)
        for widget in (self.create_button, self.edit_button, self.delete_button,
                       self.sync_button, self.cancel_button, self.journal_button):
            bar.addWidget(widget)
        bar.addStretch(1)
        return bar

    # -- loading -------------------------------------------------------------------------------

    def reload(self, select_id: int | None = None) -> None:
        if select_id is not None:
            self._select_after = select_id
        if self._loading:
            self._again = True
            return
        self._loading = True
        start_job(integration_rows, frozenset(self.bridge.running_ids()),
                  on_done=self._rows_in, on_failed=self._load_failed)

    def _rows_in(self, rows: list[IntegrationRow]) -> None:
        self._loading = False
        self.table.set_rows_keeping_selection(rows)
        if self._select_after is not None and self.table.select_id(self._select_after):
            self._select_after = None
        if self.table.current_id() is None and rows:
            self.table.selectRow(0)
        self._loaded = True
        self.stack.setCurrentWidget(self.table if rows else self.empty)
        self._update_actions()
        self.status_changed.emit()
        if self._again:
            self._again = False
            self.reload()

    def _load_failed(self, message: str, _trace: str) -> None:
        self._loading = False
        self.message.emit(self.tr("Could not read the integrations: {0}").format(message))

    def has_loaded(self) -> bool:
        return self._loaded and not self._loading

    def activate(self) -> None:
        if not self._loading:
            self.reload()

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.reload()

    def status_text(self) -> str:
        total = self.model.rowCount()
        running = len(self.bridge.running_ids())
        text = (self.tr("1 integration") if total == 1
                else self.tr("{0} integrations").format(total))
        if running:
            text += self.tr(", {0} synchronizing").format(running)
        return text

    def name_of(self, integration_id: int) -> str:
        number = self.model.row_of_id(integration_id)
        return self.model.row(number).name if number >= 0 else self.tr("Integration")

    # -- actions -------------------------------------------------------------------------------

    def _update_actions(self, *_: Any) -> None:
        selected = self.table.current_id()
        running = selected is not None and self.bridge.is_running(selected)
        for widget in (self.edit_button, self.sync_button, self.journal_button):
            widget.setEnabled(selected is not None)
        self.delete_button.setEnabled(selected is not None and not running)
        self.cancel_button.setEnabled(running)
        row = self.table.current_row()
        self.detail.setVisible(isinstance(row, IntegrationRow))
        if isinstance(row, IntegrationRow):
            text = self.tr("<b>{name}</b> — last result: {result}").format(
                name=html.escape(row.name), result=html.escape(result_text(row)))
            if row.problems:
                text += "<br><b>" + self.tr("Nothing is synchronised:") + "</b> " + " ".join(
                    html.escape(problem) for problem in row.problems)
            self.detail.setText(text)

    def create_integration(self) -> Any:
        return self._open_dialog(None)

    def edit_selected(self) -> Any:
        selected = self.table.current_id()
        return self._open_dialog(selected) if selected is not None else None

    def _open_dialog(self, integration_id: int | None) -> Any:
        dialog = IntegrationDialog(integration_id, parent=self.window(),
                                   extensions=self.extensions)
        dialog.saved.connect(self._saved)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _type_of(self, integration_id: int) -> str:
        number = self.model.row_of_id(integration_id)
        return self.model.row(number).type if number >= 0 else ""

    def _saved(self, integration_id: int) -> None:
        self.notice.clear_error()
        self.reload(select_id=integration_id)
        self.bridge.look_for_due()  # an active, scheduled integration starts at once
        self.message.emit(self.tr("Integration saved."))

    def delete_selected(self) -> None:
        selected = self.table.current_id()
        if selected is None:
            return
        name = self.name_of(selected)
        box = QMessageBox(
            QMessageBox.Icon.Question, self.tr("Delete Integration"),
            self.tr("Delete the integration “{0}”? Its journal and runs are deleted, and its "
                    "password is removed from the system keyring. Nothing is deleted in the "
                    "service itself.").format(name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDelete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Delete"))

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                self.delete_integration(selected)
            box.deleteLater()

        box.finished.connect(answered)
        box.open()

    def delete_integration(self, integration_id: int) -> None:
        self.delete_button.setEnabled(False)
        name = self.name_of(integration_id)
        start_job(delete_by_id, integration_id,
                  on_done=lambda refusal: self._deleted(name, refusal),
                  on_failed=lambda message, _trace: self._show_notice(message))

    def _deleted(self, name: str, refusal: str) -> None:
        if refusal:
            self._show_notice(refusal)
        else:
            self.notice.clear_error()
            self.message.emit(self.tr("Integration “{0}” deleted.").format(name))
        self.reload()

    def sync_selected(self) -> None:
        selected = self.table.current_id()
        if selected is None:
            return
        self.notice.clear_error()
        name = self.name_of(selected)
        if self.bridge.request_run(selected, "manual"):
            self.message.emit(self.tr("Synchronizing {0}…").format(name))
        elif self.bridge.is_stopped():
            self.message.emit(self.tr("Synchronization is stopped while the window closes."))
        else:
            self.message.emit(self.tr("{0} is synchronizing; it runs once more right after.")
                              .format(name))

    def cancel_selected(self) -> None:
        selected = self.table.current_id()
        if selected is not None:
            self.cancel_run(selected)

    def cancel_run(self, integration_id: int) -> None:
        if self.bridge.cancel(integration_id):
            panel = self.panels.get(integration_id)
            if panel is not None:
                panel.cancel_button.setEnabled(False)
                panel.cancel_button.setText(self.tr("Cancelling…"))
            self.message.emit(self.tr("Cancelling {0}…").format(self.name_of(integration_id)))

    def _open_journal(self) -> None:
        selected = self.table.current_id()
        if selected is None:
            return
        # A connector with a journal of its own (INES keeps its own queue) opens it; the others
        # are on the Journal page.
        if self.extensions.open_journal(self._type_of(selected), self.window(), selected) is None:
            self.journal_requested.emit(selected)

    def _show_notice(self, text: str) -> None:
        self.notice.show_error(text)

    # -- what the bridge reports ---------------------------------------------------------------

    def _panel_for(self, integration_id: int) -> RunProgress:
        panel = self.panels.get(integration_id)
        if panel is None:
            panel = RunProgress(integration_id, self.name_of(integration_id))
            panel.cancel_requested.connect(self.cancel_run)
            self.panels[integration_id] = panel
            self.panel_layout.addWidget(panel)
            self.panel.show()
        return panel

    def _drop_panel(self, integration_id: int) -> None:
        panel = self.panels.pop(integration_id, None)
        if panel is not None:
            self.panel_layout.removeWidget(panel)
            panel.deleteLater()
        self.panel.setVisible(bool(self.panels))

    def _run_started(self, integration_id: int, trigger: str) -> None:
        self._panel_for(integration_id)
        self.model.refresh(integration_id)
        self.status_changed.emit()

    def _run_progress(self, progress: Progress) -> None:
        self._panel_for(progress.integration_id).show_progress(progress)
        self.model.refresh(progress.integration_id)

    def _run_finished(self, result: RunResult) -> None:
        self._drop_panel(result.integration_id)
        label = self.tr(RUN_STATUS_LABELS.get(result.status, result.status))
        self.message.emit(f"{result.integration_name}: {label}."
                          + ("" if result.ok else f" {result.message}"))
        self.reload()
        self.status_changed.emit()

    def _run_failed(self, integration_id: int, message: str) -> None:
        self._drop_panel(integration_id)
        self._show_notice(message)
        self.reload()
        self.status_changed.emit()
