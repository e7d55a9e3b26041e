"""A contact's (or a lead's) campaign activity: the "Campaign activity" tab of the record dialog.

Dotmailer's per-contact activity (``ContactActivity``) is matched to the record by its email
address, read on a worker thread when the tab is built.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from core.models.store import MODEL_FOR_KIND
from gui.dotmailer import jobs
from gui.dotmailer.campaigns_page import activity_columns
from gui.rowmodel import RowTable, RowTableModel
from gui.widgets import EmptyState
from gui.workers import start_job


def record_activities(entity: str, record_id: int) -> jobs.ContactActivities:
    record = MODEL_FOR_KIND[entity].get_by_id(record_id)
    return jobs.contact_activities(record.email or "")


class CampaignActivityTab(QWidget):
    """What this person did with the email campaigns sent to them (opens, clicks, bounces)."""

    def __init__(self, entity: str, record_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("campaignActivityTab")
        self.model = RowTableModel(activity_columns(with_campaign=True), self)
        self._loaded = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.summary = QLabel()
        self.summary.setObjectName("contactActivitySummary")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.summary)
        self.table = RowTable(self.model, "contactActivityTable")
        self.empty = EmptyState(self.tr("No campaign activity"), "")
        self.empty.setObjectName("contactActivityEmpty")
        self.empty.sentence.setFixedWidth(380)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        layout.addWidget(self.stack, 1)
        self.summary.setText(self.tr("Loading…"))
        start_job(record_activities, entity, record_id, on_done=self._loaded_in,
                  on_failed=self._failed)

    def _loaded_in(self, found: jobs.ContactActivities) -> None:
        self._loaded = True
        lines = found.lines
        self.model.set_rows(list(lines))
        if lines:
            opens = sum(line.opens for line in lines)
            clicks = sum(line.clicks for line in lines)
            self.summary.setText(self.tr(
                "<b>{campaigns}</b> campaigns sent to {email}: <b>{opens}</b> opens, "
                "<b>{clicks}</b> clicks.").format(campaigns=len(lines), email=html.escape(found.email),
                                                  opens=opens, clicks=clicks))
            self.stack.setCurrentWidget(self.table)
            return
        self.summary.setText("")
        if not found.email:
            text = self.tr("This record has no email address, so no campaign reaches it.")
        elif found.dotmailer:
            text = self.tr("No Dotmailer campaign sent to {0} has been imported yet. Activity "
                           "appears after a campaign is sent to a connected address book and "
                           "the next sync runs.").format(found.email)
        else:
            text = self.tr("Campaign activity comes from Dotmailer: create a Dotmailer "
                           "integration and connect a marketing list to an address book.")
        self.empty.sentence.setText(text)
        self.stack.setCurrentWidget(self.empty)

    def _failed(self, message: str, _trace: str) -> None:
        self._loaded = True
        self.summary.setText(self.tr("The campaign activity could not be read: {0}").format(
            message))

    def has_loaded(self) -> bool:
        return self._loaded
