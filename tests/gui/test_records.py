"""Contacts through the window: create, validate, search, page lazily, export, delete."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton

from core.models.store import Contact
from core.store import save_record
from tests.gui.helpers import child, find_dialog, insert_contacts


def open_new_contact(qtbot: Any, window: Any) -> Any:
    page = window.contacts
    qtbot.mouseClick(child(page, QPushButton, "newButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "contactDialog") is not None)
    return find_dialog(window, "contactDialog")


def test_create_contact_through_the_dialog(qtbot: Any, window: Any) -> None:
    page = window.contacts
    assert page.stack.currentWidget() is page.empty  # no contacts yet: the empty state
    dialog = open_new_contact(qtbot, window)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_email"), "ada@example.com")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_first_name"), "Ada")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_last_name"), "Lovelace")
    child(dialog, QCheckBox, "field_do_not_contact").setChecked(True)
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: not dialog.isVisible())
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    row = page.model.row(0)
    assert (row["email"], row["first_name"], row["last_name"]) == (
        "ada@example.com", "Ada", "Lovelace")
    assert page.stack.currentWidget() is page.table
    assert page.table.selected_ids() == [row["id"]]  # the new contact is selected
    contact = Contact.get_by_id(row["id"])
    assert contact.do_not_contact and contact.active and contact.owner_id is not None
    assert child(window, QLabel, "countLabel").text() == "1 contact"


def test_invalid_email_shows_the_message_and_keeps_the_dialog(qtbot: Any, window: Any) -> None:
    dialog = open_new_contact(qtbot, window)
    email = child(dialog, QLineEdit, "field_email")
    qtbot.keyClicks(email, "not-an-email")
    qtbot.keyClicks(child(dialog, QLineEdit, "field_first_name"), "Grace")
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)

    error = child(dialog, QLabel, "dialogError")
    assert dialog.isVisible()
    assert error.isVisible() and error.text().startswith("Email:")
    assert email.text() == "not-an-email"  # nothing typed is lost
    assert child(dialog, QLineEdit, "field_first_name").text() == "Grace"
    assert email.property("invalid") is True
    assert Contact.select().count() == 0

    email.clear()
    qtbot.keyClicks(email, "grace@example.com")
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert Contact.get().email == "grace@example.com"


def test_duplicate_email_is_refused_inline(qtbot: Any, window: Any) -> None:
    save_record(Contact(email="taken@example.com"))
    dialog = open_new_contact(qtbot, window)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_email"), "TAKEN@example.com")
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert "already has the email" in child(dialog, QLabel, "dialogError").text()
    dialog.reject()


def test_lazy_model_loads_a_page_then_more_on_scroll(qtbot: Any, make_window: Any) -> None:
    insert_contacts(5000)
    window = make_window()
    page = window.contacts
    model = page.model
    assert model.total() == 5000
    assert model.rowCount() == 500  # only the first page at first
    # The count says how many there are, not how many the table has read so far.
    assert child(window, QLabel, "countLabel").text() == "5,000 contacts"

    page.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() >= 1000, timeout=5000)
    assert model.rowCount() < 5000
    ids = [model.row_id(row) for row in range(model.rowCount())]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)  # newest first, no gap


def test_search_filters_the_view(qtbot: Any, make_window: Any) -> None:
    insert_contacts(1200, city="Berlin")
    save_record(Contact(email="marie.curie@example.org", first_name="Marie", last_name="Curie"))
    window = make_window()
    page = window.contacts
    search = child(page, QLineEdit, "searchField")
    qtbot.keyClicks(search, "curie")
    qtbot.waitUntil(lambda: page.model.search == "curie" and page.model.total() == 1
                    and not page.model.is_loading(), timeout=3000)
    assert page.model.row(0)["email"] == "marie.curie@example.org"
    assert child(window, QLabel, "countLabel").text() == "1 contact matching “curie”"

    search.clear()
    qtbot.keyClicks(search, "last11 first11")  # every word must match somewhere
    qtbot.waitUntil(lambda: page.model.search == "last11 first11" and not page.model.is_loading()
                    and page.model.total() == 111, timeout=3000)  # 11, 110-119, 1100-1199

    search.clear()
    qtbot.waitUntil(lambda: page.model.total() == 1201, timeout=3000)


def test_keyboard_shortcuts(qtbot: Any, window: Any) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    table = window.contacts.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert child(window.contacts, QLineEdit, "searchField").hasFocus()
    qtbot.keyClick(table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: find_dialog(window, "contactDialog") is not None)
    find_dialog(window, "contactDialog").reject()


def test_export_writes_what_the_view_shows(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    insert_contacts(30)
    save_record(Contact(email="zoe@example.net", first_name="Zoé", last_name="Martin"))
    window = make_window()
    page = window.contacts
    page.model.set_search("martin")
    qtbot.waitUntil(lambda: page.model.total() == 1 and not page.model.is_loading())
    target = tmp_path / "out.csv"
    page.export_to(str(target))
    qtbot.waitUntil(target.exists, timeout=3000)
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    assert {"Email", "First name", "Last name", "City"} <= set(header)
    assert len(rows) == 2  # the search's one match, not the 31 contacts
    found = dict(zip(header, rows[1], strict=True))
    assert (found["Email"], found["First name"], found["Last name"]) == (
        "zoe@example.net", "Zoé", "Martin")


def test_delete_asks_then_deletes(qtbot: Any, make_window: Any) -> None:
    from PySide6.QtWidgets import QMessageBox

    insert_contacts(3)
    window = make_window()
    page = window.contacts
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    page.table.setFocus()
    page.table.selectRow(0)
    doomed = page.table.selected_ids()
    qtbot.keyClick(page.table, Qt.Key.Key_Delete)  # the Del shortcut
    box = page.findChild(QMessageBox, "confirmDelete")
    assert box is not None and box.isVisible()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: page.model.total() == 2 and not page.model.is_loading())
    assert not Contact.select().where(Contact.id.in_(doomed)).exists()


def test_sorting_by_a_column_pages_in_that_order(qtbot: Any, make_window: Any) -> None:
    insert_contacts(1200)
    window = make_window()
    page = window.contacts
    model = page.model
    column = [c.key for c in model.columns()].index("last_name")
    page.table.horizontalHeader().sectionClicked.emit(column)  # a click on "Last name"
    qtbot.waitUntil(lambda: model.current_sort() == (column, False) and not model.is_loading())
    page.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() >= 1000 and not model.is_loading(), timeout=5000)
    names = [model.row(r)["last_name"] for r in range(model.rowCount())]
    assert names == sorted(names) and len(set(names)) == len(names)
    page.table.horizontalHeader().sectionClicked.emit(column)  # again: descending
    qtbot.waitUntil(lambda: model.current_sort() == (column, True) and not model.is_loading())
    assert model.row(0)["last_name"] == "Last999"
