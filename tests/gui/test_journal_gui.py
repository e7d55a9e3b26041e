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
    assert page.tabs.currentWidget() is page.queue_tab  # no runs either: nothing to open
    assert not child(page, QLabel, "journalLastRun").isVisible()
    qtbot.mouseClick(child(page, QPushButton, "openIntegrationsButton"),
                     Qt.MouseButton.LeftButton)
    assert window.current_key() == "integrations"


def test_an_empty_queue_after_a_run_opens_on_the_runs(qtbot: Any, window: Any,
                                                      memory_keyring: Any) -> None:
    """A run that queued nothing: the queue says it is empty, not that nothing ran, and the
    page opens on the Runs tab; the status bar counts what the tab shown lists."""
    service = FakeService().start()
    register(OneTryConnector())
    try:
        integration = create_integration(REGISTRY["fake"], "Fake newsletters",
                                         {"username": GOOD_USER, "password": GOOD_PASSWORD,
                                          "api_url": service.base_url}, schedule_minutes=None)
        with qtbot.waitSignal(window.sync_bridge.finished, timeout=10_000):
            assert window.sync_bridge.request_run(integration.id)
        page = journal_page(qtbot, window)
        assert page.queue_model.rowCount() == 0 and page.runs_model.rowCount() == 1
        assert page.tabs.currentWidget() is page.runs_tab
        status = child(window, QLabel, "countLabel")
        assert status.text() == "1 run"

        page.tabs.setCurrentWidget(page.queue_tab)
        assert status.text() == "0 rows in the queue"
        assert page.stack.currentWidget() is page.empty
        title = page.empty.title.text()
        assert title == "Nothing is waiting, failed or being retried"
        assert "nothing in the journal" not in page.empty.sentence.text().lower()
        assert "Runs tab" in page.empty.sentence.text()
        last_run = child(page, QLabel, "journalLastRun")
        assert last_run.isVisible()
        assert last_run.text().startswith("Last run: Fake newsletters, ")
        assert "Succeeded" in last_run.text()

        qtbot.mouseClick(child(page, QPushButton, "showRunsButton"), Qt.MouseButton.LeftButton)
        assert page.tabs.currentWidget() is page.runs_tab
        page.tabs.setCurrentWidget(page.queue_tab)
        window.show_page("contacts")
        journal_page(qtbot, window)  # the admin chose a tab: a new visit keeps it
        assert page.tabs.currentWidget() is page.queue_tab
    finally:
        unregister("fake")
        service.stop()


def test_the_ines_journal_button_is_whole_and_explained(qtbot: Any, window: Any,
                                                        memory_keyring: Any) -> None:
    """INES keeps its own queue: with INES chosen, the empty queue points at its button, which
    turns primary and keeps room for its whole text."""
    from connectors.ines.connector import InesConnector

    ines = create_integration(InesConnector(), "INES CRM (demo)", {
        "account": "ACME", "username": "marketing", "password": "Ines-Pa55word",
        "api_url": "http://127.0.0.1:9/"}, schedule_minutes=None)
    window.resize(1280, 800)
    window.extensions["ines"].actions.refresh()
    qtbot.waitUntil(lambda: len(window.extensions["ines"].actions.every) == 1)
    page = journal_page(qtbot, window)
    button = child(page, QPushButton, "inesJournalButton")
    assert button.isVisible() and page.service_row.isVisible()
    window.show_journal_of(ines.id)
    qtbot.waitUntil(lambda: button.property("primary") is True and page.has_loaded())
    qtbot.waitUntil(lambda: button.width() >= button.sizeHint().width())
    assert button.text() == "INES journal…"
    assert page.stack.currentWidget() is page.empty
    assert "button above" in page.empty.sentence.text()


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
    done = page.queue_model.row_of_id(rows["person0@example.com"].id)
    assert cell(page, done, 6) == "1"  # went through: how many tries, not "of" a limit
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


def test_history_says_what_happened_in_words(qtbot: Any, window: Any,
                                             memory_keyring: Any) -> None:
    """The What column reads "Created", "Not sent"…, never a raw kind like "Ines_created"."""
    from connectors.ines.connector import InesConnector
    from core.models.sync import HistoryEvent

    ines = create_integration(InesConnector(), "INES CRM", {
        "account": "ACME", "username": "marketing", "password": "Ines-Pa55word",
        "api_url": "http://127.0.0.1:9/"}, schedule_minutes=None)
    contact = save_record(Contact(email="jeanne@example.com"))
    for kind in ("ines_created", "ines_ignored", "dotmailer_skip", "sent", "ines_book_gone",
                 "address_moved"):
        HistoryEvent.create(integration=ines.id, entity="contact", record_id=contact.id,
                            email=contact.email, kind=kind, message=f"{kind} happened")
    history = HistoryDialog("contact", contact.id, window)
    qtbot.waitUntil(history.has_loaded)
    what = {history.model.data(history.model.index(n, 3)).split()[0]:
            history.model.data(history.model.index(n, 2))
            for n in range(history.model.rowCount())}
    assert what == {"ines_created": "Created", "ines_ignored": "Not sent",
                    "dotmailer_skip": "Not sent", "sent": "Sent",
                    "ines_book_gone": "Book gone",  # a connector's new kind, without its name
                    "address_moved": "Address moved"}
    history.reject()


def test_ines_journal_attempts_and_columns(qtbot: Any, window: Any, memory_keyring: Any) -> None:
    """A DONE row says how many tries it took, not "1 of 3"; a long email is shown whole while
    the Last error column, empty, gives way."""
    from connectors.ines.connector import InesConnector
    from connectors.ines.models import InesSyncLog
    from gui.ines.journal_dialog import InesJournalDialog

    ines = create_integration(InesConnector(), "INES CRM", {
        "account": "ACME", "username": "marketing", "password": "Ines-Pa55word",
        "api_url": "http://127.0.0.1:9/"}, schedule_minutes=None)
    long_email = "nathan.schmidt585@corp-example.com"  # cut at the old 180 px
    InesSyncLog.create(integration=ines.id, action="UPDATE", lead_email=long_email,
                       lead_company="Vertex GmbH", status="DONE", counter=1, source="push")
    InesSyncLog.create(integration=ines.id, action="UPDATE", lead_email="p@example.com",
                       status="PENDING", counter=2, source="event")
    dialog = InesJournalDialog(ines.id, window)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.has_loaded() and dialog.model.rowCount() == 2)
    attempts = {dialog.model.row(n).email: dialog.model.data(dialog.model.index(n, 5))
                for n in range(2)}
    assert attempts == {long_email: "1", "p@example.com": "2 of 3"}
    email_column = 2
    qtbot.waitUntil(lambda: dialog.table.columnWidth(email_column)
                    >= dialog.table.sizeHintForColumn(email_column))
    dialog.reject()


def test_integrations_grid_gives_last_result_the_room(qtbot: Any, window: Any,
                                                      synced: Integration) -> None:
    """Status is as wide as "Active" needs; Last result, the long one, takes the rest."""
    window.resize(1280, 800)
    window.show_page("integrations")
    page = window.integrations
    qtbot.waitUntil(lambda: page.has_loaded() and page.model.rowCount() == 1)
    table = page.table
    status, result = 2, 5
    assert page.model.data(page.model.index(0, status)) == "Active"
    qtbot.waitUntil(lambda: table.columnWidth(status) <= 140)
    assert table.columnWidth(status) >= table.sizeHintForColumn(status)
    assert table.columnWidth(result) > 2 * table.columnWidth(status)
