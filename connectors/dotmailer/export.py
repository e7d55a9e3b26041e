"""The Dotmailer export: contacts to address books by CSV imports, and what becomes of them.

Step 1 of a run polls the imports earlier runs left unfinished (their faults apply before anything
is sent again); steps 10a-10d are Oro's four export steps, changed as ``shared/api/dotmailer.md``
§3.3, §3.4 and §4 require: remove contacts that left a list (E10), unsubscribe members whose
remote status stops mail, mark each member new, add or update, and send the CSV imports in
batches of at most 10,000 rows with at most ``max_active_imports`` running (D8).

An import's rows are stamped with it before the file leaves, so a run killed mid-send leaves a
``Sending`` import that the next run resolves. Faults apply by reason (D6); a Data Watchdog
rejection keeps its rows, never re-sent automatically (D12); a row that fails alone goes to the
engine's queue, which retries it three times.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from connectors.base import FatalError, RateLimited, TransientError
from connectors.dotmailer import bulk, forms
from connectors.dotmailer.client import (
    ImportFault,
    RemoteGone,
    RetryLater,
    TooManyImports,
    as_int,
)
from connectors.dotmailer.models import (
    EXPORT_ADD,
    EXPORT_DONE,
    EXPORT_NEW,
    EXPORT_QUEUED,
    EXPORT_REJECTED,
    EXPORT_UPDATE,
    EXPORT_WATCHDOG,
    IMPORT_PENDING,
    IMPORT_SENDING,
    AddressBook,
    BookMember,
    DataField,
    DataFieldMapping,
    DotmailerContact,
    DotmailerImport,
)
from connectors.dotmailer.sync import (
    BATCH_ROWS,
    EXPORT_ACTION,
    JOURNAL_KIND,
    KEEPS_MAIL,
    MARK_DATAFIELDS,
    MAX_IMPORT_FAILURES,
    REMOVE_BATCH,
    STOPS_MAIL,
    UNKNOWN_AFTER,
    UNKNOWN_AFTER_POLL_FAILURES,
    LocalMember,
    RunState,
    columns_for,
    connected_books,
    get_mark,
    list_members,
    list_of,
    read_book_contacts,
    reason_words,
    run_state,
    sync_data_fields,
    unlink_gone_book,
    unsubscribe_members,
    valid_email,
    values_hash,
)
from core.clock import utcnow
from core.db import database_proxy, plain_rows
from core.lists import member_column
from core.models.store import MODEL_FOR_KIND, ListMember, MarketingList
from core.models.sync import Integration, QueueItem
from core.sync.context import SyncContext

log = logging.getLogger("listbridge.dotmailer")

# Import fault reasons (compared without case or spaces) and the status each means (D6).
FAULT_STATUS = {
    "unsubscribed": "Unsubscribed",
    "hardbounced": "HardBounced",
    "ispcomplaints": "IspComplained",
    "mailblocked": "MailBlocked",
    "domainsuppressed": "DomainSuppression",
    "globallysuppressed": "Suppressed",
    "suppressedbyyou": "Suppressed",
    "blocked": "NotAllowed",
}
FAULT_INVALID = "invalidentries"
FAULT_FAILURE = "failures"


def norm_reason(reason: str) -> str:
    return re.sub(r"\s+", "", reason or "").lower()


def fault_status(reason: str) -> str | None:
    """The contact status a fault reason stands for (D6); None for invalid entries, failures and
    reasons nobody documented (those are recorded as given)."""
    return FAULT_STATUS.get(norm_reason(reason))


# -- step 1: pending imports -----------------------------------------------------------------------

def poll_pending_imports(ctx: SyncContext) -> None:
    """Poll imports left by earlier runs, so their faults apply before anything is sent again."""
    state = run_state(ctx)
    release_unsent_imports(ctx)
    pending = list(DotmailerImport.select().where(
        DotmailerImport.integration == ctx.integration,
        DotmailerImport.status == IMPORT_PENDING).order_by(DotmailerImport.id))
    for done, imp in enumerate(pending, 1):
        ctx.check_cancel()
        poll_import(ctx, state, imp)
        ctx.progress(done, len(pending))


def release_unsent_imports(ctx: SyncContext) -> None:
    """Imports a dead run was sending: whether Dotmailer got the file is unknown, and it cannot
    be asked (no GUID), so the rows are sent again. An import is an idempotent upsert."""
    # Lists, not live cursors: an open read would block this connection's writes (WAL snapshot).
    for imp in list(DotmailerImport.select().where(
            DotmailerImport.integration == ctx.integration,
            DotmailerImport.status == IMPORT_SENDING)):
        n = _retry_rows(imp, count_failure=False)
        _finish(imp, "Unknown")
        ctx.journal(f"An earlier run was cut off while sending {n} contacts to Dotmailer; they "
                    "will be sent again.", level="warning", entity="list", kind=JOURNAL_KIND)


def poll_import(ctx: SyncContext, state: RunState, imp: DotmailerImport,
                queue_failures: bool = True) -> list[BookMember]:
    """One E13 call (never cached) and what follows from its answer.

    Returns the rows that failed alone (``Failures``); with ``queue_failures`` they are handed to
    the engine's queue, which retries each up to three times.
    """
    try:
        status = state.client.import_status(imp.remote_id)
    except RemoteGone:
        status = "Unknown"
    except RateLimited:
        raise
    except TransientError as exc:
        imp.failures += 1
        imp.message = exc.admin_message
        if imp.failures < UNKNOWN_AFTER_POLL_FAILURES:
            imp.save()
            return []
        status = "Unknown"
    imp.polls += 1
    if status == IMPORT_PENDING:
        if utcnow() - imp.created <= UNKNOWN_AFTER:
            delay = state.tuning.poll_delays[min(imp.polls, len(state.tuning.poll_delays) - 1)]
            imp.next_poll_at = utcnow() + timedelta(seconds=delay)
            imp.save()
            return []
        status = "Unknown"
    failed = finish_import(ctx, state, imp, status)
    if queue_failures:
        for row in failed:
            queue_row_failure(ctx, row, "Dotmailer failed to import this contact.")
    return failed


def finish_import(ctx: SyncContext, state: RunState, imp: DotmailerImport,
                  status: str) -> list[BookMember]:
    """Apply a final status (§3.4); the rows that failed alone."""
    book = AddressBook.get_or_none(AddressBook.id == imp.book_id) if imp.book_id else None
    label = book.name if book is not None else "a disconnected address book"
    failed: list[BookMember] = []
    if status == "Finished":
        try:
            report = state.client.import_report(imp.remote_id)
            faults = state.client.import_faults(imp.remote_id)
        except RetryLater:
            imp.save()  # the report is not there yet: poll again later
            return []
        failed = _apply_finished(ctx, imp, book, report, faults)
    elif status == "RejectedByWatchdog":
        n = _set_rows(imp, export_status=EXPORT_WATCHDOG,
                      last_error="Refused by Dotmailer's Data Watchdog")
        ctx.journal(f"Dotmailer's Data Watchdog refused the import of {n} contacts into "
                    f"“{label}”. Nothing was imported; these contacts stay marked as rejected and "
                    "will not be sent again automatically. Check the list's data quality, then "
                    "send them again from the list's Dotmailer menu.",
                    level="warning", entity="list",
                    record_id=book.mlist_id if book else None, kind=JOURNAL_KIND)
        ctx.count("rejected", n)
    elif status == "ExceedsAllowedContactLimit":
        message = ("The Dotmailer account has reached its contact limit; export to Dotmailer is "
                   "paused. Raise the limit in Dotmailer, then resume the export.")
        _retry_rows(imp, count_failure=False)
        AddressBook.update(export_paused=message).where(
            AddressBook.integration == ctx.integration).execute()
        ctx.journal(message, level="warning", entity="list", kind=JOURNAL_KIND)
    elif status == "InvalidFileFormat":
        _fatal_file(ctx, imp, book, label)
    elif status == "Unknown":
        n = _retry_rows(imp, count_failure=False)
        ctx.journal(f"Dotmailer no longer knows an import into “{label}”; its {n} contacts will "
                    "be sent again.", level="warning", entity="list", kind=JOURNAL_KIND)
    else:  # Failed, NotAvailableInThisVersion and anything new: a failure, retried 3 times
        n = _retry_rows(imp, count_failure=True)
        ctx.journal(f"Dotmailer reported the import into “{label}” as {status}; {n} contacts "
                    f"will be sent again (up to {MAX_IMPORT_FAILURES} times).",
                    level="warning", entity="list", kind=JOURNAL_KIND)
    _finish(imp, status)
    if book is not None:
        state.finished_books.add(book.id)
    return failed


def _fatal_file(ctx: SyncContext, imp: DotmailerImport, book: AddressBook | None,
                label: str) -> None:
    """InvalidFileFormat is our bug: pause the book, log the first lines (emails masked), stop."""
    log.error("Import %s was InvalidFileFormat; first lines sent: %s", imp.remote_id,
              " | ".join(_masked_lines(imp)))
    _retry_rows(imp, count_failure=False)
    message = (f"Dotmailer could not read an import file ListBridge sent to “{label}”; export "
               "to that book is paused. This is a ListBridge bug: please report it with the log.")
    if book is not None:
        AddressBook.update(export_paused=message).where(AddressBook.id == book.id).execute()
    _finish(imp, "InvalidFileFormat")
    ctx.journal(message, level="error", entity="list",
                record_id=book.mlist_id if book else None, kind=JOURNAL_KIND)
    raise FatalError(message, f"import {imp.remote_id} ended as InvalidFileFormat")


def _finish(imp: DotmailerImport, status: str) -> None:
    imp.status = status
    imp.finished_at = utcnow()
    imp.next_poll_at = None
    imp.save()


def _set_rows(imp: DotmailerImport, **values: Any) -> int:
    return int(BookMember.update(updated=utcnow(), **values)
               .where(BookMember.import_ == imp).execute())


def _retry_rows(imp: DotmailerImport, count_failure: bool) -> int:
    """Put an import's rows back to be sent by a later export (at most 3 failures each)."""
    with database_proxy.atomic():
        if count_failure:
            BookMember.update(failures=BookMember.failures + 1).where(
                BookMember.import_ == imp).execute()
            BookMember.update(export_status=EXPORT_REJECTED,
                              last_error=f"The import failed {MAX_IMPORT_FAILURES} times").where(
                BookMember.import_ == imp, BookMember.failures >= MAX_IMPORT_FAILURES).execute()
        return int(BookMember.update(import_=None, updated=utcnow()).where(
            BookMember.import_ == imp).execute())


def _masked_lines(imp: DotmailerImport) -> list[str]:
    rows = (BookMember.select(DotmailerContact.email).join(DotmailerContact)
            .where(BookMember.import_ == imp).limit(4).scalars())
    return ["Email,…"] + [_mask(email) for email in rows]


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _apply_finished(ctx: SyncContext, imp: DotmailerImport, book: AddressBook | None,
                    report: dict[str, int], faults: list[ImportFault]) -> list[BookMember]:
    imp.report_json = json.dumps(report, sort_keys=True)
    by_email = {fault.email: fault for fault in faults}
    found: Any = (BookMember.select(BookMember.id, DotmailerContact.email_key,
                                    BookMember.pending_hash)
                  .join(DotmailerContact).where(BookMember.import_ == imp).tuples())
    rows = list(found)
    now = utcnow()
    done: list[tuple[Any, ...]] = []
    failed: list[BookMember] = []
    with database_proxy.atomic():
        for member_id, key, pending_hash in rows:
            fault = by_email.get(key)
            if fault is None:
                done.append((EXPORT_DONE, pending_hash, True, "", now, "", None, now, member_id))
                continue
            row = (BookMember.select(BookMember, DotmailerContact).join(DotmailerContact)
                   .where(BookMember.id == member_id).get())
            if _apply_fault(ctx, book, row, fault):
                failed.append(row)
        bulk.update_many(BookMember, ["export_status", "sent_hash", "in_book", "remote_status",
                                  "exported_at", "last_error", "import_", "updated"], done)
        if book is not None and imp.started_at is not None:
            # Step 5 must read the new contacts' remote ids: move the book's watermark back.
            if book.contacts_synced_at is None or book.contacts_synced_at > imp.started_at:
                AddressBook.update(contacts_synced_at=imp.started_at).where(
                    AddressBook.id == book.id).execute()
    ctx.count("imported", len(done))
    ctx.count("faults", len(rows) - len(done))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.items()) if v)
    ctx.journal(f"Dotmailer finished importing {len(rows)} contacts into "
                f"“{book.name if book else '?'}”: {counts or 'nothing to report'}.",
                entity="list", record_id=book.mlist_id if book else None, kind=JOURNAL_KIND)
    return failed


def _apply_fault(ctx: SyncContext, book: AddressBook | None, row: BookMember,
                 fault: ImportFault) -> bool:
    """One fault row of a finished import, by reason (D6); True when the row failed alone."""
    reason = norm_reason(fault.reason)
    email = row.contact.email_key
    where = book.name if book else "the address book"
    failed = False
    if reason == FAULT_INVALID:
        row.export_status = EXPORT_REJECTED
        row.last_error = "Dotmailer: invalid entry"
        ctx.journal(f"Dotmailer refused {email} as an invalid entry in “{where}”; it will not be "
                    "sent again until it is corrected.", level="warning", email=email,
                    kind=JOURNAL_KIND)
    elif reason == FAULT_FAILURE:
        row.failures += 1
        row.last_error = "Dotmailer: import failure"
        row.export_status = EXPORT_QUEUED  # the engine's queue retries it, three times at most
        failed = True
    else:
        status = fault_status(fault.reason)
        row.export_status = EXPORT_DONE
        row.sent_hash = row.pending_hash
        row.in_book = False
        row.remote_status = status or fault.reason.strip()
        row.last_error = f"Dotmailer: {fault.reason.strip()}"
        if status is not None and status != "Unsubscribed":
            # Bounces, complaints and suppressions are the contact's, account-wide.
            DotmailerContact.update(status=status, updated=utcnow()).where(
                DotmailerContact.id == row.contact_id).execute()
        if status is not None and book is not None and book.mlist_id:
            unsubscribe_members(ctx, list_of(book), {row.contact.email_key},
                                 f"Dotmailer refused it in “{where}”: {fault.reason.strip()}")
        elif status is None:
            ctx.journal(f"Dotmailer did not import {email} into “{where}”: {fault.reason.strip()}.",
                        level="warning", email=email, kind=JOURNAL_KIND)
    row.import_ = None
    row.updated = utcnow()
    row.save()
    return failed


def record_of(book: AddressBook, email_key: str) -> int | None:
    """The list's record (contact or lead) with this email, if any."""
    if not book.mlist_id:
        return None
    model = MODEL_FOR_KIND[list_of(book).entity]
    row = model.select(model.id).where(model.email_key == email_key).tuples().first()
    return row[0] if row else None


def queue_row_failure(ctx: SyncContext, row: BookMember, message: str) -> None:
    """A row that failed alone goes to the engine's queue (its first attempt), or, if it is
    there already, charges the open queue row one more attempt."""
    from core.sync import queue

    book = AddressBook.get_or_none(AddressBook.id == row.book_id)
    email = row.contact.email_key
    entity = list_of(book).entity if book is not None and book.mlist_id else "contact"
    record_id = record_of(book, email) if book is not None else None
    payload = {"book": row.book_id, "email": email}
    open_item = (QueueItem.select().where(
        QueueItem.integration == ctx.integration, QueueItem.action == EXPORT_ACTION,
        QueueItem.email == email, QueueItem.state.in_(queue.OPEN_STATES)).first())
    policy = ctx.cache.get("queue.policy", queue.DEFAULT_POLICY)
    if open_item is None:
        open_item = queue.enqueue(ctx.integration, EXPORT_ACTION, entity=entity,
                                  record_id=record_id, email=email, payload=payload,
                                  label=book.name if book is not None else "", source="sync",
                                  max_attempts=getattr(ctx.connector, "max_attempts", None))
    # As ``ctx.queue_failed`` does, but with the run's retry policy.
    queue.record_failure(open_item, message, policy=policy)
    ctx.count("queued")
    ctx.journal(message, level="warning", entity=entity, record_id=record_id, email=email,
                kind="queued")


# -- step 10a: removed contacts --------------------------------------------------------------------

def export_removed(ctx: SyncContext) -> None:
    """E10 for contacts that left a list but are still in its book (not an unsubscribe)."""
    state = run_state(ctx)
    for book in connected_books(ctx.integration):
        ctx.check_cancel()
        leaving = _leaving(book)
        if not leaving:
            continue
        removed = 0
        try:
            for chunk in bulk.chunks(leaving, REMOVE_BATCH):
                state.client.remove_contacts(book.remote_id, [c[1] for c in chunk])
                with database_proxy.atomic():
                    BookMember.update(in_book=False, remote_status="Removed",
                                      export_status=EXPORT_ADD, updated=utcnow()).where(
                        BookMember.id.in_([c[0] for c in chunk])).execute()
                for _mid, _rid, key in chunk:
                    ctx.journal(f"Removed from the address book “{book.name}” in Dotmailer: it "
                                f"left the list “{list_of(book).name}”.", email=key,
                                kind=JOURNAL_KIND)
                removed += len(chunk)
        except RemoteGone:
            unlink_gone_book(ctx, book)
        ctx.count("removed_remotely", removed)


def _leaving(book: AddressBook) -> list[tuple[int, int, str]]:
    """(membership, remote contact id, email) of book members no longer subscribed to the list.

    Only contacts ListBridge sent, or that were on the list: what others put in the book stays.
    """
    subscribed = set(_member_keys(list_of(book), ("subscribed",)))
    former = set(_member_keys(list_of(book), ("unsubscribed", "removed")))
    query = (BookMember.select(BookMember.id, DotmailerContact.remote_id,
                               DotmailerContact.email_key, BookMember.exported_at,
                               DotmailerContact.status)
             .join(DotmailerContact)
             .where(BookMember.book == book, BookMember.in_book == True,  # noqa: E712
                    BookMember.remote_status.in_(["", "Subscribed", "SoftBounced"]),
                    DotmailerContact.remote_id.is_null(False)))
    rows = bulk.fetch_rows(query)
    return [(mid, rid, key) for mid, rid, key, exported, status in rows
            if key not in subscribed and (exported is not None or key in former)
            and (status in KEEPS_MAIL or not status)]


def _member_keys(mlist: MarketingList, states: tuple[str, ...]) -> Iterator[str]:
    model = MODEL_FOR_KIND[mlist.entity]
    column = member_column(mlist.entity)
    query = (ListMember.select(model.email_key).join(model, on=(column == model.id))
             .where(ListMember.mlist == mlist, ListMember.state.in_(states),
                    model.email_key.is_null(False)))
    for (key,) in bulk.fetch_rows(query):
        yield key


# -- step 10b: member states -----------------------------------------------------------------------

def export_member_states(ctx: SyncContext) -> None:
    """Members whose remote status stops mail are unsubscribed from the list (explicit signal)."""
    for book in connected_books(ctx.integration):
        ctx.check_cancel()
        rows = (BookMember.select(DotmailerContact.email_key, DotmailerContact.status,
                                  BookMember.remote_status)
                .join(DotmailerContact)
                .where(BookMember.book == book,
                       (DotmailerContact.status.in_(sorted(STOPS_MAIL)))
                       | (BookMember.remote_status.in_(sorted(STOPS_MAIL))))
                .tuples())
        by_status: dict[str, set[str]] = {}
        for key, status, membership in plain_rows(rows):
            why = membership if membership in STOPS_MAIL else status
            by_status.setdefault(why, set()).add(key)
        for status, keys in sorted(by_status.items()):
            unsubscribe_members(ctx, list_of(book), keys,
                                 f"its Dotmailer status is {reason_words(status)}")


# -- step 10c: prepare -----------------------------------------------------------------------------

def export_prepare(ctx: SyncContext) -> None:
    """Mark each subscribed member new (no remote id), add (not in the book) or update."""
    state = run_state(ctx)
    if _unknown_mapped_fields(ctx.integration) and not state.datafields_read:
        sync_data_fields(ctx, force=True)  # a mapped column not seen yet: read E22 again
        state.columns.clear()
    for book in connected_books(ctx.integration):
        ctx.check_cancel()
        if book.export_paused:
            continue
        prepare_book(ctx, book)


def _unknown_mapped_fields(integration: Integration) -> bool:
    """A mapping added since the last E22 read names a field not seen: read E22 again."""
    remote = {n.lower() for n in DataField.select(DataField.name).where(
        DataField.integration == integration).scalars()}
    last = get_mark(integration, MARK_DATAFIELDS)
    mappings = list(plain_rows(
        DataFieldMapping.select(DataFieldMapping.datafield, DataFieldMapping.created)
        .where(DataFieldMapping.integration == integration).tuples()))
    return any(name.lower() not in remote and (last is None or created > last)
               for name, created in mappings)


def prepare_book(ctx: SyncContext, book: AddressBook) -> dict[str, int]:
    columns = columns_for(ctx, list_of(book).entity)
    members: dict[str, LocalMember] = {}
    for member in list(list_members(list_of(book), columns)):
        if not valid_email(member.email_key):
            _journal_skip(ctx, book, member)
            continue
        members[member.email_key] = member  # duplicates merge, the last one wins (D13)
    run_state(ctx).members[book.id] = members
    contacts = {key: (cid, rid, status) for key, cid, rid, status in bulk.fetch_rows(
        DotmailerContact.select(DotmailerContact.email_key, DotmailerContact.id,
                                DotmailerContact.remote_id, DotmailerContact.status)
        .where(DotmailerContact.integration == ctx.integration)) if key in members}
    missing = [k for k in members if k not in contacts]
    now = utcnow()
    with database_proxy.atomic():
        bulk.insert_many(DotmailerContact, [
            {"integration": ctx.integration.id, "email": members[k].email, "email_key": k,
             "updated": now} for k in missing], ignore=True)
        for key, cid in bulk.select_in(
                f"SELECT email_key, id FROM {DotmailerContact._meta.table_name} WHERE "
                f"integration_id = {database_proxy.obj.param} AND email_key IN",
                [ctx.integration.id], missing):
            contacts[key] = (cid, None, "")
        by_contact = {cid: key for key, (cid, _rid, _status) in contacts.items()}
        rows: dict[str, tuple[Any, ...]] = {}
        for row in bulk.fetch_rows(BookMember.select(
                BookMember.id, BookMember.contact, BookMember.in_book, BookMember.remote_status,
                BookMember.export_status, BookMember.sent_hash, BookMember.pending_hash,
                BookMember.import_).where(BookMember.book == book)):
            key = by_contact.get(row[1])
            if key is not None:
                rows[key] = row
        in_flight = _in_flight_imports(ctx.integration)
        counts = {EXPORT_NEW: 0, EXPORT_ADD: 0, EXPORT_UPDATE: 0}
        inserts: list[dict[str, Any]] = []
        updates: list[tuple[Any, ...]] = []
        for key, member in members.items():
            cid, remote_id, contact_status = contacts[key]
            digest = values_hash(member.values)
            found = rows.get(key)
            if found is None:
                status = EXPORT_NEW if remote_id is None else EXPORT_ADD
                inserts.append({"book": book.id, "contact": cid, "export_status": status,
                                "pending_hash": digest, "updated": now})
                counts[status] += 1
                continue
            mid, _cid, in_book, remote_status, export_status, sent_hash, pending, import_id = found
            if (export_status in (EXPORT_REJECTED, EXPORT_WATCHDOG, EXPORT_QUEUED)
                    or import_id in in_flight):
                continue  # never re-sent automatically (D12), the queue's, or on its way
            if (remote_status not in ("", "Subscribed", "SoftBounced", "Removed")
                    or contact_status in STOPS_MAIL):
                continue  # unsubscribed or refused remotely: the service would refuse it again
            if not in_book:
                status = EXPORT_NEW if remote_id is None else EXPORT_ADD
            elif digest != sent_hash:
                status = EXPORT_UPDATE
            else:
                status = EXPORT_DONE
            if status != export_status or (status != EXPORT_DONE and digest != pending):
                updates.append((status, digest, now, mid))
            if status != EXPORT_DONE:
                counts[status] += 1
        bulk.insert_many(BookMember, inserts)
        bulk.update_many(BookMember, ["export_status", "pending_hash", "updated"], updates)
    for status, n in counts.items():
        ctx.count(f"to_{status}", n)
    return counts


def _journal_skip(ctx: SyncContext, book: AddressBook, member: LocalMember) -> None:
    """Journal a member without a usable email once, not at every run (D13)."""
    from core.models.sync import HistoryEvent

    entity = list_of(book).entity
    if HistoryEvent.select().where(HistoryEvent.integration == ctx.integration,
                                   HistoryEvent.entity == entity,
                                   HistoryEvent.record_id == member.record_id,
                                   HistoryEvent.kind == "dotmailer_skip").exists():
        return
    reason = "it has no email address" if not member.email_key else (
        f"“{member.email}” is not a valid email address")
    ctx.journal(f"Not sent to the address book “{book.name}”: {reason}.", level="warning",
                entity=entity, record_id=member.record_id, email=member.email,
                kind="dotmailer_skip")
    ctx.count("skipped")


def _in_flight_imports(integration: Integration) -> set[int]:
    return set(DotmailerImport.select(DotmailerImport.id).where(
        DotmailerImport.integration == integration,
        DotmailerImport.status == IMPORT_PENDING).scalars())


# -- step 10d: export ------------------------------------------------------------------------------

@dataclass
class Batch:
    book: AddressBook
    member_ids: list[int]
    csv_bytes: bytes


def export_contacts(ctx: SyncContext) -> None:
    """CSV imports of at most 10,000 rows, never more than ``max_active_imports`` running (D8).

    A book takes a new export only once its previous imports are final, so that an older file can
    never overwrite newer values; the batches of one export hold distinct contacts and may run
    side by side. When every slot is taken the run polls (5 s, 10 s, 20 s, then every 60 s) for
    at most ``max_export_wait`` seconds, then leaves the rest to the next run.

    Progress is in contacts: sent (or found gone) of those to send, after each batch and while
    waiting for a slot; then, while the run waits for its imports, imported of those sent.
    """
    state = run_state(ctx)
    limit = min(forms.HARD_MAX_ACTIVE_IMPORTS,
                max(1, as_int(ctx.settings.get(forms.MAX_ACTIVE_IMPORTS),
                              forms.DEFAULT_MAX_ACTIVE_IMPORTS)))
    busy_books = set(DotmailerImport.select(DotmailerImport.book).where(
        DotmailerImport.integration == ctx.integration,
        DotmailerImport.status == IMPORT_PENDING).scalars())
    queue: list[tuple[AddressBook, list[int]]] = []
    for book in connected_books(ctx.integration):
        if not book.export_paused and book.id not in busy_books:
            queue.extend((book, ids) for ids in _pending_batches(book, state.tuning.batch_rows))
    sent: list[DotmailerImport] = []
    total = sum(len(ids) for _book, ids in queue)
    done = sent_rows = 0
    if total:
        ctx.progress(0, total, f"{total:,} contacts to send")
    waited = 0.0
    wait_round = 0
    while queue:
        ctx.check_cancel()
        if _active_imports(ctx.integration) >= limit:
            if waited >= state.tuning.max_export_wait:
                ctx.journal("Dotmailer is still busy with earlier imports; the remaining contacts "
                            "will be sent at the next run.", kind=JOURNAL_KIND)
                break
            delay = state.tuning.poll_delays[min(wait_round, len(state.tuning.poll_delays) - 1)]
            ctx.progress(done, total, f"{sent_rows:,} contacts sent; waiting for Dotmailer to "
                                      f"finish earlier imports ({limit} at most at once)")
            assert state.sleep is not None
            state.sleep(delay)
            waited += delay
            wait_round += 1
            for imp in list(DotmailerImport.select().where(
                    DotmailerImport.integration == ctx.integration,
                    DotmailerImport.status == IMPORT_PENDING)):
                poll_import(ctx, state, imp)
            continue
        wait_round = 0
        book, ids = queue.pop(0)
        batch = build_batch(ctx, book, ids)
        done += len(ids)
        if batch is None:
            ctx.progress(done, total, f"{sent_rows:,} contacts sent")
            continue
        try:
            sent.append(send_batch(ctx, state, batch))
            sent_rows += len(batch.member_ids)
        except TooManyImports as exc:
            ctx.journal(exc.admin_message, kind=JOURNAL_KIND)
            break
        except RetryLater as exc:
            ctx.journal(f"“{book.name}”: {exc.admin_message} The rest waits for the next run.",
                        kind=JOURNAL_KIND)
            total -= len(ids) + sum(len(q[1]) for q in queue if q[0].id == book.id)
            done -= len(ids)
            queue = [q for q in queue if q[0].id != book.id]
        except RemoteGone:
            unlink_gone_book(ctx, book)
            total -= len(ids) + sum(len(q[1]) for q in queue if q[0].id == book.id)
            done -= len(ids)
            queue = [q for q in queue if q[0].id != book.id]
        ctx.progress(done, total, f"{sent_rows:,} contacts sent")
    wait_for_imports(ctx, state, sent, state.tuning.import_wait(ctx.trigger))
    _fetch_remote_ids(ctx, state)


def wait_for_imports(ctx: SyncContext, state: RunState, imports: list[DotmailerImport],
                     budget: float, queue_failures: bool = True) -> list[BookMember]:
    """Poll these imports at 5 s, 10 s, 20 s, then every 60 s, for at most ``budget`` seconds.

    Reports progress in contacts (those of the finished imports, of all these imports') before
    each wait and after the last poll. Returns the rows that failed alone."""
    waited = 0.0
    failed: list[BookMember] = []
    total = sum(i.rows for i in imports)

    def report(pending: list[DotmailerImport]) -> None:
        if total and budget > 0:
            finished = len(imports) - len(pending)
            ctx.progress(total - sum(i.rows for i in pending), total,
                         f"Dotmailer is importing the contacts sent: {finished} of "
                         f"{len(imports)} imports finished")

    pending = [i for i in imports if i.status == IMPORT_PENDING]
    for round_ in range(10_000):
        if not pending:
            break
        delay = state.tuning.poll_delays[min(round_, len(state.tuning.poll_delays) - 1)]
        if waited + delay > budget:
            break
        report(pending)
        state.sleep(delay)
        waited += delay
        for imp in pending:
            ctx.check_cancel()
            failed += poll_import(ctx, state, imp, queue_failures)
        pending = [i for i in imports if i.status == IMPORT_PENDING]
    if waited:
        report(pending)
    return failed


def _active_imports(integration: Integration) -> int:
    return int(DotmailerImport.select().where(DotmailerImport.integration == integration,
                                              DotmailerImport.status == IMPORT_PENDING).count())


def _pending_batches(book: AddressBook, size: int = BATCH_ROWS) -> list[list[int]]:
    """The ids of the book's rows to send, cut into batches of at most ``size`` (10,000)."""
    pending = list(BookMember.select(BookMember.id).where(
        BookMember.book == book,
        BookMember.export_status.in_([EXPORT_NEW, EXPORT_ADD, EXPORT_UPDATE]),
        BookMember.import_.is_null()).order_by(BookMember.id).scalars())
    size = max(1, min(size, BATCH_ROWS))
    return [pending[i:i + size] for i in range(0, len(pending), size)]


def build_batch(ctx: SyncContext, book: AddressBook, member_ids: list[int]) -> Batch | None:
    """The CSV of §3.3 for these rows: Email then the mapped fields, CRLF, at most 8 MiB."""
    state = run_state(ctx)
    columns = columns_for(ctx, list_of(book).entity)
    members = state.members.get(book.id)
    if members is None:
        members = {m.email_key: m for m in list_members(list_of(book), columns)}
        state.members[book.id] = members
    keys: dict[str, int] = {}
    for chunk in bulk.chunks(member_ids):
        found: Any = (BookMember.select(DotmailerContact.email_key, BookMember.id)
                      .join(DotmailerContact).where(BookMember.id.in_(chunk)).tuples())
        keys.update(dict(found))
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")
    writer.writerow(["Email", *[name for name, _f in columns]])
    chunks = [line.getvalue().encode("utf-8")]
    size = len(chunks[0])
    used: list[int] = []
    for key, member_id in keys.items():
        member = members.get(key)
        if member is None:
            continue  # left the list since prepare: a later run handles it
        line.seek(0)
        line.truncate()
        writer.writerow([key, *member.values])
        encoded = line.getvalue().encode("utf-8")
        if size + len(encoded) > state.tuning.batch_bytes:
            break  # the rest waits for a later run
        chunks.append(encoded)
        size += len(encoded)
        used.append(member_id)
    if not used:
        return None
    return Batch(book, used, b"".join(chunks))


def send_batch(ctx: SyncContext, state: RunState, batch: Batch,
               queue_failures: bool = True) -> DotmailerImport:
    """E12 for one batch. The rows are stamped with the import before the file leaves, so a run
    killed mid-send leaves a ``Sending`` import that the next run resolves (rows sent again)."""
    number = DotmailerImport.select().where(DotmailerImport.integration == ctx.integration).count()
    file_name = f"lb-{batch.book.remote_id}-{number + 1:04d}.csv"
    with database_proxy.atomic():
        imp = DotmailerImport.create(
            integration=ctx.integration, book=batch.book, remote_id="", file_name=file_name,
            status=IMPORT_SENDING, rows=len(batch.member_ids), started_at=state.started_at)
        for chunk in bulk.chunks(batch.member_ids):
            BookMember.update(import_=imp, updated=utcnow()).where(
                BookMember.id.in_(chunk)).execute()
    try:
        guid, status = state.client.start_import(batch.book.remote_id, file_name,
                                                 batch.csv_bytes)
    except BaseException:
        with database_proxy.atomic():
            BookMember.update(import_=None).where(BookMember.import_ == imp).execute()
            imp.delete_instance()
        raise
    imp.remote_id = guid
    imp.status = status or IMPORT_PENDING
    imp.next_poll_at = utcnow() + timedelta(seconds=state.tuning.poll_delays[0])
    imp.save()
    ctx.count("sent", len(batch.member_ids))
    ctx.journal(f"Sent {len(batch.member_ids)} contacts to the address book “{batch.book.name}” "
                f"(import {guid}).", entity="list", record_id=batch.book.mlist_id,
                kind=JOURNAL_KIND)
    if imp.status != IMPORT_PENDING:
        for row in finish_import(ctx, state, imp, imp.status):
            if queue_failures:
                queue_row_failure(ctx, row, "Dotmailer failed to import this contact.")
    return imp


def _fetch_remote_ids(ctx: SyncContext, state: RunState) -> None:
    """Books whose imports all finished during this run: read their new contacts' ids now."""
    for book in connected_books(ctx.integration):
        if book.id not in state.finished_books:
            continue
        if DotmailerImport.select().where(DotmailerImport.book == book,
                                          DotmailerImport.status == IMPORT_PENDING).exists():
            continue
        read_book_contacts(ctx, state, book)
    state.finished_books.clear()


