"""Integrations and the machinery of a sync: runs, locks, watermarks, the queue, the history.

Nothing secret is stored here: an integration's ``secret_ref`` names its keyring entry.
"""

from __future__ import annotations

import json
from typing import Any

import peewee as pw

from core.clock import utcnow
from core.db import BaseModel
from core.models.store import TimestampedModel, User


class Integration(TimestampedModel):
    type = pw.CharField(max_length=32, index=True)
    name = pw.CharField(unique=True, max_length=255)
    active = pw.BooleanField(default=True)
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    settings_json = pw.TextField(default="{}")
    schedule_minutes = pw.IntegerField(null=True)  # None: manual only
    secret_ref = pw.CharField(default="", max_length=255)
    last_sync_at = pw.DateTimeField(null=True)
    next_sync_at = pw.DateTimeField(null=True, index=True)
    last_status = pw.CharField(default="", max_length=32)
    last_result = pw.TextField(default="")
    # The lease: one run per integration across every process sharing the database.
    lock_token = pw.CharField(null=True, max_length=64)
    lock_holder = pw.CharField(default="", max_length=255)
    lock_expires_at = pw.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.name

    @property
    def settings(self) -> dict[str, Any]:
        return dict(json.loads(self.settings_json or "{}"))

    @settings.setter
    def settings(self, value: dict[str, Any]) -> None:
        self.settings_json = json.dumps(value, sort_keys=True)

    def setting(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


RUN_TRIGGERS = ("manual", "scheduled", "record_change", "headless")
RUN_STATUSES = ("running", "succeeded", "partial", "retrying", "failed", "cancelled", "interrupted")


class SyncRun(BaseModel):
    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="runs")
    integration_id: int  # the key's value, as peewee adds it (see ``core.db.BaseModel``)
    trigger = pw.CharField(max_length=16)
    started_at = pw.DateTimeField(default=utcnow, index=True)
    ended_at = pw.DateTimeField(null=True)
    status = pw.CharField(max_length=16, default="running")
    counts_json = pw.TextField(default="{}")
    error = pw.TextField(default="")
    holder = pw.CharField(default="", max_length=255)

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        return dict(json.loads(self.counts_json or "{}"))


class Watermark(BaseModel):
    """Where a step's incremental reads resume: the start time of the last run it finished."""

    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="watermarks")
    step = pw.CharField(max_length=64)
    value = pw.DateTimeField()
    updated = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("integration", "step"), True),)


QUEUE_STATES = ("pending", "retrying", "sending", "done", "failed", "skipped")


class QueueItem(TimestampedModel):
    """One record-level operation for one integration, retried until done or failed."""

    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="queue")
    integration_id: int  # the key's value, as peewee adds it (see ``core.db.BaseModel``)
    entity = pw.CharField(max_length=16, default="contact")
    record_id = pw.IntegerField(null=True, index=True)  # no foreign key: kept after a delete
    remote_ref = pw.CharField(null=True, max_length=255)
    email = pw.CharField(default="", max_length=320, index=True)
    label = pw.CharField(default="", max_length=255)  # e.g. the company, as captured when queued
    action = pw.CharField(max_length=32)
    state = pw.CharField(max_length=16, default="pending", index=True)
    attempts = pw.IntegerField(default=0)
    max_attempts = pw.IntegerField(default=3)
    next_attempt_at = pw.DateTimeField(null=True, index=True)
    last_error = pw.TextField(null=True)
    source = pw.CharField(max_length=16, default="event")
    payload_json = pw.TextField(default="{}")

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.payload_json or "{}"))


class HistoryEvent(BaseModel):
    """Something that happened to one record: the per-record history one click from a contact."""

    integration = pw.ForeignKeyField(Integration, null=True, on_delete="SET NULL")
    run = pw.ForeignKeyField(SyncRun, null=True, on_delete="SET NULL")
    integration_id: int | None  # the keys' values, as peewee adds them
    run_id: int | None
    entity = pw.CharField(max_length=16, default="contact")
    record_id = pw.IntegerField(null=True, index=True)
    email = pw.CharField(default="", max_length=320, index=True)
    at = pw.DateTimeField(default=utcnow, index=True)
    level = pw.CharField(max_length=16, default="info")  # info, warning, error
    kind = pw.CharField(max_length=32)
    message = pw.TextField(default="")


SYNC_MODELS: list[type[BaseModel]] = [
    Integration,
    SyncRun,
    Watermark,
    QueueItem,
    HistoryEvent,
]
