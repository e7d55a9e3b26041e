"""Integrations through the window: the generated form, Check Connection, the grid, a sync, delete.

The fake connector (``tests.helpers.fake_service``) talks to a loopback fake service; nothing
leaves the machine, and the keyring is the in-memory one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt, QThread
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
)

from connectors.base import REGISTRY, register, unregister
from core.integrations import create_integration
from core.models.store import Contact
from core.models.sync import Integration
from core.store import save_record
from tests.gui.helpers import child, find_dialog
from tests.helpers.fake_service import GOOD_PASSWORD, GOOD_USER, FakeConnector, FakeService


@pytest.fixture
def fake(memory_keyring: Any) -> Iterator[FakeService]:
    """The fake service running, and its connector registered as the type ``fake``."""
    service = FakeService().start()
    register(FakeConnector())
    yield service
    unregister("fake")
    service.stop()


def integrations_page(qtbot: Any, window: Any) -> Any:
    window.show_page("integrations")
    page = window.integrations
    qtbot.waitUntil(page.has_loaded)
    return page


def open_create_dialog(qtbot: Any, window: Any, page: Any) -> Any:
    qtbot.mouseClick(child(page, QPushButton, "createIntegrationButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "integrationDialog") is not None)
    return find_dialog(window, "integrationDialog")


def closed(dialog: Any) -> bool:
    """The dialog was closed (and maybe already deleted: it deletes itself once closed)."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def choose_fake(dialog: Any) -> None:
    combo = child(dialog, QComboBox, "field_type")
    combo.setCurrentIndex(combo.findData("fake"))


def add_integration(service: FakeService, name: str = "Fake newsletters",
                    schedule: int | None = None) -> Integration:
    """An integration saved through core, manual only unless ``schedule`` (no surprise runs)."""
    return create_integration(REGISTRY["fake"], name,
                              {"username": GOOD_USER, "password": GOOD_PASSWORD,
                               "api_url": service.base_url},
                              schedule_minutes=schedule)


def add_contacts(count: int) -> list[str]:
    return [save_record(Contact(email=f"person{n}@example.com", first_name="Person",
                                last_name=str(n))).email for n in range(count)]


def test_create_integration_through_the_dialog(qtbot: Any, window: Any, fake: FakeService,
                                               memory_keyring: Any) -> None:
    page = integrations_page(qtbot, window)
    assert page.stack.currentWidget() is page.empty  # "No integrations yet"
    qtbot.mouseClick(child(page, QPushButton, "emptyCreateButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "integrationDialog") is not None)
    dialog = find_dialog(window, "integrationDialog")
    assert dialog.findChild(QLineEdit, "field_username") is None  # the type comes first

    choose_fake(dialog)  # the form recalculates itself to the connector's fields
    username = child(dialog, QLineEdit, "field_username")
    password = child(dialog, QLineEdit, "field_password")
    api_url = child(dialog, QLineEdit, "field_api_url")
    assert password.echoMode() == QLineEdit.EchoMode.Password
    assert not api_url.isVisible()  # under Advanced, folded
    assert child(dialog, QSpinBox, "field_schedule").value() == 5  # the connector's default
    assert "keyring" in child(dialog, QLabel, "keyringNote").text()
    check = child(dialog, QPushButton, "checkConnectionButton")
    assert not check.isVisible()

    qtbot.keyClicks(child(dialog, QLineEdit, "field_name"), "Fake newsletters")
    qtbot.keyClicks(username, GOOD_USER)
    assert not check.isVisible()  # the password is still missing
    qtbot.keyClicks(password, GOOD_PASSWORD)
    assert check.isVisible()
    child(dialog, QToolButton, "advancedToggle").click()
    assert api_url.isVisible()
    api_url.setText(fake.base_url)

    fake.delay = 0.4  # a slow service: the click must come back at once
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    result = child(dialog, QLabel, "checkResult")
    assert dialog.is_checking() and "Checking" in result.text()
    qtbot.waitUntil(lambda: "Fake account" in result.text(), timeout=5000)
    assert result.property("outcome") == "success" and not dialog.is_checking()
    fake.delay = 0

    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog))
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    row = page.model.row(0)
    assert (row.name, row.type_label, row.schedule_minutes) == ("Fake newsletters",
                                                                "Fake service", 5)
    assert page.stack.currentWidget() is page.table
    integration = Integration.get()
    assert integration.settings["username"] == GOOD_USER
    assert GOOD_PASSWORD not in integration.settings_json
    assert GOOD_PASSWORD in memory_keyring.entries.values()
    # Active and scheduled: its first sync starts at once, in the background.
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and bool(page.model.row(0).last_status),
                    timeout=10_000)
    assert page.model.row(0).last_status == "succeeded"


def test_bad_password_shows_the_services_message(qtbot: Any, window: Any,
                                                 fake: FakeService) -> None:
    page = integrations_page(qtbot, window)
    dialog = open_create_dialog(qtbot, window, page)
    choose_fake(dialog)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_username"), GOOD_USER)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_password"), "Wrong-Pa55word-0000")
    child(dialog, QLineEdit, "field_api_url").setText(fake.base_url)
    qtbot.mouseClick(child(dialog, QPushButton, "checkConnectionButton"),
                     Qt.MouseButton.LeftButton)
    result = child(dialog, QLabel, "checkResult")
    qtbot.waitUntil(lambda: result.property("outcome") == "failure", timeout=5000)
    assert "refused the credentials" in result.text()

    # Inline validation: a short password and no name are refused on Save, nothing is saved.
    password = child(dialog, QLineEdit, "field_password")
    password.setText("short")
    assert not result.isVisible()  # the check was about the old password
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    assert dialog.isVisible()
    assert "at least 8 characters" in child(dialog, QLabel, "error_password").text()
    assert child(dialog, QLabel, "error_name").isVisible()
    assert password.property("invalid") is True
    assert Integration.select().count() == 0
    dialog.reject()


def test_the_form_keeps_its_shape_after_a_refused_save(qtbot: Any, window: Any,
                                                       fake: FakeService) -> None:
    """Check Connection is a normal button; after a failed check and a Save refused for an
    empty name, every editor keeps its full height (the messages make the dialog taller)."""
    page = integrations_page(qtbot, window)
    dialog = open_create_dialog(qtbot, window, page)
    choose_fake(dialog)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_username"), GOOD_USER)
    qtbot.keyClicks(child(dialog, QLineEdit, "field_password"), GOOD_PASSWORD)
    check = child(dialog, QPushButton, "checkConnectionButton")
    qtbot.waitUntil(lambda: check.isVisible() and check.width() > 0)
    assert check.width() <= check.sizeHint().width() + 2  # not stretched across the dialog
    assert check.width() < dialog.width() / 2

    dialog.show_advanced(True)
    child(dialog, QLineEdit, "field_api_url").setText("http://127.0.0.1:9/")
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    result = child(dialog, QLabel, "checkResult")
    qtbot.waitUntil(lambda: result.property("outcome") == "failure", timeout=10_000)
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    assert child(dialog, QLabel, "error_name").isVisible()
    qtbot.wait(50)  # the layout settles
    editors = [e for e in dialog.findChildren(QLineEdit)
               if e.isVisible() and e.objectName().startswith("field_")]
    assert len(editors) == 4  # name, user name, password, service URL
    for editor in editors:
        assert editor.height() >= editor.sizeHint().height(), editor.objectName()
    dialog.reject()


def test_edit_keeps_the_stored_password(qtbot: Any, window: Any, fake: FakeService,
                                        memory_keyring: Any) -> None:
    integration = add_integration(fake)
    page = integrations_page(qtbot, window)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    page.table.selectRow(0)
    qtbot.mouseClick(child(page, QPushButton, "editIntegrationButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "integrationDialog") is not None)
    dialog = find_dialog(window, "integrationDialog")
    password = child(dialog, QLineEdit, "field_password")
    assert password.text() == "" and password.placeholderText() == "unchanged"
    assert child(dialog, QLineEdit, "field_username").text() == GOOD_USER
    assert not child(dialog, QComboBox, "field_type").isEnabled()
    check = child(dialog, QPushButton, "checkConnectionButton")
    assert check.isVisible()  # the stored password counts
    qtbot.waitUntil(lambda: check.height() > 0)  # laid out
    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)
    result = child(dialog, QLabel, "checkResult")
    qtbot.waitUntil(lambda: "Fake account" in result.text(), timeout=5000)

    name = child(dialog, QLineEdit, "field_name")
    name.setText("Renamed")
    qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed(dialog))
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.model.row(0).name == "Renamed")
    assert GOOD_PASSWORD in memory_keyring.entries.values()
    assert Integration.get_by_id(integration.id).name == "Renamed"


def test_schedule_sync_shows_progress_then_the_result(qtbot: Any, window: Any,
                                                      fake: FakeService) -> None:
    add_integration(fake)
    add_contacts(25)
    page = integrations_page(qtbot, window)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert page.model.row(0).last_status == ""
    on_gui_thread = []
    window.sync_bridge.progress.connect(
        lambda _p: on_gui_thread.append(QThread.currentThread() is QApplication.instance().thread()))

    fake.delay = 0.03  # long enough to watch it
    page.table.selectRow(0)
    qtbot.mouseClick(child(page, QPushButton, "scheduleSyncButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.panel.isVisible(), timeout=5000)
    bar = child(page.panel, QProgressBar, "syncProgressBar")
    qtbot.waitUntil(lambda: bar.maximum() == 25 and bar.value() > 0, timeout=10_000)
    assert "Send queued changes" in child(page.panel, QLabel, "syncStepLabel").text()
    assert page.model.data(page.model.index(0, 2)).startswith("Synchronizing")
    assert child(page, QPushButton, "cancelSyncButton").isEnabled()

    qtbot.waitUntil(lambda: not page.panel.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: page.model.row(0).last_status == "succeeded", timeout=5000)
    last_result = page.model.data(page.model.index(0, 5))
    assert last_result.startswith("Succeeded") and "25 sent" in last_result
    assert page.model.data(page.model.index(0, 3)) not in ("", "—")  # Last sync
    assert on_gui_thread and all(on_gui_thread)
    assert fake.writes["person7@example.com"] == 1


def test_cancel_from_the_progress_panel(qtbot: Any, window: Any, fake: FakeService) -> None:
    add_integration(fake)
    add_contacts(60)
    page = integrations_page(qtbot, window)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    fake.delay = 0.05
    page.table.selectRow(0)
    page.sync_selected()
    qtbot.waitUntil(lambda: page.panel.isVisible()
                    and child(page.panel, QProgressBar, "syncProgressBar").value() > 0,
                    timeout=10_000)
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=10_000) as finished:
        qtbot.mouseClick(child(page.panel, QPushButton, "panelCancelButton"),
                         Qt.MouseButton.LeftButton)
    assert finished.args[0].status == "cancelled"
    qtbot.waitUntil(lambda: page.model.row(0).last_status == "cancelled", timeout=5000)
    assert not page.panel.isVisible()
    assert sum(fake.writes.values()) < 60


def test_delete_removes_the_row_and_its_secret(qtbot: Any, window: Any, fake: FakeService,
                                               memory_keyring: Any) -> None:
    add_integration(fake)
    assert memory_keyring.entries
    page = integrations_page(qtbot, window)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    page.table.selectRow(0)
    qtbot.mouseClick(child(page, QPushButton, "deleteIntegrationButton"),
                     Qt.MouseButton.LeftButton)
    box = page.findChild(QMessageBox, "confirmDelete")
    assert box is not None and "Fake newsletters" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=5000)
    assert page.stack.currentWidget() is page.empty
    assert Integration.select().count() == 0
    assert not memory_keyring.entries  # the password left the keyring too


def test_due_integrations_run_while_the_window_is_open(qtbot: Any, make_window: Any,
                                                       fake: FakeService) -> None:
    integration = add_integration(fake, schedule=5)  # due now: never synchronized
    add_contacts(3)
    window = make_window()
    qtbot.waitUntil(lambda: Integration.get_by_id(integration.id).last_status == "succeeded",
                    timeout=10_000)
    assert sum(fake.writes.values()) == 3
    page = integrations_page(qtbot, window)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and bool(page.model.row(0).last_status))
    assert page.model.data(page.model.index(0, 4)) not in ("", "—", "Due now")  # next sync


def test_closing_the_window_cancels_the_run(qtbot: Any, make_window: Any,
                                            fake: FakeService) -> None:
    from core.models.sync import SyncRun

    integration = add_integration(fake)
    add_contacts(60)
    window = make_window()
    fake.delay = 0.05
    with qtbot.waitSignal(window.sync_bridge.progress, timeout=10_000):
        window.sync_bridge.request_run(integration.id)
    window.close()  # cancels and waits: the run ends before the window is gone
    assert window.sync_bridge.is_stopped()
    assert SyncRun.get().status == "cancelled"
    assert Integration.get_by_id(integration.id).lock_token is None


def test_no_keyring_is_said_plainly_and_nothing_is_saved(qtbot: Any, window: Any,
                                                         fake: FakeService) -> None:
    import keyring
    from keyring.backends import fail

    page = integrations_page(qtbot, window)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        dialog = open_create_dialog(qtbot, window, page)
        choose_fake(dialog)
        note = child(dialog, QLabel, "keyringNote")
        assert note.property("warning") is True and "No secure system keyring" in note.text()
        qtbot.keyClicks(child(dialog, QLineEdit, "field_name"), "Fake newsletters")
        qtbot.keyClicks(child(dialog, QLineEdit, "field_username"), GOOD_USER)
        qtbot.keyClicks(child(dialog, QLineEdit, "field_password"), GOOD_PASSWORD)
        qtbot.mouseClick(child(dialog, QPushButton, "okButton"), Qt.MouseButton.LeftButton)
        error = child(dialog, QLabel, "dialogError")
        qtbot.waitUntil(lambda: "No secure system keyring" in error.text(), timeout=5000)
        assert dialog.isVisible() and Integration.select().count() == 0
        dialog.reject()
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize(("module", "words"), [
    ("SecretService", "GNOME Keyring / Secret Service"),
    ("libsecret", "GNOME Keyring / Secret Service"),
    ("macOS", "macOS Keychain"),
    ("Windows", "Windows Credential Locker"),
])
def test_the_form_names_the_keyring_in_the_admins_words(qtbot: Any, window: Any,
                                                        fake: FakeService, module: str,
                                                        words: str) -> None:
    """The keyring the passwords go to, by the name the admin knows it by: through a chain of
    backends (how keyring usually answers), the one that will hold them."""
    import importlib

    import keyring
    from keyring.backends import chainer, fail

    backend_class = next(cls for cls in vars(importlib.import_module(
        f"keyring.backends.{module}")).values() if isinstance(cls, type)
        and cls.__module__ == f"keyring.backends.{module}" and cls.__name__.endswith("Keyring"))

    class Chain(chainer.ChainerBackend):
        backends = [backend_class(), fail.Keyring()]  # type: ignore[assignment]

    previous = keyring.get_keyring()
    keyring.set_keyring(Chain())
    try:
        page = integrations_page(qtbot, window)
        dialog = open_create_dialog(qtbot, window, page)
        choose_fake(dialog)
        note = child(dialog, QLabel, "keyringNote").text()
        assert note == f"Passwords are kept in {words}; nothing secret is written to the database."
        dialog.reject()
    finally:
        keyring.set_keyring(previous)
