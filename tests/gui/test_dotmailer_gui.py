"""Dotmailer through the window, against the Dotmailer emulator on loopback.

The issue's test: create the integration in the integration dialog (Check Connection with a good
and a bad password), connect a marketing list through Connect To Dotmailer (no All Contacts, no
Test, no book of another list), Synchronize from the list's Dotmailer menu, read the journal,
then the campaign statistics once a campaign was sent. Smaller tests cover when the button shows,
Connection Settings and Disconnect, data fields (D4), the Data Watchdog note, the contact's
Campaign activity tab and the empty Email Campaigns page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QToolButton,
)

from connectors.base import REGISTRY
from connectors.dotmailer import service
from connectors.dotmailer.connector import DotmailerConnector
from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER, DotmailerEmulator
from connectors.dotmailer.models import (
    EXPORT_REJECTED,
    EXPORT_WATCHDOG,
    REFUSED_STATES,
    AddressBook,
    BookMember,
    DataField,
    DataFieldMapping,
    DotmailerContact,
)
from connectors.dotmailer.sync import Tuning
from core.integrations import create_integration
from core.models.store import CustomField, MarketingList
from core.models.sync import Integration
from gui.dotmailer.activity import CampaignActivityTab
from tests.gui.helpers import child, find_dialog
from tests.helpers.dotmailer import book_emails, emulator, new_list

FIXTURES = (emulator,)  # used by name as test arguments


@pytest.fixture
def dotmailer(memory_keyring: Any) -> Iterator[DotmailerConnector]:
    """The registered Dotmailer connector, without waits between import polls."""
    previous = REGISTRY["dotmailer"]
    fast = DotmailerConnector(Tuning(sleep=lambda _seconds: None))
    REGISTRY["dotmailer"] = fast
    yield fast
    REGISTRY["dotmailer"] = previous


def closed(dialog: Any) -> bool:
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def add_integration(emu: DotmailerEmulator, name: str = "Dotmailer") -> Integration:
    """Manual only, so that no scheduled run starts behind the test's back."""
    return create_integration(REGISTRY["dotmailer"], name,
                              {"username": DEFAULT_USER, "password": DEFAULT_PASSWORD,
                               "api_url": emu.url}, schedule_minutes=None)


def open_list(qtbot: Any, window: Any, mlist: MarketingList) -> Any:
    """The list's page, once its Dotmailer state is read; the Dotmailer actions."""
    window.show_page("lists")
    window.lists.open_list(mlist.id)
    actions = window.extensions["dotmailer"].list_actions
    qtbot.waitUntil(actions.is_loaded, timeout=5000)
    return actions


def menu_action(actions: Any, name: str) -> Any:
    found = [a for a in actions.menu.actions() if a.objectName() == name]
    assert found, f"no menu action {name}"
    return found[0]


def connect_through_form(qtbot: Any, window: Any, actions: Any, book: str) -> Any:
    qtbot.mouseClick(actions.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "dotmailerConnectDialog") is not None)
    dialog = find_dialog(window, "dotmailerConnectDialog")
    qtbot.waitUntil(lambda: not dialog.is_busy() and bool(dialog.book_names()), timeout=10_000)
    books = child(dialog, QComboBox, "field_address_book")
    books.setCurrentIndex(books.findText(book))
    return dialog


# -- the test --------------------------------------------------------------------------------

def test_integration_connect_synchronize_journal_and_statistics(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any,
        memory_keyring: Any) -> None:
    newsletter = emulator.add_book("Newsletter")
    partners = emulator.add_book("Partners")
    emulator.add_book("Press")
    mlist = new_list("Customers", 3)
    other = new_list("Partner contacts", 1, start=10)

    # Create Integration: type Dotmailer; Name, User Name, Password, Default Owner.
    window.show_page("integrations")
    page = window.integrations
    qtbot.waitUntil(page.has_loaded)
    qtbot.mouseClick(child(page, QPushButton, "createIntegrationButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "integrationDialog") is not None)
    dialog = find_dialog(window, "integrationDialog")
    kind = child(dialog, QComboBox, "field_type")
    kind.setCurrentIndex(kind.findData("dotmailer"))
    labels = [w.text() for w in dialog.findChildren(QLabel) if w.isVisible()]
    for wanted in ("Name", "User Name", "Password", "Default Owner"):
        assert any(text.startswith(wanted) for text in labels), wanted
    assert child(dialog, QComboBox, "field_owner").currentText()  # the person creating it
    check = child(dialog, QPushButton, "checkConnectionButton")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_name"), "Dotmailer newsletters")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_username"), DEFAULT_USER)
    assert not check.isVisible()  # only once user name and password are filled
    password = child(dialog, QLineEdit, "field_password")
    qtbot.keyClicks(password, "wrong-pass-9")
    assert check.isVisible()
    child(dialog, QToolButton, "advancedToggle").click()
    child(dialog, QLineEdit, "field_api_url").setText(emulator.url)
    child(dialog, QSpinBox, "field_schedule").setValue(0)  # manual only: no surprise runs

    result = child(dialog, QLabel, "checkResult")
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: result.property("outcome") == "failure", timeout=10_000)
    assert "denied" in result.text()  # the service's own message
    password.setText(DEFAULT_PASSWORD)
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: result.property("outcome") == "success", timeout=10_000)
    assert "Connected to" in result.text()
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=5000)
    integration = Integration.get(Integration.name == "Dotmailer newsletters")
    assert integration.type == "dotmailer" and DEFAULT_PASSWORD in memory_keyring.entries.values()
    # Created and Active: its address books are imported at once (manual only: no sync ran).
    assert [b.name for b in service.connectable_books(integration)] == [
        "Newsletter", "Partners", "Press"]
    assert integration.last_sync_at is None

    # Another list already holds Partners: the form must not offer it.
    service.refresh_books(integration)
    service.connect_list(other, integration, partners)

    # The list's page: Connect to Dotmailer, its form, the export at once.
    actions = open_list(qtbot, window, mlist)
    assert actions.connect_button.isVisible() and not actions.menu_button.isVisible()
    form = connect_through_form(qtbot, window, actions, "Newsletter")
    assert form.windowTitle() == "Connect To Dotmailer"
    assert child(form, QComboBox, "field_integration").currentText() == "Dotmailer newsletters"
    assert form.book_names() == ["Newsletter", "Press"]  # no All Contacts, Test or Partners
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=30_000) as first:
        qtbot.mouseClick(child(form, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    assert first.args[0].status == "succeeded", first.args[0].message
    assert book_emails(emulator, newsletter) == {f"user{i}@example.com" for i in range(3)}
    status = child(actions.panel, QLabel, "dotmailerStatus")
    qtbot.waitUntil(lambda: "3 exported" in status.text(), timeout=5000)
    assert "Newsletter" in status.text() and "0 rejected" in status.text()
    assert actions.menu_button.isVisible() and not actions.connect_button.isVisible()
    assert [a.text() for a in actions.menu.actions()[:3]] == [
        "Connection Settings…", "Disconnect…", "Synchronize"]

    # In Dotmailer: a campaign is sent to the book, two contacts open it, one clicks.
    emulator.advance(300)
    sent = emulator.add_campaign("Spring news", "Sent", [newsletter], subject="Hello spring")
    emulator.add_activity(sent, "user0@example.com", opens=3, clicks=2, page_views=4,
                          first_opened=emulator.now() - timedelta(minutes=5))
    emulator.add_activity(sent, "user1@example.com", opens=1,
                          first_opened=emulator.now() - timedelta(minutes=3))
    emulator.add_activity(sent, "user2@example.com", hard_bounced=True)
    emulator.advance(300)

    # Synchronize from the Dotmailer menu, with the progress shown.
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=30_000) as second:
        menu_action(actions, "dotmailerSynchronize").trigger()
        assert actions.panel.progress.isVisible()
    assert second.args[0].status == "succeeded", second.args[0].message
    qtbot.waitUntil(lambda: not actions.panel.progress.isVisible(), timeout=5000)

    # The journal shows both runs.
    window.show_page("journal")
    journal = window.journal
    qtbot.waitUntil(lambda: journal.has_loaded() and journal.runs_model.rowCount() >= 2,
                    timeout=5000)
    runs = journal.runs_model.rows()
    assert all(r.integration == "Dotmailer newsletters" for r in runs)
    assert [r.status for r in runs[:2]] == ["succeeded", "succeeded"]
    assert {r.trigger for r in runs} == {"manual"}

    # Email Campaigns: the campaign, its statistics and the contacts' activity.
    window.show_page("email_campaigns")
    campaigns = window.extensions["dotmailer"].campaigns_page
    qtbot.waitUntil(lambda: campaigns.has_loaded() and campaigns.campaigns_model.rowCount() > 0,
                    timeout=5000)
    row = campaigns.campaigns_model.row(0)
    assert (row.name, row.subject, row.status, row.integration, row.lists) == (
        "Spring news", "Hello spring", "Sent", "Dotmailer newsletters", "Customers")
    qtbot.waitUntil(campaigns.detail_loaded, timeout=5000)
    stats = campaigns.stats
    assert [stats.value(k) for k in ("sent", "delivered", "opens", "unique_opens", "clicks",
                                      "hard_bounces", "soft_bounces", "unsubscribes")] == [
        "3", "2", "4", "2", "2", "1", "0", "0"]
    assert "100.0 %" in child(campaigns, QLabel, "stat_unique_opens").text()  # 2 of 2 delivered
    assert campaigns.chart.values()["Opens"] == 4 and campaigns.chart.values()["Clicks"] == 2
    activity = {r.email: r for r in campaigns.activity_model.rows()}
    assert set(activity) == {f"user{i}@example.com" for i in range(3)}
    assert (activity["user0@example.com"].opens, activity["user0@example.com"].clicks,
            activity["user0@example.com"].page_views) == (3, 2, 4)
    assert activity["user2@example.com"].hard_bounced
    assert campaigns.activity_table.model().data(
        campaigns.activity_model.index(campaigns.activity_model.row_of_id(
            activity["user2@example.com"].id), 5)) == "Hard"


# -- the button, the form and the menu ---------------------------------------------------------------

def test_connect_button_only_for_lists_with_email_and_an_integration(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    people = new_list("People", 1)
    companies = MarketingList.create(name="Companies", entity="company")
    actions = open_list(qtbot, window, people)
    assert not actions.connect_button.isVisible()  # no Dotmailer integration yet
    add_integration(emulator)
    window.show_page("integrations")
    window.show_page("lists")  # back on the list: the button is there now
    qtbot.waitUntil(actions.connect_button.isVisible, timeout=5000)
    actions = open_list(qtbot, window, companies)
    assert not actions.connect_button.isVisible() and not actions.menu_button.isVisible()
    actions = open_list(qtbot, window, people)
    assert actions.connect_button.isVisible()
    slot = window.lists.list_page.integration_actions
    assert slot.objectName() == "listIntegrationActions"
    assert slot.indexOf(actions.connect_button) >= 0


def test_connection_settings_moves_the_list_and_disconnect_asks_first(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    first = emulator.add_book("First")
    second = emulator.add_book("Second")
    integration = add_integration(emulator)
    mlist = new_list("Customers", 2)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, first)
    actions = open_list(qtbot, window, mlist)
    assert actions.menu_button.isVisible()

    menu_action(actions, "dotmailerConnectionSettings").trigger()
    qtbot.waitUntil(lambda: find_dialog(window, "dotmailerConnectDialog") is not None)
    form = find_dialog(window, "dotmailerConnectDialog")
    qtbot.waitUntil(lambda: not form.is_busy() and bool(form.book_names()), timeout=5000)
    books = child(form, QComboBox, "field_address_book")
    assert books.currentText() == "First"  # its own book stays on offer
    books.setCurrentIndex(books.findText("Second"))
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=30_000):
        qtbot.mouseClick(child(form, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    assert AddressBook.get(AddressBook.mlist == mlist).remote_id == second
    qtbot.waitUntil(lambda: actions.connection() is not None
                    and actions.connection().book_name == "Second", timeout=5000)

    menu_action(actions, "dotmailerDisconnect").trigger()
    box = window.findChild(QMessageBox, "confirmDisconnect")
    assert box is not None and "Second" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert AddressBook.get_or_none(AddressBook.mlist == mlist) is not None
    menu_action(actions, "dotmailerDisconnect").trigger()
    box = window.findChild(QMessageBox, "confirmDisconnect")
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: actions.connect_button.isVisible(), timeout=5000)
    assert not actions.menu_button.isVisible() and not actions.panel.isVisible()
    assert AddressBook.get_or_none(AddressBook.mlist == mlist) is None


def test_watchdog_rejection_is_shown_with_retry(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    book = emulator.add_book("Newsletter")
    integration = add_integration(emulator)
    mlist = new_list("Customers", 2)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    emulator.script_imports([{"status": "RejectedByWatchdog", "polls": 1}])
    actions = open_list(qtbot, window, mlist)
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=30_000):
        menu_action(actions, "dotmailerSynchronize").trigger()
    note = child(actions.panel, QLabel, "dotmailerWatchdogNote")
    qtbot.waitUntil(lambda: note.isVisible(), timeout=5000)
    assert "Data Watchdog" in note.text()
    assert "2 rejected" in child(actions.panel, QLabel, "dotmailerStatus").text()
    retry = child(actions.panel, QPushButton, "retryRejectedButton")
    assert retry.isVisible()
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=30_000):
        qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not note.isVisible(), timeout=5000)
    assert not BookMember.select().where(BookMember.export_status.in_(REFUSED_STATES)).exists()
    assert book_emails(emulator, book) == {"user0@example.com", "user1@example.com"}


def test_the_watchdog_count_is_the_rows_status_not_their_message(
        profile: Any, memory_keyring: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    """A Data Watchdog refusal is a status of its own: a message that merely mentions the
    Watchdog is not counted, a Watchdog row without a message is."""
    from gui.dotmailer import jobs

    book = emulator.add_book("Newsletter")
    integration = add_integration(emulator)
    mlist = new_list("Customers", 3)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    connected = AddressBook.get(AddressBook.remote_id == book)
    for i, (status, error) in enumerate([(EXPORT_WATCHDOG, ""),
                                         (EXPORT_REJECTED, "Watchdog said no: invalid entry"),
                                         (EXPORT_REJECTED, "Dotmailer: invalid entry")]):
        contact = DotmailerContact.create(integration=integration, email=f"user{i}@example.com",
                                          email_key=f"user{i}@example.com")
        BookMember.create(book=connected, contact=contact, export_status=status,
                          last_error=error)
    state = jobs.list_state(mlist.id).connection
    assert state is not None
    assert (state.rejected, state.watchdog_rejected) == (3, 1)
    assert service.retry_rejected(mlist) == 3  # Retry rejected sends both kinds again


# -- data fields -------------------------------------------------------------------------------------

def test_data_fields_defaults_custom_mapping_and_blocked_deletion(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    book = emulator.add_book("Newsletter")
    integration = add_integration(emulator)
    CustomField.create(entity="contact", key="loyalty_tier", label="Loyalty tier", kind="text")
    emulator.add_datafield("REGION")
    emulator.mark_datafield_in_use("REGION", [("Campaign", 15662)])
    mlist = new_list("Customers", 1)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    actions = open_list(qtbot, window, mlist)

    dialog = actions.open_data_fields()
    panel = dialog.panel
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.data is not None
                    and panel.data.ever_read, timeout=10_000)
    defaults = {(r.entity, r.entity_field, r.datafield) for r in panel.mappings_model.rows()}
    for entity in ("contact", "lead"):
        assert {(entity, "first_name", "FIRSTNAME"), (entity, "last_name", "LASTNAME"),
                (entity, "full_name", "FULLNAME")} <= defaults
    assert all(r.exists for r in panel.mappings_model.rows())

    # A custom field to a data field Dotmailer does not have yet: created there first.
    local = child(panel, QComboBox, "mappingLocalField")
    local.setCurrentIndex(local.findData("loyalty_tier"))
    assert "(custom)" in local.currentText()
    child(panel, QComboBox, "mappingDataField").setEditText("TIER")
    assert "not in Dotmailer yet" in child(panel, QLabel, "newDataFieldNote").text()
    qtbot.mouseClick(child(panel, QPushButton, "addMappingButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_busy() and any(
        r.datafield == "TIER" for r in panel.mappings_model.rows()), timeout=10_000)
    assert any(f["name"] == "TIER" for f in emulator.snapshot()["datafields"])
    assert DataFieldMapping.get(DataFieldMapping.datafield == "TIER").entity_field == \
        "loyalty_tier"
    assert DataField.get_or_none(DataField.name == "TIER") is not None

    # Deleting a data field a campaign uses: Dotmailer refuses (409) and says what uses it.
    panel.tabs.setCurrentIndex(1)
    panel.fields_table.select_id(DataField.get(DataField.name == "REGION").id)
    panel.delete_field("REGION")
    deps = child(panel, QLabel, "fieldDependencies")
    qtbot.waitUntil(lambda: not panel.is_busy() and deps.isVisible(), timeout=10_000)
    assert "Campaign 15662" in deps.text()
    assert DataField.get_or_none(DataField.name == "REGION") is not None

    # An unused one goes, with its mapping.
    panel.delete_field("TIER")
    qtbot.waitUntil(lambda: not panel.is_busy() and not any(
        r.datafield == "TIER" for r in panel.mappings_model.rows()), timeout=10_000)
    assert not any(f["name"] == "TIER" for f in emulator.snapshot()["datafields"])
    dialog.reject()


# -- contact activity and the empty page --------------------------------------------------------------

def test_contact_dialog_shows_campaign_activity(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    from core.models.store import Contact
    from core.sync.runner import run_sync

    book = emulator.add_book("Newsletter")
    integration = add_integration(emulator)
    mlist = new_list("Customers", 2)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    assert run_sync(integration, dotmailer).ok
    campaign = emulator.add_campaign("Autumn offer", "Sent", [book])
    emulator.add_activity(campaign, "user1@example.com", opens=2, clicks=1, unsubscribed=True)
    emulator.advance(300)
    assert run_sync(integration, dotmailer).ok

    window.show_page("contacts")
    contact = Contact.get(Contact.email_key == "user1@example.com")
    window.contacts.edit_record(contact.id)
    qtbot.waitUntil(lambda: find_dialog(window, "contactDialog") is not None)
    dialog = find_dialog(window, "contactDialog")
    tabs = child(dialog, QTabWidget, "recordTabs")
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    assert "Campaign activity" in titles
    tab = tabs.widget(titles.index("Campaign activity"))
    qtbot.waitUntil(tab.has_loaded, timeout=5000)
    rows = tab.model.rows()
    assert [(r.campaign, r.opens, r.clicks, r.unsubscribed) for r in rows] == [
        ("Autumn offer", 2, 1, True)]
    dialog.reject()

    other = Contact.get(Contact.email_key == "user0@example.com")
    window.contacts.edit_record(other.id)
    qtbot.waitUntil(lambda: find_dialog(window, "contactDialog") is not None)
    dialog = find_dialog(window, "contactDialog")
    tab = dialog.findChild(CampaignActivityTab, "campaignActivityTab")
    qtbot.waitUntil(tab.has_loaded, timeout=5000)
    assert tab.model.rowCount() == 0 and "No Dotmailer campaign" in tab.empty.sentence.text()
    dialog.reject()


def test_email_campaigns_empty_state(qtbot: Any, window: Any) -> None:
    window.show_page("email_campaigns")
    page = window.extensions["dotmailer"].campaigns_page
    qtbot.waitUntil(page.has_loaded, timeout=5000)
    assert page.stack.currentWidget() is page.empty
    assert page.empty.sentence.text() == (
        "Campaign statistics appear after a campaign is sent to a connected address book and "
        "the next sync runs.")
    titles = [window.navigation.item(i).text() for i in range(window.navigation.count())]
    assert titles.index("Email Campaigns") == titles.index("Campaigns") + 1


def test_integration_dialog_reaches_the_data_fields(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    add_integration(emulator)
    window.show_page("integrations")
    page = window.integrations
    qtbot.waitUntil(lambda: page.has_loaded() and page.model.rowCount() == 1)
    page.table.selectRow(0)
    dialog = page.edit_selected()
    qtbot.mouseClick(child(dialog, QPushButton, "dataFieldsButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "dotmailerDataFieldsDialog") is not None)
    fields = find_dialog(window, "dotmailerDataFieldsDialog")
    qtbot.waitUntil(lambda: fields.panel.data is not None and fields.panel.data.ever_read
                    and not fields.panel.is_busy(), timeout=10_000)
    assert {r.name for r in fields.panel.fields_model.rows()} >= {"FIRSTNAME", "LASTNAME",
                                                                  "FULLNAME"}
    assert fields.windowTitle() == "Dotmailer Data Fields — Dotmailer"
    fields.reject()
    dialog.reject()


def test_paused_export_is_explained_and_resumed(
        qtbot: Any, window: Any, emulator: DotmailerEmulator, dotmailer: Any) -> None:
    book = emulator.add_book("Newsletter")
    integration = add_integration(emulator)
    mlist = new_list("Customers", 1)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    AddressBook.update(export_paused="The Dotmailer account has reached its contact limit."
                       ).where(AddressBook.remote_id == book).execute()
    actions = open_list(qtbot, window, mlist)
    note = child(actions.panel, QLabel, "dotmailerWatchdogNote")
    assert note.isVisible() and "contact limit" in note.text()
    resume = child(actions.panel, QPushButton, "resumeExportButton")
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=30_000):
        qtbot.mouseClick(resume, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not note.isVisible(), timeout=5000)
    assert AddressBook.get(AddressBook.remote_id == book).export_paused == ""
    assert book_emails(emulator, book) == {"user0@example.com"}
