"""The other dialogs: companies, leads, custom fields, newsletter types, campaigns, activities."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QListWidget, QPushButton, QWidget

from core import changes
from core.models.store import (
    ActivityList,
    Campaign,
    CampaignActivity,
    CampaignLead,
    CampaignList,
    ChecklistEntry,
    Company,
    Contact,
    CustomField,
    Lead,
    MarketingList,
    NewsletterType,
)
from core.store import custom_values, save_record
from tests.gui.helpers import child, find_dialog


def test_company_with_primary_contact_and_a_missing_name(qtbot: Any, window: Any) -> None:
    contact = save_record(Contact(email="boss@example.com", first_name="Big", last_name="Boss"))
    window.show_page("companies")
    window.companies.new_record()
    dialog = find_dialog(window, "companyDialog")
    ok = child(dialog, QPushButton, "okButton")
    ok.click()
    assert dialog.isVisible()
    assert "needs a name" in child(dialog, QLabel, "dialogError").text()

    qtbot.keyClicks(child(dialog, QLineEdit, "field_name"), "Acme GmbH")
    primary = child(dialog, QWidget, "field_primary_contact")
    primary.choose.click()
    qtbot.waitUntil(lambda: find_dialog(window, "recordPicker") is not None)
    picker = find_dialog(window, "recordPicker")
    qtbot.waitUntil(lambda: picker.model.rowCount() == 1)
    picker.table.selectRow(0)
    child(picker, QPushButton, "okButton").click()
    assert primary.text.text() == "Big Boss"
    ok.click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    company = Company.get(Company.name == "Acme GmbH")
    assert company.primary_contact_id == contact.id
    qtbot.waitUntil(lambda: window.companies.model.total() == 1)


def test_lead_dialog_edits_status(qtbot: Any, window: Any) -> None:
    lead = save_record(Lead(email="lead@example.com", first_name="Lea"))
    window.show_page("leads")
    qtbot.waitUntil(lambda: window.leads.model.rowCount() == 1)
    window.leads.table.selectRow(0)
    window.edit_action.trigger()
    dialog = find_dialog(window, "leadDialog")
    assert child(dialog, QLineEdit, "field_first_name").text() == "Lea"
    status = child(dialog, QComboBox, "field_status")
    assert status.currentData() == "open"
    status.setCurrentIndex(status.findData("qualified"))
    child(dialog, QPushButton, "okButton").click()
    assert Lead.get_by_id(lead.id).status == "qualified"


def test_custom_field_appears_in_the_contact_dialog(qtbot: Any, window: Any) -> None:
    manager = window.open_custom_fields()
    child(manager, QPushButton, "newButton").click()
    dialog = find_dialog(window, "customFieldDialog")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_label"), "Customer since")
    assert child(dialog, QLineEdit, "field_key").text() == "customer_since"
    kind = child(dialog, QComboBox, "field_kind")
    kind.setCurrentIndex(kind.findData("choice"))
    child(dialog, QPushButton, "okButton").click()
    assert dialog.isVisible()  # a choice field without choices is refused
    assert "at least one choice" in child(dialog, QLabel, "dialogError").text()
    kind.setCurrentIndex(kind.findData("date"))
    child(dialog, QPushButton, "okButton").click()
    assert not dialog.isVisible()
    field = CustomField.get(CustomField.key == "customer_since")
    assert (field.entity, field.kind, field.label) == ("contact", "date", "Customer since")
    assert manager.table.rowCount() == 1

    child(manager, QPushButton, "newButton").click()
    dialog = find_dialog(window, "customFieldDialog")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_label"), "City")
    child(dialog, QPushButton, "okButton").click()
    assert "standard field" in child(dialog, QLabel, "dialogError").text()
    dialog.reject()
    manager.reject()

    contact = save_record(Contact(email="c@example.com"))
    window.contacts.edit_record(contact.id)
    record_dialog = find_dialog(window, "contactDialog")
    date_field = child(record_dialog, QWidget, "custom_customer_since")
    date_field.set_value("2021-04-05")
    child(record_dialog, QPushButton, "okButton").click()
    assert str(custom_values("contact", contact.id)["customer_since"]) == "2021-04-05"


def test_newsletter_types_and_the_checklist(qtbot: Any, window: Any) -> None:
    manager = window.open_newsletter_types()
    child(manager, QPushButton, "newButton").click()
    dialog = find_dialog(window, "newsletterTypeDialog")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_description"), "Product news")
    child(dialog, QPushButton, "okButton").click()
    nt = NewsletterType.get(NewsletterType.description == "Product news")
    assert nt.code == 0
    child(manager, QPushButton, "newButton").click()
    dialog = find_dialog(window, "newsletterTypeDialog")
    dialog.code.setValue(0)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_description"), "Clash")
    child(dialog, QPushButton, "okButton").click()
    assert "has the id 0" in child(dialog, QLabel, "dialogError").text()
    dialog.reject()
    manager.reject()

    window.contacts.new_record()
    record_dialog = find_dialog(window, "contactDialog")
    qtbot.keyClicks(child(record_dialog, QLineEdit, "field_email"), "n@example.com")
    state = child(record_dialog, QComboBox, "newsletter_0")
    state.setCurrentIndex(state.findData(2))  # declined
    child(record_dialog, QPushButton, "okButton").click()
    entry = ChecklistEntry.get()
    assert (entry.newsletter_type_id, entry.state) == (nt.id, 2)
    assert entry.contact_id == Contact.get(Contact.email == "n@example.com").id


def test_a_checklist_edit_in_the_dialog_is_heard_by_listeners(qtbot: Any, window: Any) -> None:
    """Push-on-change connectors hear a checklist answer changed even when no field did."""
    nt = NewsletterType.create(code=0, description="Product news", position=1)
    contact = save_record(Contact(email="n@example.com"))
    heard: list[changes.RecordChange] = []
    unsubscribe = changes.subscribe(heard.append)
    try:
        window.contacts.edit_record(contact.id)
        record_dialog = find_dialog(window, "contactDialog")
        state = child(record_dialog, QComboBox, "newsletter_0")
        state.setCurrentIndex(state.findData(1))  # accepted
        child(record_dialog, QPushButton, "okButton").click()
    finally:
        unsubscribe()
    assert [(c.record_id, c.changed_fields) for c in heard] == [
        (contact.id, frozenset({"checklist"}))]
    assert ChecklistEntry.get(ChecklistEntry.newsletter_type == nt).state == 1


def test_campaign_with_lists_leads_and_an_activity(qtbot: Any, window: Any) -> None:
    mlist = MarketingList.create(name="Fair", entity="lead")
    lead = save_record(Lead(email="l@example.com", first_name="Lou"))
    window.show_page("campaigns")
    page = window.campaigns
    child(page.campaigns, QPushButton, "newButton").click()
    dialog = find_dialog(window, "campaignDialog")
    child(dialog, QPushButton, "okButton").click()
    assert "needs a name" in child(dialog, QLabel, "dialogError").text()
    qtbot.keyClicks(child(dialog, QLineEdit, "field_name"), "Spring")
    lists = child(dialog, QListWidget, "campaignLists")
    lists.item(0).setCheckState(Qt.CheckState.Checked)
    dialog._add_leads([lead])
    child(dialog, QPushButton, "okButton").click()
    campaign = Campaign.get(Campaign.name == "Spring")
    assert [link.mlist_id for link in CampaignList.select()] == [mlist.id]
    assert [link.lead_id for link in CampaignLead.select()] == [lead.id]

    qtbot.waitUntil(lambda: page.campaigns.table.selected_ids() == [campaign.id])
    qtbot.waitUntil(lambda: page.activities.campaign_id == campaign.id)
    child(page.activities, QPushButton, "newActivityButton").click()
    activity_dialog = find_dialog(window, "activityDialog")
    qtbot.keyClicks(child(activity_dialog, QLineEdit, "field_subject"), "Invitation")
    child(activity_dialog, QListWidget, "activityLists").item(0).setCheckState(
        Qt.CheckState.Checked)
    child(activity_dialog, QPushButton, "okButton").click()
    activity = CampaignActivity.get()
    assert (activity.campaign_id, activity.subject, activity.active) == (
        campaign.id, "Invitation", True)
    assert ActivityList.get().mlist_id == mlist.id
    qtbot.waitUntil(lambda: page.activities.model.total() == 1)


def test_a_campaigns_activities_export_to_csv(qtbot: Any, window: Any, tmp_path: Any) -> None:
    """Every list view exports: the activities under the campaigns too, with their search."""
    import csv

    spring = Campaign.create(name="Spring launch")
    winter = Campaign.create(name="Winter sale")
    for subject in ("Invitation: webinar", "Follow-up: replay"):
        CampaignActivity.create(campaign=spring, subject=subject)
    CampaignActivity.create(campaign=winter, subject="Last chance")
    window.show_page("campaigns")
    page = window.campaigns
    activities = page.activities
    export = child(activities, QPushButton, "exportActivitiesButton")
    assert export.isVisible() and not export.isEnabled()  # no campaign chosen yet
    qtbot.waitUntil(lambda: page.campaigns.model.total() == 2
                    and not page.campaigns.model.is_loading())
    page.campaigns.table.select_id(spring.id)
    qtbot.waitUntil(lambda: activities.campaign_id == spring.id
                    and activities.model.total() == 2 and not activities.model.is_loading())
    assert export.isEnabled()
    assert activities.export_file_name() == "Spring launch activities.csv"

    target = tmp_path / "activities.csv"
    activities.export_to(str(target))
    qtbot.waitUntil(target.exists, timeout=3000)
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["Subject"] for r in rows] == ["Invitation: webinar", "Follow-up: replay"]
    assert rows[0]["Channel"] == "Email"

    activities.model.set_search("replay")
    qtbot.waitUntil(lambda: activities.model.total() == 1 and not activities.model.is_loading())
    searched = tmp_path / "searched.csv"
    activities.export_to(str(searched))
    qtbot.waitUntil(searched.exists, timeout=3000)
    with searched.open(encoding="utf-8-sig", newline="") as handle:
        assert [r["Subject"] for r in csv.DictReader(handle)] == ["Follow-up: replay"]
