"""The journal, as data for the GUI's table models and the ``journal`` command.

- ``journal_rows``: queue rows (what was sent, what failed, what will be retried), the 200 most
  recent per integration, newest first, filterable by state and email;
- ``run_rows``: the runs of one or all integrations, newest first;
- ``record_history``: everything that happened to one record (history events and queue rows).

Rows are frozen dataclasses with plain values, so they cross threads safely. Messages are the
admin's sentences as the engine stored them (already redacted).

Core does not import connectors: the caller passes ``connector_for`` (integration -> connector,
as the scheduler takes it) so that actions and steps read in the connector's words
(``action_label``, ``SyncStep.label``); without it, or for an unknown type, the internal names
are made readable. ``action`` and ``counts`` keep the internal names (the JSON output).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from core.models.sync import HistoryEvent, Integration, QueueItem, SyncRun
from core.sync.attempts import action_label
from core.sync.contract import Connector, CountWords
from core.sync.queue import STATE_LABELS, STATES
from core.sync.runner import RUN_STATUS_LABELS, summarize
from core.text import plural

log = logging.getLogger("listbridge.sync.journal")

ConnectorLookup = Callable[[Integration], Connector]

JOURNAL_LIMIT = 200


@dataclass(frozen=True)
class JournalRow:
    id: int
    integration_id: int
    integration: str
    entity: str
    record_id: int | None
    email: str
    label: str
    action: str  # internal (``dotmailer_export``)
    action_label: str  # the connector's words (by default "Dotmailer export")
    state: str
    state_label: str
    attempts: int
    max_attempts: int
    source: str
    added: datetime
    updated: datetime
    next_attempt_at: datetime | None
    last_error: str

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class RunRow:
    id: int
    integration_id: int
    integration: str
    trigger: str
    status: str
    status_label: str
    started_at: datetime
    ended_at: datetime | None
    counts: dict[str, dict[str, int]]  # by internal step name
    error: str
    summary: str  # the counts in the admin's words, by step label

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    integration: str
    kind: str  # sent, failed, retrying, skipped, queued, sync... or "queue" for a queue row
    level: str  # info, warning, error
    message: str
    state: str = ""  # for queue rows: their state

    def as_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat(sep=" ", timespec="seconds") if isinstance(v, datetime) else v
            for k, v in data.items()}


class _Integrations:
    """The integrations by id, and the connector of each looked up once (None when unknown)."""

    def __init__(self, connector_for: ConnectorLookup | None) -> None:
        self.connector_for = connector_for
        self.integrations = {i.id: i for i in Integration.select()}
        self.found: dict[int, Connector | None] = {}

    def name(self, integration_id: int | None) -> str:
        if integration_id is None or integration_id not in self.integrations:
            return ""
        return self.integrations[integration_id].name

    def of(self, integration_id: int | None) -> Connector | None:
        if self.connector_for is None or integration_id is None:
            return None
        if integration_id not in self.found:
            integration = self.integrations.get(integration_id)
            self.found[integration_id] = None
            if integration is not None:
                try:
                    self.found[integration_id] = self.connector_for(integration)
                except Exception as exc:  # an unknown type: the rows still show, less readable
                    log.debug("No connector for %s: %s", integration.name, exc)
        return self.found[integration_id]

    def action_label(self, integration_id: int | None, action: str) -> str:
        return action_label(self.of(integration_id), action)

    def step_labels(self, integration_id: int) -> dict[str, str]:
        connector, integration = self.of(integration_id), self.integrations.get(integration_id)
        if connector is None or integration is None:
            return {}
        return {step.name: step.label for step in connector.steps(integration)}

    def count_words(self, integration_id: int) -> Mapping[str, CountWords]:
        connector = self.of(integration_id)
        return connector.count_labels if connector is not None else {}


def _integration_ids(integration: Integration | int | None) -> list[int]:
    if integration is None:
        return [row.id for row in Integration.select(Integration.id).order_by(Integration.id)]
    return [integration if isinstance(integration, int) else integration.id]


def journal_rows(integration: Integration | int | None = None, state: str | None = None,
                 email: str | None = None, limit: int = JOURNAL_LIMIT,
                 connector_for: ConnectorLookup | None = None) -> list[JournalRow]:
    """Queue rows, the ``limit`` most recently updated per integration, newest first.

    ``state`` is one of ``core.sync.queue.STATES``; ``email`` matches part of the address,
    ignoring case.
    """
    if state is not None and state not in STATES:
        raise ValueError(f"Unknown state {state!r}; use one of: {', '.join(STATES)}.")
    known = _Integrations(connector_for)
    rows: list[JournalRow] = []
    for integration_id in _integration_ids(integration):
        query = QueueItem.select().where(QueueItem.integration == integration_id)
        if state:
            query = query.where(QueueItem.state == state)
        if email:
            query = query.where(QueueItem.email.contains(email.strip()))
        query = query.order_by(QueueItem.updated.desc(), QueueItem.id.desc()).limit(limit)
        rows.extend(_journal_row(item, known.name(integration_id),
                                 known.action_label(integration_id, item.action))
                    for item in query)
    rows.sort(key=lambda r: (r.updated, r.id), reverse=True)
    return rows


def _journal_row(item: QueueItem, integration_name: str, action_text: str) -> JournalRow:
    return JournalRow(
        id=item.id, integration_id=item.integration_id, integration=integration_name,
        entity=item.entity, record_id=item.record_id, email=item.email, label=item.label,
        action=item.action, action_label=action_text, state=item.state,
        state_label=STATE_LABELS.get(item.state, item.state),
        attempts=item.attempts, max_attempts=item.max_attempts, source=item.source,
        added=item.created, updated=item.updated, next_attempt_at=item.next_attempt_at,
        last_error=item.last_error or "")


def run_rows(integration: Integration | int | None = None, limit: int = 50,
             connector_for: ConnectorLookup | None = None) -> list[RunRow]:
    """The latest runs, newest first (``limit`` per integration)."""
    known = _Integrations(connector_for)
    rows: list[RunRow] = []
    for integration_id in _integration_ids(integration):
        query = (SyncRun.select().where(SyncRun.integration == integration_id)
                 .order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit))
        runs = list(query)
        labels = known.step_labels(integration_id) if runs else {}
        words = known.count_words(integration_id) if runs else {}
        rows.extend(RunRow(run.id, integration_id, known.name(integration_id), run.trigger,
                           run.status, RUN_STATUS_LABELS.get(run.status, run.status),
                           run.started_at, run.ended_at, run.counts, run.error or "",
                           summarize(run.counts, labels, words))
                    for run in runs)
    rows.sort(key=lambda r: (r.started_at, r.id), reverse=True)
    return rows


def record_history(entity: str, record_id: int, limit: int = 500,
                   connector_for: ConnectorLookup | None = None) -> list[HistoryRow]:
    """What every integration did with one record, newest first: events and queue rows."""
    known = _Integrations(connector_for)
    rows = [HistoryRow(e.at, known.name(e.integration_id), e.kind, e.level, e.message)
            for e in HistoryEvent.select().where(HistoryEvent.entity == entity,
                                                 HistoryEvent.record_id == record_id)
            .order_by(HistoryEvent.at.desc()).limit(limit)]
    for item in (QueueItem.select().where(QueueItem.entity == entity,
                                          QueueItem.record_id == record_id)
                 .order_by(QueueItem.updated.desc()).limit(limit)):
        label = STATE_LABELS.get(item.state, item.state)
        action = known.action_label(item.integration_id, item.action)
        text = f"{action}: {label.lower()} after {plural(item.attempts, 'attempt')}"
        if item.last_error:
            text += f". {item.last_error}"
        level = "error" if item.state == "failed" else "warning" if item.last_error else "info"
        rows.append(HistoryRow(item.updated, known.name(item.integration_id), "queue",
                               level, text, item.state))
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:limit]
