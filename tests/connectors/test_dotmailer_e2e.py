"""End to end against the emulator, through the engine's runner and the headless commands."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from connectors.dotmailer import service
from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER
from connectors.dotmailer.models import (
    AddressBook,
    CampaignSummary,
    ContactActivity,
    EmailCampaign,
)
from core.models.store import Contact, ListMember, MarketingList
from tests.helpers.dotmailer import (
    book_emails,
    connector,
    emulator,
    imported_rows,
    new_integration,
    new_list,
    sleeps,
    sync,
)

FIXTURES = (connector, emulator, sleeps)  # used by name as test arguments


def _states(mlist: MarketingList) -> dict[str, str]:
    return {key: state for key, state in ListMember.select(Contact.email_key, ListMember.state)
            .join(Contact, on=(ListMember.contact == Contact.id))
            .where(ListMember.mlist == mlist).tuples()}


def test_a_list_of_1000_round_trip(profile, memory_keyring, emulator, connector):
    book = emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator)
    mlist = new_list("Members", 1000)
    assert [b.remote_id for b in service.refresh_books(integration)] == [book]
    service.connect_list(mlist, integration, book)

    first = sync(integration, connector)
    assert first.status == "succeeded", first.message
    assert book_emails(emulator, book) == {f"user{i}@example.com" for i in range(1000)}
    assert len(imported_rows(emulator)) == 1000
    assert emulator.call_count("POST", "*/contacts/import") == 1  # one import per 10,000 rows

    # In Dotmailer: 10 unsubscribe, 3 are silently removed, a campaign is sent with activity.
    emulator.advance(300)
    unsubscribed = {f"user{i}@example.com" for i in range(10)}
    removed = {f"user{i}@example.com" for i in range(100, 103)}
    for email in unsubscribed:
        emulator.unsubscribe_from_book(book, email)
    for email in removed:
        emulator.remove_from_book(book, email)
    sent = emulator.add_campaign("Spring news", "Sent", [book])
    draft = emulator.add_campaign("Summer draft", "Unsent", [book])
    opened = [f"user{i}@example.com" for i in range(200, 250)]
    for n, email in enumerate(opened):
        emulator.add_activity(sent, email, opens=2, clicks=n % 2,
                              first_opened=emulator.now() - timedelta(minutes=5))
    emulator.advance(600)  # runs re-read the last 10 minutes: these are older than that

    second = sync(integration, connector)
    assert second.status == "succeeded", second.message
    states = _states(mlist)
    assert {k for k, s in states.items() if s == "unsubscribed"} == unsubscribed
    assert {k for k, s in states.items() if s == "removed"} == removed
    assert sum(s == "subscribed" for s in states.values()) == 987

    campaigns = {c.remote_id: c for c in EmailCampaign.select()}
    assert set(campaigns) == {sent, draft}
    assert campaigns[sent].status == "Sent" and campaigns[draft].status == "Unsent"
    summary = CampaignSummary.get(CampaignSummary.campaign == campaigns[sent])
    assert summary.num_opens == 100 and summary.num_unique_opens == 50
    assert summary.num_clicks == 25 and summary.num_sent == 50
    assert summary.revenue == "$0.00" and summary.num_assisted_orders == 0
    assert CampaignSummary.get_or_none(CampaignSummary.campaign == campaigns[draft]) is None
    assert emulator.call_count("GET", f"campaigns/{draft}/summary") == 0  # D9
    activities = list(ContactActivity.select().where(ContactActivity.campaign == campaigns[sent]))
    assert sorted(a.email_key for a in activities) == sorted(opened)
    assert all(a.num_opens == 2 and a.date_first_opened is not None for a in activities)
    rows = service.campaign_activities(campaigns[sent], mlist)
    assert all(r.record_id is not None and r.member_state == "subscribed" for r in rows)
    assert [c.remote_id for c in service.email_campaigns(mlist)] == [sent, draft]

    # A third sync with nothing changed sends nothing, and reads on the same discovery.
    emulator.advance(600)
    emulator.clear_requests()
    third = sync(integration, connector)
    assert third.status == "succeeded", third.message
    log = emulator.requests()
    assert [e for e in log if e["method"] != "GET"] == []
    assert not any(e["path"].endswith("/account-info") for e in log)  # D16
    assert emulator.call_count("GET", "campaigns/with-activity-since/*") == 1  # E17, not E20s
    assert emulator.call_count("GET", "campaigns/*/summary") == 0  # no new activity
    assert len(log) == 7, [(e["method"], e["path"]) for e in log]


def test_a_second_sync_sends_only_what_changed(profile, memory_keyring, emulator, connector):
    book = emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator)
    mlist = new_list("Members", 300)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    assert sync(integration, connector).status == "succeeded"
    emulator.advance(600)
    changed = list(Contact.select().order_by(Contact.id).limit(3))
    for contact in changed:
        contact.first_name = "Changed"
        contact.save()
    emulator.clear_requests()
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    rows = imported_rows(emulator)
    assert sorted(r["Email"] for r in rows) == sorted(c.email_key for c in changed)
    assert all(r["FIRSTNAME"] == "Changed" and r["FULLNAME"].startswith("Changed ")
               for r in rows)


@pytest.fixture
def restore_logging():
    """The commands set up the app's file logging; put the logger back for the next tests."""
    import logging

    logger = logging.getLogger("listbridge")
    handlers, propagate, level = list(logger.handlers), logger.propagate, logger.level
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.propagate, logger.level = propagate, level


def test_headless_commands(profile, memory_keyring, emulator, monkeypatch, capsys,
                           restore_logging):
    from connectors.cli import main

    book = emulator.add_book("Newsletter")
    emulator.add_book("Customers")
    new_list("Members", 20)
    monkeypatch.setattr("sys.stdin", io.StringIO(DEFAULT_PASSWORD + "\n"))
    assert main(["integration", "add", "--type", "dotmailer", "--name", "DM",
                 "--option", f"username={DEFAULT_USER}", "--option",
                 f"api_url={emulator.url}"]) == 0
    capsys.readouterr()
    assert main(["dotmailer", "address-books", "--integration", "DM", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [b["name"] for b in listed] == ["Customers", "Newsletter"]  # no All Contacts, Test
    monkeypatch.setattr("connectors.dotmailer.sync.WAIT_FOR_IMPORTS", 0.0)
    assert main(["dotmailer", "connect", "--integration", "DM", "--list", "Members",
                 "--address-book", "Newsletter"]) == 0
    assert AddressBook.get(AddressBook.remote_id == book).mlist.name == "Members"
    assert emulator.call_count("POST", "*/contacts/import") == 1  # exported at once, as the window
    capsys.readouterr()
    assert main(["dotmailer", "address-books", "--integration", "DM", "--json"]) == 0
    assert [b["name"] for b in json.loads(capsys.readouterr().out)] == ["Customers"]
    assert main(["dotmailer", "connect", "--integration", "DM", "--list", "Members",
                 "--address-book", "Customers"]) == 1  # one book per list
    assert emulator.finish_imports() == 1
    assert main(["sync", "--integration", "DM"]) == 0
    assert len(book_emails(emulator, book)) == 20
    assert main(["dotmailer", "disconnect", "--list", "Members"]) == 0
    assert AddressBook.get(AddressBook.remote_id == book).mlist is None


def test_address_books_are_imported_once_the_integration_is_saved_active(
        profile, memory_keyring, emulator, monkeypatch, restore_logging):
    """Oro: "After the integration has been created and its status has been set to Active, the
    list of Address Books will be automatically imported". ``integration add`` runs no
    scheduler (and this one is manual only): the books are read as it is saved, not at a first
    sync; an inactive integration reads them when it is switched on."""
    from connectors.base import REGISTRY
    from connectors.cli import main
    from core.integrations import update_integration
    from core.models.sync import HistoryEvent, Integration, SyncRun

    emulator.add_book("Newsletter")
    emulator.add_book("Customers")

    def add(name: str, *extra: str, password: str = DEFAULT_PASSWORD) -> Integration:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        assert main(["integration", "add", "--type", "dotmailer", "--name", name,
                     "--option", f"username={DEFAULT_USER}", "--option",
                     f"api_url={emulator.url}", *extra]) == 0
        return Integration.get(Integration.name == name)

    def books(integration: Integration) -> list[str]:
        return [b.name for b in service.connectable_books(integration)]

    active = add("DM", "--schedule", "0")
    assert books(active) == ["Customers", "Newsletter"]  # no All Contacts, no Test
    assert emulator.call_count("GET", "address-books") == 1
    assert SyncRun.select().count() == 0  # read at the save, not by a sync
    assert HistoryEvent.get(HistoryEvent.integration == active).message.startswith(
        "2 address books imported from Dotmailer")

    off = add("Off", "--inactive")
    assert books(off) == [] and emulator.call_count("GET", "address-books") == 1
    update_integration(off, REGISTRY["dotmailer"], active=True)  # its status set to Active
    assert books(off) == ["Customers", "Newsletter"]
    update_integration(off, REGISTRY["dotmailer"], name="On")  # read once: syncs keep them
    assert emulator.call_count("GET", "address-books") == 2

    refused = add("Refused", password="wrong-pass-9")  # saved all the same
    assert books(refused) == []
    warning = HistoryEvent.get(HistoryEvent.integration == refused)
    assert warning.level == "warning" and "first sync imports them" in warning.message
    assert "denied" in warning.message  # the service's own words


@pytest.mark.parametrize("trigger, waits", [("scheduled", False), ("manual", True)])
def test_a_manual_run_waits_for_its_import_a_scheduled_one_does_not(
        profile, memory_keyring, emulator, connector, sleeps, trigger, waits):
    book = emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator)
    mlist = new_list("Members", 10)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    sync(integration, connector, trigger=trigger)
    assert (len(book_emails(emulator, book)) == 10) is waits
    assert (sleeps.calls == [5.0, 10.0]) is waits
    connection = service.list_connection(mlist)
    assert connection is not None
    assert (connection.exported, connection.sending) == ((10, 0) if waits else (0, 10))


def test_the_list_page_counts_only_the_lists_own_members(profile, memory_keyring, emulator,
                                                         connector):
    """A book also holds contacts added in Dotmailer itself: "N exported" is about the list."""
    book = emulator.add_book("Newsletter")
    for i in range(7):
        emulator.add_contact(f"someone{i}@elsewhere.example", books=[book])
    integration = new_integration(connector, emulator)
    mlist = new_list("Members", 5)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    sync(integration, connector)
    sync(integration, connector)
    assert len(book_emails(emulator, book)) == 12
    connection = service.list_connection(mlist)
    assert connection is not None
    assert connection.exported + connection.waiting + connection.sending == 5
