"""The INES full-sync queue and its journal (ines.md §3.13, §3.16), over ``ines_sync_log``.

Rules kept here, in one place:

- Queueing deletes the contact's PENDING rows first: the latest action wins and a contact has
  at most one PENDING row. Rows are matched by their own kind of id only (D8): an UPDATE replaces
  the contact's PENDING UPDATE row (matched by local id); a DELETE replaces the contact's PENDING
  UPDATE row and any PENDING DELETE of the same INES ref. A PENDING DELETE is never removed by a
  local id, which SQLite may hand to a new contact after the old one is deleted.
- An attempt is charged before anything is sent (committed), so a crash cannot make a row free
  to retry forever; the row then says that the outcome of the cut-off attempt is unknown.
- Each row's status comes from its own outcome only (D1): DONE, PENDING again below three
  attempts, FAILED at three.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from connectors.ines.models import DELETE, DONE, FAILED, PENDING, UPDATE, InesSyncLog
from core.clock import utcnow
from core.db import database_proxy
from core.logs import redact
from core.models.sync import Integration

MAX_ATTEMPTS = 3
# ``source`` of the rows the record-change listener queues in push-only mode (full sync off,
# push on): the contact is pushed automatically by the integration's next run (§3.12).
AUTO = "auto"
JOURNAL_SIZE = 200
IN_FLIGHT = "Attempt in progress (if it stays so, the program stopped during it)."
CREATE_IN_FLIGHT = ("Creating the client and contact in INES (if it stays so, the program stopped "
                    "during it: outcome unknown).")
OUTCOME_UNKNOWN = (
    "Outcome unknown: INES may have created the client and contact without ListBridge getting "
    "their references. It is not sent again by itself, to avoid a duplicate: check INES, then "
    "enter the references on the contact or press Retry to create them.")


def enqueue_update(integration: Integration, contact_id: int, email: str, company: str,
                   source: str = "event") -> InesSyncLog:
    now = utcnow()
    with database_proxy.atomic():
        InesSyncLog.delete().where(
            InesSyncLog.integration == integration, InesSyncLog.status == PENDING,
            InesSyncLog.action == UPDATE, InesSyncLog.contact_id == contact_id).execute()
        return InesSyncLog.create(integration=integration, action=UPDATE, contact_id=contact_id,
                                  lead_email=email or "", lead_company=company or "",
                                  date_added=now, date_last_update=now, status=PENDING,
                                  source=source)


def enqueue_initial(integration: Integration, contacts: list[tuple[int, str, str]]) -> None:
    """Queue never-synced contacts (id, email, company) in one statement; the initial sync
    picks only contacts without a PENDING row, so nothing needs replacing."""
    now = utcnow()
    rows = [{"integration": integration, "action": UPDATE, "contact_id": contact_id,
             "lead_email": email, "lead_company": company, "date_added": now,
             "date_last_update": now, "status": PENDING, "source": "initial"}
            for contact_id, email, company in contacts]
    with database_proxy.atomic():
        for start in range(0, len(rows), 100):
            InesSyncLog.insert_many(rows[start:start + 100]).execute()


def enqueue_delete(integration: Integration, contact_id: int, ines_ref: int, email: str,
                   company: str) -> InesSyncLog | None:
    """Queue a DELETE; never without an INES ref (D8)."""
    if not ines_ref or ines_ref <= 0:
        return None
    now = utcnow()
    with database_proxy.atomic():
        InesSyncLog.delete().where(
            InesSyncLog.integration == integration, InesSyncLog.status == PENDING,
            ((InesSyncLog.action == UPDATE) & (InesSyncLog.contact_id == contact_id))
            | ((InesSyncLog.action == DELETE) & (InesSyncLog.ines_contact_ref == ines_ref)),
        ).execute()
        return InesSyncLog.create(integration=integration, action=DELETE, contact_id=contact_id,
                                  ines_contact_ref=ines_ref, lead_email=email or "",
                                  lead_company=company or "", date_added=now,
                                  date_last_update=now, status=PENDING, source="event")


def drop_pending_updates(integration: Integration, contact_id: int,
                         keep: int | None = None) -> int:
    """Remove the contact's PENDING UPDATE rows (after a success, or when it left the sync)."""
    query = InesSyncLog.delete().where(
        InesSyncLog.integration == integration, InesSyncLog.status == PENDING,
        InesSyncLog.action == UPDATE, InesSyncLog.contact_id == contact_id)
    if keep is not None:
        query = query.where(InesSyncLog.id != keep)
    return int(query.execute())


def pending_rows(integration: Integration, action: str, limit: int, source: str | None = None,
                 after_id: int = 0) -> list[InesSyncLog]:
    """The first ``limit`` PENDING rows of this action by id (of one ``source`` if given, with
    an id above ``after_id``)."""
    query = InesSyncLog.select().where(
        InesSyncLog.integration == integration, InesSyncLog.status == PENDING,
        InesSyncLog.action == action, InesSyncLog.id > after_id)
    if source is not None:
        query = query.where(InesSyncLog.source == source)
    return list(query.order_by(InesSyncLog.id).limit(limit))


def pending_count(integration: Integration, action: str, source: str | None = None,
                  after_id: int = 0) -> int:
    query = InesSyncLog.select().where(
        InesSyncLog.integration == integration, InesSyncLog.status == PENDING,
        InesSyncLog.action == action, InesSyncLog.id > after_id)
    if source is not None:
        query = query.where(InesSyncLog.source == source)
    return int(query.count())


def has_pending_updates(integration: Integration) -> bool:
    return bool(InesSyncLog.select(InesSyncLog.id).where(
        InesSyncLog.integration == integration, InesSyncLog.status == PENDING,
        InesSyncLog.action == UPDATE).exists())


# -- one attempt -------------------------------------------------------------------------------------

def charge(row: InesSyncLog, note: str = IN_FLIGHT) -> None:
    """Count the attempt before sending, committed (§3.14 step 3); ``note`` says what it does
    (``CREATE_IN_FLIGHT`` when it will create: a crash then leaves "outcome unknown")."""
    row.counter += 1
    row.last_error = note
    row.date_last_update = utcnow()
    row.save()


def mark(row: InesSyncLog, note: str) -> None:
    """Say what the attempt is doing, committed (so a crash leaves the truth behind)."""
    row.last_error = note
    row.date_last_update = utcnow()
    row.save()


def give_back(row: InesSyncLog, message: str) -> None:
    """A failure that was not the row's (INES unreachable, login refused): no attempt charged."""
    row.counter = max(0, row.counter - 1)
    row.status = PENDING
    row.last_error = redact(message)
    row.date_last_update = utcnow()
    row.save()


def succeed(row: InesSyncLog, note: str | None = None) -> None:
    row.status = DONE
    row.last_error = redact(note) if note else None
    row.date_last_update = utcnow()
    row.save()


def fail(row: InesSyncLog, message: str, charged: bool = True, final: bool = False) -> None:
    """FAILED at three attempts, else PENDING again. ``charged=False`` fails it at once without
    counting an attempt (the contact is gone, the DELETE has no ref); ``final`` fails it at once
    after a charged attempt (a create whose outcome is unknown must not be repeated, D11)."""
    row.last_error = redact(message)
    row.status = FAILED if (not charged or final or row.counter >= MAX_ATTEMPTS) else PENDING
    row.date_last_update = utcnow()
    row.save()


def record_push(integration: Integration, contact_id: int, email: str, company: str,
                ok: bool, message: str | None) -> InesSyncLog:
    """The journal row of an explicit push: a record, never PENDING (§3.12)."""
    now = utcnow()
    return InesSyncLog.create(integration=integration, action=UPDATE, contact_id=contact_id,
                              lead_email=email or "", lead_company=company or "",
                              date_added=now, date_last_update=now,
                              status=DONE if ok else FAILED, counter=1,
                              last_error=redact(message) if message else None, source="push")


# -- the journal (§3.16) -------------------------------------------------------------------------------

@dataclass(frozen=True)
class JournalRow:
    id: int
    date_added: datetime
    action: str
    email: str
    company: str
    status: str
    attempts: int
    date_last_update: datetime
    last_error: str
    source: str
    contact_id: int | None
    ines_contact_ref: int | None

    @property
    def can_retry(self) -> bool:
        return self.status == FAILED and self.source != "push"


def journal(integration: Integration, limit: int = JOURNAL_SIZE, offset: int = 0,
            status: str | None = None, action: str | None = None, search: str = "",
            source: str | None = None) -> list[JournalRow]:
    """The latest rows by ``date_last_update`` (200 by default, paging beyond), with filters."""
    query = InesSyncLog.select().where(InesSyncLog.integration == integration)
    if status:
        query = query.where(InesSyncLog.status == status)
    if action:
        query = query.where(InesSyncLog.action == action)
    if source:
        query = query.where(InesSyncLog.source == source)
    if search.strip():
        text = search.strip()
        query = query.where(InesSyncLog.lead_email.contains(text)
                            | InesSyncLog.lead_company.contains(text))
    query = query.order_by(InesSyncLog.date_last_update.desc(), InesSyncLog.id.desc())
    return [_row(r) for r in query.limit(limit).offset(offset)]


def journal_count(integration: Integration, status: str | None = None) -> int:
    query = InesSyncLog.select().where(InesSyncLog.integration == integration)
    if status:
        query = query.where(InesSyncLog.status == status)
    return int(query.count())


def _row(r: InesSyncLog) -> JournalRow:
    return JournalRow(r.id, r.date_added, r.action, r.lead_email, r.lead_company, r.status,
                      r.counter, r.date_last_update, r.last_error or "", r.source, r.contact_id,
                      r.ines_contact_ref)


def retry_failed(integration: Integration, row_ids: Iterable[int] | None = None) -> int:
    """"Retry": FAILED rows back to PENDING with a fresh counter; returns how many.

    A failed push row stays as the record of what happened, and its contact is queued anew. A
    contact keeps at most one PENDING row: the oldest retried row of a contact wins over none,
    and a newer PENDING row of the same contact replaces a retried one.
    """
    query = InesSyncLog.select().where(InesSyncLog.integration == integration,
                                       InesSyncLog.status == FAILED).order_by(InesSyncLog.id)
    if row_ids is not None:
        query = query.where(InesSyncLog.id.in_(list(row_ids)))
    done = 0
    with database_proxy.atomic():
        for row in query:
            done += 1
            if row.source == "push":
                if row.contact_id is not None:
                    enqueue_update(integration, row.contact_id, row.lead_email, row.lead_company)
                continue
            if row.action == UPDATE and row.contact_id is not None and InesSyncLog.select().where(
                    InesSyncLog.integration == integration, InesSyncLog.status == PENDING,
                    InesSyncLog.action == UPDATE,
                    InesSyncLog.contact_id == row.contact_id).exists():
                continue  # already queued again since: that row is the one to send
            row.status, row.counter, row.last_error = PENDING, 0, None
            row.date_last_update = utcnow()
            row.save()
    return done
