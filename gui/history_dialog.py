"""A record's history: everything every integration did with one contact, lead or company.

``HistoryDialog(entity, record_id, parent).exec()`` (or ``open()``) shows
``core.sync.journal.record_history``, newest first, read on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from connectors.base import all_connectors
from core.models.store import MODEL_FOR_KIND
from core.sync.journal import HistoryRow, record_history
from gui.rowmodel import ERROR_COLOUR, WARNING_COLOUR, RowColumn, RowTable, RowTableModel
from gui.sync_bridge import connector_for
from gui.tablemodel import local_time
from gui.workers import start_job

# What the What column says for each kind of history line. The Integration column already names
# the service, so a connector's own kinds ("ines_created") read without it ("Created").
KIND_LABELS = {
    "sent": "Sent", "failed": "Failed", "retrying": "Will retry", "skipped": "Skipped",
    "queued": "Queued", "sync": "Synchronized", "queue": "In the queue",
    "integration": "Set-up", "dotmailer": "Dotmailer", "dotmailer_skip": "Not sent",
    "ines_created": "Created", "ines_updated": "Updated", "ines_unchanged": "Unchanged",
    "ines_ignored": "Not sent", "ines_failed": "Failed", "ines_warning": "Warning",
    "ines_gone": "Gone from INES", "ines_deleted": "No longer synced",
    "ines_refs_reset": "Link reset", "ines_unqueued": "Taken off the queue",
}


def tr(text: str) -> str:
    return QCoreApplication.translate("HistoryDialog", text)


@dataclass(frozen=True)
class RecordHistory:
    title: str  # the record as the admin knows it: its email or name
    rows: list[HistoryRow]


def load_history(entity: str, record_id: int) -> RecordHistory:
    model = MODEL_FOR_KIND.get(entity)
    record = model.get_or_none(model.id == record_id) if model is not None else None
    if record is None:
        title = f"{entity} #{record_id}"
    else:
        name, email = str(record), getattr(record, "email", None) or ""
        title = f"{name} <{email}>" if email and name and name != email else (name or email)
    return RecordHistory(title, record_history(entity, record_id, connector_for=connector_for))


def kind_label(kind: str) -> str:
    """The What column: a known kind's label, else the kind in words without the connector's
    prefix ("dotmailer_book_gone" reads "Book gone")."""
    if kind in KIND_LABELS:
        return tr(KIND_LABELS[kind])
    words = kind.replace("-", "_").split("_")
    if len(words) > 1 and words[0] in {c.type_name for c in all_connectors()}:
        words = words[1:]
    text = " ".join(word for word in words if word)
    return text[:1].upper() + text[1:] if text else ""


def level_colour(row: HistoryRow) -> QColor | None:
    return {"error": ERROR_COLOUR, "warning": WARNING_COLOUR}.get(row.level)


def history_columns() -> list[RowColumn]:
    return [
        RowColumn(tr("When"), lambda r: local_time(r.at), 125),
        RowColumn(tr("Integration"), lambda r: r.integration, 150),
        RowColumn(tr("What"), lambda r: kind_label(r.kind), 130, colour=level_colour),
        RowColumn(tr("Details"), lambda r: r.message, 420, colour=level_colour),
    ]


class HistoryDialog(QDialog):
    def __init__(self, entity: str, record_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.entity = entity
        self.record_id = record_id
        self._loaded = False
        self.setWindowTitle(self.tr("History"))
        self.resize(860, 420)
        layout = QVBoxLayout(self)
        self.heading = QLabel(self.tr("Loading…"))
        self.heading.setObjectName("sectionTitle")
        layout.addWidget(self.heading)
        self.model = RowTableModel(history_columns(), self, row_id=lambda _row: 0)
        self.table = RowTable(self.model, "historyTable")
        self.table.setWordWrap(True)
        self.empty = QLabel(self.tr("Nothing has happened to this record in any integration "
                                    "yet."))
        self.empty.setObjectName("historyEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        layout.addWidget(self.stack, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setObjectName("closeButton")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        start_job(load_history, entity, record_id, on_done=self._loaded_in,
                  on_failed=self._load_failed)

    def has_loaded(self) -> bool:
        return self._loaded

    def _loaded_in(self, history: RecordHistory) -> None:
        self._loaded = True
        self.heading.setText(self.tr("History of {0}").format(history.title))
        self.setWindowTitle(self.tr("History — {0}").format(history.title))
        self.model.set_rows(history.rows)
        self.stack.setCurrentWidget(self.table if history.rows else self.empty)

    def _load_failed(self, message: str, _trace: str) -> None:
        self._loaded = True
        self.heading.setText(self.tr("The history could not be read: {0}").format(message))
