"""The Dotmailer sync steps against the emulator: one test (at least) per Oro defect D1-D16,
and the sync's conformance points (§6). Runs go through the engine's runner; waits are injected.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest

from connectors.base import validate_form
from connectors.dotmailer import service
from connectors.dotmailer import sync as dm_sync
from connectors.dotmailer.client import FieldInUse
from connectors.dotmailer.connector import DotmailerConnector
from connectors.dotmailer.export import fault_status
from connectors.dotmailer.models import (
    EXPORT_QUEUED,
    EXPORT_REJECTED,
    EXPORT_WATCHDOG,
    AddressBook,
    BookMember,
    CampaignSummary,
    ContactActivity,
    DataField,
    DataFieldMapping,
    DotmailerContact,
    DotmailerImport,
    EmailCampaign,
)
from connectors.dotmailer.sync import Tuning
from core.lists import remove_members, set_member_state
from core.models.store import Company, Contact, ListMember, MarketingList
from core.models.sync import HistoryEvent, QueueItem, Watermark
from tests.helpers.dotmailer import (
    book_emails,
    connector,
    context,
    emulator,
    imported_rows,
    new_integration,
    new_list,
    run_steps,
    sleeps,
    sync,
)

FIXTURES = (connector, emulator, sleeps)  # used by name as test arguments


def email(i: int) -> str:
    return f"user{i}@example.com"


def states(mlist: MarketingList) -> dict[str, str]:
    return dict(ListMember.select(Contact.email_key, ListMember.state)
                .join(Contact, on=(ListMember.contact == Contact.id))
                .where(ListMember.mlist == mlist).tuples())


def posts(emulator) -> list[str]:
    return [e["path"] for e in emulator.requests() if e["method"] != "GET"]


@pytest.fixture
def linked(profile, memory_keyring, emulator, connector):
    """An integration with a 30-member list connected to the book Newsletter."""
    book = emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator)
    mlist = new_list("Members", 30)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    return integration, mlist, book


def first_sync(linked, connector, emulator):
    integration, mlist, book = linked
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    assert len(book_emails(emulator, book)) == 30
    emulator.advance(300)
    return result


# -- D1: lenient reading, under every assumed setting (S) ----------------------------------------

SETTINGS = [
    {"response_casing": "pascal", "extra_fields": True},
    {"null_date_style": "0001-01-01T00:00:00", "date_style": "no_zone"},
    {"date_style": "seconds", "datafields_when_not_full": "omitted",
     "datafields_include_unset": False},
    {"page_order": "shuffle", "system_books_listed": False, "datafields_when_not_full": "empty"},
    {"page_order": "reverse", "suppressed_contact_status": "reason", "blank_cells": "keep"},
    {"unsubscribed_members_listed": True, "book_unsubscribes_include_account": True},
    {"delete_unknown_ids": "404", "unknown_import_response": "404",
     "faults_csv_bom": False, "faults_csv_newline": "CRLF", "datafield_name_case": "as_given"},
    {"import_polls_until_done": 2, "server_time_auth": True, "datafield_create_body": "empty"},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_d1_the_whole_sync_holds_under_every_setting(linked, connector, emulator, settings):
    emulator.set_config(**settings)
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    for i in (0, 1):
        emulator.unsubscribe_from_book(book, email(i))
    emulator.suppress(email(2), "HardBounced")
    emulator.remove_from_book(book, email(3))
    remove_members(mlist, [Contact.get(Contact.email_key == email(4)).id])
    campaign = emulator.add_campaign("News", "Sent", [book])
    emulator.add_activity(campaign, email(5), opens=2, first_opened="2024-05-01T09:00:00Z")
    emulator.advance(300)
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    got = states(mlist)
    assert {k for k, s in got.items() if s == "unsubscribed"} == {email(0), email(1), email(2)}
    assert {k for k, s in got.items() if s == "removed"} == {email(3), email(4)}
    assert email(4) not in book_emails(emulator, book)  # E10
    assert DotmailerContact.get(DotmailerContact.email_key == email(2)).status == "HardBounced"
    assert DotmailerContact.get(DotmailerContact.email_key == email(0)).status == "Subscribed"
    activity = ContactActivity.get()
    assert (activity.email_key, activity.num_opens) == (email(5), 2)
    assert CampaignSummary.get().num_opens == 2
    emulator.advance(600)
    emulator.clear_requests()
    assert sync(integration, connector).status == "succeeded"
    assert posts(emulator) == []  # nothing sent twice


# -- D2: rate limits ------------------------------------------------------------------------------

def test_d2_a_tiered_limit_is_waited_out_inline(linked, emulator, memory_keyring):
    integration, mlist, book = linked
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        emulator.advance(seconds)

    paced = DotmailerConnector(Tuning(sleep=sleep))
    emulator.set_rate_limit("tiered", per_minute=6)
    result = sync(integration, paced)
    assert result.status == "succeeded", result.message
    assert len(book_emails(emulator, book)) == 30
    assert waits and all(w <= 60 for w in waits)


def test_d2_usage_exceeded_ends_the_run_as_rate_limited(linked, connector, emulator):
    integration, mlist, book = linked
    emulator.set_rate_limit("flat", per_hour=3)
    result = sync(integration, connector)
    assert result.status == "retrying" and result.error_kind == "rate_limited"
    assert "capped" in result.message


# -- D3: polls are never cached ---------------------------------------------------------------------

def test_d3_each_run_polls_a_pending_import_afresh(linked, connector, emulator):
    integration, mlist, book = linked
    emulator.set_config(import_polls_until_done=2)
    for _ in range(4):
        sync(integration, connector, trigger="scheduled")
    polls = [e for e in emulator.requests() if e["path"].startswith("/v2/contacts/import/")
             and e["path"].count("/") == 4]
    assert len(polls) == 3  # one per later run, none answered from a cache
    assert DotmailerImport.get().status == "Finished"
    assert len(book_emails(emulator, book)) == 30


# -- D4: a 409 is a failure -------------------------------------------------------------------------

def test_d4_a_field_in_use_is_not_deleted(linked, connector, emulator):
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    emulator.mark_datafield_in_use("FULLNAME", [("Campaign", 15662)])
    with pytest.raises(FieldInUse) as info:
        service.delete_data_field(integration, "FULLNAME")
    assert info.value.dependencies == [{"type": "Campaign", "objectid": 15662}]
    assert DataField.select().where(DataField.name == "FULLNAME").exists()
    service.delete_data_field(integration, "GENDER")
    assert not DataField.select().where(DataField.name == "GENDER").exists()


# -- D5: data fields once, paged loops end ----------------------------------------------------------

def test_d5_data_fields_are_read_once_a_day(linked, connector, emulator):
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    sync(integration, connector)
    assert emulator.call_count("GET", "data-fields") == 1
    assert DataField.select().count() == 6


# -- D6: fault reasons map to statuses --------------------------------------------------------------

FAULTS = {
    1: ("Unsubscribed", "Unsubscribed"), 2: ("Hard Bounced", "HardBounced"),
    3: ("Isp Complaints", "IspComplained"), 4: ("Mail Blocked", "MailBlocked"),
    5: ("Domain Suppressed", "DomainSuppression"), 6: ("Globally Suppressed", "Suppressed"),
    7: ("Suppressed by you", "Suppressed"), 8: ("Blocked", "NotAllowed"),
    9: ("hard bounced", "HardBounced"),
}


def test_d6_each_fault_reason_has_its_status():
    for reason, status in FAULTS.values():
        assert fault_status(reason) == status
    assert fault_status("Invalid Entries") is None and fault_status("Failures") is None


def test_d6_faults_are_applied_by_reason(linked, connector, emulator):
    integration, mlist, book = linked
    faults = [(email(i), reason) for i, (reason, _s) in FAULTS.items()]
    faults += [(email(10), "Invalid Entries"), (email(11), "Failures"),
               (email(12), "Martian Reason")]
    emulator.script_imports([{"faults": faults}] + [{"faults": [(email(11), "Failures")]}] * 3)
    result = sync(integration, connector)
    assert result.status == "partial", result.message  # one row failed alone: queued
    got = states(mlist)
    for i, (_reason, status) in FAULTS.items():
        assert got[email(i)] == "unsubscribed"
        member = BookMember.select().join(DotmailerContact).where(
            DotmailerContact.email_key == email(i)).get()
        assert member.remote_status == status and not member.in_book
        if status != "Unsubscribed":
            assert DotmailerContact.get(DotmailerContact.email_key == email(i)).status == status
    assert DotmailerContact.get(DotmailerContact.email_key == email(1)).status == ""  # book only
    for i in (10, 11, 12):
        assert got[email(i)] == "subscribed"  # D15: no state change without a signal
    rows = {m.contact.email_key: m for m in BookMember.select(BookMember, DotmailerContact)
            .join(DotmailerContact)}
    assert rows[email(10)].export_status == EXPORT_REJECTED
    connection = service.list_connection(mlist)
    assert connection is not None
    assert (connection.rejected, connection.watchdog_rejected) == (1, 0)  # not the Watchdog's
    assert rows[email(11)].export_status == EXPORT_QUEUED
    assert rows[email(12)].remote_status == "Martian Reason"  # recorded as given
    item = QueueItem.get(QueueItem.email == email(11))
    assert item.state == "retrying" and item.attempts == 2  # the export, then the queue
    assert HistoryEvent.select().where(HistoryEvent.email == email(10)).exists()
    assert len(book_emails(emulator, book)) == 30 - 12


# -- D7: silent removals and vanished books ---------------------------------------------------------

def test_d7_silent_removals_are_found(linked, connector, emulator):
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    emulator.remove_from_book(book, email(7))
    emulator.inject("GET", f"address-books/{book}/contacts", times=20, status=500)
    result = sync(integration, connector)
    assert result.status == "succeeded"
    assert states(mlist)[email(7)] == "subscribed"  # the read failed: nothing changed
    assert HistoryEvent.select().where(HistoryEvent.level == "warning",
                                       HistoryEvent.message.contains("nothing was changed")
                                       ).exists()
    emulator._faults.clear()
    emulator.advance(300)
    sync(integration, connector)
    assert states(mlist)[email(7)] == "removed"
    assert HistoryEvent.select().where(HistoryEvent.email == email(7),
                                       HistoryEvent.message.contains("Removed from")).exists()
    emulator.advance(300)
    emulator.clear_requests()
    sync(integration, connector)
    assert posts(emulator) == []  # a removed member is not sent back
    assert emulator.call_count("GET", f"address-books/{book}/contacts") == 0  # counts agree


def test_d7_a_deleted_book_is_unlinked_and_the_others_finish(linked, connector, emulator):
    integration, mlist, book = linked
    other_book = emulator.add_book("Customers")
    other_list = new_list("Customers", 5, start=100)
    service.refresh_books(integration)
    service.connect_list(other_list, integration, other_book)
    first_sync(linked, connector, emulator)
    emulator.delete_book(book)
    other = Contact.get(Contact.email_key == email(100))
    other.first_name = "Changed"
    other.save()
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    assert service.list_connection(mlist) is None
    assert ListMember.select().where(ListMember.mlist == mlist).count() == 30  # kept
    warning = HistoryEvent.get(HistoryEvent.level == "warning")
    assert "no longer exists" in warning.message and "Members" in warning.message
    assert [r["Email"] for r in imported_rows(emulator)][-1] == email(100)


def test_d7_a_book_gone_mid_run_is_unlinked(linked, connector, emulator):
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    emulator.inject("GET", f"address-books/{book}/campaigns", times=1, status=404,
                    body={"message": "Error: ERROR_ADDRESSBOOK_NOT_FOUND"})
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    assert service.list_connection(mlist) is None


# -- D8: the import throttle ------------------------------------------------------------------------

def test_d8_never_more_than_max_active_imports(profile, memory_keyring, emulator, sleeps):
    connector = DotmailerConnector(Tuning(sleep=sleeps, batch_rows=5))
    book = emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator, max_active_imports=3)
    mlist = new_list("Members", 60)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    peak = []
    real_start = connector.make_client

    def make_client(ctx):
        client = real_start(ctx)
        original = client.start_import

        def start_import(*args):
            state = emulator.snapshot()
            peak.append(sum(1 for i in state["imports"] if i["status"] == "NotFinished"))
            return original(*args)

        client.start_import = start_import
        return client

    connector.make_client = make_client
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    assert len(peak) == 12 and max(peak) <= 2  # below 3 before each new import
    assert len(book_emails(emulator, book)) == 60
    errors = validate_form(connector.form_fields(), {"username": "a@b.c",
                                                     "password": "secret-1",
                                                     "max_active_imports": 25})
    assert "max_active_imports" in errors


def test_exporting_contacts_reports_progress(profile, memory_keyring, emulator, sleeps):
    """The longest step says how far it is (not only "busy"): contacts sent of those to send
    after each batch and while it waits for a free import slot, then, while the run waits for
    its imports, contacts imported of those sent."""
    from core.sync.runner import run_sync
    from tests.helpers.dotmailer import FAST

    connector = DotmailerConnector(Tuning(sleep=sleeps, batch_rows=10))
    book = emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator, max_active_imports=2)
    mlist = new_list("Members", 45)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    seen = []
    result = run_sync(integration, connector, on_progress=seen.append, options=FAST)
    assert result.status == "succeeded", result.message
    export = [p for p in seen if p.step == "export_contacts" and p.total is not None]
    sending = [p for p in export if "importing" not in p.text]
    importing = [p for p in export if "importing" in p.text]
    assert {p.total for p in sending} == {45}
    done = [p.done for p in sending]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 45
    assert {10, 20, 30, 40, 45} <= set(done)  # after each of the five batches
    assert any("waiting for Dotmailer" in p.text for p in sending)  # two imports at most
    assert importing and {p.total for p in importing} == {45}
    assert importing == sorted(importing, key=lambda p: p.done)
    assert (importing[-1].done, importing[-1].text) == (
        45, "Dotmailer is importing the contacts sent: 5 of 5 imports finished")
    assert len(book_emails(emulator, book)) == 45


def test_d8_too_many_active_imports_requeues_the_rest(profile, memory_keyring, emulator, sleeps):
    emulator.set_config(max_active_imports_server=2)
    connector = DotmailerConnector(Tuning(sleep=sleeps, batch_rows=10))
    book = emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator, max_active_imports=5)
    mlist = new_list("Members", 40)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    result = sync(integration, connector, trigger="scheduled")
    assert result.status == "succeeded", result.message
    assert DotmailerImport.select().count() == 2
    assert HistoryEvent.select().where(HistoryEvent.message.contains("too many imports")).exists()
    for _ in range(3):
        emulator.finish_imports()
        sync(integration, connector, trigger="scheduled")
    assert len(book_emails(emulator, book)) == 40
    assert len(imported_rows(emulator)) == 40  # each row sent once


# -- D9: summaries of sent campaigns only; one error is not fatal -----------------------------------

def test_d9_summaries_only_for_sent_campaigns(linked, connector, emulator):
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    drafts = [emulator.add_campaign(f"Draft {s}", s, [book]) for s in ("Unsent", "Sending",
                                                                          "Paused")]
    sent = [emulator.add_campaign(f"Sent {i}", "Sent", [book]) for i in range(2)]
    emulator.inject("GET", f"campaigns/{sent[0]}/summary", times=10, status=500)
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    for draft in drafts:
        assert emulator.call_count("GET", f"campaigns/{draft}/summary") == 0
    assert [s.campaign.remote_id for s in CampaignSummary.select()] == [sent[1]]
    assert EmailCampaign.select().count() == 5
    assert HistoryEvent.select().where(HistoryEvent.message.contains("Sent 0")).exists()


# -- D10: a constant first date ---------------------------------------------------------------------

def test_d10_the_first_unsubscribe_reads_start_in_1971(linked, connector, emulator):
    integration, mlist, book = linked
    sync(integration, connector)
    paths = [e["path"] for e in emulator.requests()]
    assert f"/v2/address-books/{book}/contacts/unsubscribed-since/1971-01-01T00:00:00+00:00" in paths
    assert "/v2/contacts/suppressed-since/1971-01-01T00:00:00+00:00" in paths
    mark = Watermark.get(Watermark.step == "dotmailer:suppressed").value
    assert mark == datetime(2024, 5, 1, 10, 0)  # the service's clock at the run's start


# -- D11: TLS verified (see the client tests); D12: Watchdog rejections -----------------------------

def test_d12_watchdog_rejections_are_kept_and_not_resent(linked, connector, emulator):
    integration, mlist, book = linked
    emulator.script_imports([{"status": "RejectedByWatchdog"}])
    result = sync(integration, connector)
    assert result.status == "succeeded"
    assert book_emails(emulator, book) == set()
    # An explicit status, not a message to match: the list's page counts them as such.
    assert BookMember.select().where(BookMember.export_status == EXPORT_WATCHDOG).count() == 30
    assert not BookMember.select().where(BookMember.export_status == EXPORT_REJECTED).exists()
    assert HistoryEvent.select().where(HistoryEvent.message.contains("Data Watchdog")).exists()
    connection = service.list_connection(mlist)
    assert connection is not None and connection.rejected == 30
    assert connection.watchdog_rejected == 30
    emulator.advance(300)
    sync(integration, connector)
    assert emulator.call_count("POST", "*/contacts/import") == 1  # never re-sent by itself
    assert service.retry_rejected(mlist) == 30
    sync(integration, connector)
    assert len(book_emails(emulator, book)) == 30


# -- D13: bad emails are skipped per row ------------------------------------------------------------

def test_d13_bad_emails_are_skipped_with_a_reason_once(linked, connector, emulator):
    integration, mlist, book = linked
    blank = Contact.create(first_name="NoMail")
    bad = Contact.create(email="not-an-email", email_key="not-an-email", first_name="Bad")
    ListMember.insert_many([{"mlist": mlist.id, "contact": blank.id},
                            {"mlist": mlist.id, "contact": bad.id}]).execute()
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    assert len(book_emails(emulator, book)) == 30
    skips = HistoryEvent.select().where(HistoryEvent.kind == "dotmailer_skip")
    assert sorted(e.record_id for e in skips) == sorted([blank.id, bad.id])
    emulator.advance(300)
    sync(integration, connector)
    assert skips.count() == 2  # journalled once, not at every run


def test_d13_duplicates_in_a_batch_merge():
    members = [dm_sync.LocalMember(1, "A@x.io", "a@x.io", ["Old"]),
               dm_sync.LocalMember(2, "a@x.io", "a@x.io", ["New"])]
    merged = {m.email_key: m for m in members}
    assert list(merged) == ["a@x.io"] and merged["a@x.io"].values == ["New"]


# -- D14: only fields that exist remotely -----------------------------------------------------------

def test_d14_only_existing_fields_are_sent(linked, connector, emulator):
    integration, mlist, book = linked
    dm_sync.ensure_default_mappings(integration)
    DataFieldMapping.create(integration=integration, entity="contact", entity_field="city",
                            datafield="NOPE", priority=9)
    sync(integration, connector)
    header = list(imported_rows(emulator)[0])
    assert header == ["Email", "FIRSTNAME", "LASTNAME", "FULLNAME"]
    assert emulator.call_count("GET", "data-fields") == 1
    DataFieldMapping.create(integration=integration, entity="contact", entity_field="city",
                            datafield="CITY", priority=10)
    sync(integration, connector)
    sync(integration, connector)
    assert emulator.call_count("GET", "data-fields") == 2  # read again once, for CITY
    entry = [e for e in emulator.requests() if e["method"] == "POST"][0]
    text = base64.b64decode(json.loads(entry["body"])["data"]).decode()
    assert text.startswith("Email,FIRSTNAME,LASTNAME,FULLNAME\r\nuser0@example.com,First0,")
    assert text.endswith("\r\n") and not text.startswith("\ufeff")


def test_the_service_manages_data_fields_and_mappings(linked, connector, emulator):
    """What the Data Fields dialog does, through the service (no client in the GUI)."""
    integration, mlist, book = linked
    defaults = [(m.entity_field, m.datafield) for m in service.mappings(integration, "contact")]
    assert defaults == [("first_name", "FIRSTNAME"), ("last_name", "LASTNAME"),
                        ("full_name", "FULLNAME")]
    names = {f.name for f in service.refresh_data_fields(integration)}
    assert {"FIRSTNAME", "LASTSUBSCRIBED"} <= names and "CITY" not in names
    assert service.data_field(integration, "firstname").name == "FIRSTNAME"

    city = service.add_mapping(integration, "contact", "city", "City", create=True)
    assert city.datafield == "CITY"  # as the account spells it (E22 read again)
    assert service.data_field(integration, "city").type == "String"
    assert emulator.call_count("POST", "*/data-fields") == 1
    with pytest.raises(service.MappingRefused, match="already mapped"):
        service.add_mapping(integration, "contact", "phone", "city")
    with pytest.raises(service.MappingRefused, match="20 letters"):
        service.add_mapping(integration, "lead", "phone", "9LIVES", create=True)
    with pytest.raises(service.MappingRefused, match="not a Dotmailer data field type"):
        service.add_mapping(integration, "lead", "phone", "PHONE", create=True, type_="Text")
    assert emulator.call_count("POST", "*/data-fields") == 1  # refusals send nothing
    lead_city = service.add_mapping(integration, "lead", "city", "city")  # exists: no call
    assert (lead_city.datafield, lead_city.priority) == ("CITY", 3)
    assert emulator.call_count("POST", "*/data-fields") == 1

    assert service.remove_mapping(integration, city.id)
    assert not service.remove_mapping(integration, city.id)
    assert service.delete_data_field(integration, "city") == 1  # the lead's mapping goes too
    assert service.data_field(integration, "CITY") is None
    assert not DataFieldMapping.select().where(DataFieldMapping.datafield == "CITY").exists()


# -- D15: export changes no member state ------------------------------------------------------------

def test_d15_members_change_state_only_on_a_remote_signal(linked, connector, emulator):
    integration, mlist, book = linked
    emulator.add_contact(email(0), status="PendingOptIn")  # not a stop: no change
    emulator.add_contact(email(1), status="SoftBounced")
    emulator.script_imports([{"faults": [(email(2), "Invalid Entries"),
                                         (email(3), "Martian Reason")]}])
    assert sync(integration, connector).status == "succeeded"
    emulator.advance(300)
    assert sync(integration, connector).status == "succeeded"
    assert set(states(mlist).values()) == {"subscribed"}  # exporting changed no state
    emulator.update_contact(email(5), status="HardBounced")  # the signal
    emulator.advance(300)
    sync(integration, connector)
    got = states(mlist)
    assert got[email(5)] == "unsubscribed"
    assert [k for k, v in got.items() if v != "subscribed"] == [email(5)]


# -- D16: discovery once per process ----------------------------------------------------------------

def test_d16_one_account_info_per_process(linked, connector, emulator):
    integration, mlist, book = linked
    for _ in range(3):
        sync(integration, connector)
        emulator.advance(300)
    assert emulator.call_count("GET", "account-info") == 1


# -- the other sync conformance points ---------------------------------------------------------------

def test_book_and_account_unsubscribes(linked, connector, emulator):
    integration, mlist, book = linked
    emulator.set_config(suppressed_contact_status="reason")
    first_sync(linked, connector, emulator)
    emulator.unsubscribe_from_book(book, email(0))
    emulator.suppress(email(1), "HardBounced")
    other = MarketingList.create(name="Other", entity="contact")
    from core.lists import add_members

    add_members(other, [c.id for c in Contact.select().where(
        Contact.email_key.in_([email(0), email(1), email(2)]))])
    other_book = emulator.add_book("Other")
    service.refresh_books(integration)
    service.connect_list(other, integration, other_book)
    sync(integration, connector)
    assert DotmailerContact.get(DotmailerContact.email_key == email(0)).status == "Subscribed"
    assert DotmailerContact.get(DotmailerContact.email_key == email(1)).status == "HardBounced"
    assert states(mlist)[email(0)] == "unsubscribed" and states(mlist)[email(1)] == "unsubscribed"
    other_states = dict(ListMember.select(Contact.email_key, ListMember.state)
                        .join(Contact, on=(ListMember.contact == Contact.id))
                        .where(ListMember.mlist == other).tuples())
    # E9 is account-wide: every list; E8 is the book's: its list only.
    assert other_states == {email(0): "subscribed", email(1): "unsubscribed",
                            email(2): "subscribed"}


def test_activities_are_stored_once_per_campaign_and_contact(linked, connector, emulator):
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    campaign = emulator.add_campaign("News", "Sent", [book])
    for i in range(5):
        emulator.add_activity(campaign, email(i), opens=1)
    sync(integration, connector)
    emulator.advance(600)
    emulator.add_activity(campaign, email(0), opens=4)
    emulator.add_activity(campaign, email(9), opens=1)
    sync(integration, connector)
    assert emulator.call_count("GET", f"campaigns/{campaign}/activities") == 1  # E19 once
    assert emulator.call_count("GET", f"campaigns/{campaign}/activities/since-date/*") == 1
    rows = {a.email_key: a.num_opens for a in ContactActivity.select()}
    assert rows == {email(0): 4, email(1): 1, email(2): 1, email(3): 1, email(4): 1,
                    email(9): 1}


def test_watermarks_move_only_when_the_step_finished(linked, connector, emulator):
    integration, mlist, book = linked
    first_sync(linked, connector, emulator)
    before = AddressBook.get(AddressBook.remote_id == book).unsubscribes_synced_at
    emulator.unsubscribe_from_book(book, email(0))
    emulator.inject("GET", "contacts/suppressed-since/*", times=50, status=503)
    result = sync(integration, connector)
    assert result.status == "retrying"
    assert Watermark.get(Watermark.step == "dotmailer:suppressed").value == datetime(2024, 5, 1, 10)
    assert AddressBook.get(AddressBook.remote_id == book).unsubscribes_synced_at > before
    emulator._faults.clear()
    assert sync(integration, connector).status == "succeeded"
    assert states(mlist)[email(0)] == "unsubscribed"


def test_a_send_cut_off_by_a_crash_is_sent_again(linked, connector, emulator):
    integration, mlist, book = linked
    ctx = context(integration, connector)
    run_steps(ctx, connector, only=("data_fields", "address_books", "export_prepare"))
    # What a run killed between stamping the rows and reading E12's answer leaves behind:
    imp = DotmailerImport.create(integration=integration, book=AddressBook.get(), remote_id="",
                                 status="Sending", rows=30)
    BookMember.update(import_=imp).execute()
    result = sync(integration, connector)
    assert result.status == "succeeded", result.message
    assert len(book_emails(emulator, book)) == 30
    assert DotmailerImport.get_by_id(imp.id).status == "Unknown"
    assert HistoryEvent.select().where(HistoryEvent.message.contains("cut off")).exists()


def test_system_books_are_never_offered_nor_imported(profile, memory_keyring, emulator,
                                                     connector):
    emulator.add_book("Newsletter")
    integration = new_integration(connector, emulator)
    sync(integration, connector)
    assert [b.name for b in AddressBook.select()] == ["Newsletter"]
    assert [b.name for b in service.connectable_books(integration)] == ["Newsletter"]
    assert [r.name for r in connector.remote_lists(integration, {"password": "demo-pass-1"})] \
        == ["Newsletter"]


def test_connecting_one_list_to_one_book(profile, memory_keyring, emulator, connector):
    first, second = emulator.add_book("One"), emulator.add_book("Two")
    integration = new_integration(connector, emulator)
    service.refresh_books(integration)
    a, b = new_list("A", 2), new_list("B", 2, start=10)
    companies = MarketingList.create(name="Companies", entity="company")
    Company.create(name="Acme")
    service.connect_list(a, integration, first)
    assert service.connect_list(a, integration, first).remote_id == first  # idempotent
    with pytest.raises(service.ConnectRefused, match="already connected to the address book"):
        service.connect_list(a, integration, second)
    with pytest.raises(service.ConnectRefused, match="already connected to the list"):
        service.connect_list(b, integration, first)
    with pytest.raises(service.ConnectRefused, match="contacts or leads"):
        service.connect_list(companies, integration, second)
    with pytest.raises(service.ConnectRefused, match="no address book"):
        service.connect_list(b, integration, 99999)
    assert [x.name for x in service.connectable_books(integration)] == ["Two"]
    assert [x.name for x in service.connectable_books(integration, a)] == ["One", "Two"]
    assert service.list_connection(a).book_id == first
    with pytest.raises(service.ConnectRefused):
        service.change_connection(b, integration, first)
    assert service.change_connection(a, integration, second).remote_id == second
    assert service.change_connection(a, integration, first).remote_id == first
    assert service.disconnect_list(a).remote_id == first
    assert service.list_connection(a) is None
    assert service.disconnect_list(a) is None
    service.connect_list(b, integration, first)


def test_steps_can_run_without_the_engine(linked, connector, emulator):
    integration, mlist, book = linked
    ctx = context(integration, connector, trigger="headless")
    run_steps(ctx, connector)
    assert len(book_emails(emulator, book)) == 30
    set_member_state(mlist, [Contact.get(Contact.email_key == email(0)).id], "unsubscribed")
    ctx = context(integration, connector)
    run_steps(ctx, connector)
    assert email(0) not in book_emails(emulator, book)  # left the list: removed from the book
    assert ctx.counts["export_removed"]["removed_remotely"] == 1


def test_the_integration_form():
    connector = DotmailerConnector()
    fields = {f.key: f for f in connector.form_fields()}
    assert list(fields) == ["username", "password", "api_url", "max_active_imports"]
    assert fields["username"].required and fields["username"].label == "User Name"
    assert fields["password"].secret and fields["password"].required
    assert fields["api_url"].advanced and fields["api_url"].default == "https://r1-api.dotdigital.com"
    assert connector.secret_keys() == ["password"]
    assert (connector.type_name, connector.label, connector.default_schedule_minutes) == (
        "dotmailer", "Dotmailer", 4)

    def errors(password):
        return validate_form(connector.form_fields(), {"username": "a@b.c", "password": password})

    assert errors("secret-1") == {} and errors("abcdefg1") == {} and errors("abcdefg!") == {}
    assert "password" in errors("short1")  # 8 characters at least
    assert "password" in errors("onlyletters")  # a digit or a non-alphanumeric
    assert "username" in validate_form(connector.form_fields(), {"password": "secret-1"})
