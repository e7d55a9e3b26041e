"""The worked example connector (``connectors/example``) as the tests use it, and the engine's
test connectors.

- ``FakeService`` / ``FakeConnector`` (type ``fake``): ``connectors.example``'s service and
  connector, with a fast-retrying policy.
- ``ScriptedConnector``: a connector without a service; steps and item handling are given.
- ``FakeHarness``: the contract harness (tests/contract/contract.py) for the two.

``python -m tests.helpers.fake_service ARGS...`` runs ``listbridge ARGS...`` with the fake
connector registered (for tests that need a real process).
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend

from connectors.base import (
    BaseConnector,
    FormField,
    QueueOutcome,
    SyncStep,
    register,
)
from connectors.example import (
    GOOD_PASSWORD,
    GOOD_USER,
    ExampleClient,
    ExampleConnector,
    ExampleService,
)
from connectors.http import HttpPolicy
from core.models.store import Contact
from core.models.sync import Integration, QueueItem
from core.store import save_record
from core.sync.context import SyncContext

FAST_POLICY = HttpPolicy(connect_timeout=2, read_timeout=5, max_retries=3, backoff_base=0.01,
                         backoff_max=0.05, max_inline_wait=5)

FakeService = ExampleService
FakeClient = ExampleClient


class FakeConnector(ExampleConnector):
    """The example connector under the type ``fake``, with a fast-retrying test policy for its
    syncs and (unless told otherwise) for its check too."""

    type_name = "fake"
    label = "Fake service"
    default_api_url = "https://fake.invalid/api/"

    def __init__(self, policy: HttpPolicy = FAST_POLICY,
                 check_policy: HttpPolicy | None = None) -> None:
        super().__init__(policy, check_policy or policy)


class ScriptedConnector(BaseConnector):
    """A connector without a service, for engine tests: steps and item handling are given."""

    type_name = "scripted"
    label = "Scripted"
    default_schedule_minutes = 10
    max_attempts = 3

    def __init__(self, steps: list[tuple[str, Any]] | None = None,
                 process: Any = None) -> None:
        self.step_functions = steps or []
        self.process = process
        self.processed: list[int] = []

    def form_fields(self) -> list[FormField]:
        return [
            FormField("username", "User name", required=True),
            FormField("password", "Password", kind="password", required=True, secret=True,
                      min_length=8),
            FormField("batch_size", "Batch size", kind="int", default=100),
            self.api_url_field(),
        ]

    def steps(self, integration: Integration) -> list[SyncStep]:
        return [SyncStep(name, name.title(), function) for name, function in self.step_functions]

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        self.processed.append(item.id)
        if self.process is not None:
            return self.process(ctx, item) or QueueOutcome("done")
        return QueueOutcome("done")


def build_connector() -> FakeConnector:
    """The connector as the contract's subprocesses build it (``connector_ref``)."""
    return FakeConnector()


def register_fake() -> FakeConnector:
    connector = FakeConnector()
    register(connector)
    return connector


# -- the contract harness ----------------------------------------------------------------------------

class FakeHarness:
    """``tests.contract.contract.ContractHarness`` for the fake connector and service."""

    connector_ref = "tests.helpers.fake_service:build_connector"

    def __init__(self) -> None:
        self.connector = build_connector()
        self.service = FakeService()
        self._numbers = itertools.count(1)

    def start(self) -> None:
        self.service.start()

    def stop(self) -> None:
        self.service.stop()

    def values(self, good: bool = True) -> dict[str, Any]:
        return {"api_url": self.service.base_url, "username": GOOD_USER,
                "password": GOOD_PASSWORD if good else "Wrong-Pa55word-0000"}

    def create_records(self, integration: Integration, n: int) -> list[str]:
        emails = []
        for _ in range(n):
            number = next(self._numbers)
            contact = save_record(Contact(email=f"person{number}@example.com",
                                          first_name="Person", last_name=str(number)))
            emails.append(contact.email)
        return emails

    def received(self, key: str) -> int:
        with self.service.lock:
            return self.service.writes[key]

    def received_total(self) -> int:
        with self.service.lock:
            return sum(self.service.writes.values())

    def present(self, key: str) -> bool:
        with self.service.lock:
            return key in self.service.records

    def inject_transient(self, k: int) -> None:
        self.service.inject_transient(k)

    def fail_permanently(self, key: str) -> None:
        self.service.fail_permanently(key)

    def slow_down(self, seconds: float) -> None:
        self.service.delay = seconds


class FileKeyring(KeyringBackend):
    """A plaintext JSON keyring for subprocess tests only (``LISTBRIDGE_TEST_KEYRING_FILE``)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = Path(path)

    def _load(self) -> dict[str, str]:
        return dict(json.loads(self.path.read_text())) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        entries = self._load()
        entries[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(entries))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._load()
        entries.pop(f"{service}/{username}", None)
        self.path.write_text(json.dumps(entries))


if __name__ == "__main__":
    import os

    import keyring

    if os.environ.get("LISTBRIDGE_TEST_KEYRING_FILE"):
        keyring.set_keyring(FileKeyring(os.environ["LISTBRIDGE_TEST_KEYRING_FILE"]))
    register_fake()
    from connectors.cli import main

    sys.exit(main(sys.argv[1:]))
