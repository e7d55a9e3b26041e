"""The shared connector contract (tests/contract/contract.py), run for INES against its emulator.

INES keeps its own full-sync queue (``ines_sync_log``, see connectors/ines/models.py), so the two
contract points that read the engine's generic queue are restated here on that table:

- 4. the third failure turns the row FAILED until the admin retries it (``queue.retry_failed``);
- 5. a run killed mid-send resumes with nothing lost and nothing sent twice. INES has no way to
  look a contact up (§2), so a create cut off by the kill is never sent again: its row is FAILED
  with "outcome unknown" for the admin to check (D11). The run then ends ``partial`` rather than
  ``succeeded`` when the kill landed inside a create.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.ines import queue
from connectors.ines.client import forget_sessions
from connectors.ines.connector import InesConnector
from connectors.ines.emulator import InesEmulator
from connectors.ines.mapping import MappingSettings, ensure_local_fields, save_mapping, set_features
from connectors.ines.models import InesSyncLog
from core.models.store import Company, Contact, CustomField
from core.models.sync import Integration, SyncRun
from core.store import save_record
from tests.connectors.ines_values import ACCOUNT, PASSWORD, USER
from tests.contract.contract import ConnectorContract, start_worker


def make_connector() -> InesConnector:
    """The connector the contract drives (also rebuilt by the subprocess workers)."""
    return InesConnector(leads_per_run=100)


class InesHarness:
    quick_check = True  # its check uses connectors.http.CHECK_POLICY
    connector = make_connector()
    connector_ref = "tests.connectors.test_ines_contract:make_connector"

    def __init__(self) -> None:
        self.emulator = InesEmulator(users=[(ACCOUNT, USER, PASSWORD)], enum_check=True)
        self.numbers = itertools.count(1)
        self.delay = 0.0
        self.transient = 0

    def start(self) -> None:
        forget_sessions()
        self.emulator.start()

    def stop(self) -> None:
        self.emulator.stop()
        forget_sessions()

    def values(self, good: bool = True) -> dict[str, Any]:
        return {"account": ACCOUNT, "username": USER,
                "password": PASSWORD if good else "Not-the-password-9",
                "api_url": self.emulator.base_url}

    def create_records(self, integration: Integration, n: int) -> list[str]:
        self._prepare(integration)
        company = Company.get_or_none(Company.name == "Contract SA") or save_record(
            Company(name="Contract SA"))
        keys = []
        for _ in range(n):
            email = f"contract{next(self.numbers)}@example.fr"
            save_record(Contact(email=email, company=company, first_name="Con", last_name="Tract"))
            keys.append(email)
        return keys

    def _prepare(self, integration: Integration) -> None:
        ensure_local_fields()
        if not CustomField.select().where(CustomField.key == "confidential").exists():
            CustomField.create(entity="contact", key="confidential", label="Confidentiality")
        integration = Integration.get_by_id(integration.id)
        mapping = dict(MappingSettings.of(integration).fields)
        mapping["contact_Confidentiality"] = "confidential"
        assert save_mapping(integration, mapping) == []
        set_features(integration, full_sync=True)

    def _accepted(self) -> list[str]:
        emails = []
        for call in self.emulator.calls():
            if call.outcome != "ok" or not call.params:
                continue
            if call.operation == "AddClientWithContacts":
                emails += [c.get("PrimaryMailAddress") for c in call.params["client"]["Contacts"]]
            elif call.operation == "UpdateContact":
                emails.append(call.params["contact"].get("PrimaryMailAddress"))
        return emails

    def received(self, key: str) -> int:
        return self._accepted().count(key)

    def received_total(self) -> int:
        return len(self._accepted())

    def present(self, key: str) -> bool:
        return any(c.get("PrimaryMailAddress") == key for c in self.emulator.contacts())

    def inject_transient(self, k: int) -> None:
        self.transient = k
        self._injections()

    def fail_permanently(self, key: str) -> None:
        contact = Contact.get(Contact.email == key)
        save_record(contact, custom={"confidential": "not-an-allowed-value"})

    def slow_down(self, seconds: float) -> None:
        self.delay = seconds
        self._injections()

    def _injections(self) -> None:
        self.emulator.clear_injections()
        if self.transient:
            self.emulator.inject("*", "*", "http_status", times=self.transient, code=503)
        if self.delay:
            self.emulator.inject("*", "*", "delay", times=None, seconds=self.delay)


class TestInesContract(ConnectorContract):
    @pytest.fixture
    def harness(self, profile: Any, memory_keyring: Any) -> Iterator[InesHarness]:
        harness = InesHarness()
        harness.start()
        yield harness
        harness.stop()

    # 4, on INES's own queue
    def test_third_failure_turns_an_item_failed_until_retried(self, harness: Any,
                                                              integration: Integration):
        keys = harness.create_records(integration, 3)
        bad = keys[0]
        harness.fail_permanently(bad)
        for _ in range(3):
            self.sync(harness, integration)
        row = self._row(integration, bad)
        assert (row.status, row.counter) == ("FAILED", 3) and row.last_error
        assert all(harness.received(k) == 1 for k in keys[1:])

        self.sync(harness, integration)  # ignored while FAILED
        row = self._row(integration, bad)
        assert (row.status, row.counter) == ("FAILED", 3)
        assert harness.received(bad) == 0

        assert queue.retry_failed(integration) == 1
        self.sync(harness, integration)
        row = self._row(integration, bad)
        assert row.counter == 1 and row.status != "FAILED"

    @staticmethod
    def _row(integration: Integration, key: str) -> InesSyncLog:
        return (InesSyncLog.select().where(InesSyncLog.integration == integration,
                                           InesSyncLog.lead_email == key)
                .order_by(InesSyncLog.id.desc()).get())

    # 5, with the create cut off by the kill parked as "outcome unknown"
    def test_a_killed_run_resumes_without_loss_or_duplicates(self, harness: Any,
                                                             integration: Integration,
                                                             profile: Any):
        keys = harness.create_records(integration, 30)
        harness.slow_down(0.05)
        worker = start_worker(harness, profile.root, integration, wait=False)
        try:
            deadline = time.monotonic() + 30
            while harness.received_total() < 5:
                assert worker.poll() is None, worker.communicate()[0]
                assert time.monotonic() < deadline, "the worker sent nothing in 30 s"
                time.sleep(0.01)
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate()
        assert harness.received_total() < len(keys), "the run ended before it could be killed"
        time.sleep(0.3)
        harness.slow_down(0)

        result = self.sync(harness, integration)
        parked = [r for r in InesSyncLog.select().where(InesSyncLog.integration == integration)
                  if r.last_error == queue.OUTCOME_UNKNOWN]
        assert result.status == ("partial" if parked else "succeeded"), result.message
        assert len(parked) <= 1 and all(r.status == "FAILED" for r in parked)
        assert [k for k in keys if not harness.present(k)] == []
        assert {k: harness.received(k) for k in keys if harness.received(k) != 1} == {}
        statuses = [r.status for r in SyncRun.select().where(SyncRun.integration == integration)
                    .order_by(SyncRun.id)]
        assert statuses == ["interrupted", result.status]

