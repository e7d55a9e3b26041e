"""The Journal: what every integration sent, what failed and what will be retried, and its runs.

The Queue tab shows ``core.sync.journal.journal_rows`` (the 200 most recent rows per integration),
filtered by integration, state and email; a FAILED row can be retried, or every failed row at once.
The Runs tab lists the latest runs with their counts and errors. Both read on a worker thread and
refresh while a sync runs (the bridge's signals) and every few seconds while shown.

Not everything that ran leaves a queue row (a Dotmailer export queues only the contacts that
failed; INES keeps a queue of its own, behind its "INES journal…" button): an empty queue says
so and points at the Runs tab, which a visit opens first while the queue is empty.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.models.sync import Integration, QueueItem
from core.sync import queue
from core.sync.journal import JOURNAL_LIMIT, JournalRow, RunRow, journal_rows, run_rows
from gui.history_dialog import HistoryDialog
from gui.rowmodel import (
    ERROR_COLOUR,
    MUTED_COLOUR,
    SUCCESS_COLOUR,
    WARNING_COLOUR,
    RowColumn,
    RowTable,
    RowTableModel,
    run_status_colour,
)
from gui.sync_bridge import SyncBridge, connector_for
from gui.tablemodel import local_time
from gui.widgets import (
    ActionRow,
    EmptyState,
    SearchField,
    button,
    combo_select_data,
    detail_label,
)
from gui.workers import start_job

REFRESH_MS = 5_000  # while shown: rows written by a headless run or the scheduler appear soon
LIVE_MS = 1_000  # while a run reports progress: at most one reload a second
RUN_LIMIT = 50


def tr(text: str) -> str:
    return QCoreApplication.translate("JournalPage", text)


# -- reading and writing, on worker threads -----------------------------------------------------------

@dataclass(frozen=True)
class JournalFilter:
    integration_id: int | None = None
    state: str | None = None
    email: str = ""


@dataclass(frozen=True)
class JournalData:
    generation: int
    integrations: list[tuple[int, str]]
    rows: list[JournalRow]
    runs: list[RunRow]


def load_journal(generation: int, wanted: JournalFilter) -> JournalData:
    integrations = [(i.id, i.name) for i in
                    Integration.select(Integration.id, Integration.name).order_by(Integration.name)]
    known = {i for i, _ in integrations}
    if wanted.integration_id is not None and wanted.integration_id not in known:
        return JournalData(generation, integrations, [], [])
    rows = journal_rows(wanted.integration_id, state=wanted.state,
                        email=wanted.email.strip() or None, limit=JOURNAL_LIMIT,
                        connector_for=connector_for)
    runs = run_rows(wanted.integration_id, limit=RUN_LIMIT, connector_for=connector_for)
    return JournalData(generation, integrations, rows, runs)


def retry_row(item_id: int) -> bool:
    item = QueueItem.get_or_none(QueueItem.id == item_id)
    if item is None:
        return False
    return queue.retry(item).state == queue.PENDING


def retry_failed(integration_id: int | None) -> int:
    query = Integration.select()
    if integration_id is not None:
        query = query.where(Integration.id == integration_id)
    return sum(queue.retry_all_failed(integration) for integration in query)


# -- columns -------------------------------------------------------------------------------------------

def state_colour(row: JournalRow) -> QColor | None:
    return {queue.FAILED: ERROR_COLOUR, queue.RETRYING: WARNING_COLOUR,
            queue.SKIPPED: MUTED_COLOUR, queue.DONE: SUCCESS_COLOUR}.get(row.state)


def attempts_text(row: JournalRow) -> str:
    """"2 of 3" while the limit matters (waiting, retrying, failed); a row that went through
    only says how many tries it took."""
    if row.state in (queue.DONE, queue.SKIPPED):
        return str(row.attempts) if row.attempts else "—"
    return tr("{0} of {1}").format(row.attempts, row.max_attempts)


def label_text(row: JournalRow) -> str:
    return row.label or (f"#{row.record_id}" if row.record_id is not None and not row.email
                         else "")


def run_colour(row: RunRow) -> QColor | None:
    return run_status_colour(row.status)


def duration_text(row: RunRow) -> str:
    if row.ended_at is None:
        return tr("running")
    seconds = max(0, int((row.ended_at - row.started_at).total_seconds()))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def action_text(row: JournalRow) -> str:
    """The connector's words for the action (``BaseConnector.action_label``)."""
    return tr(row.action_label)


def detail_text(row: JournalRow) -> str:
    """The selected row in a sentence, its error in full (the column shows its start)."""
    who = html.escape(row.email or label_text(row) or row.entity)
    if row.state in (queue.DONE, queue.SKIPPED):
        attempts = (tr("1 attempt") if row.attempts == 1 else
                    tr("{0} attempts").format(row.attempts))
    else:
        attempts = tr("{0} of {1} attempts").format(row.attempts, row.max_attempts)
    text = tr("<b>{who}</b> — {action} for {integration}: {state} after {attempts} "
              "(last update {updated})").format(
        who=who, action=html.escape(action_text(row)), integration=html.escape(row.integration),
        state=html.escape(tr(row.state_label).lower()), attempts=attempts,
        updated=local_time(row.updated))
    if row.next_attempt_at is not None and row.state == queue.RETRYING:
        text += tr(", next try {0}").format(local_time(row.next_attempt_at))
    return text + (f".<br>{html.escape(row.last_error)}" if row.last_error else ".")


def last_run_text(row: RunRow) -> str:
    """The latest run in a line: "Last run: Dotmailer, 2026-11-23 11:57 — Succeeded: …"."""
    text = tr("Last run: {integration}, {started} — {status}").format(
        integration=row.integration, started=local_time(row.started_at),
        status=tr(row.status_label))
    detail = row.error or row.summary
    return f"{text}: {detail}" if detail else text


def queue_columns() -> list[RowColumn]:
    return [
        RowColumn(tr("Date"), lambda r: local_time(r.added), 124),
        RowColumn(tr("Integration"), lambda r: r.integration, 130),
        RowColumn(tr("Action"), action_text, 105),
        RowColumn(tr("Email"), lambda r: r.email, 165),
        RowColumn(tr("Label / company"), label_text, 124),
        RowColumn(tr("State"), lambda r: tr(r.state_label), 64, colour=state_colour),
        RowColumn(tr("Attempts"), attempts_text, 78, right=True),
        RowColumn(tr("Last update"), lambda r: local_time(r.updated), 124),
        RowColumn(tr("Error"), lambda r: r.last_error, 100, colour=state_colour),  # the rest
    ]


def run_columns() -> list[RowColumn]:
    return [
        RowColumn(tr("Started"), lambda r: local_time(r.started_at), 124),
        RowColumn(tr("Integration"), lambda r: r.integration, 150),
        RowColumn(tr("Trigger"), lambda r: tr(r.trigger.replace("_", " ").capitalize()), 80),
        RowColumn(tr("Status"), lambda r: tr(r.status_label), 140, colour=run_colour),
        RowColumn(tr("Duration"), duration_text, 75, right=True),
        RowColumn(tr("Counts"), lambda r: r.summary, 320),
        RowColumn(tr("Error"), lambda r: r.error, 100, colour=run_colour),  # the rest
    ]


# -- the page ------------------------------------------------------------------------------------------

class JournalPage(QWidget):
    status_changed = Signal()
    message = Signal(str)
    integrations_requested = Signal()

    def __init__(self, bridge: SyncBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("journalPage")
        self.bridge = bridge
        self.queue_model = RowTableModel(queue_columns(), self)
        self.runs_model = RowTableModel(run_columns(), self)
        self._generation = 0
        self._loading = False
        self._again = False
        self._loaded = False
        self._integrations: list[tuple[int, str]] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        title = QLabel(self.tr("Journal"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        layout.addLayout(self._build_filters())

        self.tabs = QTabWidget()
        self.tabs.setObjectName("journalTabs")
        self.tabs.addTab(self._build_queue_tab(), self.tr("Queue"))
        self.tabs.addTab(self._build_runs_tab(), self.tr("Runs"))
        self.tabs.currentChanged.connect(self._tab_changed)
        # Until the admin picks a tab, each visit opens the one with something to show.
        self._tab_picked = False
        self._choose_tab = True
        self.tabs.tabBar().tabBarClicked.connect(self._tab_clicked)
        layout.addWidget(self.tabs, 1)

        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self._refresh_if_shown)
        self.refresh_timer.start()
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.setInterval(LIVE_MS)
        self.live_timer.timeout.connect(self._refresh_if_shown)
        bridge.progress.connect(self._heard_progress)
        bridge.started.connect(lambda *_: self._soon())
        bridge.finished.connect(lambda *_: self._soon())
        bridge.failed.connect(lambda *_: self._soon())
        self._update_actions()

    # -- building ------------------------------------------------------------------------------

    def _build_filters(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.integration_filter = QComboBox()
        self.integration_filter.setObjectName("journalIntegrationFilter")
        self.integration_filter.addItem(self.tr("All integrations"), None)
        self.integration_filter.setMinimumWidth(200)
        self.state_filter = QComboBox()
        self.state_filter.setObjectName("journalStateFilter")
        self.state_filter.addItem(self.tr("All states"), None)
        for state in queue.STATES:
            self.state_filter.addItem(self.tr(queue.STATE_LABELS[state]), state)
        self.email_filter = SearchField(self.tr("Filter by email"))
        self.email_filter.setObjectName("journalEmailFilter")
        self.integration_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.state_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.email_filter.searched.connect(lambda _t: self.reload())
        bar.addWidget(QLabel(self.tr("Integration:")))
        bar.addWidget(self.integration_filter)
        bar.addSpacing(8)
        bar.addWidget(QLabel(self.tr("State:")))
        bar.addWidget(self.state_filter)
        bar.addSpacing(8)
        bar.addWidget(self.email_filter)
        bar.addStretch(1)
        # Where an integration with a journal of its own adds its link ("INES journal…", gui/ines).
        self.service_row = ActionRow("journalServiceActions", "journalIntegrationActions")
        self.service_row.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        self.integration_actions = self.service_row.slot
        bar.addWidget(self.service_row)
        return bar

    def _build_queue_tab(self) -> QWidget:
        tab = QWidget()
        tab.setObjectName("journalQueueTab")
        self.queue_tab = tab
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 8, 0, 0)
        actions = QHBoxLayout()
        self.retry_button = button(self.tr("Retry"), "retryButton", "SP_BrowserReload",
                                   self.tr("Send the selected failed row again at the next sync"))
        self.retry_all_button = button(self.tr("Retry All Failed"), "retryAllButton",
                                       "SP_BrowserReload",
                                       self.tr("Send every failed row of the integration shown "
                                               "again at the next sync"))
        self.history_button = button(self.tr("History…"), "historyButton",
                                     "SP_FileDialogContentsView",
                                     self.tr("Everything that happened to this record"))
        self.retry_button.clicked.connect(self.retry_selected)
        self.retry_all_button.clicked.connect(self.retry_all)
        self.history_button.clicked.connect(self.show_history)
        for widget in (self.retry_button, self.retry_all_button, self.history_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setObjectName("journalCount")
        actions.addWidget(self.count_label)
        layout.addLayout(actions)
        self.table = RowTable(self.queue_model, "journalTable")
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.table.doubleClicked.connect(lambda _index: self.show_history())
        self.empty = EmptyState(self.tr("Nothing is waiting, failed or being retried"), "")
        self.empty.setObjectName("journalEmpty")
        self.last_run = QLabel()
        self.last_run.setObjectName("journalLastRun")
        self.last_run.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.last_run.setWordWrap(True)
        self.last_run.hide()
        self.empty.layout().insertWidget(self.empty.layout().indexOf(self.empty.title) + 1,
                                         self.last_run)
        self.empty.add_button(self.tr("Show runs"), "showRunsButton", primary=True
                              ).clicked.connect(self.show_runs)
        self.empty.add_button(self.tr("Go to Integrations"), "openIntegrationsButton"
                              ).clicked.connect(self.integrations_requested)
        self.stack = QStackedWidget()
        self.stack.setObjectName("journalStack")
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        layout.addWidget(self.stack, 1)
        self.detail = detail_label("journalDetail", rich=True)
        self.detail.hide()
        layout.addWidget(self.detail)
        return tab

    def _build_runs_tab(self) -> QWidget:
        tab = QWidget()
        tab.setObjectName("journalRunsTab")
        self.runs_tab = tab
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 8, 0, 0)
        self.runs_table = RowTable(self.runs_model, "runsTable")
        layout.addWidget(self.runs_table, 1)
        return tab

    # -- loading -------------------------------------------------------------------------------

    def current_filter(self) -> JournalFilter:
        return JournalFilter(self.integration_filter.currentData(),
                             self.state_filter.currentData(), self.email_filter.text())

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        self._generation += 1
        start_job(load_journal, self._generation, self.current_filter(),
                  on_done=self._data_in, on_failed=self._load_failed)

    def _data_in(self, data: JournalData) -> None:
        self._loading = False
        if data.generation == self._generation:
            self._fill_integrations(data.integrations)
            self.table.set_rows_keeping_selection(data.rows)
            self.runs_table.set_rows_keeping_selection(data.runs)
            wanted = self.current_filter()
            filtered = wanted.state is not None or bool(wanted.email.strip())
            self.stack.setCurrentWidget(self.table if data.rows or filtered else self.empty)
            self._explain_empty(data.runs)
            if self._choose_tab and not self._again:
                self._choose_tab = False
                if not self._tab_picked:
                    self.tabs.setCurrentWidget(
                        self.runs_tab if data.runs and not data.rows else self.queue_tab)
            self._loaded = True
            self._update_actions()
            self.status_changed.emit()
        if self._again:
            self._again = False
            self.reload()

    def _load_failed(self, message: str, _trace: str) -> None:
        self._loading = False
        self.message.emit(self.tr("Could not read the journal: {0}").format(message))

    def _fill_integrations(self, integrations: list[tuple[int, str]]) -> None:
        if integrations == self._integrations:
            return
        self._integrations = integrations
        current = self.integration_filter.currentData()
        self.integration_filter.blockSignals(True)
        while self.integration_filter.count() > 1:
            self.integration_filter.removeItem(1)
        for integration_id, name in integrations:
            self.integration_filter.addItem(name, integration_id)
        combo_select_data(self.integration_filter, current)
        self.integration_filter.blockSignals(False)
        if self.integration_filter.currentData() != current:
            self.reload()  # the integration shown was deleted

    def has_loaded(self) -> bool:
        return self._loaded and not self._loading

    def activate(self) -> None:
        self._choose_tab = True
        if not self._loading:
            self.reload()

    def show_integration(self, integration_id: int) -> None:
        """Show one integration's rows (from the Integrations page)."""
        if self.integration_filter.findData(integration_id) < 0:
            self.integration_filter.addItem("…", integration_id)
        combo_select_data(self.integration_filter, integration_id)

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.reload()

    def _soon(self) -> None:
        if not self.live_timer.isActive():
            self.live_timer.start(200)

    def _heard_progress(self, _progress: Any) -> None:
        if not self.live_timer.isActive():  # a burst of progress: one reload a second at most
            self.live_timer.start(LIVE_MS)

    def status_text(self) -> str:
        """The count of what the tab shown lists."""
        if self.tabs.currentWidget() is self.runs_tab:
            count = self.runs_model.rowCount()
            return self.tr("1 run") if count == 1 else self.tr("{0} runs").format(f"{count:,}")
        count = self.queue_model.rowCount()
        return (self.tr("1 row in the queue") if count == 1 else
                self.tr("{0} rows in the queue").format(f"{count:,}"))

    # -- tabs ----------------------------------------------------------------------------------

    def _tab_clicked(self, index: int) -> None:
        if index >= 0:
            self._tab_picked = True

    def _tab_changed(self, _index: int) -> None:
        self._update_actions()
        self.status_changed.emit()

    def show_runs(self) -> None:
        self._tab_picked = True
        self.tabs.setCurrentWidget(self.runs_tab)

    def _explain_empty(self, runs: list[RunRow]) -> None:
        """The empty queue says what it means, and points at what did run."""
        sentence = self.tr("The queue holds the changes still to be sent, those that failed and "
                           "those waiting to be retried; it empties as they go through. What "
                           "each synchronization did is on the Runs tab.")
        if self.service_row.has_buttons():
            sentence += " " + self.tr("A service that keeps a queue of its own shows it "
                                      "through its button above.")
        self.empty.sentence.setText(sentence)
        self.last_run.setVisible(bool(runs))
        if runs:
            self.last_run.setText(last_run_text(runs[0]))

    # -- actions -------------------------------------------------------------------------------

    def selected_row(self) -> JournalRow | None:
        row = self.table.current_row()
        return row if isinstance(row, JournalRow) else None

    def _update_actions(self) -> None:
        row = self.selected_row()
        self.retry_button.setEnabled(row is not None and row.state == queue.FAILED)
        self.detail.setVisible(row is not None)
        self.detail.setText(detail_text(row) if row is not None else "")
        self.history_button.setEnabled(row is not None and row.record_id is not None)
        failed = sum(1 for r in self.queue_model.rows() if r.state == queue.FAILED)
        shown = self.queue_model.rowCount()
        self.count_label.setText(
            self.tr("{0} rows, {1} failed (the {2} most recent per integration)").format(
                f"{shown:,}", f"{failed:,}", JOURNAL_LIMIT))

    def retry_selected(self) -> None:
        row = self.selected_row()
        if row is None or row.state != queue.FAILED:
            return
        self.retry_button.setEnabled(False)
        start_job(retry_row, row.id, on_done=self._retried_one,
                  on_failed=lambda message, _t: self.message.emit(message))

    def _retried_one(self, done: bool) -> None:
        if done:
            self.message.emit(self.tr("The row is sent again at the next sync."))
        self.reload()

    def retry_all(self) -> None:
        self.retry_all_button.setEnabled(False)
        start_job(retry_failed, self.integration_filter.currentData(),
                  on_done=self._retried_all,
                  on_failed=lambda message, _t: self.message.emit(message))

    def _retried_all(self, count: int) -> None:
        self.retry_all_button.setEnabled(True)
        self.message.emit(self.tr("{0} failed rows are sent again at the next sync.").format(count)
                          if count else self.tr("No failed rows to retry."))
        self.reload()

    def show_history(self) -> HistoryDialog | None:
        row = self.selected_row()
        if row is None or row.record_id is None:
            return None
        dialog = HistoryDialog(row.entity, row.record_id, self.window())
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog
