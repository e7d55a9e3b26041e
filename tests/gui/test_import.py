"""The CSV import dialog, start to finish, on a small file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton, QTableWidget

from core.models.store import Contact, ListMember, MarketingList
from tests.gui.helpers import child, find_dialog

CSV = (
    "Email;First name;Last name;City\n"
    "ada@example.com;Ada;Lovelace;London\n"
    "not-an-email;Bad;Row;Nowhere\n"
    "grace@example.com;Grace;Hopper;Arlington\n"
)


def test_import_through_the_dialog(qtbot: Any, window: Any, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(CSV, encoding="utf-8")
    page = window.contacts
    qtbot.mouseClick(child(page, QPushButton, "importButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "importDialog") is not None)
    dialog = find_dialog(window, "importDialog")

    next_button = child(dialog, QPushButton, "importNextButton")
    assert not next_button.isEnabled()
    qtbot.keyClicks(child(dialog, QLineEdit, "importFilePath"), str(source))
    qtbot.waitUntil(next_button.isEnabled, timeout=3000)
    detected = child(dialog, QLabel, "importDetected").text()
    assert "“;” (semicolon)" in detected and "4 columns" in detected
    assert child(dialog, QTableWidget, "importPreview").rowCount() == 3
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)

    assert dialog.pages.currentWidget().objectName() == "importMappingPage"
    assert child(dialog, QComboBox, "mapping_0").currentData() == "email"
    assert child(dialog, QComboBox, "mapping_1").currentData() == "first_name"
    target = child(dialog, QComboBox, "importTargetList")
    target.setCurrentIndex(target.count() - 1)  # a new static list
    qtbot.keyClicks(child(dialog, QLineEdit, "importNewListName"), "Imported people")
    qtbot.mouseClick(next_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: dialog.pages.currentWidget().objectName() == "importResultPage",
                    timeout=10_000)
    assert child(dialog, QLabel, "importCreated").text() == "Created: 2"
    assert child(dialog, QLabel, "importUpdated").text() == "Updated: 0"
    assert child(dialog, QLabel, "importRejected").text() == "Rejected: 1"
    rejected = child(dialog, QTableWidget, "importRejectedTable")
    assert rejected.rowCount() == 1
    assert rejected.item(0, 0).text() == "3"  # the line in the file, header included
    assert rejected.item(0, 2).text()  # and why
    qtbot.mouseClick(child(dialog, QPushButton, "importCloseButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())

    qtbot.waitUntil(lambda: page.model.total() == 2 and not page.model.is_loading(), timeout=3000)
    assert {c.email for c in Contact.select()} == {"ada@example.com", "grace@example.com"}
    mlist = MarketingList.get(MarketingList.name == "Imported people")
    assert ListMember.select().where(ListMember.mlist == mlist).count() == 2


def test_import_refuses_a_mapping_without_email(qtbot: Any, window: Any, tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(CSV, encoding="utf-8")
    dialog = window.open_import("contact")
    next_button = child(dialog, QPushButton, "importNextButton")
    child(dialog, QLineEdit, "importFilePath").setText(str(source))
    qtbot.waitUntil(next_button.isEnabled, timeout=3000)
    next_button.click()
    child(dialog, QComboBox, "mapping_0").setCurrentIndex(0)  # "Do not import"
    next_button.click()
    assert dialog.pages.currentWidget().objectName() == "importMappingPage"
    assert "Email" in child(dialog, QLabel, "dialogError").text()
    dialog.reject()
    assert not dialog.isVisible()
