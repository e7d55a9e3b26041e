"""The INES journal ("Voir journal de bord"): the full-sync queue and the pushes of one integration.

The 200 latest rows of ``ines_sync_log`` by last update (ines.md §3.16), filtered by status and by
email (or company); "Retry" puts a FAILED row back to PENDING with its counter at 0 (a failed
push queues its contact anew), "Retry all failed" does it for every FAILED row, "Refresh" reads
again (a headless ``listbridge ines sync`` may have run meanwhile), and "History…" opens the
contact's history. Reads and writes run on worker threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from connectors.ines.connector import journal, journal_count, retry_failed
from connectors.ines.models import DONE, FAILED, PENDING
from connectors.ines.queue import JOURNAL_SIZE, MAX_ATTEMPTS, JournalRow
from core.models.sync import Integration
from gui.history_dialog import HistoryDialog
from gui.rowmodel import (
    ERROR_COLOUR,
    SUCCESS_COLOUR,
    WARNING_COLOUR,
    RowColumn,
    RowTable,
    RowTableModel,
)
from gui.tablemodel import local_time
from gui.widgets import SearchField, button, detail_label
from gui.workers import start_job

REFRESH_MS = 5_000


def tr(text: str) -> str:
    return QCoreApplication.translate("InesJournalDialog", text)


# -- on worker threads ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class JournalData:
    generation: int
    name: str
    rows: list[JournalRow]
    total: int
    failed: int


def load_journal(integration_id: int, status: str | None, search: str,
                 generation: int) -> JournalData:
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        return JournalData(generation, "", [], 0, 0)
    rows = journal(integration, limit=JOURNAL_SIZE, status=status, search=search)
    return JournalData(generation, integration.name, rows, journal_count(integration),
                       journal_count(integration, FAILED))


def retry_rows(integration_id: int, row_ids: list[int] | None) -> int:
    integration = Integration.get_by_id(integration_id)
    return retry_failed(integration, row_ids)


# -- columns -------------------------------------------------------------------------------------------

def status_colour(row: JournalRow) -> QColor | None:
    return {FAILED: ERROR_COLOUR, PENDING: WARNING_COLOUR, DONE: SUCCESS_COLOUR}.get(row.status)


def source_text(row: JournalRow) -> str:
    return {"event": tr("change"), "initial": tr("initial sync"), "push": tr("push")}.get(
        row.source, row.source)


def attempts_text(row: JournalRow) -> str:
    """"2 of 3" while the limit matters (a row waiting or failed); a DONE row only says how many
    tries it took."""
    if row.status == DONE:
        return str(row.attempts) if row.attempts else "—"
    return tr("{0} of {1}").format(row.attempts, MAX_ATTEMPTS)


def journal_columns() -> list[RowColumn]:
    return [
        RowColumn(tr("Date added"), lambda r: local_time(r.date_added), 122),
        RowColumn(tr("Action"), lambda r: r.action, 68),
        # Email and Company as wide as they need; Last error (often empty) gets the rest.
        RowColumn(tr("Email"), lambda r: r.email, 220, fit=(180, 280)),
        RowColumn(tr("Company"), lambda r: r.company, 140, fit=(100, 180)),
        RowColumn(tr("Status"), lambda r: r.status, 72, colour=status_colour),
        RowColumn(tr("Attempts"), attempts_text, 78, right=True),
        RowColumn(tr("Last update"), lambda r: local_time(r.date_last_update), 122),
        RowColumn(tr("Source"), source_text, 80),
        RowColumn(tr("Last error"), lambda r: r.last_error, 120, colour=status_colour),
    ]


# -- the dialog ----------------------------------------------------------------------------------------

class InesJournalDialog(QDialog):
    def __init__(self, integration_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inesJournalDialog")
        self.integration_id = integration_id
        self.model = RowTableModel(journal_columns(), self)
        self._generation = 0
        self._loading = False
        self._again = False
        self._loaded = False
        self.setWindowTitle(self.tr("INES journal"))
        self.resize(1120, 520)

        layout = QVBoxLayout(self)
        self.heading = QLabel(self.tr("INES journal"))
        self.heading.setObjectName("sectionTitle")
        layout.addWidget(self.heading)
        explain = QLabel(self.tr(
            "The latest {0} rows by last update: contacts queued by the full sync (changes, "
            "deletions, the initial sync) and every push. A row is tried at each run; after {1} "
            "failed attempts it becomes FAILED and is skipped until you retry it.").format(
                JOURNAL_SIZE, MAX_ATTEMPTS))
        explain.setObjectName("journalExplain")
        explain.setWordWrap(True)
        layout.addWidget(explain)

        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Status:")))
        self.status_filter = QComboBox()
        self.status_filter.setObjectName("inesStatusFilter")
        self.status_filter.addItem(self.tr("All"), None)
        for status in (PENDING, DONE, FAILED):
            self.status_filter.addItem(status, status)
        self.status_filter.currentIndexChanged.connect(lambda _i: self.reload())
        bar.addWidget(self.status_filter)
        bar.addSpacing(8)
        self.email_filter = SearchField(self.tr("Filter by email or company"))
        self.email_filter.setObjectName("inesEmailFilter")
        self.email_filter.setMinimumWidth(260)
        self.email_filter.searched.connect(lambda _t: self.reload())
        bar.addWidget(self.email_filter)
        bar.addStretch(1)
        self.refresh_button = button(self.tr("Refresh"), "inesRefreshButton", "SP_BrowserReload",
                                     self.tr("Read the journal again"))
        self.retry_button = button(self.tr("Retry"), "inesRetryButton", "SP_MediaPlay",
                                   self.tr("Put the selected FAILED row back in the queue "
                                           "(PENDING, attempts 0)"))
        self.retry_all_button = button(self.tr("Retry all failed"), "inesRetryAllButton",
                                       "SP_MediaSeekForward",
                                       self.tr("Put every FAILED row back in the queue"))
        self.history_button = button(self.tr("History…"), "inesHistoryButton",
                                     "SP_FileDialogContentsView",
                                     self.tr("Everything that happened to this contact"))
        self.refresh_button.clicked.connect(self.reload)
        self.retry_button.clicked.connect(self.retry_selected)
        self.retry_all_button.clicked.connect(self.retry_all)
        self.history_button.clicked.connect(self.show_history)
        for widget in (self.refresh_button, self.retry_button, self.retry_all_button,
                       self.history_button):
            bar.addWidget(widget)
        layout.addLayout(bar)

        self.table = RowTable(self.model, "inesJournalTable")
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.table.doubleClicked.connect(lambda _index: self.show_history())
        layout.addWidget(self.table, 1)
        self.detail = detail_label("inesJournalDetail")
        self.detail.setMinimumHeight(36)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.detail)
        bottom = QHBoxLayout()
        self.count_label = QLabel()
        self.count_label.setObjectName("inesJournalCount")
        self.message_label = QLabel()
        self.message_label.setObjectName("inesJournalMessage")
        bottom.addWidget(self.count_label)
        bottom.addStretch(1)
        bottom.addWidget(self.message_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setObjectName("closeButton")
        buttons.rejected.connect(self.reject)
        bottom.addWidget(buttons)
        layout.addLayout(bottom)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._refresh_if_shown)
        self.timer.start()
        self._update_actions()
        self.reload()

    # -- loading -------------------------------------------------------------------------------

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        self._generation += 1
        start_job(load_journal, self.integration_id, self.status_filter.currentData(),
                  self.email_filter.text().strip(), self._generation,
                  on_done=self._data_in, on_failed=self._load_failed)

    def has_loaded(self) -> bool:
        return self._loaded and not self._loading

    def _data_in(self, data: JournalData) -> None:
        self._loading = False
        if data.generation == self._generation:
            self._loaded = True
            if data.name:
                self.heading.setText(self.tr("INES journal — {0}").format(data.name))
                self.setWindowTitle(self.tr("INES journal — {0}").format(data.name))
            self.table.set_rows_keeping_selection(data.rows)
            self.count_label.setText(self.tr(
                "{0} rows shown (the {1} latest by last update); {2} rows in all, {3} "
                "failed.").format(len(data.rows), JOURNAL_SIZE, data.total, data.failed))
            self._failed_total = data.failed
            self._update_actions()
        if self._again:
            self._again = False
            self.reload()

    def _load_failed(self, message: str, _trace: str) -> None:
        self._loading = False
        self.message_label.setText(self.tr("The journal could not be read: {0}").format(message))

    def _refresh_if_shown(self) -> None:
        if self.isVisible():
            self.reload()

    # -- actions -------------------------------------------------------------------------------

    def selected_row(self) -> JournalRow | None:
        row = self.table.current_row()
        return row if isinstance(row, JournalRow) else None

    def _update_actions(self) -> None:
        row = self.selected_row()
        self.retry_button.setEnabled(row is not None and row.status == FAILED)
        self.retry_all_button.setEnabled(getattr(self, "_failed_total", 0) > 0)
        self.history_button.setEnabled(row is not None and row.contact_id is not None)
        self.detail.setText(self._describe(row) if row is not None else self.tr(
            "Select a row to read its last error in full."))

    def _describe(self, row: JournalRow) -> str:
        text = self.tr("{0} {1} ({2}), {3}, attempts: {4}.").format(
            row.action, row.email or "—", row.company or "—", row.status, attempts_text(row))
        if row.action == "DELETE" and row.ines_contact_ref:
            text += " " + self.tr("INES contact {0}.").format(row.ines_contact_ref)
        if row.last_error:
            text += "\n" + row.last_error
        return text

    def retry_selected(self) -> None:
        row = self.selected_row()
        if row is None or row.status != FAILED:
            return
        self.retry_button.setEnabled(False)
        start_job(retry_rows, self.integration_id, [row.id], on_done=self._retried,
                  on_failed=self._retry_failed)

    def retry_all(self) -> None:
        self.retry_all_button.setEnabled(False)
        start_job(retry_rows, self.integration_id, None, on_done=self._retried,
                  on_failed=self._retry_failed)

    def _retried(self, count: int) -> None:
        self.message_label.setText(
            self.tr("{0} row(s) back in the queue: sent at the next run.").format(count)
            if count else self.tr("No failed row to retry."))
        self.reload()

    def _retry_failed(self, message: str, _trace: str) -> None:
        self.message_label.setText(self.tr("Retry failed: {0}").format(message))
        self._update_actions()

    def show_history(self) -> HistoryDialog | None:
        row = self.selected_row()
        if row is None or row.contact_id is None:
            return None
        dialog = HistoryDialog("contact", row.contact_id, self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog
