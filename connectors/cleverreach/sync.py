"""The CleverReach run: set-up, reconcile of every synced record, the queue of pushes, the polls
(owner: the sync part of issue 9)."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.base import CountWords, QueueOutcome, SyncStep
from core.models.sync import Integration, QueueItem
from core.sync.context import SyncContext

DEFAULT_SCHEDULE_MINUTES: int | None = 5
COUNT_LABELS: Mapping[str, CountWords] = {}
ACTION_LABELS: Mapping[str, str] = {}


def on_saved(integration: Integration) -> None:
    """After the integration is created or edited."""


def configuration_problems(integration: Integration) -> list[str]:
    return []


def steps(integration: Integration) -> list[SyncStep]:
    raise NotImplementedError("issue 9: the CleverReach steps")


def process_item(ctx: SyncContext, item: QueueItem) -> QueueOutcome:
    raise NotImplementedError("issue 9: the CleverReach pushes")
