"""The example connector: everything a connector writes, and nothing the engine already does.

What it leaves to the engine (``core.sync``): the lock (two runs never overlap), the run's
journal and counts, the watermark of each step (``ctx.watermark()``), the queue (one open row per
record, the latest wins), the attempt rule (charged before sending, 3 tries then FAILED, a
transient failure stops the sending, a crash leaves the row "in doubt"), the retries of a
transient HTTP failure (``connectors.http.make_session``), the keyring, redaction in logs.
"""

from __future__ import annotations

from typing import Any

from connectors.base import (
    BaseConnector,
    CheckResult,
    ConnectorError,
    FormField,
    ItemError,
    QueueOutcome,
    SyncStep,
)
from connectors.http import CHECK_POLICY, HttpPolicy, ServiceSession, make_session
from core.models.store import Contact
from core.models.sync import Integration, QueueItem
from core.sync.context import SyncContext
from core.sync.queue import enqueue


class ExampleClient:
    """The service's calls, on the shared session (retries, timeouts, the error taxonomy)."""

    def __init__(self, session: ServiceSession) -> None:
        self.session = session

    def account(self) -> dict[str, Any]:
        return dict(self.session.get("account").json())

    def exists(self, email: str) -> bool:
        return self.session.get(f"records/{email}").status_code == 200

    def upsert(self, email: str, data: dict[str, Any]) -> None:
        response = self.session.put(f"records/{email}", json=data)
        if response.status_code == 422:  # this record is refused: the others go on
            raise ItemError(response.json().get("message", "Refused."), email=email)
        response.raise_for_status()

    def close(self) -> None:
        self.session.close()


class ExampleConnector(BaseConnector):
    """Contacts to the example service, one upsert per changed contact."""

    type_name = "example"
    label = "Example service"
    default_api_url = "https://example.invalid/api/"
    default_schedule_minutes = 5
    max_attempts = 3

    def __init__(self, policy: HttpPolicy | None = None,
                 check_policy: HttpPolicy = CHECK_POLICY) -> None:
        self.policy = policy or HttpPolicy()
        self.check_policy = check_policy

    # -- the form: data, the window and ``listbridge integration add`` build on it ---------------

    def form_fields(self) -> list[FormField]:
        return [
            FormField("username", "User name", required=True),
            FormField("password", "Password", kind="password", required=True, secret=True,
                      min_length=8),  # secret: the keyring, never the database
            self.api_url_field(),
        ]

    def session(self, settings: dict[str, Any], secrets: dict[str, str],
                policy: HttpPolicy | None = None) -> ServiceSession:
        return make_session(settings.get("api_url") or self.default_api_url,
                            auth=(settings.get("username", ""), secrets.get("password", "")),
                            policy=policy or self.policy, service="The example service")

    # -- Check Connection: quick (one try), never raises for a refusal ------------------------

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        try:
            account = ExampleClient(self.session(settings, secrets, self.check_policy)).account()
        except ConnectorError as exc:
            return CheckResult.failed(exc)
        return CheckResult(True, account["name"])

    # -- a run: the engine makes the client, runs the steps, then sends the queue -------------

    def make_client(self, ctx: SyncContext) -> ExampleClient:
        return ExampleClient(self.session(ctx.settings, ctx.secrets))

    def steps(self, integration: Integration) -> list[SyncStep]:
        return [
            SyncStep("account", "Check the account", self._account),
            SyncStep("changes", "Find changed contacts", self._changes),
        ]

    def _account(self, ctx: SyncContext) -> None:
        ctx.client.account()
        ctx.count("checked")

    def _changes(self, ctx: SyncContext) -> None:
        since = ctx.watermark()  # the start of this step's last successful run, or None
        query = Contact.select().where(Contact.email.is_null(False)).order_by(Contact.id)
        if since is not None:
            query = query.where(Contact.updated >= since)
        for contact in query:
            ctx.check_cancel()
            enqueue(ctx.integration, "upsert", record_id=contact.id, email=contact.email or "",
                    payload={"first_name": contact.first_name, "last_name": contact.last_name},
                    max_attempts=self.max_attempts)
            ctx.count("queued_to_send")

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        # A row cut off by a crash is "in doubt": look before sending again (nothing twice).
        if ctx.outcome_unknown(item) and ctx.client.exists(item.email):
            return QueueOutcome("done", "Already received before the interruption.")
        ctx.client.upsert(item.email, item.payload)
        return QueueOutcome("done")
