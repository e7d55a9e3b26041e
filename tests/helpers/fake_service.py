"""A tiny fake service (werkzeug, loopback) and the fake connector that talks to it.

They exist to exercise the engine and to run the connector contract suite
(``tests/contract/contract.py``) without any real connector:

- ``FakeService``: ``GET /api/account`` (HTTP Basic), ``PUT /api/records/<email>`` (an upsert,
  counted per record), ``GET /api/records/<email>``. Hooks: ``inject_transient(k)`` (the next k
  calls answer 503), ``fail_permanently(email)`` (its writes answer 422), ``delay`` per call.
- ``FakeConnector`` (type ``fake``): a step ``account`` (checks the credentials), a step
  ``changes`` (queues every contact changed since its watermark), then the engine's queue step
  sends each queued contact with ``process_item``.
- ``FakeHarness``: the contract harness for the two.

``python -m tests.helpers.fake_service ARGS...`` runs ``listbridge ARGS...`` with the fake
connector registered (for tests that need a real process).
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from keyring.backend import KeyringBackend
from werkzeug.datastructures import Authorization
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.base import (
    BaseConnector,
    CheckResult,
    ConnectorError,
    FormField,
    ItemError,
    QueueOutcome,
    SyncStep,
    register,
)
from connectors.http import HttpPolicy, ServiceSession, make_session
from core.models.store import Contact
from core.models.sync import Integration, QueueItem
from core.store import save_record
from core.sync.context import SyncContext
from core.sync.queue import enqueue

GOOD_USER = "api-user@example.com"
GOOD_PASSWORD = "Fake-Pa55word-7781"
FAST_POLICY = HttpPolicy(connect_timeout=2, read_timeout=5, max_retries=3, backoff_base=0.01,
                         backoff_max=0.05, max_inline_wait=5)


# -- the service -------------------------------------------------------------------------------------

class FakeService:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = dict(users or {GOOD_USER: GOOD_PASSWORD})
        self.records: dict[str, dict[str, Any]] = {}
        self.writes: Counter[str] = Counter()
        self.calls: list[tuple[str, str]] = []
        self.transient_left = 0
        self.failing: set[str] = set()
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    def start(self) -> FakeService:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="fake-service")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # hooks
    def inject_transient(self, k: int) -> None:
        with self.lock:
            self.transient_left = k

    def fail_permanently(self, email: str) -> None:
        with self.lock:
            self.failing.add(email)

    # the WSGI app
    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.calls.append((request.method, request.path))
            if self.transient_left > 0:
                self.transient_left -= 1
                return _json({"message": "Service unavailable"}, 503)
        if not self._authorised(request.authorization):
            return _json({"message": "Authorization has been denied for this request."}, 401)
        parts = request.path.strip("/").split("/")
        if parts == ["api", "account"]:
            return _json({"name": "Fake account"})
        if len(parts) == 3 and parts[:2] == ["api", "records"]:
            return self._record(request, parts[2])
        return _json({"message": "Not found"}, 404)

    def _authorised(self, auth: Authorization | None) -> bool:
        return (auth is not None and auth.username in self.users
                and self.users[auth.username] == auth.password)

    def _record(self, request: Request, email: str) -> Response:
        with self.lock:
            if request.method == "GET":
                if email in self.records:
                    return _json(self.records[email])
                return _json({"message": "Not found"}, 404)
            if request.method == "PUT":
                if email in self.failing:
                    return _json({"message": f"The address {email} is refused."}, 422)
                self.records[email] = json.loads(request.get_data() or b"{}")
                self.writes[email] += 1
                return _json(self.records[email])
        return _json({"message": "Method not allowed"}, 405)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


# -- the connector -----------------------------------------------------------------------------------

class FakeClient:
    def __init__(self, session: ServiceSession) -> None:
        self.session = session

    def account(self) -> dict[str, Any]:
        return dict(self.session.get("account").json())

    def exists(self, email: str) -> bool:
        return self.session.get(f"records/{email}", map_errors=True).status_code == 200

    def upsert(self, email: str, data: dict[str, Any]) -> None:
        response = self.session.put(f"records/{email}", json=data)
        if response.status_code == 422:
            raise ItemError(response.json().get("message", "Refused."), email=email)
        response.raise_for_status()

    def close(self) -> None:
        self.session.close()


class FakeConnector(BaseConnector):
    type_name = "fake"
    label = "Fake service"
    default_api_url = "https://fake.invalid/api/"
    default_schedule_minutes = 5
    max_attempts = 3

    def __init__(self, policy: HttpPolicy = FAST_POLICY) -> None:
        self.policy = policy

    def form_fields(self) -> list[FormField]:
        return [
            FormField("username", "User name", required=True),
            FormField("password", "Password", kind="password", required=True, secret=True,
                      min_length=8),
            self.api_url_field(),
        ]

    def session(self, settings: dict[str, Any], secrets: dict[str, str]) -> ServiceSession:
        return make_session(settings.get("api_url") or self.default_api_url,
                            auth=(settings.get("username", ""), secrets.get("password", "")),
                            policy=self.policy, service="The fake service")

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        try:
            account = FakeClient(self.session(settings, secrets)).account()
        except ConnectorError as exc:
            return CheckResult(False, exc.admin_message, exc.kind)
        return CheckResult(True, account["name"])

    def make_client(self, ctx: SyncContext) -> FakeClient:
        return FakeClient(self.session(ctx.settings, ctx.secrets))

    def steps(self, integration: Integration) -> list[SyncStep]:
        return [
            SyncStep("account", "Check the account", self._account),
            SyncStep("changes", "Find changed contacts", self._changes),
        ]

    def _account(self, ctx: SyncContext) -> None:
        ctx.client.account()
        ctx.count("checked")

    def _changes(self, ctx: SyncContext) -> None:
        since = ctx.watermark()
        query = Contact.select().where(Contact.email.is_null(False)).order_by(Contact.id)
        if since is not None:
            query = query.where(Contact.updated >= since)
        for contact in query:
            ctx.check_cancel()
            enqueue(ctx.integration, "upsert", record_id=contact.id, email=contact.email,
                    payload={"first_name": contact.first_name, "last_name": contact.last_name},
                    max_attempts=self.max_attempts)
            ctx.count("queued_to_send")

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        if ctx.outcome_unknown(item) and ctx.client.exists(item.email):
            return QueueOutcome("done", "Already received before the interruption.")
        ctx.client.upsert(item.email, item.payload)
        return QueueOutcome("done")


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
