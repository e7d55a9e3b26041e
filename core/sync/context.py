"""What a sync step receives: the integration, its secrets, progress, cancel, watermarks, journal.

One context per run, used from the run's worker thread only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.clock import utcnow
from core.models.sync import HistoryEvent, Integration, QueueItem, SyncRun, Watermark


class ItemProblem(Protocol):
    """What the engine reads from ``connectors.base.ItemError`` (core does not import connectors)."""

    admin_message: str
    record_id: int | None
    email: str

log = logging.getLogger("listbridge.sync")

ProgressCallback = Callable[["Progress"], None]


class Cancelled(Exception):
    """The admin pressed Cancel; the step stops at a safe point and keeps its watermark."""


@dataclass(frozen=True)
class Progress:
    integration_id: int
    run_id: int
    step: str
    step_label: str
    done: int
    total: int | None
    text: str = ""


@dataclass
class SyncContext:
    integration: Integration
    run: SyncRun
    secrets: dict[str, str]
    run_started_at: datetime = field(default_factory=utcnow)
    on_progress: ProgressCallback | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    step: str = ""
    step_label: str = ""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    client: Any = None  # the connector's client, made once per run
    cache: dict[str, Any] = field(default_factory=dict)
    trigger: str = "manual"
    warnings: list[str] = field(default_factory=list)
    # Added with the engine (core.sync.runner):
    connector: Any = None  # the connector running this sync (the queue step needs it)
    in_doubt: set[int] = field(default_factory=set)  # queue item ids whose last send was cut off

    @property
    def settings(self) -> dict[str, Any]:
        return self.integration.settings

    # -- progress and cancel --------------------------------------------------------------------

    def progress(self, done: int, total: int | None = None, text: str = "") -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(self.integration.id, self.run.id, self.step, self.step_label,
                                      done, total, text))

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancel(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()

    # -- counts and journal -----------------------------------------------------------------------

    def count(self, key: str, n: int = 1) -> None:
        step = self.counts.setdefault(self.step or "run", {})
        step[key] = step.get(key, 0) + n

    def journal(self, message: str, level: str = "info", entity: str = "contact",
                record_id: int | None = None, email: str = "", kind: str = "sync") -> None:
        """A line in the record's history (and the log); ``level`` is info, warning or error."""
        HistoryEvent.create(integration=self.integration, run=self.run, entity=entity,
                            record_id=record_id, email=email or "", level=level, kind=kind,
                            message=message)
        if level == "warning" and record_id is None:
            self.warnings.append(message)
        log.log(logging.WARNING if level != "info" else logging.INFO, "[%s] %s: %s",
                self.integration.name, self.step or "run", message)

    def queue_failed(self, error: ItemProblem, action: str, entity: str = "contact",
                     payload: dict[str, Any] | None = None, remote_ref: str | None = None,
                     label: str = "") -> QueueItem:
        """Queue the record an ``ItemError`` is about, as a first failed attempt, and go on.

        Later runs send it again through the connector's ``process_item`` until it succeeds or
        reaches ``max_attempts`` (then it is FAILED and waits for the admin's Retry).
        """
        from core.sync import queue

        item = queue.enqueue(self.integration, action, entity=entity, record_id=error.record_id,
                             email=error.email, label=label, remote_ref=remote_ref,
                             payload=payload, source="sync",
                             max_attempts=getattr(self.connector, "max_attempts", None))
        queue.record_failure(item, error.admin_message, now=utcnow(),
                             policy=self.cache.get("queue.policy", queue.DEFAULT_POLICY))
        self.count("queued")
        self.journal(error.admin_message, level="warning", entity=entity,
                     record_id=error.record_id, email=error.email, kind="queued")
        return item

    def outcome_unknown(self, item: QueueItem) -> bool:
        """True when an earlier attempt at this item was cut off (crash, kill) mid-send.

        The service may or may not have received it: ``process_item`` must check before sending
        again (look the record up, or use an idempotent upsert) so that nothing is sent twice.
        """
        return item.id in self.in_doubt

    # -- watermarks ----------------------------------------------------------------------------------

    def watermark(self, step: str | None = None) -> datetime | None:
        """Where the step's last finished run started; None the first time."""
        row = Watermark.get_or_none(Watermark.integration == self.integration,
                                    Watermark.step == (step or self.step))
        return row.value if row else None
