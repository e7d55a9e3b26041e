"""The persistent queue of record operations per integration, and how a run works through it.

States: ``pending`` (waiting for its first attempt), ``retrying`` (failed, tried again from
``next_attempt_at``), ``sending`` (an attempt is under way), ``done``, ``skipped`` (the connector
decided there was nothing to do, and said why) and ``failed`` (``max_attempts`` failures: ignored by
runs until the admin retries it).

Rules:

- Enqueueing a record that already has a pending or retrying row replaces that row: the latest
  action wins and a record has at most one open row per integration. A ``sending`` row is left
  alone (the new row is sent after it).
- Every attempt is charged *before* the connector is called: the row becomes ``sending`` with
  ``attempts + 1`` in a committed write. After the call the row's own outcome decides its state.
- A row still ``sending`` when a run starts was cut off by a crash (runs hold the integration's
  lock, so nothing else is sending it). Whether the service got it is unknown: the run offers it
  again first, and the connector sees ``ctx.outcome_unknown(item)`` and must check the service
  (or use an idempotent upsert) before sending, so nothing is lost and nothing is sent twice.
- What an error does to the charged attempt is the engine's one attempt rule
  (``core.sync.attempts``), which also sends the queue (``send_queue``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.clock import utcnow
from core.db import database_proxy
from core.models.sync import Integration, QueueItem

log = logging.getLogger("listbridge.sync.queue")

PENDING, RETRYING, SENDING, DONE, FAILED, SKIPPED = (
    "pending", "retrying", "sending", "done", "failed", "skipped")
OPEN_STATES = (PENDING, RETRYING)
STATES = (PENDING, RETRYING, SENDING, DONE, FAILED, SKIPPED)
STATE_LABELS = {
    PENDING: "Waiting", RETRYING: "Will retry", SENDING: "Sending", DONE: "Done",
    FAILED: "Failed", SKIPPED: "Skipped",
}
QUEUE_STEP = "queue"
QUEUE_STEP_LABEL = "Send queued changes"


@dataclass(frozen=True)
class RetryPolicy:
    """When a failed row is tried again: ``base`` doubled per attempt, at most ``cap``."""

    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        return min(self.cap, self.base * (2 ** max(0, attempts - 1)))


DEFAULT_POLICY = RetryPolicy()


def humanize_action(action: str) -> str:
    """``dotmailer_export`` reads "Dotmailer export"."""
    return action.replace("_", " ").strip().capitalize()


# -- writing rows ------------------------------------------------------------------------------------

def enqueue(integration: Integration, action: str, *, entity: str = "contact",
            record_id: int | None = None, email: str = "", label: str = "",
            remote_ref: str | None = None, payload: dict[str, Any] | None = None,
            source: str = "event", max_attempts: int | None = None) -> QueueItem:
    """Queue one operation on one record, replacing the record's open row (the latest wins)."""
    import json

    with database_proxy.atomic():
        same = _same_record(integration, entity, record_id, remote_ref, email)
        if same is not None:
            QueueItem.delete().where(same, QueueItem.state.in_(OPEN_STATES)).execute()
        return QueueItem.create(
            integration=integration, entity=entity, record_id=record_id, remote_ref=remote_ref,
            email=email or "", label=label or "", action=action, state=PENDING,
            max_attempts=max_attempts or 3, source=source,
            payload_json=json.dumps(payload or {}, sort_keys=True, default=str))


def _same_record(integration: Integration, entity: str, record_id: int | None,
                 remote_ref: str | None, email: str) -> Any:
    """The rows about the same record: by local id, else by remote ref, else by email."""
    base = (QueueItem.integration == integration) & (QueueItem.entity == entity)
    if record_id is not None:
        return base & (QueueItem.record_id == record_id)
    if remote_ref:
        return base & (QueueItem.remote_ref == remote_ref)
    if email:
        return base & QueueItem.record_id.is_null() & (QueueItem.email == email)
    return None


def _save(item: QueueItem, **changes: Any) -> QueueItem:
    for key, value in changes.items():
        setattr(item, key, value)
    item.save()
    return item


def begin_attempt(item: QueueItem) -> QueueItem:
    """Charge the attempt and mark the row in flight, committed before anything is sent."""
    with database_proxy.atomic():
        return _save(item, state=SENDING, attempts=item.attempts + 1)


def finish(item: QueueItem, state: str = DONE, message: str = "",
           remote_ref: str | None = None) -> QueueItem:
    """The attempt succeeded (``done``) or there was nothing to do (``skipped``, with why)."""
    changes: dict[str, Any] = {"state": state if state in (DONE, SKIPPED) else DONE,
                               "next_attempt_at": None,
                               "last_error": (message or None) if state == SKIPPED else None}
    if remote_ref:
        changes["remote_ref"] = remote_ref
    return _save(item, **changes)


def fail_attempt(item: QueueItem, message: str, now: datetime | None = None,
                 policy: RetryPolicy = DEFAULT_POLICY,
                 retry_after: float | None = None) -> QueueItem:
    """The charged attempt failed: ``failed`` after ``max_attempts``, else ``retrying`` later."""
    now = now or utcnow()
    if item.attempts >= item.max_attempts:
        return _save(item, state=FAILED, last_error=message, next_attempt_at=None)
    delay = policy.delay(item.attempts)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return _save(item, state=RETRYING, last_error=message, next_attempt_at=now + delay)


def give_back(item: QueueItem, state: str, message: str | None = None) -> QueueItem:
    """Undo the charge of an attempt that was not the item's fault (rate limit, cancel...)."""
    return _save(item, state=state, attempts=max(0, item.attempts - 1),
                 last_error=message if message is not None else item.last_error)


def record_failure(item: QueueItem, message: str, now: datetime | None = None,
                   policy: RetryPolicy = DEFAULT_POLICY) -> QueueItem:
    """A failure met outside the queue (in a step): counts as the row's first attempt."""
    item.attempts += 1
    return fail_attempt(item, message, now, policy)


# -- the admin's actions -----------------------------------------------------------------------------

def retry(item: QueueItem) -> QueueItem:
    """Send a failed (or skipped) row again at the next run, with a fresh attempt count."""
    item = QueueItem.get_by_id(item.id)
    if item.state not in (FAILED, SKIPPED):
        return item
    return _save(item, state=PENDING, attempts=0, next_attempt_at=None, last_error=None)


def retry_all_failed(integration: Integration) -> int:
    """Every failed row of the integration back to pending; returns how many."""
    return int(QueueItem.update(state=PENDING, attempts=0, next_attempt_at=None, last_error=None,
                                updated=utcnow())
               .where(QueueItem.integration == integration, QueueItem.state == FAILED)
               .execute())


def counts(integration: Integration) -> dict[str, int]:
    from peewee import fn

    query = (QueueItem.select(QueueItem.state, fn.COUNT(QueueItem.id).alias("n"))
             .where(QueueItem.integration == integration).group_by(QueueItem.state))
    return {str(row["state"]): int(row["n"]) for row in query.dicts()}  # type: ignore[index]


def prune(integration: Integration | None = None, older_than: timedelta = timedelta(days=90),
          states: Iterable[str] = (DONE, SKIPPED)) -> int:
    """Delete finished rows older than ``older_than``; failed rows wait for the admin."""
    query = QueueItem.delete().where(QueueItem.state.in_(list(states)),
                                     QueueItem.updated < utcnow() - older_than)
    if integration is not None:
        query = query.where(QueueItem.integration == integration)
    return int(query.execute())


# -- reading rows for a run --------------------------------------------------------------------------

def in_doubt(integration: Integration) -> list[QueueItem]:
    """Rows left ``sending`` by a run that died; call only while holding the integration's lock."""
    return list(QueueItem.select().where(QueueItem.integration == integration,
                                         QueueItem.state == SENDING).order_by(QueueItem.id))


def due_items(integration: Integration, now: datetime | None = None,
              limit: int | None = None) -> list[QueueItem]:
    """What a run sends now: rows cut off mid-send first, then open rows that are due, by arrival."""
    now = now or utcnow()
    due = ((QueueItem.state == SENDING)
           | (QueueItem.state.in_(OPEN_STATES)
              & (QueueItem.next_attempt_at.is_null() | (QueueItem.next_attempt_at <= now))))
    query = (QueueItem.select().where(QueueItem.integration == integration, due)
             .order_by((QueueItem.state == SENDING).desc(), QueueItem.id))
    if limit:
        query = query.limit(limit)
    return list(query)
