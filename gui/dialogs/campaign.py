"""Creating and editing campaigns and their activities."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.db import database_proxy
from core.models.store import (
    ActivityList,
    Campaign,
    CampaignActivity,
    CampaignLead,
    CampaignList,
    Lead,
    MarketingList,
)
from core.store import default_owner
from gui.dialogs.marketing_list import newsletter_combo
from gui.dialogs.picker import RecordPicker
from gui.sources import channel_labels, entity_labels
from gui.widgets import (
    DateField,
    ErrorLabel,
    combo_select_data,
    mark_invalid,
    save_cancel_buttons,
)


def lists_widget(object_name: str, checked: set[int]) -> QListWidget:
    """Every marketing list, checkable; the checked ones are linked."""
    widget = QListWidget()
    widget.setObjectName(object_name)
    kinds = entity_labels()
    for mlist in MarketingList.select().order_by(MarketingList.name):
        item = QListWidgetItem(f"{mlist.name}  ({kinds.get(mlist.entity, mlist.entity)})")
        item.setData(Qt.ItemDataRole.UserRole, mlist.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if mlist.id in checked
                            else Qt.CheckState.Unchecked)
        widget.addItem(item)
    return widget


def checked_ids(widget: QListWidget) -> set[int]:
    return {int(widget.item(row).data(Qt.ItemDataRole.UserRole)) for row in range(widget.count())
            if widget.item(row).checkState() == Qt.CheckState.Checked}


class CampaignDialog(QDialog):
    saved = Signal(int)

    def __init__(self, campaign_id: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("campaignDialog")
        self.campaign_id = campaign_id
        campaign = Campaign.get_by_id(campaign_id) if campaign_id else None
        self.setWindowTitle(self.tr("Edit campaign") if campaign else self.tr("New campaign"))
        layout = QVBoxLayout(self)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        tabs = QTabWidget()
        layout.addWidget(tabs, 1)

        general = QWidget()
        form = QFormLayout(general)
        self.name = QLineEdit()
        self.name.setObjectName("field_name")
        self.name.textEdited.connect(lambda _t: mark_invalid(self.name, False))
        form.addRow(self.tr("Name:"), self.name)
        self.description = QPlainTextEdit()
        self.description.setObjectName("field_description")
        self.description.setFixedHeight(70)
        form.addRow(self.tr("Description:"), self.description)
        self.active = QCheckBox(self.tr("Active"))
        self.active.setObjectName("field_active")
        form.addRow("", self.active)
        dates = QHBoxLayout()
        self.start = DateField()
        self.start.setObjectName("field_start_date")
        self.end = DateField()
        self.end.setObjectName("field_end_date")
        dates.addWidget(self.start)
        dates.addWidget(QLabel(self.tr("to")))
        dates.addWidget(self.end)
        dates.addStretch(1)
        form.addRow(self.tr("Runs from:"), dates)
        self.newsletter = newsletter_combo("field_newsletter_type")
        form.addRow(self.tr("Newsletter type:"), self.newsletter)
        tabs.addTab(general, self.tr("General"))

        linked = {row.mlist_id for row in CampaignList.select().where(
            CampaignList.campaign == campaign_id)} if campaign_id else set()
        self.lists = lists_widget("campaignLists", linked)
        tabs.addTab(self.lists, self.tr("Marketing lists"))

        leads_page = QWidget()
        leads_layout = QVBoxLayout(leads_page)
        self.leads = QListWidget()
        self.leads.setObjectName("campaignLeads")
        self.leads.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        leads_layout.addWidget(self.leads, 1)
        lead_buttons = QHBoxLayout()
        add = QPushButton(self.tr("Add leads…"))
        add.setObjectName("addLeadsButton")
        remove = QPushButton(self.tr("Remove"))
        remove.setObjectName("removeLeadsButton")
        lead_buttons.addWidget(add)
        lead_buttons.addWidget(remove)
        lead_buttons.addStretch(1)
        leads_layout.addLayout(lead_buttons)
        add.clicked.connect(self._pick_leads)
        remove.clicked.connect(self._remove_leads)
        tabs.addTab(leads_page, self.tr("Leads"))
        if campaign_id:
            query = (Lead.select().join(CampaignLead, on=(CampaignLead.lead == Lead.id))
                     .where(CampaignLead.campaign == campaign_id).order_by(Lead.last_name))
            self._add_leads(list(query))

        layout.addWidget(save_cancel_buttons(self))
        if campaign is not None:
            self.name.setText(campaign.name)
            self.description.setPlainText(campaign.description)
            self.active.setChecked(campaign.active)
            self.start.set_value(campaign.start_date)
            self.end.set_value(campaign.end_date)
            combo_select_data(self.newsletter, campaign.newsletter_type_id)
        else:
            self.active.setChecked(True)
        self.resize(560, 460)

    def _add_leads(self, leads: list[Lead]) -> None:
        present = {self.leads.item(r).data(Qt.ItemDataRole.UserRole)
                   for r in range(self.leads.count())}
        for lead in leads:
            if lead.id in present:
                continue
            label = f"{lead.full_name} <{lead.email}>" if lead.email else lead.full_name
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, lead.id)
            self.leads.addItem(item)

    def _pick_leads(self) -> None:
        picker = RecordPicker("lead", self.tr("Add leads to the campaign"), parent=self)
        picker.picked.connect(lambda ids: self._add_leads(
            list(Lead.select().where(Lead.id.in_(ids)))))
        picker.finished.connect(picker.deleteLater)
        picker.open()

    def _remove_leads(self) -> None:
        for item in self.leads.selectedItems():
            self.leads.takeItem(self.leads.row(item))

    def accept(self) -> None:
        name = self.name.text().strip()
        if not name:
            mark_invalid(self.name, True)
            self.error.show_error(self.tr("A campaign needs a name."))
            return
        start, end = self.start.value(), self.end.value()
        if start and end and end < start:
            self.error.show_error(self.tr("The campaign ends before it starts."))
            return
        with database_proxy.atomic():
            campaign = (Campaign.get_by_id(self.campaign_id) if self.campaign_id
                        else Campaign(owner=default_owner()))
            campaign.name = name
            campaign.description = self.description.toPlainText().strip()
            campaign.active = self.active.isChecked()
            campaign.start_date, campaign.end_date = start, end
            campaign.newsletter_type = self.newsletter.currentData()
            campaign.save()
            CampaignList.delete().where(CampaignList.campaign == campaign).execute()
            for list_id in sorted(checked_ids(self.lists)):
                CampaignList.create(campaign=campaign, mlist=list_id)
            CampaignLead.delete().where(CampaignLead.campaign == campaign).execute()
            lead_ids = {int(self.leads.item(r).data(Qt.ItemDataRole.UserRole))
                        for r in range(self.leads.count())}
            for lead_id in sorted(lead_ids):
                CampaignLead.create(campaign=campaign, lead=lead_id)
        self.campaign_id = campaign.id
        self.saved.emit(campaign.id)
        super().accept()


class ActivityDialog(QDialog):
    saved = Signal(int)

    def __init__(self, campaign_id: int, activity_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activityDialog")
        self.campaign_id, self.activity_id = campaign_id, activity_id
        activity = CampaignActivity.get_by_id(activity_id) if activity_id else None
        campaign = Campaign.get_by_id(campaign_id)
        self.setWindowTitle(self.tr("Edit activity of {0}").format(campaign.name) if activity
                            else self.tr("New activity for {0}").format(campaign.name))
        layout = QVBoxLayout(self)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        form = QFormLayout()
        self.subject = QLineEdit()
        self.subject.setObjectName("field_subject")
        self.subject.textEdited.connect(lambda _t: mark_invalid(self.subject, False))
        form.addRow(self.tr("Subject:"), self.subject)
        self.description = QPlainTextEdit()
        self.description.setObjectName("field_description")
        self.description.setFixedHeight(70)
        form.addRow(self.tr("Description:"), self.description)
        self.active = QCheckBox(self.tr("Active"))
        self.active.setObjectName("field_active")
        form.addRow("", self.active)
        self.channel = QComboBox()
        self.channel.setObjectName("field_channel")
        for value, label in channel_labels().items():
            self.channel.addItem(label, value)
        form.addRow(self.tr("Channel:"), self.channel)
        self.newsletter = newsletter_combo("field_newsletter_type")
        form.addRow(self.tr("Newsletter type:"), self.newsletter)
        linked = {row.mlist_id for row in ActivityList.select().where(
            ActivityList.activity == activity_id)} if activity_id else set()
        self.lists = lists_widget("activityLists", linked)
        self.lists.setMinimumHeight(140)
        form.addRow(self.tr("Marketing lists:"), self.lists)
        layout.addLayout(form, 1)
        layout.addWidget(save_cancel_buttons(self))
        if activity is not None:
            self.subject.setText(activity.subject)
            self.description.setPlainText(activity.description)
            self.active.setChecked(activity.active)
            combo_select_data(self.channel, activity.channel)
            combo_select_data(self.newsletter, activity.newsletter_type_id)
        else:
            self.active.setChecked(True)
            combo_select_data(self.newsletter, campaign.newsletter_type_id)
        self.resize(540, 480)

    def accept(self) -> None:
        subject = self.subject.text().strip()
        if not subject:
            mark_invalid(self.subject, True)
            self.error.show_error(self.tr("An activity needs a subject."))
            return
        with database_proxy.atomic():
            activity = (CampaignActivity.get_by_id(self.activity_id) if self.activity_id
                        else CampaignActivity(campaign=self.campaign_id, owner=default_owner()))
            activity.subject = subject
            activity.description = self.description.toPlainText().strip()
            activity.active = self.active.isChecked()
            activity.channel = self.channel.currentData()
            activity.newsletter_type = self.newsletter.currentData()
            activity.save()
            ActivityList.delete().where(ActivityList.activity == activity).execute()
            for list_id in sorted(checked_ids(self.lists)):
                ActivityList.create(activity=activity, mlist=list_id)
        self.activity_id = activity.id
        self.saved.emit(activity.id)
        super().accept()
