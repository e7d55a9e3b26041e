"""INES in push-only mode (push on, published, full sync off): a contact created or changed by
hand, by an import or by another integration is pushed automatically (ines.md §3.12).

The record-change listener only records the contact (a PENDING ``ines_sync_log`` row of source
``auto``) and asks for a run (``next_sync_at`` now); the run pushes it. Also here: the hook that
sets an integration up after saving it, ``listbridge ines configure``, the wording of labels and
history lines, the references reset, and "Test connection" against an unreachable INES.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from connectors import cli as connectors_cli
from connectors.ines import fullsync
from connectors.ines.catalogue import CustomFieldInfo, custom_field, custom_field_label
from connectors.ines.client import forget_sessions, make_check_client
from connectors.ines.connector import InesConnector, reference_fields, reset_references
from connectors.ines.fullsync import run_auto_push
from connectors.ines.mapping import MappingSettings, set_not_ecrasable
from connectors.ines.models import InesSyncLog
from connectors.ines.queue import AUTO, journal
from core import cli as core_cli
from core.clock import utcnow
from core.integrations import read_secrets, schedule_next, update_integration
from core.models.store import Contact, CustomField
from core.models.sync import Integration, SyncRun
from core.store import save_record
from core.sync import requests
from core.sync.scheduler import Scheduler
from tests.connectors.ines_values import ACCOUNT, PASSWORD, USER

if TYPE_CHECKING:
    from tests.connectors.ines_support import Ines

pytest_plugins = ["tests.connectors.ines_support"]


@pytest.fixture
def auto(ines: Ines) -> Ines:
    """Published, push on, full sync off, scheduled every 5 minutes and not due."""
    ines.features(full_sync=False)
    settings = ines.reload().settings
    assert settings["push_lead"] is True and settings["full_sync"] is False
    schedule_next(ines.integration)  # the next scheduled run in 5 minutes
    requests.answered(ines.integration.id)  # a fresh process: nothing asked yet
    ines.reload()
    return ines


def listbridge(profile: Any, *args: str) -> int:
    return core_cli.main(["--data-dir", str(profile.root), *args],
                         registrars=[connectors_cli.register])


def tick(ines: Ines) -> list[int]:
    """One look of the scheduler (as the window and ``listbridge sync --loop`` do), waited for."""
    scheduler = Scheduler(lambda integration: InesConnector())
    try:
        started = scheduler.tick()
        assert scheduler.wait_idle(30)
    finally:
        scheduler.stop()
    ines.reload()
    return started


def due(ines: Ines) -> bool:
    at = ines.reload().next_sync_at
    return at is not None and at <= utcnow()


def auto_rows(ines: Ines) -> list[InesSyncLog]:
    return [r for r in ines.rows() if r.source == AUTO]


# -- a contact created or changed is pushed by the next run --------------------------------------------

def test_a_contact_saved_is_recorded_and_pushed_by_the_scheduler(auto: Ines):
    contact = auto.contact(first_name="Paul", last_name="Durand")
    # The listener only recorded it and asked for a run: nothing reached INES.
    assert auto.emulator.calls() == []
    assert [(r.action, r.status, r.source) for r in auto.rows()] == [("UPDATE", "PENDING", AUTO)]
    assert due(auto)
    assert tick(auto) == [auto.integration.id]
    (client,) = auto.emulator.clients()
    (person,) = auto.emulator.contacts()
    assert client["CompanyName"] == "Durand SA" and person["FirstName"] == "Paul"
    assert auto.refs(contact) == (person["InternalRef"], client["InternalRef"])
    assert auto.ops("AddClientWithContacts", "AddLead") == ["AddClientWithContacts", "AddLead"]
    (row,) = auto.rows()
    assert (row.status, row.counter, row.source) == ("DONE", 1, AUTO)
    assert journal(auto.integration, source=AUTO)[0].status == "DONE"
    (event,) = [e for e in auto.history(contact) if e.kind == "ines_created"]
    assert event.message.startswith("Automatic push to INES: Created in INES: client")
    run = SyncRun.select().order_by(SyncRun.id.desc()).get()
    assert run.status == "succeeded" and '"created": 1' in run.counts_json
    assert not due(auto)  # the engine scheduled the next run
    assert tick(auto) == []  # nothing due, nothing sent again


def test_a_running_scheduler_pushes_a_saved_contact_within_seconds(auto: Ines):
    """The window's (or ``sync --loop``'s) scheduler honours the engine's run request at once,
    not at its next tick (five minutes here)."""
    scheduler = Scheduler(lambda integration: InesConnector(), tick_seconds=300)
    scheduler.start()
    try:
        assert scheduler.wait_idle(30)  # the first look: nothing due
        started = time.monotonic()
        contact = auto.contact(first_name="Paula", last_name="Quick")
        while not auto.emulator.contacts() and time.monotonic() - started < 15:
            time.sleep(0.05)
        assert auto.emulator.contacts(), "not pushed within 15 s"
        assert scheduler.wait_idle(30)
    finally:
        scheduler.stop()
    assert time.monotonic() - started < 15
    assert all(ref > 0 for ref in auto.refs(contact))
    run = SyncRun.select().order_by(SyncRun.id.desc()).get()
    assert run.trigger == "record_change" and run.status == "succeeded"
    assert not requests.is_requested(auto.integration.id)


def test_an_edit_sends_an_update_without_a_lead_and_respects_non_overwritable_fields(
        auto: Ines):
    auto.map(contact_Function="job_title")
    set_not_ecrasable(auto.reload(), ["contact_Function"])
    contact = auto.contact(first_name="Paul", job_title="Buyer")
    tick(auto)
    contact_ref, _client_ref = auto.refs(contact)
    auto.emulator.edit_contact(contact_ref, Function="Head buyer")  # changed in INES
    auto.emulator.clear_calls()
    requests.answered(auto.integration.id)
    auto.edit(contact, first_name="Pierre", job_title="Chief")
    assert auto.emulator.calls() == [] and due(auto)
    tick(auto)
    assert "UpdateContact" in auto.ops() and "AddLead" not in auto.ops()  # not explicit
    assert "AddClientWithContacts" not in auto.ops()
    person = auto.emulator.get_contact(contact_ref)
    assert person is not None and person["FirstName"] == "Pierre"
    assert person["Function"] == "Head buyer"  # non-overwritable and filled in INES: kept
    assert [e.kind for e in auto.history(contact)][-1] == "ines_updated"
    assert auto.history(contact)[-1].message.startswith("Automatic push to INES: Updated in INES")


def test_a_csv_import_is_pushed_by_one_run(auto: Ines, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch):
    from core.importer import import_csv

    asked: list[int] = []

    def counted(integration: Any, *args: Any, **kwargs: Any) -> bool:
        opened = requests.request_run(integration, *args, **kwargs)
        if opened:
            asked.append(integration.id)
        return opened

    monkeypatch.setattr(fullsync, "request_run", counted)
    try:
        path = tmp_path / "contacts.csv"
        lines = ["email,first_name,last_name,company"]
        lines += [f"p{n}@import.example,P{n},Imported,Firm {n % 3}" for n in range(40)]
        lines += ["nocompany@import.example,No,Company,"]  # not eligible: no company
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = import_csv(path, "contact")
        assert report.created == 41
    finally:
        monkeypatch.undo()
    assert asked == [auto.integration.id]  # one request for the whole burst
    assert len(auto_rows(auto)) == 40 and auto.emulator.calls() == []
    assert tick(auto) == [auto.integration.id]
    assert SyncRun.select().count() == 1
    assert len(auto.emulator.contacts()) == 40 and len(auto.emulator.clients()) == 40
    assert all(r.status == "DONE" for r in auto.rows())
    imported = Contact.get(Contact.email == "p7@import.example")
    assert all(ref > 0 for ref in auto.refs(imported))


def test_a_change_by_another_integration_is_pushed(auto: Ines):
    contact = auto.contact()
    tick(auto)
    requests.answered(auto.integration.id)
    fresh = Contact.get_by_id(contact.id)
    fresh.points = 42
    save_record(fresh, origin="integration:Dotmailer")
    assert due(auto)
    tick(auto)
    person = auto.emulator.get_contact(auto.refs(contact)[0])
    assert person is not None and int(person["Scoring"]) == 42


def test_a_burst_of_edits_leaves_one_row_per_contact(auto: Ines):
    contact = auto.contact()
    for n in range(5):
        auto.edit(contact, first_name=f"Name {n}")
    assert len(auto.pending()) == 1
    run_sync_now(auto)
    assert auto.ops("AddClientWithContacts") == ["AddClientWithContacts"]
    assert auto.emulator.contacts()[0]["FirstName"] == "Name 4"


def run_sync_now(ines: Ines) -> Any:
    from core.sync.runner import run_sync

    result = run_sync(ines.reload(), InesConnector(), trigger="record_change")
    assert result.ok, result.message
    return result


def test_changes_that_ines_does_not_receive_push_nothing(auto: Ines):
    contact = auto.contact()
    run_sync_now(auto)
    auto.emulator.clear_calls()
    auto.edit(contact, job_title="Not mapped")  # job_title is not in the default mapping
    assert auto.pending() == []


def test_ineligible_contacts_are_not_recorded_and_stop_sync_unqueues(auto: Ines):
    auto.contact("nocompany@x.example", company=None)
    auto.contact(None, first_name="No email")
    assert auto.rows() == []
    contact = auto.contact()
    assert len(auto.pending()) == 1
    auto.edit(contact, custom={"ines_stop_sync": True})
    assert auto.pending() == []
    assert auto.history(contact)[-1].kind == "ines_unqueued"
    run_sync_now(auto)
    assert auto.emulator.calls() == []  # nothing to push: not even a login


def test_push_off_or_unpublished_records_nothing(auto: Ines):
    auto.features(push_lead=False)
    auto.contact("a@x.example")
    update_integration(auto.reload(), InesConnector(), active=False)
    auto.features(push_lead=True)
    auto.contact("b@x.example")
    assert auto.rows() == []


def test_full_sync_mode_queues_as_before_without_asking_for_a_run(auto: Ines):
    auto.features(full_sync=True)
    auto.contact()
    assert [(r.source, r.status) for r in auto.rows()] == [("event", "PENDING")]
    assert not due(auto)  # the scheduled run takes the queue, N at a time


def test_a_manual_only_integration_pushes_with_its_next_synchronize(auto: Ines):
    update_integration(auto.reload(), InesConnector(), schedule_minutes=None)
    contact = auto.contact()
    assert auto.reload().next_sync_at is None and len(auto_rows(auto)) == 1
    run_sync_now(auto)
    assert all(ref > 0 for ref in auto.refs(contact))


def test_a_failed_push_is_visible_and_tried_again_by_the_next_runs(auto: Ines):
    auto.emulator.inject("WSAutomationSync", "AddClientWithContacts", "fault", times=10,
                         text="PaymentMethodRef must not be 0")
    contact = auto.contact()
    run_sync_now(auto)
    (row,) = auto.rows()
    assert (row.status, row.counter) == ("PENDING", 1)  # not tried twice in one run
    failed = [e for e in auto.history(contact) if e.kind == "ines_failed"]
    assert failed and failed[-1].message.startswith("Automatic push to INES failed: ")
    assert failed[-1].level == "error"
    run_sync_now(auto)
    run_sync_now(auto)
    assert [(r.status, r.counter) for r in auto.rows()] == [("FAILED", 3)]
    assert journal(auto.integration)[0].can_retry


def test_contacts_changed_during_the_run_are_sent_by_it(auto: Ines):
    first = auto.contact("first@x.example")
    added: list[Contact] = []

    def meanwhile() -> None:  # called before each row: another contact is saved mid-run
        if not added:
            added.append(auto.contact("second@x.example"))

    counts = run_auto_push(auto.reload(), auto.api(), check_cancel=meanwhile)
    assert counts.update_total == 2 and counts.created == 2
    assert all(ref > 0 for ref in auto.refs(first) + auto.refs(added[0]))


def test_a_run_sends_at_most_its_share_and_the_rest_next_time(auto: Ines):
    for n in range(5):
        auto.contact(f"c{n}@x.example")
    counts = run_auto_push(auto.reload(), auto.api(), limit=3)
    assert counts.update_total == 3
    assert len(auto.pending()) == 2
    assert run_auto_push(auto.reload(), auto.api()).update_total == 2


def test_the_listener_is_quick_and_never_calls_ines(auto: Ines):
    auto.emulator.inject("*", "authenticationWs", "delay", times=5, seconds=3)
    started = time.monotonic()
    for n in range(20):
        auto.contact(f"q{n}@x.example")
    assert time.monotonic() - started < 2.5
    assert auto.emulator.calls() == []


# -- an integration added headless works (on_saved), ines configure ------------------------------------

def add_headless(profile: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch,
                 name: str = "Cron") -> Integration:
    import io
    import sys

    CustomField.delete().execute()
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert listbridge(profile, "integration", "add", "--type", "ines", "--name", name,
                      "--option", f"account={ACCOUNT}", "--option", f"username={USER}",
                      "--option", f"api_url={emulator.base_url}") == 0
    return Integration.get(Integration.name == name)


def test_an_integration_added_headless_gets_its_fields_and_mapping(
        profile: Any, memory_keyring: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], restore_logging: None):
    import json

    integration = add_headless(profile, emulator, monkeypatch)
    keys = {f.key for f in CustomField.select().where(CustomField.entity == "contact")}
    assert {"ines_contact_ref", "ines_client_ref", "ines_stop_sync"} <= keys
    mapping = MappingSettings.of(integration)
    assert (mapping.contact_ref, mapping.client_ref, mapping.stop_sync) == (
        "ines_contact_ref", "ines_client_ref", "ines_stop_sync")
    assert "mapping" in integration.settings
    capsys.readouterr()
    assert listbridge(profile, "ines", "get-mapping", "--integration", "Cron") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["dontSyncFieldKey"] == "ines_stop_sync"
    assert all(e["atmtFieldKey"] in keys | {"email", "company", "first_name", "last_name"}
               for e in document["mapping"])
    # Editing it later keeps the admin's mapping.
    saved = dict(integration.settings["mapping"])
    saved.pop("contact_FirstName")
    settings = integration.settings
    settings["mapping"] = saved
    integration.settings = settings
    integration.save()
    update_integration(integration, InesConnector(), name="Cron job")
    assert "contact_FirstName" not in Integration.get_by_id(integration.id).settings["mapping"]


def test_configure_switches_the_features_headless(
        profile: Any, memory_keyring: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], restore_logging: None):
    integration = add_headless(profile, emulator, monkeypatch)
    capsys.readouterr()
    assert listbridge(profile, "ines", "configure", "--integration", "Cron") == 0
    assert "push off, full sync off" in capsys.readouterr().out
    assert listbridge(profile, "ines", "configure", "--integration", "Cron",
                      "--full-sync", "on") == 0
    assert "published on, push on, full sync on" in capsys.readouterr().out
    assert listbridge(profile, "ines", "configure", "--integration", "Cron", "--push", "off") == 0
    out = capsys.readouterr().out
    assert "Full sync turned off too" in out and "push off, full sync off" in out
    assert listbridge(profile, "ines", "configure", "--integration", "Cron", "--push", "on",
                      "--published", "off") == 0
    fresh = Integration.get_by_id(integration.id)
    assert not fresh.active and fresh.settings["push_lead"] and not fresh.settings["full_sync"]
    capsys.readouterr()
    # ines sync says which of the two stops it.
    assert listbridge(profile, "ines", "sync", "--integration", "Cron") == 0
    out = capsys.readouterr().out
    assert "Full sync is off" in out and "it is not published" in out
    assert "--full-sync on --published on" in out
    assert listbridge(profile, "ines", "configure", "--integration", "Cron",
                      "--full-sync", "on") == 0
    capsys.readouterr()
    assert listbridge(profile, "ines", "sync", "--integration", "Cron") == 0
    out = capsys.readouterr().out
    assert "The INES integration 'Cron' is not published" in out and "Full sync" not in out
    assert listbridge(profile, "ines", "configure", "--integration", "Cron",
                      "--full-sync", "off") == 0
    assert listbridge(profile, "ines", "configure", "--integration", "Cron",
                      "--published", "on") == 0
    assert Integration.get_by_id(integration.id).active
    capsys.readouterr()
    assert listbridge(profile, "ines", "sync", "--integration", "Cron") == 0
    out = capsys.readouterr().out
    assert "Full sync is off" in out and "not published" not in out and "Push is on" in out
    # Usage errors and a missing integration.
    assert listbridge(profile, "ines", "configure", "--integration", "Cron", "--push", "off",
                      "--full-sync", "on") == 2
    with pytest.raises(SystemExit) as exited:
        listbridge(profile, "ines", "configure", "--integration", "Cron", "--push", "maybe")
    assert exited.value.code == 2
    assert listbridge(profile, "ines", "configure", "--integration", "Nope") == 1


def test_configure_create_fields_repairs_a_broken_mapping(
        profile: Any, memory_keyring: Any, emulator: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], restore_logging: None):
    integration = add_headless(profile, emulator, monkeypatch)
    CustomField.delete().where(CustomField.key == "ines_stop_sync").execute()
    capsys.readouterr()
    assert listbridge(profile, "ines", "configure", "--integration", "Cron") == 1
    err = capsys.readouterr().err
    assert "stop-sync" in err and "--create-fields" in err
    assert listbridge(profile, "ines", "configure", "--integration", "Cron",
                      "--create-fields") == 0
    assert "created ines_stop_sync" in capsys.readouterr().out
    assert MappingSettings.of(Integration.get_by_id(integration.id)).stop_sync == "ines_stop_sync"


def test_push_exits_1_when_nothing_was_pushed(ines: Ines, profile: Any,
                                              capsys: pytest.CaptureFixture[str],
                                              restore_logging: None):
    ines.contact("nocompany@x.example", company=None)
    assert listbridge(profile, "ines", "push", "--integration", "INES", "--contact",
                      "nocompany@x.example") == 1
    err = capsys.readouterr().err
    assert "ignored" in err and "no company" in err and "nothing was pushed" in err
    ines.contact("paul@durand.example")
    assert listbridge(profile, "ines", "push", "--integration", "INES", "--contact",
                      "paul@durand.example") == 0
    assert listbridge(profile, "ines", "push", "--integration", "INES", "--contact",
                      "paul@durand.example") == 0  # unchanged counts as pushed
    assert "unchanged" in capsys.readouterr().out
    ines.features(push_lead=False, full_sync=False)
    assert listbridge(profile, "ines", "push", "--integration", "INES", "--contact",
                      "paul@durand.example") == 1
    assert "is off" in capsys.readouterr().err


# -- wording ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("concept", "name", "label"), [
    ("client", "Text (société)", "Text (société)"),
    ("client", "Secteur (Societe)", "Secteur (Societe)"),
    ("contact", "Text (contact)", "Text (contact)"),
    ("client", "Secteur", "Secteur (company)"),
    ("contact", "Secteur", "Secteur (contact)"),
    ("contact", "Text (société)", "Text (société) (contact)"),  # names another concept
    ("client", "Taille (m2)", "Taille (m2) (company)"),
])
def test_custom_field_labels_name_the_concept_once(concept: str, name: str, label: str):
    assert custom_field_label(concept, name) == label
    assert custom_field(concept, CustomFieldInfo(7, name, "text")).label == label


def test_history_lines_say_what_happened(ines: Ines):
    from connectors.ines.connector import push

    contact = ines.contact("nocompany@x.example", company=None)
    push(ines.reload(), [contact.id], read_secrets(ines.integration))
    assert ines.history(contact)[-1].message == (
        "Push to INES: not sent. The contact has no company (a primary company with a name is "
        "needed).")
    other = ines.contact()
    ines.emulator.inject("WSAutomationSync", "AddClientWithContacts", "fault", times=5,
                         text="refused")
    ines.run()
    event = ines.history(other)[-1]
    assert event.kind == "ines_failed" and event.message.startswith("INES sync failed: ")


# -- the references: read-only, reset by hand --------------------------------------------------------------

def test_reference_fields_are_the_mapped_ones(ines: Ines):
    assert reference_fields() == {"ines_contact_ref": "INES contact ID",
                                  "ines_client_ref": "INES client ID"}


def test_reset_references_makes_the_next_sync_create_anew(ines: Ines):
    contact = ines.contact()
    ines.run()
    assert ines.refs(contact) == (5001, 1001)
    assert reset_references(contact.id) == 1
    assert ines.refs(contact) == (0, 0)
    assert ines.history(contact)[-1].kind == "ines_refs_reset"
    assert "reset by hand" in ines.history(contact)[-1].message
    assert [(r.status, r.source) for r in ines.pending()] == [("PENDING", "event")]
    ines.run()
    assert ines.refs(contact) == (5002, 1002)
    assert reset_references(ines.contact("x@x.example", company=None).id) == 0


def test_reset_references_in_push_only_mode_pushes_again(auto: Ines):
    contact = auto.contact()
    run_sync_now(auto)
    requests.answered(auto.integration.id)
    assert reset_references(contact.id) == 1
    assert len(auto_rows(auto)) == 2 and due(auto)
    run_sync_now(auto)
    assert auto.refs(contact) == (5002, 1002)


# -- Test connection: one short try -------------------------------------------------------------------------

class SilentServer:
    """Accepts TCP connections and never answers (an INES that hangs); counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_test_connection_tries_once_briefly(monkeypatch: pytest.MonkeyPatch, profile: Any):
    from connectors.ines import client as ines_client

    monkeypatch.setattr(ines_client, "CHECK_READ_TIMEOUT_S", 0.3)
    forget_sessions()
    server = SilentServer()
    try:
        started = time.monotonic()
        result = InesConnector().check_connection(
            {"account": ACCOUNT, "username": USER, "api_url": f"http://127.0.0.1:{server.port}"},
            {"password": PASSWORD})
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert not result.ok and result.kind == "transient"
    assert result.message.startswith(
        "INES could not be reached: check the service URL and the network")
    assert len(server.accepted) == 1  # the WSDL read failed: no login attempt after it
    assert elapsed < 2.0


def test_test_connection_to_a_closed_port_says_so(profile: Any):
    forget_sessions()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = InesConnector().check_connection(
        {"account": ACCOUNT, "username": USER, "api_url": f"http://127.0.0.1:{port}"},
        {"password": PASSWORD})
    assert not result.ok
    assert result.message == ("INES could not be reached: check the service URL and the network "
                              "(the connection could not be opened).")


def test_the_check_client_has_short_timeouts_and_no_retry(emulator: Any):
    api = make_check_client({"account": ACCOUNT, "username": USER, "api_url": emulator.base_url},
                            {"password": PASSWORD})
    try:
        policy = api.http.policy
        assert policy.max_retries == 0 and policy.connect_timeout <= 5
        assert policy.read_timeout <= 15 and api.fail_fast
    finally:
        api.close()
    emulator.inject("login", "authenticationWs", "http_status", times=1, code=503)
    result = InesConnector().check_connection(
        {"account": ACCOUNT, "username": USER, "api_url": emulator.base_url},
        {"password": PASSWORD})
    assert not result.ok
    assert [c.operation for c in emulator.calls()] == ["authenticationWs"]  # not repeated


def test_a_run_keeps_the_integration_timeouts(ines: Ines):
    api = ines.api()
    try:
        assert api.http.policy.read_timeout == 60.0 and not api.fail_fast
    finally:
        api.close()

