"""Marketing lists through the window: a dynamic list from the filter editor, members, recompute."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from connectors.dotmailer import service
from connectors.dotmailer.connector import DotmailerConnector
from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER, DotmailerEmulator
from connectors.dotmailer.sync import Tuning
from connectors.ines.connector import InesConnector
from connectors.ines.mapping import set_features
from core.integrations import create_integration
from core.lists import add_members, set_member_state
from core.models.store import Contact, ListMember, MarketingList
from core.models.sync import Integration
from core.store import save_record
from tests.gui.helpers import child, find_dialog, insert_contacts
from tests.helpers.dotmailer import emulator, new_list

FIXTURES = (emulator,)  # used by name as test arguments
WINDOW_WIDTH = 1280  # the default size (gui.mainwindow), which a laptop screen must hold


def test_dynamic_list_from_the_filter_editor(qtbot: Any, make_window: Any) -> None:
    insert_contacts(5, city="Berlin")
    insert_contacts(3, city="Paris", prefix="parisian")
    window = make_window()
    window.show_page("lists")
    overview = window.lists.overview
    qtbot.waitUntil(overview.model.has_loaded)
    assert overview.stack.currentWidget() is overview.empty
    qtbot.mouseClick(child(overview, QPushButton, "newButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "marketingListDialog") is not None)
    dialog = find_dialog(window, "marketingListDialog")

    qtbot.keyClicks(child(dialog, QLineEdit, "field_name"), "People in Paris")
    qtbot.mouseClick(child(dialog, QRadioButton, "dynamicRadio"), Qt.MouseButton.LeftButton)
    row = child(dialog, QWidget, "filterRow0")
    field = child(row, QComboBox, "ruleField")
    field.setCurrentIndex(field.findData("city"))
    operator = child(row, QComboBox, "ruleOperator")
    operator.setCurrentIndex(operator.findData("equals"))
    qtbot.keyClicks(child(row, QLineEdit, "ruleValue"), "paris")
    preview = child(dialog, QLabel, "filterPreview")
    qtbot.waitUntil(lambda: preview.text() == "3 records match", timeout=3000)

    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    mlist = MarketingList.get(MarketingList.name == "People in Paris")
    assert mlist.list_type == "dynamic" and "paris" in mlist.filter_json

    # Saving a new filter opens the list and recomputes it.
    page = window.lists.list_page
    assert window.lists.stack.currentWidget() is page
    result = child(page, QLabel, "recomputeResult")
    qtbot.waitUntil(lambda: result.text() == "3 joined, 0 left", timeout=3000)
    members = page.members
    qtbot.waitUntil(lambda: members.model.total() == 3 and not members.model.is_loading())
    assert {members.model.row(r)["email"] for r in range(3)} == {
        f"parisian{n}@example.com" for n in range(3)}
    assert {members.model.row(r)["state"] for r in range(3)} == {"subscribed"}

    # Someone moves to Paris, someone leaves: Recompute reports both.
    moving = Contact.get(Contact.email == "person0@example.com")
    moving.city = "Paris"
    save_record(moving)
    leaving = Contact.get(Contact.email == "parisian2@example.com")
    leaving.city = "Lyon"
    save_record(leaving)
    button = child(page, QPushButton, "recomputeButton")
    qtbot.waitUntil(button.isEnabled)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: result.text() == "1 joined, 1 left", timeout=3000)
    qtbot.waitUntil(lambda: members.model.total() == 4 and not members.model.is_loading())
    states = {members.model.row(r)["email"]: members.model.row(r)["state"] for r in range(4)}
    assert states["parisian2@example.com"] == "removed"
    assert states["person0@example.com"] == "subscribed"

    # The slot where connected services put their actions is there; with no integration, the
    # Dotmailer button in it stays hidden.
    from PySide6.QtWidgets import QHBoxLayout

    slot = page.findChild(QHBoxLayout, "listIntegrationActions")
    assert slot is not None
    connect = page.findChild(QPushButton, "connectDotmailerButton")
    assert connect is not None and not connect.isVisible()
    assert not page.service_row.isVisible()  # nothing in it: it takes no line of the page


def test_static_list_add_and_remove_members(qtbot: Any, make_window: Any) -> None:
    insert_contacts(4)
    mlist = MarketingList.create(name="Hand picked", entity="contact")
    add_members(mlist, [Contact.get(Contact.email == "person0@example.com").id])
    window = make_window()
    window.show_page("lists")
    window.lists.open_list(mlist.id)
    page = window.lists.list_page
    members = page.members
    qtbot.waitUntil(lambda: members.model.total() == 1 and not members.model.is_loading())
    assert not child(page, QPushButton, "recomputeButton").isVisible()

    qtbot.mouseClick(child(page, QPushButton, "addMembersButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "recordPicker") is not None)
    picker = find_dialog(window, "recordPicker")
    qtbot.keyClicks(child(picker, QLineEdit, "pickerSearch"), "person3")
    qtbot.waitUntil(lambda: picker.model.search == "person3" and picker.model.total() == 1
                    and not picker.model.is_loading(), timeout=3000)
    picker.table.selectRow(0)
    qtbot.mouseClick(child(picker, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: members.model.total() == 2 and not members.model.is_loading(),
                    timeout=3000)

    row = members.model.row_of_id(members.model.row_id(0))
    members.table.selectRow(row)
    removed_email = members.model.row(row)["email"]
    members.delete_records(members.table.selected_ids())
    qtbot.waitUntil(lambda: ListMember.select().where(ListMember.state == "removed").count() == 1)
    qtbot.waitUntil(lambda: not members.model.is_loading())
    state = child(page, QComboBox, "memberStateFilter")
    state.setCurrentIndex(state.findText("Removed"))
    qtbot.waitUntil(lambda: members.model.total() == 1 and not members.model.is_loading())
    assert members.model.row(0)["email"] == removed_email
    assert members.model.row(0)["removed_at"] is not None


def test_export_of_searched_members_keeps_the_membership_columns(
        qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    insert_contacts(6)
    insert_contacts(2, prefix="parisian")
    mlist = MarketingList.create(name="Newsletter", entity="contact")
    add_members(mlist, [c.id for c in Contact.select()])
    set_member_state(mlist, [Contact.get(Contact.email == "parisian1@example.com").id],
                     "unsubscribed")
    window = make_window()
    window.show_page("lists")
    window.lists.open_list(mlist.id)
    members = window.lists.list_page.members
    qtbot.waitUntil(lambda: members.model.total() == 8 and not members.model.is_loading())
    members.model.set_search("parisian")
    qtbot.waitUntil(lambda: members.model.total() == 2 and not members.model.is_loading())

    target = tmp_path / "members.csv"
    members.export_to(str(target))
    qtbot.waitUntil(target.exists, timeout=3000)
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["Email"], r["Membership"]) for r in rows} == {
        ("parisian0@example.com", "subscribed"), ("parisian1@example.com", "unsubscribed")}
    assert all(r["Added to list"] for r in rows)


def test_a_connected_list_fits_the_default_window(qtbot: Any, make_window: Any,
                                                 emulator: DotmailerEmulator,
                                                 memory_keyring: Any) -> None:
    """With Dotmailer and INES both offering their actions, the list page still fits 1280 px:
    the services' buttons get a row of their own, and the search gives way."""
    book = emulator.add_book("Newsletter")
    dotmailer = DotmailerConnector(Tuning(sleep=lambda _seconds: None))
    integration = create_integration(dotmailer, "Dotmailer newsletters", {
        "username": DEFAULT_USER, "password": DEFAULT_PASSWORD, "api_url": emulator.url},
        schedule_minutes=None)
    ines = create_integration(InesConnector(), "INES CRM", {
        "account": "ACME", "username": "marketing", "password": "Ines-Pa55word",
        "api_url": "http://127.0.0.1:9/"}, schedule_minutes=None)
    set_features(Integration.get_by_id(ines.id), push_lead=True)  # "Push list to INES" shows
    mlist = new_list("Newsletter subscribers", 3)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)

    from connectors.base import REGISTRY

    previous, REGISTRY["dotmailer"] = REGISTRY["dotmailer"], dotmailer
    try:
        window = make_window()
        window.extensions["ines"].actions.refresh()
        qtbot.waitUntil(lambda: len(window.extensions["ines"].actions.pushable) == 1)
        window.show_page("lists")
        window.lists.open_list(mlist.id)
        page = window.lists.list_page
        qtbot.waitUntil(window.extensions["dotmailer"].list_actions.is_loaded, timeout=5000)
        menu = child(page, QPushButton, "dotmailerMenuButton")
        push = child(page, QPushButton, "pushListToInesButton")
        qtbot.waitUntil(lambda: menu.isVisible() and push.isVisible())
        assert page.service_row.isVisible()
        assert page.integration_actions.indexOf(menu) >= 0
        assert page.integration_actions.indexOf(push) >= 0
        members = page.members
        assert members is not None and members.action_bar.indexOf(menu) < 0  # not in that bar
        assert window.minimumSizeHint().width() <= WINDOW_WIDTH

        # While the export runs, the connection panel shows its progress: still within.
        widths: list[int] = []
        window.sync_bridge.progress.connect(
            lambda _p: widths.append(window.minimumSizeHint().width()))
        with qtbot.waitSignal(window.sync_bridge.finished, timeout=30_000):
            window.sync_bridge.request_run(integration.id)
        assert widths and max(widths) <= WINDOW_WIDTH
        assert window.minimumSizeHint().width() <= WINDOW_WIDTH
        window.resize(WINDOW_WIDTH, 800)
        qtbot.waitUntil(lambda: window.width() == WINDOW_WIDTH)
        assert members.search.width() >= 160
    finally:
        REGISTRY["dotmailer"] = previous
