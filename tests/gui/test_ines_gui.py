"""INES CRM through the window: the three-tab settings dialog, the journal, "Push to INES".

Every test runs an ``InesEmulator`` on loopback (nothing leaves the machine) and the in-memory
keyring. INES is reached only from worker threads; the tests wait with ``qtbot.waitUntil``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
)

from connectors import cli as connectors_cli
from connectors.ines.client import forget_sessions, make_client
from connectors.ines.connector import InesConnector
from connectors.ines.emulator import InesEmulator
from connectors.ines.fullsync import run_full_sync
from connectors.ines.mapping import ensure_local_fields, get_mapping_json, set_features
from connectors.ines.models import InesSyncLog
from core import cli as core_cli
from core.integrations import create_integration, read_secrets
from core.models.store import Company, Contact, ListMember, MarketingList
from core.models.sync import HistoryEvent, Integration
from core.store import custom_values, save_record
from tests.gui.helpers import child, find_dialog

ACCOUNT, USER, PASSWORD = "ACME", "jdupont", "s3cr&t<pw>"


@pytest.fixture
def emulator() -> Iterator[InesEmulator]:
    forget_sessions()
    emu = InesEmulator(users=[(ACCOUNT, USER, PASSWORD)])
    emu.add_cf_definition("contact", "Secteur", "list", ["Industrie", "Services"])
    emu.start()
    yield emu
    emu.stop()
    forget_sessions()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The command line sets up file logging; put the ``listbridge`` logger back afterwards."""
    import logging

    root = logging.getLogger("listbridge")
    level, propagate = root.level, root.propagate
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_listbridge", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    root.propagate = propagate


def add_ines(emulator: InesEmulator, push: bool = True, full_sync: bool = False,
             name: str = "INES") -> Integration:
    """A published INES integration saved through core, manual only (no surprise runs), with
    the three ListBridge fields and the default mapping."""
    integration = create_integration(InesConnector(), name, {
        "account": ACCOUNT, "username": USER, "password": PASSWORD,
        "api_url": emulator.base_url}, schedule_minutes=None)
    ensure_local_fields()
    set_features(integration, push_lead=push, full_sync=full_sync)
    return Integration.get_by_id(integration.id)


def add_contact(email: str = "jeanne@martin.example", company: str | None = "Martin Frères",
                **fields: Any) -> Contact:
    firm = None
    if company:
        firm = Company.get_or_none(Company.name == company) or save_record(Company(name=company))
    return save_record(Contact(email=email, company=firm, **fields))  # type: ignore[return-value]


def closed(dialog: Any) -> bool:
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def wait_for_dialog(qtbot: Any, window: Any, name: str) -> Any:
    qtbot.waitUntil(lambda: find_dialog(window, name) is not None, timeout=10_000)
    return find_dialog(window, name)


def integrations_page(qtbot: Any, window: Any) -> Any:
    window.show_page("integrations")
    qtbot.waitUntil(window.integrations.has_loaded)
    return window.integrations


def targets_loaded(qtbot: Any, window: Any, count: int = 1) -> None:
    ines_actions(window).refresh()
    qtbot.waitUntil(lambda: len(ines_actions(window).every) == count)


def ines_part(dialog: Any) -> Any:
    """INES's part of the integration dialog (its mapping and features tabs)."""
    from gui.ines.settings_dialog import InesSettingsPart

    return dialog.part(InesSettingsPart)


def ines_actions(window: Any) -> Any:
    return window.extensions["ines"].actions


def connected(dialog: Any) -> bool:
    return ines_part(dialog).mapping_available() and not dialog.is_checking()


def ines_cli(profile: Any, *args: str) -> int:
    return core_cli.main(["--data-dir", str(profile.root), *args],
                         registrars=[connectors_cli.register])


# -- the settings dialog ----------------------------------------------------------------------------

def test_create_through_the_three_tabs(qtbot: Any, window: Any, emulator: InesEmulator,
                                       memory_keyring: Any, profile: Any,
                                       capsys: pytest.CaptureFixture[str],
                                       restore_logging: None) -> None:
    page = integrations_page(qtbot, window)
    qtbot.mouseClick(child(page, QPushButton, "emptyCreateButton"), Qt.MouseButton.LeftButton)
    generic = wait_for_dialog(qtbot, window, "integrationDialog")
    qtbot.keyClicks(child(generic, QLineEdit, "field_name"), "INES sales")
    combo = child(generic, QComboBox, "field_type")
    combo.setCurrentIndex(combo.findData("ines"))  # INES CRM: the same dialog, with its tabs
    dialog = generic
    assert not closed(dialog)
    tabs = child(dialog, QTabWidget, "integrationTabs")
    assert [tabs.tabText(i) for i in range(3)] == ["Enable/Auth", "Contact Field Mapping",
                                                   "Features"]
    assert child(dialog, QLineEdit, "field_name").text() == "INES sales"

    # Enable/Auth: a wrong password, then the right one.
    qtbot.keyClicks(child(dialog, QLineEdit, "field_account"), ACCOUNT)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_username"), USER)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_password"), "wrong")
    child(dialog, QLineEdit, "field_api_url").setText(emulator.base_url)
    result = child(dialog, QLabel, "checkResult")
    qtbot.mouseClick(child(dialog, QPushButton, "checkConnectionButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: result.property("outcome") == "failure", timeout=10_000)
    assert result.property("kind") == "configuration"
    assert "Credentials refused" in result.text()
    tabs.setCurrentIndex(1)
    assert not ines_part(dialog).mapping_available()
    assert child(dialog, QLabel, "mappingUnavailableTitle").text() == \
        "Test the connection to map fields"
    assert "credentials refused" in child(dialog, QLabel, "mappingUnavailableText").text()
    # Nothing would sync yet: the stop-sync field does not exist, and the dialog says so.
    assert "Nothing is synchronised" in child(dialog, QLabel, "syncBlocked").text()

    tabs.setCurrentIndex(0)
    password = child(dialog, QLineEdit, "field_password")
    password.clear()
    qtbot.keyClicks(password, PASSWORD)
    qtbot.mouseClick(child(dialog, QPushButton, "checkConnectionButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: connected(dialog), timeout=10_000)
    assert result.property("outcome") == "success" and "Connected" in result.text()

    # Contact Field Mapping: contact fields, then client fields, then INES custom fields.
    tabs.setCurrentIndex(1)
    for group in ("specialFieldsGroup", "contactFieldsGroup", "clientFieldsGroup",
                  "customFieldsGroup"):
        assert dialog.findChild(QGroupBox, group) is not None
    panel = ines_part(dialog).mapping_panel
    keys = list(panel.combos)
    assert keys.index("contact_City") < keys.index("client_City") < keys.index("contact_1")
    assert panel.combos["contact_City"].value() == "city"  # a suggestion
    assert panel.combos["client_City"].value() == ""  # defaults to the first company
    assert panel.combos["client_Phone"].findData("company.phone") >= 0
    assert "first company" in child(dialog, QLabel, "clientFieldsGroupNote").text()
    assert panel.combos["dontSyncToInes"].value() == ""
    qtbot.mouseClick(child(dialog, QPushButton, "createFieldsButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.combos["dontSyncToInes"].value() == "ines_stop_sync")
    assert panel.combos["contact_InternalContactRef"].value() == "ines_contact_ref"
    assert panel.combos["contact_InternalCompanyRef"].value() == "ines_client_ref"
    assert not child(dialog, QLabel, "syncBlocked").isVisible()
    combo = panel.combos["contact_Function"]
    combo.setCurrentIndex(combo.findData("job_title"))

    # Features: full sync ticks push; the non-overwritable boxes follow the mapping.
    tabs.setCurrentIndex(2)
    push, full = (child(dialog, QCheckBox, "feature_push_lead"),
                  child(dialog, QCheckBox, "feature_full_sync"))
    push.setChecked(False)
    full.setChecked(True)
    assert push.isChecked() and not push.isEnabled()
    assert dialog.findChild(QCheckBox, "noecr_contact_PrimaryMailAddress") is None  # fixed
    child(dialog, QCheckBox, "noecr_contact_Function").setChecked(True)
    assert dialog.findChild(QCheckBox, "noecr_contact_Fax") is None  # not mapped
    child(dialog, QSpinBox, "field_schedule").setValue(0)  # no run during the test
    child(dialog, QSpinBox, "field_leads_per_run").setValue(25)
    npai = child(dialog, QCheckBox, "option_npai_from_bounces")
    assert not npai.isChecked()
    npai.setChecked(True)
    child(dialog, QCheckBox, "field_active").setChecked(True)

    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    integration = Integration.get(Integration.name == "INES sales")
    assert integration.active and integration.type == "ines"
    assert PASSWORD not in integration.settings_json
    settings = integration.settings
    assert settings["mapping"]["contact_Function"] == "job_title"
    assert settings["mapping"]["dontSyncToInes"] == "ines_stop_sync"
    assert settings["full_sync"] and settings["push_lead"]
    assert settings["not_ecrasable_fields"] == ["contact_Function"]
    assert settings["leads_per_run"] == 25 and integration.schedule_minutes is None
    assert settings["npai_from_bounces"] is True

    # Edit opens the INES dialog again, tests the connection at once; copy getMapping JSON.
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    page.table.selectRow(0)
    qtbot.mouseClick(child(page, QPushButton, "editIntegrationButton"),
                     Qt.MouseButton.LeftButton)
    dialog = wait_for_dialog(qtbot, window, "integrationDialog")
    qtbot.waitUntil(lambda: connected(dialog), timeout=10_000)
    assert child(dialog, QCheckBox, "noecr_contact_Function").isChecked()
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(child(dialog, QPushButton, "copyMappingButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(QGuiApplication.clipboard().text()))
    copied = QGuiApplication.clipboard().text()
    capsys.readouterr()
    assert ines_cli(profile, "ines", "get-mapping", "--integration", "INES sales") == 0
    printed = capsys.readouterr().out
    assert copied.strip() == printed.strip()
    document = json.loads(copied)
    assert document["dontSyncFieldKey"] == "ines_stop_sync"
    assert document["mapping"][:2] == [
        {"concept": "contact", "inesFieldKey": "InternalContactRef", "isCustomField": 0,
         "atmtFieldKey": "ines_contact_ref", "isEcrasable": 0},
        {"concept": "contact", "inesFieldKey": "InternalCompanyRef", "isCustomField": 0,
         "atmtFieldKey": "ines_client_ref", "isEcrasable": 0}]
    function = next(e for e in document["mapping"] if e["inesFieldKey"] == "Function")
    assert function == {"concept": "contact", "inesFieldKey": "Function", "isCustomField": 0,
                        "atmtFieldKey": "job_title", "isEcrasable": 0}
    dialog.reject()


def test_connection_failures_say_which_kind(qtbot: Any, window: Any, emulator: InesEmulator,
                                            memory_keyring: Any) -> None:
    integration = add_ines(emulator)
    emulator.inject("*", "authenticationWs", "http_status", times=1, code=503)
    page = integrations_page(qtbot, window)
    page.table.select_id(integration.id)
    dialog = page.edit_selected()
    assert dialog.objectName() == "integrationDialog" and ines_part(dialog) is not None
    result = child(dialog, QLabel, "checkResult")
    qtbot.waitUntil(lambda: result.property("outcome") == "failure", timeout=10_000)
    assert result.property("kind") == "transient" and "Network problem" in result.text()
    assert not ines_part(dialog).mapping_available()

    url = child(dialog, QLineEdit, "field_api_url")
    url.setText("http://ines.example.com/")  # refused before anything is sent
    dialog.check_connection()
    qtbot.waitUntil(lambda: result.property("kind") == "tls", timeout=10_000)
    assert "plain http" in result.text()

    url.setText(emulator.base_url)
    emulator.inject("*", "authenticationWs", "malformed_xml", times=1)
    dialog.check_connection()
    qtbot.waitUntil(lambda: result.property("kind") == "fatal", timeout=10_000)
    assert not ines_part(dialog).mapping_available()

    dialog.check_connection()  # the emulator behaves again
    qtbot.waitUntil(lambda: connected(dialog), timeout=10_000)
    tabs = child(dialog, QTabWidget, "integrationTabs")
    tabs.setCurrentIndex(1)
    assert ines_part(dialog).mapping_panel.combos["contact_1"].value() == ""  # the INES custom field
    dialog.reject()


def test_unmapped_stop_sync_is_shown_as_the_reason_nothing_syncs(
        qtbot: Any, window: Any, emulator: InesEmulator, memory_keyring: Any) -> None:
    integration = add_ines(emulator)
    settings = integration.settings
    settings["mapping"] = {"contact_InternalContactRef": "ines_contact_ref",
                           "contact_InternalCompanyRef": "ines_client_ref"}
    integration.settings = settings
    integration.save()
    page = integrations_page(qtbot, window)
    page.table.select_id(integration.id)
    # The Integrations grid says why (ines.md §3.4): its Status column and the line under it.
    row = page.model.row(page.model.row_of_id(integration.id))
    assert row.problems and "stop-sync indicator" in row.problems[0]
    assert "nothing syncs" in page.model.status_text(row)
    detail = child(page, QLabel, "integrationDetail")
    assert "Nothing is synchronised" in detail.text() and "stop-sync" in detail.text()
    dialog = page.edit_selected()
    banner = child(dialog, QLabel, "syncBlocked")
    assert banner.isVisible() and "the stop-sync field" in banner.text()
    qtbot.waitUntil(lambda: connected(dialog), timeout=10_000)
    combo = ines_part(dialog).mapping_panel.combos["dontSyncToInes"]
    combo.setCurrentIndex(combo.findData("ines_stop_sync"))
    assert not banner.isVisible()
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog), timeout=10_000)
    qtbot.waitUntil(lambda: not page.model.row(page.model.row_of_id(integration.id)).problems,
                    timeout=10_000)
    row = page.model.row(page.model.row_of_id(integration.id))
    assert page.model.status_text(row) == "Active"
    assert "Nothing is synchronised" not in detail.text()


# -- Push to INES ----------------------------------------------------------------------------------

def test_push_from_the_contact_creates_it_in_ines_and_stores_the_refs(
        qtbot: Any, window: Any, emulator: InesEmulator, memory_keyring: Any) -> None:
    add_ines(emulator)
    contact = add_contact(first_name="Jeanne", last_name="Martin")
    targets_loaded(qtbot, window)
    window.show_page("contacts")
    window.contacts.reload()
    qtbot.waitUntil(lambda: window.contacts.model.row_of_id(contact.id) >= 0)
    window.contacts.table.select_id(contact.id)
    menu = ines_actions(window).contacts_menu()
    names = [a.objectName() for a in menu.actions()]
    assert names[-1] == "actionContactHistory" and names[0].startswith("actionPushToInes_")
    menu.deleteLater()

    window.contacts.edit_record(contact.id)
    record = wait_for_dialog(qtbot, window, "contactDialog")
    push = child(record, QPushButton, "pushToInesButton")
    assert push.isVisible()
    qtbot.mouseClick(push, Qt.MouseButton.LeftButton)
    result = wait_for_dialog(qtbot, window, "inesPushResult")
    assert "Created" in child(result, QLabel, "pushHeading").text()
    (client,) = emulator.clients()
    (person,) = emulator.contacts()
    assert client["CompanyName"] == "Martin Frères"
    assert person["PrimaryMailAddress"] == "jeanne@martin.example"
    refs = custom_values("contact", contact.id)
    assert (refs["ines_contact_ref"], refs["ines_client_ref"]) == (person["InternalRef"],
                                                                  client["InternalRef"])
    detail = child(result, QLabel, "pushDetail").text()
    assert f"contact {person['InternalRef']}" in detail and f"client {client['InternalRef']}" in detail
    result.reject()
    record.reject()


def test_a_failed_push_is_shown_and_kept_in_the_history(
        qtbot: Any, window: Any, emulator: InesEmulator, memory_keyring: Any) -> None:
    add_ines(emulator)
    contact = add_contact()
    emulator.inject("WSAutomationSync", "AddClientWithContacts", "fault", times=None,
                    text="Société refusée")
    targets_loaded(qtbot, window)
    window.show_page("contacts")
    window.contacts.reload()
    qtbot.waitUntil(lambda: window.contacts.model.row_of_id(contact.id) >= 0)
    window.contacts.table.select_id(contact.id)
    button = child(window.contacts, QPushButton, "pushToInesButton")
    assert button.isVisible() and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    result = wait_for_dialog(qtbot, window, "inesPushResult")
    assert "Failed" in child(result, QLabel, "pushHeading").text()
    assert "Société refusée" in child(result, QLabel, "pushDetail").text()
    errors = HistoryEvent.select().where(HistoryEvent.record_id == contact.id,
                                         HistoryEvent.level == "error")
    assert any("Société refusée" in e.message for e in errors)
    qtbot.mouseClick(child(result, QPushButton, "pushHistoryButton"), Qt.MouseButton.LeftButton)
    history = wait_for_dialog(qtbot, window, "historyDialog")
    qtbot.waitUntil(history.has_loaded)
    assert history.model.rowCount() >= 1
    history.reject()
    result.reject()


def test_push_a_marketing_list_ends_with_a_summary(qtbot: Any, window: Any,
                                                   emulator: InesEmulator,
                                                   memory_keyring: Any) -> None:
    add_ines(emulator)
    members = [add_contact("a@martin.example"), add_contact("b@martin.example"),
               add_contact("nocompany@example.org", company=None)]
    mlist = MarketingList.create(name="Salon 2024", entity="contact", list_type="static")
    for member in members:
        ListMember.create(mlist=mlist, contact=member, state="subscribed")
    targets_loaded(qtbot, window)
    window.show_page("lists")
    window.lists.open_list(mlist.id)
    button = child(window.lists.list_page, QPushButton, "pushListToInesButton")
    assert button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    result = wait_for_dialog(qtbot, window, "inesPushResult")
    assert "Salon 2024" in child(result, QLabel, "pushHeading").text()
    assert child(result, QLabel, "pushDetail").text().startswith("2 created, 1 ignored")
    assert result.model.row(0).status == "ignored"  # the reasons come first
    assert "no company" in result.model.row(0).message
    assert len(emulator.contacts()) == 2
    result.reject()


def test_a_push_that_cannot_start_is_reported_and_on_each_history_once(
        profile: Any, emulator: InesEmulator, memory_keyring: Any, monkeypatch: Any) -> None:
    from core import secrets
    from gui.ines.push import push_now

    integration = add_ines(emulator)
    contacts = [add_contact("a@martin.example"), add_contact("b@martin.example")]

    def no_keyring(*_args: Any) -> str:
        raise secrets.NoKeyringError("No secure system keyring is available.")

    monkeypatch.setattr(secrets, "read", no_keyring)
    report = push_now(integration.id, [c.id for c in contacts])
    assert "No secure system keyring" in report.error
    assert [(line.status, line.email) for line in report.lines] == [
        ("failed", "a@martin.example"), ("failed", "b@martin.example")]
    for contact in contacts:
        errors = list(HistoryEvent.select().where(HistoryEvent.record_id == contact.id,
                                                  HistoryEvent.level == "error"))
        assert len(errors) == 1 and "not sent" in errors[0].message
    assert emulator.calls() == []


def test_push_is_hidden_without_an_integration_that_accepts_it(
        qtbot: Any, window: Any, emulator: InesEmulator, memory_keyring: Any) -> None:
    add_ines(emulator, push=False)
    targets_loaded(qtbot, window)
    assert ines_actions(window).pushable == []
    assert not child(window.contacts, QPushButton, "pushToInesButton").isVisibleTo(window)


# -- the journal -----------------------------------------------------------------------------------

def test_a_failed_row_is_retried_from_the_journal(qtbot: Any, window: Any,
                                                  emulator: InesEmulator,
                                                  memory_keyring: Any) -> None:
    integration = add_ines(emulator, full_sync=True)
    contact = add_contact()  # full sync: queued by the change
    emulator.inject("WSAutomationSync", "AddClientWithContacts", "fault", times=None,
                    text="INES est en maintenance")
    api = make_client(integration.settings, read_secrets(integration))
    for _attempt in range(3):
        run_full_sync(Integration.get_by_id(integration.id), api, 10)
    api.close()
    (row,) = InesSyncLog.select().where(InesSyncLog.contact_id == contact.id)
    assert (row.status, row.counter) == ("FAILED", 3)
    emulator.clear_injections()

    targets_loaded(qtbot, window)
    window.show_page("journal")
    journal_button = child(window.journal, QPushButton, "inesJournalButton")
    assert journal_button.isVisible()
    qtbot.mouseClick(journal_button, Qt.MouseButton.LeftButton)
    dialog = wait_for_dialog(qtbot, window, "inesJournalDialog")
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.rowCount() == 1)
    shown = dialog.model.row(0)
    assert (shown.status, shown.attempts, shown.email, shown.company) == (
        "FAILED", 3, "jeanne@martin.example", "Martin Frères")
    assert "maintenance" in shown.last_error

    status = child(dialog, QComboBox, "inesStatusFilter")
    status.setCurrentIndex(status.findData("DONE"))
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.rowCount() == 0)
    status.setCurrentIndex(status.findData("FAILED"))
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.rowCount() == 1)
    email = child(dialog, QLineEdit, "inesEmailFilter")
    email.setText("nobody@")
    email.returnPressed.emit()
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.rowCount() == 0)
    email.setText("jeanne")
    email.returnPressed.emit()
    status.setCurrentIndex(0)
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.rowCount() == 1)

    dialog.table.selectRow(0)
    retry = child(dialog, QPushButton, "inesRetryButton")
    assert retry.isEnabled()
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.rowCount() == 1
                    and dialog.model.row(0).status == "PENDING")
    assert dialog.model.row(0).attempts == 0
    assert not child(dialog, QPushButton, "inesRetryAllButton").isEnabled()

    api = make_client(integration.settings, read_secrets(integration))
    run_full_sync(Integration.get_by_id(integration.id), api, 10)  # the next run sends it
    api.close()
    qtbot.mouseClick(child(dialog, QPushButton, "inesRefreshButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.row(0).status == "DONE")
    assert len(emulator.contacts()) == 1
    dialog.reject()


def test_journal_of_an_ines_row_from_the_integrations_page(qtbot: Any, window: Any,
                                                           emulator: InesEmulator,
                                                           memory_keyring: Any) -> None:
    integration = add_ines(emulator)
    page = integrations_page(qtbot, window)
    page.table.select_id(integration.id)
    qtbot.mouseClick(child(page, QPushButton, "integrationJournalButton"),
                     Qt.MouseButton.LeftButton)
    dialog = wait_for_dialog(qtbot, window, "inesJournalDialog")
    qtbot.waitUntil(dialog.has_loaded)
    assert dialog.model.rowCount() == 0
    dialog.reject()
    assert get_mapping_json(integration)  # the default mapping reads without INES


# -- the references in the contact dialog ----------------------------------------------------------

def test_the_references_are_read_only_and_reset_on_request(
        qtbot: Any, window: Any, emulator: InesEmulator, memory_keyring: Any) -> None:
    from connectors.ines.connector import push
    from core.store import set_custom_values

    integration = add_ines(emulator)
    contact = add_contact(first_name="Jeanne")
    push(integration, [contact.id], read_secrets(integration))
    assert custom_values("contact", contact.id)["ines_contact_ref"] == 5001
    targets_loaded(qtbot, window)

    window.contacts.edit_record(contact.id)
    record = wait_for_dialog(qtbot, window, "contactDialog")
    editors = record.ines_reference_editors
    assert set(editors) == {"ines_contact_ref", "ines_client_ref"}
    for key, editor in editors.items():
        assert isinstance(editor, QLineEdit) and editor.isReadOnly()
        assert "set by the INES sync" in editor.toolTip()
        assert key not in record.custom_editors  # the dialog does not save them
    assert editors["ines_contact_ref"].text() == "5001"
    # A sync stores new references while the dialog is open: saving it keeps them.
    set_custom_values("contact", contact.id, {"ines_contact_ref": 5009, "ines_client_ref": 1009})
    child(record, QLineEdit, "field_first_name").setText("Jeanne-Marie")
    qtbot.mouseClick(child(record, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(record))
    values = custom_values("contact", contact.id)
    assert (values["ines_contact_ref"], values["ines_client_ref"]) == (5009, 1009)
    assert Contact.get_by_id(contact.id).first_name == "Jeanne-Marie"

    window.contacts.edit_record(contact.id)
    record = wait_for_dialog(qtbot, window, "contactDialog")
    reset = child(record, QPushButton, "resetInesReferencesButton")
    assert reset.isVisible() and reset.isEnabled()
    assert ines_actions(window).reset_references(record, ask=False) == 1
    values = custom_values("contact", contact.id)
    assert (values["ines_contact_ref"], values["ines_client_ref"]) == (0, 0)
    assert record.ines_reference_editors["ines_contact_ref"].text() == "0"
    assert not reset.isEnabled()
    events = HistoryEvent.select().where(HistoryEvent.record_id == contact.id,
                                         HistoryEvent.kind == "ines_refs_reset")
    assert any("reset by hand" in e.message for e in events)
    record.reject()

    from gui.dialogs.record import RecordDialog

    blank = RecordDialog("contact", None, window)
    assert all(e.isReadOnly() for e in blank.ines_reference_editors.values())
    assert blank.findChild(QPushButton, "resetInesReferencesButton") is None
    blank.deleteLater()


def test_a_contact_saved_in_push_only_mode_is_pushed_by_the_window(
        qtbot: Any, window: Any, emulator: InesEmulator, memory_keyring: Any) -> None:
    from core.integrations import schedule_next
    from core.models.sync import SyncRun

    integration = create_integration(InesConnector(), "INES", {
        "account": ACCOUNT, "username": USER, "password": PASSWORD,
        "api_url": emulator.base_url})  # scheduled every 5 minutes
    set_features(integration, push_lead=True, full_sync=False)
    schedule_next(integration)  # not due: only the change asks for a run
    contact = add_contact(first_name="Jeanne")
    qtbot.waitUntil(lambda: len(emulator.contacts()) == 1, timeout=15_000)
    qtbot.waitUntil(lambda: custom_values("contact", contact.id).get("ines_contact_ref") == 5001,
                    timeout=10_000)
    runs = list(SyncRun.select().where(SyncRun.integration == integration.id))
    assert "record_change" in [r.trigger for r in runs]
    qtbot.waitUntil(lambda: not window.sync_bridge.is_running(integration.id), timeout=10_000)
