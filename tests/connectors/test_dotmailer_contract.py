"""The shared connector contract (tests/contract/contract.py) for Dotmailer, on the emulator.

A record is a contact on a marketing list connected to an address book; the service "accepts a
write" of it when an import holding it finishes without a fault for it. The harness's connector
waits for nothing (injected sleep) and sends one contact per import, so that a run can be killed
between two of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.dotmailer import service
from connectors.dotmailer.client import forget_discoveries
from connectors.dotmailer.connector import DotmailerConnector
from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER, DotmailerEmulator
from connectors.dotmailer.models import AddressBook
from connectors.dotmailer.sync import Tuning
from core.lists import add_members
from core.models.store import Contact, MarketingList
from core.models.sync import Integration
from tests.contract.contract import ConnectorContract


def _no_wait(seconds: float) -> None:
    pass


def harness_connector() -> DotmailerConnector:
    """The connector under contract (also rebuilt by the contract's worker processes)."""
    return DotmailerConnector(Tuning(sleep=_no_wait, batch_rows=1))


class DotmailerHarness:
    quick_check = True  # its check uses connectors.http.CHECK_POLICY
    connector_ref = "tests.connectors.test_dotmailer_contract:harness_connector"

    def __init__(self) -> None:
        self.connector = harness_connector()
        self.emulator = DotmailerEmulator(base_port=0)
        self.numbers = itertools.count()

    def start(self) -> None:
        forget_discoveries()
        self.emulator.start()

    def stop(self) -> None:
        self.emulator.stop()
        forget_discoveries()

    def values(self, good: bool = True) -> dict[str, Any]:
        return {"username": DEFAULT_USER,
                "password": DEFAULT_PASSWORD if good else "refused-pass-7",
                "api_url": self.emulator.url}

    def _list_for(self, integration: Integration) -> MarketingList:
        book = AddressBook.get_or_none(AddressBook.integration == integration,
                                       AddressBook.mlist.is_null(False))
        if book is not None:
            return book.mlist
        name = f"Contract {integration.id}"
        remote_id = self.emulator.add_book(name)
        AddressBook.create(integration=integration, remote_id=remote_id, name=name)
        mlist = MarketingList.create(name=name, entity="contact")
        service.connect_list(mlist, integration, remote_id)
        return mlist

    def create_records(self, integration: Integration, n: int) -> list[str]:
        mlist = self._list_for(integration)
        keys = [f"contract{next(self.numbers)}@example.com" for _ in range(n)]
        ids = [Contact.create(email=k, email_key=k, first_name="C").id for k in keys]
        add_members(mlist, ids)
        return keys

    def _accepted(self) -> list[str]:
        accepted = []
        for imp in self.emulator.snapshot()["imports"]:
            if imp["status"] != "Finished":
                continue
            column = next((i for i, h in enumerate(imp["headers"]) if h.lower() == "email"), 0)
            refused = {row[1 + column].strip().lower() for row in imp["faults"]}
            accepted += [row[column].strip().lower() for row in imp["rows"]
                         if row[column].strip().lower() not in refused]
        return accepted

    def received(self, key: str) -> int:
        return self._accepted().count(key)

    def received_total(self) -> int:
        return len(self._accepted())

    def present(self, key: str) -> bool:
        state = self.emulator.snapshot()
        contact = next((c["id"] for c in state["contacts"] if c["email"] == key), None)
        return any(m["contact"] == contact and m["unsubscribed_at"] is None
                   for m in state["memberships"])

    def inject_transient(self, k: int) -> None:
        faults = self.emulator._faults  # the emulator has no public "clear faults" hook
        with self.emulator._lock:
            faults[:] = [f for f in faults if f.status != 503]
        if k:
            self.emulator.inject("*", "*", times=k, status=503,
                                 body="<html><body>Service Unavailable</body></html>")

    def fail_permanently(self, key: str) -> None:
        self.emulator.script_imports([{"faults": [(key, "Failures")]}] * 200)

    def slow_down(self, seconds: float) -> None:
        with self.emulator._lock:
            self.emulator._faults[:] = [f for f in self.emulator._faults if not f.delay]
        if seconds:
            self.emulator.inject("*", "*", times=1_000_000, delay=seconds)


class TestDotmailerContract(ConnectorContract):
    @pytest.fixture
    def harness(self, profile, memory_keyring) -> Iterator[DotmailerHarness]:
        harness = DotmailerHarness()
        harness.start()
        yield harness
        harness.stop()
