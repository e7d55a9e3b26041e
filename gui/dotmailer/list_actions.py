"""Dotmailer on a marketing list's page: Connect to Dotmailer, or the Dotmailer menu and status.

``DotmailerListActions`` listens to the list page's ``list_shown`` and fills its empty action
slot (objectName "listIntegrationActions") with:

- "Connect to Dotmailer", only when the list can be connected (its members have an email: a list
  of contacts or leads) and at least one Dotmailer integration exists;
- once connected, a "Dotmailer" drop-down menu instead: Connection Settings, Disconnect (after a
  confirmation), Synchronize, Data Fields, Retry rejected, Email Campaigns.

Under the list's summary, a panel shows the connection: the book, the last sync, what was
exported or rejected, the progress of a run under way, and a note when Dotmailer's Data Watchdog
refused the list, with "Retry rejected". Connecting starts the export at once through the
window's ``SyncBridge``; everything reloads when a run of the integration finishes.
"""

from __future__ import annotations

import html
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.sync.context import Progress
from core.sync.runner import RUN_STATUS_LABELS, RunResult
from gui.dotmailer import jobs
from gui.dotmailer.connect_dialog import ConnectDialog
from gui.dotmailer.data_fields import DataFieldsDialog
from gui.dotmailer.guard import guarded
from gui.sync_bridge import SyncBridge
from gui.tablemodel import local_time
from gui.widgets import std_icon
from gui.workers import start_job

PANEL_STYLE = """
#dotmailerPanel { background: #eef4fe; border: 1px solid #c6d8f5; border-radius: 5px; }
#dotmailerWarning { background: #fff3cd; border: 1px solid #e9d38a; border-radius: 4px; }
#dotmailerWarning QLabel { color: #664d03; }
"""


def alive(widget: Any) -> bool:
    return widget is not None and shiboken6.isValid(widget)


class ConnectionPanel(QFrame):
    """The connection's status under the list's summary (hidden while the list is not connected)."""

    retry_requested = Signal()
    resume_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dotmailerPanel")
        self.setStyleSheet(PANEL_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        top = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("dotmailerStatus")
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setWordWrap(True)
        top.addWidget(self.status, 1)
        self.step = QLabel()
        self.step.setObjectName("dotmailerSyncStep")
        self.progress = QProgressBar()
        self.progress.setObjectName("dotmailerSyncProgress")
        self.progress.setRange(0, 0)
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(False)
        top.addWidget(self.step)
        top.addWidget(self.progress)
        layout.addLayout(top)

        self.warning = QFrame()
        self.warning.setObjectName("dotmailerWarning")
        row = QHBoxLayout(self.warning)
        row.setContentsMargins(8, 4, 8, 4)
        self.warning_text = QLabel()
        self.warning_text.setObjectName("dotmailerWatchdogNote")
        self.warning_text.setWordWrap(True)
        self.retry_button = QPushButton(self.tr("Retry rejected"))
        self.retry_button.setObjectName("retryRejectedButton")
        self.retry_button.setToolTip(self.tr("Send the rejected members again with the next "
                                             "export (after fixing their data)"))
        self.retry_button.clicked.connect(self.retry_requested)
        self.resume_button = QPushButton(self.tr("Resume export"))
        self.resume_button.setObjectName("resumeExportButton")
        self.resume_button.setToolTip(self.tr("Export to Dotmailer again, once the cause is "
                                              "fixed"))
        self.resume_button.clicked.connect(self.resume_requested)
        row.addWidget(self.warning_text, 1)
        row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.resume_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.warning)
        self.show_running(False)
        self.warning.hide()
        self.hide()

    def show_state(self, state: jobs.ConnectionState | None) -> None:
        if state is None:
            self.hide()
            return
        parts = [self.tr("<b>Dotmailer</b>: address book <b>{book}</b> ({integration})").format(
            book=html.escape(state.book_name), integration=html.escape(state.integration_name))]
        if state.last_sync_at is not None:
            label = self.tr(RUN_STATUS_LABELS.get(state.last_status, state.last_status))
            parts.append(self.tr("last sync {0}").format(local_time(state.last_sync_at))
                         + (f" ({html.escape(label)})" if label else ""))
        else:
            parts.append(self.tr("not synchronized yet"))
        parts.append(self.tr("{0} exported").format(f"{state.exported:,}"))
        if state.waiting or state.sending:
            parts.append(self.tr("{0} to send").format(f"{state.waiting + state.sending:,}"))
        parts.append(self.tr("{0} rejected").format(f"{state.rejected:,}"))
        if state.queued:
            parts.append(self.tr("{0} to retry").format(f"{state.queued:,}"))
        self.status.setText(" · ".join(parts))
        notes = []
        if state.watchdog_rejected:
            notes.append(self.tr(
                "Dotmailer's Data Watchdog refused this list: {0} members were not imported and "
                "are not sent again automatically. Check the list's data quality, then retry."
            ).format(f"{state.watchdog_rejected:,}"))
        elif state.rejected:
            notes.append(self.tr("{0} members were rejected by Dotmailer and are not sent again "
                                 "automatically.").format(f"{state.rejected:,}"))
        if state.export_paused:
            notes.append(state.export_paused)
        self.warning_text.setText("\n".join(notes))
        self.retry_button.setVisible(bool(state.rejected))
        self.resume_button.setVisible(bool(state.export_paused))
        self.warning.setVisible(bool(notes))
        self.show()

    def show_running(self, running: bool, progress: Progress | None = None) -> None:
        self.progress.setVisible(running)
        self.step.setVisible(running)
        if not running:
            return
        if progress is None:
            self.step.setText(self.tr("Synchronizing…"))
            self.progress.setRange(0, 0)
            return
        text = progress.step_label or progress.step
        if progress.total:
            self.progress.setRange(0, progress.total)
            self.progress.setValue(min(progress.done, progress.total))
            text += f" ({progress.done:,} / {progress.total:,})"
        else:
            self.progress.setRange(0, 0)
        self.step.setText(text)


class DotmailerListActions(QObject):
    """Connect to Dotmailer and the Dotmailer menu on the marketing list page."""

    campaigns_requested = Signal(int)  # the list id: show its email campaigns

    def __init__(self, list_page: Any, bridge: SyncBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dotmailerListActions")
        self.list_page = list_page
        self.bridge = bridge
        self.list_id: int | None = None
        self.state: jobs.ListState | None = None
        self._generation = 0
        self.connect_button: QPushButton | None = None
        self.menu_button: QPushButton | None = None
        self.menu: QMenu | None = None
        self.panel = ConnectionPanel()
        self.panel.retry_requested.connect(self.retry_rejected)
        self.panel.resume_requested.connect(self.resume_export)
        layout = list_page.layout()
        layout.insertWidget(layout.indexOf(list_page.summary) + 1, self.panel)
        list_page.list_shown.connect(self.show_list)
        list_page.installEventFilter(self)  # shown again: an integration may have come or gone
        bridge.started.connect(self._run_started)
        bridge.progress.connect(self._run_progress)
        bridge.finished.connect(self._run_finished)
        bridge.failed.connect(self._run_failed)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.list_page and event.type() == QEvent.Type.Show \
                and self.list_id is not None and self.state is not None:
            self.reload()
        return False

    # -- the buttons in the list page's slot ---------------------------------------------------

    def show_list(self, list_id: int) -> None:
        """A list page was built: its slot is new and empty; fill it once the state is read."""
        self.list_id = list_id
        self.state = None
        self.panel.hide()
        slot = self.list_page.integration_actions
        self.connect_button = QPushButton(self.tr("Connect to Dotmailer"))
        self.connect_button.setObjectName("connectDotmailerButton")
        self.connect_button.setToolTip(self.tr("Connect this list to a Dotmailer address book"))
        self.connect_button.clicked.connect(self.open_connect)
        self.connect_button.hide()
        self.menu_button = QPushButton(std_icon("SP_DriveNetIcon"), self.tr("Dotmailer"))
        self.menu_button.setObjectName("dotmailerMenuButton")
        self.menu_button.setToolTip(self.tr("This list's Dotmailer connection"))
        self.menu = self._build_menu(self.menu_button)
        self.menu_button.setMenu(self.menu)
        self.menu_button.hide()
        slot.addWidget(self.connect_button)
        slot.addWidget(self.menu_button)
        self.reload()

    def _build_menu(self, owner: QWidget) -> QMenu:
        menu = QMenu(owner)
        menu.setObjectName("dotmailerMenu")

        def action(text: str, name: str, slot: Any, icon: str | None = None) -> QAction:
            act = QAction(text, menu)
            act.setObjectName(name)
            if icon:
                act.setIcon(std_icon(icon))
            act.triggered.connect(slot)
            menu.addAction(act)
            return act

        self.settings_action = action(self.tr("Connection Settings…"),
                                      "dotmailerConnectionSettings", self.open_connect,
                                      "SP_FileDialogDetailedView")
        self.disconnect_action = action(self.tr("Disconnect…"), "dotmailerDisconnect",
                                        self.confirm_disconnect, "SP_DialogCancelButton")
        self.sync_action = action(self.tr("Synchronize"), "dotmailerSynchronize",
                                  self.synchronize, "SP_BrowserReload")
        menu.addSeparator()
        self.fields_action = action(self.tr("Data Fields…"), "dotmailerDataFields",
                                    self.open_data_fields, "SP_FileDialogListView")
        self.campaigns_action = action(self.tr("Email Campaigns"), "dotmailerEmailCampaigns",
                                       self._show_campaigns, "SP_FileDialogInfoView")
        self.retry_action = action(self.tr("Retry rejected"), "dotmailerRetryRejected",
                                   self.retry_rejected, "SP_BrowserReload")
        return menu

    def reload(self) -> None:
        if self.list_id is None:
            return
        self._generation += 1
        generation = self._generation
        start_job(jobs.list_state, self.list_id,
                  on_done=guarded(self, lambda state: self._state_in(generation, state)),
                  on_failed=self._state_failed)

    def _state_in(self, generation: int, state: jobs.ListState) -> None:
        if generation != self._generation or state.list_id != self.list_id:
            return
        self.state = state
        connection = state.connection
        if alive(self.connect_button):
            self.connect_button.setVisible(state.connectable)
        if alive(self.menu_button):
            self.menu_button.setVisible(connection is not None)
        if connection is not None:
            self._enable_sync(not self.bridge.is_running(connection.integration_id))
            if alive(self.menu):
                self.retry_action.setVisible(bool(connection.rejected))
        self.panel.show_state(connection)
        if connection is not None:
            running = self.bridge.is_running(connection.integration_id)
            self.panel.show_running(running, self.bridge.last_progress(
                connection.integration_id) if running else None)

    def _enable_sync(self, enabled: bool) -> None:
        if alive(self.menu):
            self.sync_action.setEnabled(enabled)

    def _state_failed(self, message: str, _trace: str) -> None:
        self._message(self.tr("Could not read the list's Dotmailer connection: {0}").format(
            message))

    def is_loaded(self) -> bool:
        return self.state is not None and self.state.list_id == self.list_id

    def connection(self) -> jobs.ConnectionState | None:
        return self.state.connection if self.state is not None else None

    def _message(self, text: str) -> None:
        self.list_page.message.emit(text)

    # -- the actions ---------------------------------------------------------------------------

    def open_connect(self) -> ConnectDialog | None:
        """Connect To Dotmailer, or Connection Settings when the list is connected."""
        if self.state is None:
            return None
        dialog = ConnectDialog(self.state, parent=self.list_page.window())
        dialog.connected.connect(self._connected)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _connected(self, integration_id: int, book_name: str) -> None:
        self._message(self.tr("Connected to the address book “{0}”; exporting the members…")
                      .format(book_name))
        self._request_run(integration_id)  # the members are exported at once
        self.reload()

    def confirm_disconnect(self) -> None:
        connection = self.connection()
        if connection is None or self.list_id is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question, self.tr("Disconnect from Dotmailer"),
            self.tr("Disconnect the list “{0}” from the Dotmailer address book “{1}”? The list "
                    "and the address book keep their contacts; they are simply no longer kept "
                    "in step.").format(self.state.list_name if self.state else "",
                                       connection.book_name),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self.list_page.window())
        box.setObjectName("confirmDisconnect")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Disconnect"))
        list_id = self.list_id

        def answered(result: int) -> None:
            if result == QMessageBox.StandardButton.Yes:
                start_job(jobs.disconnect, list_id, on_done=self._disconnected,
                          on_failed=self._action_failed)
            box.deleteLater()

        box.finished.connect(answered)
        box.open()

    def _disconnected(self, outcome: jobs.Outcome) -> None:
        if outcome.ok:
            self._message(self.tr("Disconnected from the address book “{0}”.").format(
                outcome.message))
        self.reload()

    def synchronize(self) -> None:
        connection = self.connection()
        if connection is not None:
            self._request_run(connection.integration_id)

    def _request_run(self, integration_id: int) -> None:
        if self.bridge.request_run(integration_id, "manual"):
            self.panel.show_running(True)
            self._enable_sync(False)
            self._message(self.tr("Synchronizing with Dotmailer…"))
        elif self.bridge.is_stopped():
            self._message(self.tr("Synchronization is stopped while the window closes."))
        else:
            self._message(self.tr("A synchronization is under way; it runs once more right "
                                  "after."))

    def retry_rejected(self) -> None:
        if self.list_id is None:
            return
        self.panel.retry_button.setEnabled(False)
        start_job(jobs.retry_rejected, self.list_id, on_done=self._retried,
                  on_failed=self._action_failed)

    def _retried(self, count: int) -> None:
        self.panel.retry_button.setEnabled(True)
        self._message(self.tr("{0} rejected members are sent again now.").format(count))
        connection = self.connection()
        if count and connection is not None:
            self._request_run(connection.integration_id)
        self.reload()

    def resume_export(self) -> None:
        connection = self.connection()
        if connection is None:
            return
        self.panel.resume_button.setEnabled(False)
        integration_id = connection.integration_id
        start_job(jobs.resume_export, integration_id,
                  on_done=guarded(self, lambda _n: self._resumed(integration_id)),
                  on_failed=self._action_failed)

    def _resumed(self, integration_id: int) -> None:
        self.panel.resume_button.setEnabled(True)
        self._request_run(integration_id)
        self.reload()

    def open_data_fields(self) -> DataFieldsDialog | None:
        connection = self.connection()
        if connection is None:
            return None
        dialog = DataFieldsDialog(connection.integration_id, parent=self.list_page.window())
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _show_campaigns(self) -> None:
        if self.list_id is not None:
            self.campaigns_requested.emit(self.list_id)

    def _action_failed(self, message: str, _trace: str) -> None:
        self.panel.retry_button.setEnabled(True)
        self.panel.resume_button.setEnabled(True)
        self._message(message)
        self.reload()

    # -- what the bridge reports ---------------------------------------------------------------

    def _ours(self, integration_id: int) -> bool:
        connection = self.connection()
        return connection is not None and connection.integration_id == integration_id

    def _run_started(self, integration_id: int, _trigger: str) -> None:
        if self._ours(integration_id):
            self.panel.show_running(True)
            self._enable_sync(False)

    def _run_progress(self, progress: Progress) -> None:
        if self._ours(progress.integration_id):
            self.panel.show_running(True, progress)

    def _run_finished(self, result: RunResult) -> None:
        if self._ours(result.integration_id):
            self.panel.show_running(False)
            self._enable_sync(True)
        if self.list_id is not None:
            self.reload()  # a sync of any Dotmailer integration may have changed this list

    def _run_failed(self, integration_id: int, message: str) -> None:
        if self._ours(integration_id):
            self.panel.show_running(False)
            self._enable_sync(True)
            self._message(message)
