"""Campaigns, and the activities of the selected campaign underneath."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from core.models.store import Campaign, CampaignActivity
from gui.dialogs.campaign import ActivityDialog, CampaignDialog
from gui.export import export_view
from gui.pages.table_page import TablePage
from gui.sources import ActivitySource, CampaignSource
from gui.workers import start_job


def _delete(model: type, ids: list[int]) -> int:
    return model.delete().where(model.id.in_(ids)).execute()


class CampaignTable(TablePage):
    def __init__(self, parent: QWidget | None = None) -> None:
        t = lambda text: QCoreApplication.translate("CampaignTable", text)  # noqa: E731
        super().__init__(CampaignSource(), t("Campaigns"), t("Search campaigns"),
                         t("No campaigns yet"),
                         t("A campaign links marketing lists and leads to a newsletter type; "
                           "its activities are the emails (or letters, or calls) it sends."),
                         parent)
        self.setObjectName("campaignTable")
        self.noun = self.tr("Campaigns")
        self.count_words = (self.tr("{0} campaign"), self.tr("{0} campaigns"))
        self.new_button.setText(self.tr("New campaign"))
        self.empty.add_button(self.tr("New campaign"), "emptyNewButton",
                              primary=True).clicked.connect(self.new_record)

    def new_record(self) -> None:
        self._open(None)

    def edit_record(self, record_id: int) -> None:
        self._open(record_id)

    def _open(self, campaign_id: int | None) -> None:
        dialog = CampaignDialog(campaign_id, parent=self.window())
        dialog.saved.connect(lambda cid: self.reload(select_id=cid))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def describe_for_delete(self, ids: list[int]) -> str:
        return self.tr("Delete {0} campaign(s) and their activities? Marketing lists and "
                       "leads stay.").format(len(ids))

    def delete_records(self, ids: list[int]) -> None:
        start_job(_delete, Campaign, ids, on_done=lambda _n: self.reload())


class ActivityTable(TablePage):
    changed = Signal()  # activities were added or deleted: the campaign's counts changed

    def __init__(self, parent: QWidget | None = None) -> None:
        t = lambda text: QCoreApplication.translate("ActivityTable", text)  # noqa: E731
        super().__init__(ActivitySource(None), "", t("Search activities"),
                         t("No activities"),
                         t("Select a campaign above to see its activities."), parent)
        self.setObjectName("activityTable")
        self.noun = self.tr("Activities")
        self.count_words = (self.tr("{0} activity"), self.tr("{0} activities"))
        self.title_label.setText(self.tr("Activities"))
        self.title_label.setObjectName("sectionTitle")
        self.layout().setContentsMargins(0, 8, 0, 0)
        self.new_button.setText(self.tr("New activity"))
        self.new_button.setObjectName("newActivityButton")
        self.edit_button.setObjectName("editActivityButton")
        self.delete_button.setObjectName("deleteActivityButton")
        self.table.setObjectName("activityTableView")
        self.export_button.setObjectName("exportActivitiesButton")
        self.export_button.setToolTip(self.tr("Export this campaign's activities shown, with the "
                                              "current search"))
        self.new_activity = self.empty.add_button(self.tr("New activity"), "emptyNewActivityButton",
                                                  primary=True)
        self.new_activity.clicked.connect(self.new_record)
        self.set_campaign(None, "")

    def set_campaign(self, campaign_id: int | None, name: str) -> None:
        source = self.model.source
        assert isinstance(source, ActivitySource)
        source.campaign_id = campaign_id
        self.new_button.setEnabled(campaign_id is not None)
        self.export_button.setEnabled(campaign_id is not None)
        self.campaign_name = name
        self.new_activity.setVisible(campaign_id is not None)
        self.title_label.setText(self.tr("Activities of “{0}”").format(name) if campaign_id
                                 else self.tr("Activities"))
        self.empty.sentence.setText(
            self.tr("This campaign has no activities yet. An activity is one email, letter or "
                    "call of the campaign, sent to some of its lists.") if campaign_id
            else self.tr("Select a campaign above to see its activities."))
        self.reload()

    @property
    def campaign_id(self) -> int | None:
        source = self.model.source
        assert isinstance(source, ActivitySource)
        return source.campaign_id

    def new_record(self) -> None:
        if self.campaign_id is not None:
            self._open(None)

    def edit_record(self, record_id: int) -> None:
        if self.campaign_id is not None:
            self._open(record_id)

    def _open(self, activity_id: int | None) -> None:
        assert self.campaign_id is not None
        dialog = ActivityDialog(self.campaign_id, activity_id, parent=self.window())
        dialog.saved.connect(lambda aid: self.reload(select_id=aid))
        dialog.saved.connect(lambda _aid: self.changed.emit())
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def export_file_name(self) -> str:
        return self.tr("{0} activities.csv").format(self.campaign_name or self.tr("Campaign"))

    def export_job(self, path: str) -> tuple[Callable[..., int], tuple[Any, ...]]:
        """The activities shown, read from a source of their own: choosing another campaign
        while the file is written changes the table's source, not the export's."""
        return export_view, (ActivitySource(self.campaign_id), self.model.columns(),
                             self.model.search, self.model.current_sort(), path)

    def describe_for_delete(self, ids: list[int]) -> str:
        if len(ids) == 1:
            return self.tr("Delete the selected activity?")
        return self.tr("Delete the {0} selected activities?").format(len(ids))

    def delete_records(self, ids: list[int]) -> None:
        start_job(_delete, CampaignActivity, ids, on_done=self._deleted)

    def _deleted(self, _count: int) -> None:
        self.reload()
        self.changed.emit()


class CampaignsPage(QWidget):
    """Campaigns above, the selected campaign's activities below."""

    message = Signal(str)
    status_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("campaignsPage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.campaigns = CampaignTable()
        self.activities = ActivityTable()
        self.activities.layout().setContentsMargins(16, 8, 16, 8)
        self.splitter.addWidget(self.campaigns)
        self.splitter.addWidget(self.activities)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([400, 400])
        layout.addWidget(self.splitter)
        self.campaigns.table.selectionModel().selectionChanged.connect(self._campaign_selected)
        self.campaigns.model.modelReset.connect(self._campaign_selected)
        self.activities.changed.connect(lambda: self.campaigns.reload(
            select_id=self.activities.campaign_id))
        for page in (self.campaigns, self.activities):
            page.message.connect(self.message)
            page.status_changed.connect(self.status_changed)
        self._focus: TablePage = self.campaigns
        self.activities.table.installEventFilter(self)
        self.campaigns.table.installEventFilter(self)

    def eventFilter(self, watched: Any, event: Any) -> bool:
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.FocusIn:
            self._focus = (self.activities if watched is self.activities.table
                           else self.campaigns)
        return False

    def _campaign_selected(self, *_: Any) -> None:
        ids = self.campaigns.table.selected_ids()
        if len(ids) == 1:
            row = self.campaigns.model.row(self.campaigns.model.row_of_id(ids[0]))
            if ids[0] != self.activities.campaign_id:
                self.activities.set_campaign(ids[0], row["name"])
        elif self.activities.campaign_id is not None:
            self.activities.set_campaign(None, "")

    def current(self) -> TablePage:
        return self._focus

    def activate(self) -> None:
        self.campaigns.activate()

    def mark_stale(self) -> None:
        self.campaigns.mark_stale()

    def status_text(self) -> str:
        return self.campaigns.status_text()
