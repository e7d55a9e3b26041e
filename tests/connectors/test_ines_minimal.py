"""The "minimal test" of the INES plugin documentation (seed 003, "Test minimaliste"), automated
against the emulator, with the headless command's exit codes (§3.14, conformance point 20).

1. A form with Email and Company pushes a new contact: INES gets a new client holding one
   contact with the mapped fields, and the contact gets both references.
2. The same form again, same email and company, one other field changed: INES is updated,
   non-overwritable fields respected.
3. In full-sync mode, edited and deleted contacts appear in the queue; one headless run
   (``listbridge ines sync``, in-process and as a real subprocess) changes their states.
4. "Stop sync INES" set to yes removes a contact from the synchronisation.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from connectors import cli as connectors_cli
from connectors.ines.connector import push
from connectors.ines.mapping import set_not_ecrasable
from connectors.ines.queue import journal
from core import cli as core_cli
from core.integrations import read_secrets
from core.models.store import Company, Contact, email_key
from core.store import delete_record, save_record
from tests.connectors.ines_cli_worker import KEYRING_ENV

if TYPE_CHECKING:
    from tests.connectors.ines_support import Ines

pytest_plugins = ["tests.connectors.ines_support"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def submit_form(ines: Ines, **fields: Any) -> Contact:
    """A standalone form with Email and Company (and more), whose action is "push contacts to
    integration" (INES): the contact is saved as a form would, then pushed."""
    company_name = fields.pop("company")
    company = Company.get_or_none(Company.name == company_name) or save_record(
        Company(name=company_name))
    contact = Contact.get_or_none(Contact.email_key == email_key(fields["email"])) or Contact()
    for key, value in fields.items():
        setattr(contact, key, value)
    contact.company = company
    save_record(contact, origin="form")
    summary = push(ines.reload(), [contact.id], read_secrets(ines.integration),
                   activity="Form Contact us")
    assert summary.failed == 0, summary.message
    return Contact.get_by_id(contact.id)


def listbridge(profile: Any, *args: str) -> int:
    """``listbridge --data-dir PROFILE ARGS`` in this process; returns the exit status."""
    return core_cli.main(["--data-dir", str(profile.root), *args],
                         registrars=[connectors_cli.register])


def listbridge_process(profile: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """``listbridge --data-dir PROFILE ARGS`` as a real child process."""
    import keyring

    entries = getattr(keyring.get_keyring(), "entries", {})
    env = {**os.environ, KEYRING_ENV: json.dumps([[s, u, p] for (s, u), p in entries.items()]),
           "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tests.connectors.ines_cli_worker", "--data-dir",
         str(profile.root), *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=60)


# -- steps 1 and 2 ---------------------------------------------------------------------------------

def test_minimal_1_a_form_push_creates_a_client_with_a_contact_and_both_refs(ines: Ines):
    ines.features(push_lead=True, full_sync=False)
    ines.map(contact_Function="job_title", contact_MobilePhone="mobile")
    contact = submit_form(ines, email="jeanne.martin@example.fr", company="Martin Frères",
                          first_name="Jeanne", last_name="Martin", job_title="Gérante",
                          mobile="06 12 34 56 78")
    (client,) = ines.emulator.clients()
    (person,) = ines.emulator.contacts()
    assert client["CompanyName"] == "Martin Frères"
    assert person["CompanyRef"] == client["InternalRef"]
    assert (person["PrimaryMailAddress"], person["FirstName"], person["LastName"],
            person["Function"], person["MobilePhone"]) == (
        "jeanne.martin@example.fr", "Jeanne", "Martin", "Gérante", "06 12 34 56 78")
    assert ines.refs(contact) == (person["InternalRef"], client["InternalRef"])
    (lead,) = ines.emulator.leads()
    assert lead["DescriptionCourte"] == "Lead ListBridge - Form Contact us"
    assert ines.history(contact)[-1].message.startswith("Push to INES: Created in INES")
    assert [(r.source, r.status) for r in journal(ines.integration)] == [("push", "DONE")]


def test_minimal_2_a_second_push_updates_ines_and_respects_non_overwritable_fields(ines: Ines):
    ines.features(push_lead=True, full_sync=False)
    ines.map(contact_Function="job_title")
    set_not_ecrasable(ines.integration, ["contact_FirstName"])
    first = submit_form(ines, email="jeanne.martin@example.fr", company="Martin Frères",
                        first_name="Jeanne", last_name="Martin", job_title="Gérante")
    ines.emulator.clear_calls()
    second = submit_form(ines, email="jeanne.martin@example.fr", company="Martin Frères",
                         first_name="Jeannette", last_name="Martin", job_title="Directrice")
    assert second.id == first.id
    assert len(ines.emulator.clients()) == 1 and len(ines.emulator.contacts()) == 1
    person = ines.emulator.get_contact(5001)
    assert person["Function"] == "Directrice"  # overwritable: updated
    assert person["FirstName"] == "Jeanne"  # non-overwritable and filled in INES: kept
    assert ines.ops("AddClientWithContacts") == []
    assert ines.ops("UpdateContact", "AddLead") == ["UpdateContact", "AddLead"]
    assert ines.refs(second) == (5001, 1001)


# -- steps 3 and 4 ---------------------------------------------------------------------------------

def test_minimal_4_full_sync_queue_and_one_headless_run(ines: Ines, profile: Any,
                                                        capsys: pytest.CaptureFixture[str],
                                                        restore_logging: None):
    kept = ines.contact("kept@example.fr", first_name="Kept")
    gone = ines.contact("gone@example.fr", first_name="Gone")
    assert listbridge(profile, "ines", "sync") == 0
    capsys.readouterr()
    assert {r.email: r.status for r in journal(ines.integration)} == {
        "kept@example.fr": "DONE", "gone@example.fr": "DONE"}

    ines.edit(kept, first_name="Edited")
    delete_record(Contact.get_by_id(gone.id))
    pending = [(r.action, r.email, r.status) for r in journal(ines.integration)
               if r.status == "PENDING"]
    assert sorted(pending) == [("DELETE", "gone@example.fr", "PENDING"),
                               ("UPDATE", "kept@example.fr", "PENDING")]

    code = listbridge(profile, "ines", "sync", "--number-of-leads-to-process=5")
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines() == ["1 updated of 1", "1 deleted of 1", "0 enqueued (initial sync)"]
    assert [r.status for r in journal(ines.integration)][:2] == ["DONE", "DONE"]
    assert ines.emulator.get_contact(5001)["FirstName"] == "Edited"
    assert ines.params("DeleteAutomationContact")[-1]["InesRef"] == 5002

    ines.edit(kept, first_name="From a cron job")
    child = listbridge_process(profile, "ines", "sync", "--integration", "INES")
    assert child.returncode == 0, child.stdout + child.stderr
    assert child.stdout.splitlines()[0] == "1 updated of 1"
    assert ines.emulator.get_contact(5001)["FirstName"] == "From a cron job"
    assert journal(ines.integration)[0].status == "DONE"


def test_minimal_stop_sync_removes_a_contact_from_the_synchronisation(ines: Ines):
    contact = ines.contact("stop@example.fr", first_name="Stop")
    ines.run()
    ines.emulator.clear_calls()
    ines.edit(contact, custom={"ines_stop_sync": True})
    assert ines.pending() == []
    ines.edit(contact, first_name="Changed")
    assert ines.pending() == []
    summary = push(ines.reload(), [contact.id], read_secrets(ines.integration))
    assert summary.outcomes[0].status == "ignored"
    assert "Stop sync" in summary.outcomes[0].message
    ines.run()
    assert ines.ops() == ["GetSyncInfo"]  # the run's configuration read, nothing else
    assert ines.emulator.get_contact(5001)["FirstName"] == "Stop"


# -- exit codes, conformance 20 --------------------------------------------------------------------

def test_exit_0_with_full_sync_off_after_saying_so(ines: Ines, profile: Any,
                                                   capsys: pytest.CaptureFixture[str],
                                                   restore_logging: None):
    ines.features(full_sync=False)
    ines.contact()
    assert listbridge(profile, "ines", "sync") == 0
    assert "Full sync is off" in capsys.readouterr().out
    assert ines.emulator.calls() == []


def test_exit_1_without_a_session_and_no_row_touched(ines: Ines, profile: Any,
                                                     capsys: pytest.CaptureFixture[str],
                                                     restore_logging: None):
    ines.contact()
    ines.emulator.set_credentials("ACME", "jdupont", "another-password")
    assert listbridge(profile, "ines", "sync") == 1
    assert "refused" in capsys.readouterr().err
    assert [(r.status, r.counter, r.last_error) for r in ines.rows()] == [("PENDING", 0, None)]


@pytest.mark.parametrize("option", ["--number-of-leads-to-process=0",
                                    "--number-of-leads-to-process=ten",
                                    "--number-of-leads-to-process=-3", "--bogus"])
def test_exit_2_on_a_bad_option(ines: Ines, profile: Any, option: str,
                                capsys: pytest.CaptureFixture[str], restore_logging: None):
    with pytest.raises(SystemExit) as exited:
        listbridge(profile, "ines", "sync", option)
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_exit_2_on_a_bad_option_in_a_real_process(ines: Ines, profile: Any):
    child = listbridge_process(profile, "ines", "sync", "--number-of-leads-to-process=0")
    assert child.returncode == 2 and "usage:" in child.stderr


def test_get_mapping_prints_the_document(ines: Ines, profile: Any,
                                         capsys: pytest.CaptureFixture[str],
                                         restore_logging: None):
    assert listbridge(profile, "ines", "get-mapping", "--integration", "INES") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["dontSyncFieldKey"] == "ines_stop_sync"
    assert [e["inesFieldKey"] for e in document["mapping"]][:2] == [
        "InternalContactRef", "InternalCompanyRef"]


def test_push_command_for_a_contact(ines: Ines, profile: Any,
                                    capsys: pytest.CaptureFixture[str], restore_logging: None):
    ines.contact("cli@example.fr")
    code = listbridge(profile, "ines", "push", "--integration", "INES", "--contact",
                      "CLI@example.fr")
    assert code == 0
    assert "created" in capsys.readouterr().out
    assert len(ines.emulator.contacts()) == 1


def test_push_command_without_a_keyring_exits_1_and_says_why(
        ines: Ines, profile: Any, capsys: pytest.CaptureFixture[str], restore_logging: None,
        monkeypatch: pytest.MonkeyPatch):
    from core import secrets

    contact = ines.contact("cli@example.fr")

    def no_keyring(*_args: Any) -> str:
        raise secrets.NoKeyringError("No secure system keyring is available.")

    monkeypatch.setattr(secrets, "read", no_keyring)
    code = listbridge(profile, "ines", "push", "--integration", "INES", "--contact",
                      "cli@example.fr")
    assert code == 1
    assert "No secure system keyring" in capsys.readouterr().err
    assert "not sent" in ines.history(contact)[-1].message
    assert ines.emulator.contacts() == []


def test_the_emulator_command_serves_the_services(tmp_path: Path):
    import requests

    with subprocess.Popen(
            [sys.executable, "-m", "connectors.cli", "--data-dir", str(tmp_path), "emulator",
             "ines", "--port", "0", "--user", "ACME:jdupont:pw-1234"], cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True) as child:
        try:
            assert child.stdout is not None
            base_url = child.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:")
            answer = requests.get(f"{base_url}/ws/wsicm.asmx?wsdl", timeout=10)
            assert answer.status_code == 200 and b"GetContact" in answer.content
        finally:
            child.terminate()
            child.wait(10)
