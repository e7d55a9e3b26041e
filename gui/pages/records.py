"""The Contacts, Leads and Companies pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtWidgets import QWidget

from core.exporter import export_csv
from core.models.store import MODEL_FOR_KIND
from core.store import delete_record
from gui.dialogs.record import RecordDialog
from gui.pages.table_page import TablePage
from gui.sources import SOURCES
from gui.widgets import button
from gui.workers import start_job


def _delete_all(entity: str, ids: list[int]) -> int:
    """Delete records one by one through the store, so that every listener hears of each."""
    model = MODEL_FOR_KIND[entity]
    deleted = 0
    for record in model.select().where(model.id.in_(ids)):
        delete_record(record)
        deleted += 1
    return deleted


class RecordsPage(TablePage):
    """Contacts, leads or companies: the lazy table, the record dialog, import and export."""

    import_requested = Signal(str)  # the entity

    def __init__(self, entity: str, parent: QWidget | None = None) -> None:
        t = self._translate
        texts = {
            "contact": (t("Contacts"), t("Search email, name or company"),
                        t("No contacts yet"),
                        t("Contacts are the people you send newsletters to. Create them one "
                          "by one or import a CSV file exported from another tool.")),
            "lead": (t("Leads"), t("Search email, name or company"),
                     t("No leads yet"),
                     t("Leads are people who showed interest but are not customers yet. "
                       "Create them here or import them from a CSV file.")),
            "company": (t("Companies"), t("Search name, email or city"),
                        t("No companies yet"),
                        t("Companies group your contacts. Create them here or import them "
                          "from a CSV file.")),
        }[entity]
        super().__init__(SOURCES[entity](), texts[0], texts[1], texts[2], texts[3], parent)
        self.entity = entity
        self.noun = texts[0]
        self.count_words = {
            "contact": (self.tr("{0} contact"), self.tr("{0} contacts")),
            "lead": (self.tr("{0} lead"), self.tr("{0} leads")),
            "company": (self.tr("{0} company"), self.tr("{0} companies")),
        }[entity]
        self.setObjectName({"contact": "contactsPage", "lead": "leadsPage",
                            "company": "companiesPage"}[entity])
        new_text = {"contact": self.tr("New contact"), "lead": self.tr("New lead"),
                    "company": self.tr("New company")}[entity]
        self.new_button.setText(new_text)
        self.import_button = button(self.tr("Import CSV…"), "importButton", "SP_DialogOpenButton",
                                    self.tr("Import records from a CSV file"))
        self.extra_actions.addWidget(self.import_button)
        self.import_button.clicked.connect(self.import_csv)
        self.empty.add_button(new_text, "emptyNewButton", primary=True).clicked.connect(
            self.new_record)
        self.empty.add_button(self.tr("Import CSV…"), "emptyImportButton").clicked.connect(
            self.import_csv)

    @staticmethod
    def _translate(text: str) -> str:
        return QCoreApplication.translate("RecordsPage", text)

    def import_csv(self) -> None:
        self.import_requested.emit(self.entity)

    def new_record(self) -> None:
        self._open_dialog(None)

    def edit_record(self, record_id: int) -> None:
        self._open_dialog(record_id)

    def _open_dialog(self, record_id: int | None) -> RecordDialog:
        dialog = RecordDialog(self.entity, record_id, parent=self.window())
        dialog.saved.connect(self._saved)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _saved(self, record_id: int) -> None:
        self.reload(select_id=record_id)
        self.message.emit(self.tr("Saved."))

    def export_job(self, path: str) -> tuple[Callable[..., int], tuple[Any, ...]]:
        """Every field of the records shown (search and order kept), in the form an import
        reads back: ``core.exporter``."""
        query = self.model.source.ordered(self.model.search, self.model.current_sort())
        return export_csv, (path, self.entity, query)

    def describe_for_delete(self, ids: list[int]) -> str:
        if len(ids) == 1:
            return self.tr("Delete the selected record? It is also removed from every "
                           "marketing list.")
        return self.tr("Delete the {0} selected records? They are also removed from every "
                       "marketing list.").format(len(ids))

    def delete_records(self, ids: list[int]) -> None:
        self.delete_button.setEnabled(False)
        start_job(_delete_all, self.entity, ids, on_done=self._deleted,
                  on_failed=lambda message, _trace: self.message.emit(message))

    def _deleted(self, count: int) -> None:
        self.reload()
        self.message.emit(self.tr("Deleted {0}.").format(count))
