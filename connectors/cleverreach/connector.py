"""The CleverReach connector: what the engine, the window and the command line see of CleverReach.

It only glues the parts together; each part has its own module (and, while issue 9 is built, its
own owner):

- ``forms``: the integration form (Client ID, Client secret, Service URL, the sign-in button) and
  the secret names; ``auth``: OAuth sign-in over a loopback redirect, the tokens in the keyring,
  refresh, "Reconnect needed", Disconnect, the connection check; ``client``: REST v3 calls on the
  shared HTTP session.
- ``models``: the tables (record sync flags and checklists, group mapping, suppressions, receiver
  events); ``settings``: the seed's configuration keys; ``members``: who belongs in a group;
  ``sync``: the run steps (set-up, reconcile, polls) and the queue of pushes; ``triggers``: record
  changes turned into queued pushes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import (
    BaseConnector,
    CheckResult,
    CountWords,
    FormField,
    QueueOutcome,
    SyncStep,
)
from connectors.cleverreach import auth, client, forms, sync
from core.models.sync import Integration, QueueItem
from core.sync.context import SyncContext


class CleverReachConnector(BaseConnector):
    """Campaigns, lists and activities to CleverReach groups; opt-outs and new receivers back."""

    type_name = "cleverreach"
    label = "CleverReach"
    default_api_url = client.DEFAULT_API_URL
    default_schedule_minutes: int | None = sync.DEFAULT_SCHEDULE_MINUTES
    max_attempts = 3
    count_labels: Mapping[str, CountWords] = sync.COUNT_LABELS

    def form_fields(self) -> list[FormField]:
        return forms.form_fields()

    def secret_keys(self) -> list[str]:
        return list(forms.SECRET_KEYS)

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        return auth.check_connection(settings, secrets)

    def on_saved(self, integration: Integration) -> None:
        sync.on_saved(integration)

    def configuration_problems(self, integration: Integration) -> list[str]:
        return auth.configuration_problems(integration) + sync.configuration_problems(integration)

    def make_client(self, ctx: SyncContext) -> Any:
        return client.client_for_run(ctx)

    def steps(self, integration: Integration) -> list[SyncStep]:
        return sync.steps(integration)

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        return sync.process_item(ctx, item)

    def action_label(self, action: str) -> str:
        return sync.ACTION_LABELS.get(action) or super().action_label(action)
