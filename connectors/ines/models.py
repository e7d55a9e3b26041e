"""INES CRM tables: the full-sync queue and journal (``ines_sync_log``) and the configuration cache.

They belong to the INES connector, with their own migration series ``ines`` (``core.migrations``),
registered when this module is imported.

Why INES keeps its own queue instead of the engine's generic ``QueueItem`` (ines.md §3.13, §3.14):
the plugin's queue has rules the generic one does not express and that the admin reads in the
journal: a failed row goes back to PENDING (no back-off), a run takes the first N UPDATE rows and
then the first N DELETE rows, a timeout on one row is an attempt of that row and the run goes on,
a row whose contact is gone locally becomes FAILED without charging an attempt, and the initial
sync reads the rows' history (D9). The engine's queue step would also send these rows itself
through ``process_item`` with its own rules. The columns follow §3.13 (one id per column, D8).
"""

from __future__ import annotations

import json
from typing import Any

import peewee as pw

from core.clock import utcnow
from core.db import BaseModel
from core.migrations import series
from core.models.sync import Integration

UPDATE, DELETE = "UPDATE", "DELETE"
PENDING, DONE, FAILED = "PENDING", "DONE", "FAILED"
SOURCES = ("event", "initial", "push", "auto")  # auto: pushed on change, push-only mode


class InesSyncLog(BaseModel):
    """One queued or recorded INES operation on one contact: the queue and the journal in one."""

    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="ines_rows")
    action = pw.CharField(max_length=8)  # UPDATE | DELETE
    contact_id = pw.IntegerField(null=True, index=True)  # local contact; no foreign key
    ines_contact_ref = pw.IntegerField(null=True)  # the INES contact a DELETE targets
    lead_email = pw.CharField(default="", max_length=320)
    lead_company = pw.CharField(default="", max_length=255)
    date_added = pw.DateTimeField(default=utcnow)
    date_last_update = pw.DateTimeField(default=utcnow, index=True)
    status = pw.CharField(max_length=8, default=PENDING)  # PENDING | DONE | FAILED
    counter = pw.IntegerField(default=0)  # attempts made
    last_error = pw.TextField(null=True)  # redacted
    source = pw.CharField(max_length=8, default="event")  # event | initial | push | auto

    class Meta:
        table_name = "ines_sync_log"
        indexes = ((("integration", "status", "action"), False),)


class InesConfigCache(BaseModel):
    """``GetSyncInfo`` and the five lookups, kept so the mapping tab opens without the network.

    Dropped when the settings dialog opens or on refresh (§3.1).
    """

    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", unique=True)
    fetched_at = pw.DateTimeField(default=utcnow)
    data_json = pw.TextField(default="{}")

    @property
    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.data_json or "{}"))


INES_MODELS: list[type[BaseModel]] = [InesSyncLog, InesConfigCache]


# The connector's own migration series; step 1 was number 4 of the global series before issue 8.
MIGRATIONS = series("ines", legacy={4: 1})


@MIGRATIONS.step(1, "queue, journal and configuration cache")
def _tables(db: pw.Database) -> None:
    db.create_tables(INES_MODELS, safe=True)
