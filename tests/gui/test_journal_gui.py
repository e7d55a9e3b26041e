"""The Journal through the window: a failed row, its filters, Retry, the runs, a record's history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

from connectors.base import REGISTRY, register, unregister
from core.integrations import create_integration
from core.models.store import Contact
from core.models.sync import Integration, QueueItem
from core.store import save_record
from gui.history_dialog import HistoryDialog
from tests.gui.helpers import child, find_dialog
from tests.helpers.fake_service import GOOD_PASSWORD, GOOD_USER, FakeConnector, FakeService

REFUSED = "person1@example.com"


class OneTryConnector(FakeConnector):
    """The fake connector with one attempt per row, so that a refused contact FAILS at once."""

    max_attempts = 1

    def action_label(self, action: str) -> str:
        return "Send to the fake service" if action == "upsert" else super().action_label(action)


@pytest.fixture
def synced(qtbot: Any, window: Any, memory_keyring: Any) -> Iterator[Integration]:
    """Three contacts synchronized through the window's bridge; the service refused one."""
    service = FakeService().start()
    register(OneTryConnector())
    service.fail_permanently(REFUSED)
    for n in range(3):
        save_record(Contact(email=f"person{n}@example.com", first_name="Person",
                            last_name=str(n)))
    integration = create_integration(REGISTRY["fake"], "Fake newsletters",
                                     {"username": GOOD_USER, "password": GOOD_PASSWORD,
                                      "api_url": service.base_url}, schedule_minutes=None)
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=10_000) as finished:
        assert window.sync_bridge.request_run(integration.id)
    assert finished.args[0].status == "partial"
    yield integration
    unregister("fake")
    service.stop()


def journal_page(qtbot: Any, window: Any) -> Any:
    window.show_page("journal")
    page = window.journal
    qtbot.waitUntil(page.has_loaded)
    return page


def cell(page: Any, row: int, column: int) -> str:
    return str(page.queue_model.data(page.queue_model.index(row, column)))


def test_empty_journal_points_to_the_integrations(qtbot: Any, window: Any) -> None:
    page = journal_page(qtbot, window)
    assert page.stack.currentWidget() is page.empty
    qtbot.mouseClick(child(page, QPushButton, "openIntegrationsButton"),
                     Qt.MouseButton.LeftButton)
    assert window.current_key() == "integrations"


def test_failed_row_then_retry(qtbot: Any, window: Any, synced: Integration) -> None:
    page = journal_page(qtbot, window)
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 3)
    rows = {r.email: r for r in page.queue_model.rows()}
    assert rows[REFUSED].state == "failed" and rows["person0@example.com"].state == "done"
    number = page.queue_model.row_of_id(rows[REFUSED].id)
    assert cell(page, number, 1) == "Fake newsletters"
    assert cell(page, number, 3) == REFUSED
    assert cell(page, number, 5) == "Failed"
    assert cell(page, number, 6) == "1 of 1"
    assert "is refused" in cell(page, number, 8)  # the service's own words

    retry = child(page, QPushButton, "retryButton")
    page.table.selectRow(page.queue_model.row_of_id(rows["person0@example.com"].id))
    assert not retry.isEnabled()  # a done row has nothing to retry
    page.table.selectRow(number)
    assert retry.isEnabled()
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.selected_row() is not None
                    and page.selected_row().state == "pending", timeout=5000)
    assert cell(page, page.queue_model.row_of_id(rows[REFUSED].id), 5) == "Waiting"
    assert QueueItem.get_by_id(rows[REFUSED].id).attempts == 0
    assert not retry.isEnabled()


def test_filters_and_retry_all(qtbot: Any, window: Any, synced: Integration) -> None:
    page = journal_page(qtbot, window)
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 3)
    states = child(page, QComboBox, "journalStateFilter")
    states.setCurrentIndex(states.findData("failed"))
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 1)
    assert page.queue_model.row(0).email == REFUSED
    states.setCurrentIndex(0)
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 3)

    email = child(page, QLineEdit, "journalEmailFilter")
    qtbot.keyClicks(email, "person2")  # debounced: one reload once typing pauses
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 1, timeout=3000)
    assert page.queue_model.row(0).email == "person2@example.com"
    email.clear()
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 3, timeout=3000)

    integrations = child(page, QComboBox, "journalIntegrationFilter")
    assert integrations.findText("Fake newsletters") > 0
    integrations.setCurrentIndex(integrations.findData(synced.id))
    qtbot.mouseClick(child(page, QPushButton, "retryAllButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(r.state != "failed" for r in page.queue_model.rows()),
                    timeout=5000)
    assert QueueItem.select().where(QueueItem.state == "failed").count() == 0
    assert "0 failed" in child(page, QLabel, "journalCount").text()


def test_runs_tab_and_live_update(qtbot: Any, window: Any, synced: Integration) -> None:
    page = journal_page(qtbot, window)
    qtbot.waitUntil(lambda: page.runs_model.rowCount() == 1)
    run = page.runs_model.row(0)
    assert run.status == "partial" and run.integration == "Fake newsletters"
    counts = page.runs_model.data(page.runs_model.index(0, 5))
    assert "2 sent" in counts and "1 failed" in counts
    # A second run while the journal is shown: it appears without a click.
    with qtbot.waitSignal(window.sync_bridge.finished, timeout=10_000):
        window.sync_bridge.request_run(synced.id)
    qtbot.waitUntil(lambda: page.runs_model.rowCount() == 2, timeout=5000)


def test_history_of_a_record(qtbot: Any, window: Any, synced: Integration) -> None:
    page = journal_page(qtbot, window)
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 3)
    failed = next(r for r in page.queue_model.rows() if r.email == REFUSED)
    page.table.selectRow(page.queue_model.row_of_id(failed.id))
    qtbot.mouseClick(child(page, QPushButton, "historyButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: find_dialog(window, "historyDialog") is not None)
    dialog = find_dialog(window, "historyDialog")
    assert isinstance(dialog, HistoryDialog)
    qtbot.waitUntil(dialog.has_loaded)
    assert REFUSED in dialog.heading.text()
    texts = [r.message for r in dialog.model.rows()]
    assert any("is refused" in text for text in texts)
    assert {r.integration for r in dialog.model.rows()} == {"Fake newsletters"}
    dialog.reject()


def test_history_from_the_contact_dialog(qtbot: Any, window: Any, synced: Integration) -> None:
    contact = Contact.get(Contact.email == REFUSED)
    window.show_page("contacts")
    window.contacts.edit_record(contact.id)
    qtbot.waitUntil(lambda: find_dialog(window, "contactDialog") is not None)
    contact_dialog = find_dialog(window, "contactDialog")
    qtbot.mouseClick(child(contact_dialog, QPushButton, "historyButton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: contact_dialog.findChild(HistoryDialog, "historyDialog") is not None)
    dialog = contact_dialog.findChild(HistoryDialog, "historyDialog")
    qtbot.waitUntil(dialog.has_loaded)
    assert any(r.level == "error" for r in dialog.model.rows())
    dialog.reject()
    contact_dialog.reject()


def test_actions_and_steps_read_in_the_connectors_words(qtbot: Any, window: Any,
                                                         synced: Integration) -> None:
    page = journal_page(qtbot, window)
    qtbot.waitUntil(lambda: page.queue_model.rowCount() == 3 and page.runs_model.rowCount() == 1)
    assert {cell(page, n, 2) for n in range(3)} == {"Send to the fake service"}
    assert page.queue_model.row(0).action == "upsert"  # the internal name stays in the data
    counts = page.runs_model.data(page.runs_model.index(0, 5))
    assert counts.startswith("Check the account: 1 checked; Find changed contacts: 3 queued")
    assert counts.endswith("; Send queued changes: 1 failed, 2 sent.")
    page.table.selectRow(page.queue_model.row_of_id(
        next(r.id for r in page.queue_model.rows() if r.email == REFUSED)))
    assert "Send to the fake service for Fake newsletters" in page.detail.text()
    history = HistoryDialog("contact", Contact.get(Contact.email == REFUSED).id, window)
    qtbot.waitUntil(history.has_loaded)
    assert any(r.message.startswith("Send to the fake service: failed after 1 attempt")
               for r in history.model.rows())
    history.reject()
