"""The INES full sync (ines.md §3.11, §3.13–§3.15): the scheduled run over the queue, the
initial sync, and the record-change listener that fills the queue.

``run_full_sync`` is what ``listbridge ines sync`` and the scheduler run (through the engine's
``run_sync``, for the lock and the run record): the first N PENDING UPDATE rows, the first N
PENDING DELETE rows, then the initial sync when no update is pending. ``on_record_change``
(subscribed to ``core.changes``) queues edits and deletions in full-sync mode and resets the refs
when the primary company changes or is deleted, in every mode.

Push-only mode (published, push on, full sync off, §3.12): the listener records each eligible
contact created or changed (a PENDING UPDATE row of source ``auto``, at most one per contact)
and asks the engine for a run soon (``core.sync.requests.request_run``), never calling INES
itself; ``run_auto_push``, the run's step in that mode, pushes them (no lead on update).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import peewee as pw

from connectors.base import ConfigurationError, ConnectorError, ItemError, TransientError
from connectors.ines import queue
from connectors.ines.catalogue import COMPANY_PREFIX
from connectors.ines.client import InesApi, is_run_wide
from connectors.ines.mapping import (
    DEFAULT_LEADS_PER_RUN,
    MappingSettings,
    auto_push_mode,
    full_sync_mode,
    settings_version,
)
from connectors.ines.models import DELETE, UPDATE, InesSyncLog
from connectors.ines.sync import (
    CONTACT_ATTRS,
    CREATED,
    FAILED,
    IGNORED,
    UNCHANGED,
    ContactSync,
    FieldCheck,
    LocalContact,
    Outcome,
    failure_message,
    ineligible_reason,
    load_contacts,
    log_failure,
)
from connectors.ines.values import ref_value
from core.changes import RecordChange
from core.db import database_proxy
from core.models.store import Company, Contact
from core.models.sync import HistoryEvent, Integration, SyncRun
from core.store import format_custom, parse_custom, set_custom_values
from core.sync.attempts import AttemptRule
from core.sync.requests import request_run

log = logging.getLogger("listbridge.ines.fullsync")

DEFAULT_INITIAL_BATCH = 100
TYPE_NAME = "ines"

# -- the scheduled run (§3.14, §3.15) ------------------------------------------------------------------

@dataclass
class RunCounts:
    update_total: int = 0
    updated: int = 0  # UPDATE rows done (created, updated or unchanged)
    created: int = 0
    unchanged: int = 0
    update_failed: int = 0
    delete_total: int = 0
    deleted: int = 0
    delete_failed: int = 0
    enqueued: int = 0

    def lines(self) -> list[str]:
        return [f"{self.updated} updated of {self.update_total}",
                f"{self.deleted} deleted of {self.delete_total}",
                f"{self.enqueued} enqueued (initial sync)"]


class RunStopped(Exception):
    """A failure that would hit every row stopped the run; ``error`` is the cause."""

    def __init__(self, error: BaseException, counts: RunCounts) -> None:
        super().__init__(str(error))
        self.error = error
        self.counts = counts


def run_full_sync(integration: Integration, api: InesApi, limit: int = DEFAULT_LEADS_PER_RUN,
                  run: SyncRun | None = None,
                  check_cancel: Callable[[], None] | None = None) -> RunCounts:
    """Steps 3–6 of §3.14: N UPDATE rows, N DELETE rows, then the initial sync.

    The session is opened and ``GetSyncInfo`` read first, so a refused login touches no row.
    Raises ``RunStopped`` when a failure would hit every row (login refused, INES unreachable,
    TLS); rows not reached are not charged.
    """
    counts = RunCounts()
    sync = _open_sync(integration, api, run, counts)
    rule = _attempt_rule()
    rows = queue.pending_rows(integration, UPDATE, limit)
    views = load_contacts(r.contact_id for r in rows)
    for row in rows:
        if check_cancel is not None:
            check_cancel()
        counts.update_total += 1
        _process_update(sync, row, counts, views.get(row.contact_id or 0), rule)
    for row in queue.pending_rows(integration, DELETE, limit):
        if check_cancel is not None:
            check_cancel()
        counts.delete_total += 1
        _process_delete(sync, row, counts, rule)
    if not queue.has_pending_updates(integration):
        counts.enqueued = initial_sync(integration, sync.mapping, sync.fields)
    return counts


def _open_sync(integration: Integration, api: InesApi, run: SyncRun | None,
               counts: RunCounts) -> ContactSync:
    """A ``ContactSync`` with its session open and ``GetSyncInfo`` read, before any row is
    touched; ``RunStopped`` when nothing can sync (mapping, login, INES unreachable)."""
    sync = ContactSync(integration, api, run)
    problem = sync.configuration_problem()
    if problem:
        raise RunStopped(ConfigurationError(problem), counts)
    try:
        sync.prepare()
    except Exception as exc:  # no session or no configuration: no row is touched
        if not is_run_wide(exc) and not isinstance(exc, TransientError):
            message = exc.admin_message if isinstance(exc, ConnectorError) else str(exc)
            exc = TransientError(f"INES could not be read before the sync ({message}); the sync "
                                 "will try again later.", str(exc))
        raise RunStopped(exc, counts) from exc
    return sync


# -- automatic push, push-only mode (§3.12) ------------------------------------------------------------

AUTO_PUSH_BATCH = 50
DEFAULT_AUTO_PUSH_PER_RUN = 1000


def auto_push_per_run(integration: Integration) -> int:
    """The most automatic pushes one run sends (setting ``auto_push_per_run``, default 1000);
    the rest go with the next run."""
    value = integration.settings.get("auto_push_per_run")
    try:
        number = int(value) if value is not None and not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        number = 0
    return number if number > 0 else DEFAULT_AUTO_PUSH_PER_RUN


def run_auto_push(integration: Integration, api: InesApi, run: SyncRun | None = None,
                  check_cancel: Callable[[], None] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  limit: int | None = None) -> RunCounts:
    """Push the contacts the record-change listener queued in push-only mode (rows of source
    ``auto``): create or update, no lead on update (not an explicit push, §3.12), each outcome
    on the contact's history and its row in the journal.

    Rows queued while the run goes on are sent by it too (up to ``limit``); a row that failed
    is not tried again in the same run (its next attempt is the next run's, 3 at most). Raises
    ``RunStopped`` like ``run_full_sync``.
    """
    counts = RunCounts()
    limit = limit or auto_push_per_run(integration)
    if not queue.pending_rows(integration, UPDATE, 1, source=queue.AUTO):
        return counts  # nothing to push: no login, no call
    sync = _open_sync(integration, api, run, counts)
    rule = _attempt_rule()
    last_id = 0
    while counts.update_total < limit:
        rows = queue.pending_rows(integration, UPDATE, min(AUTO_PUSH_BATCH,
                                                           limit - counts.update_total),
                                  source=queue.AUTO, after_id=last_id)
        if not rows:
            break
        views = load_contacts(r.contact_id for r in rows)
        total = counts.update_total + queue.pending_count(integration, UPDATE, queue.AUTO,
                                                          after_id=last_id)
        for row in rows:
            if check_cancel is not None:
                check_cancel()
            last_id = row.id
            counts.update_total += 1
            _process_update(sync, row, counts, views.get(row.contact_id or 0), rule)
            if progress is not None:
                progress(counts.update_total, max(total, counts.update_total))
    return counts


def _attempt_rule() -> AttemptRule:
    """The engine's one attempt rule, as INES applies it to its ``ines_sync_log`` rows: 3 tries
    then FAILED; isolated transient failures are attempts of their rows and the run goes on
    (§3.14 step 5), three in a row mean INES is unwell and the run stops before it burns the
    attempts of every row; what would hit every row alike (login refused, TLS, a rate limit)
    is given back."""
    return AttemptRule(queue.MAX_ATTEMPTS, transient_streak=3, bug_stops_run=False,
                       run_wide=is_run_wide)


def _process_update(sync: ContactSync, row: InesSyncLog, counts: RunCounts,
                    view: LocalContact | None, rule: AttemptRule) -> None:
    """Send one UPDATE row; ``RunStopped`` when the attempt rule stops the run (a failure that
    would hit every row is given back, a third transient failure in a row ends the run)."""
    if view is None:
        queue.fail(row, "The contact no longer exists in ListBridge.", charged=False)
        counts.update_failed += 1
        rule.succeeded()  # not a transient failure: the streak is broken
        return
    contact = view.contact
    reason = sync.ineligible(view)
    if reason:  # left the sync since it was queued: no attempt, no call
        queue.fail(row, f"Not synchronised: {reason}", charged=False)
        counts.update_failed += 1
        sync.record(Outcome(IGNORED, reason, contact.id, view.email, view.company_name),
                    source=row.source)
        rule.succeeded()  # not a transient failure: the streak is broken
        return
    if row.last_error == queue.CREATE_IN_FLIGHT and 0 in sync.refs(view):
        # The program stopped while INES was creating this contact: never create twice (D11).
        queue.fail(row, queue.OUTCOME_UNKNOWN, charged=False)
        counts.update_failed += 1
        sync.record(Outcome(FAILED, queue.OUTCOME_UNKNOWN, contact.id, view.email,
                            view.company_name), source=row.source)
        rule.succeeded()  # not a transient failure: the streak is broken
        return
    creating = 0 in sync.refs(view)
    queue.charge(row, queue.CREATE_IN_FLIGHT if creating else queue.IN_FLIGHT)

    def mark_create() -> None:  # an update that turned into a create (gone in INES)
        if row.last_error != queue.CREATE_IN_FLIGHT:
            queue.mark(row, queue.CREATE_IN_FLIGHT)

    sync.before_create = mark_create
    try:
        outcome = sync.sync(view)
    except Exception as exc:
        verdict = rule.judge(exc)
        if verdict.give_back:
            queue.give_back(row, failure_message(exc))
            raise RunStopped(exc, counts) from exc
        log_failure(sync, contact.id, exc)
        unknown = bool(getattr(exc, "outcome_unknown", False)) and 0 in sync.refs(
            LocalContact(Contact.get_by_id(contact.id)))
        message = failure_message(exc) + (" " + queue.OUTCOME_UNKNOWN if unknown else "")
        queue.fail(row, message, final=unknown)
        counts.update_failed += 1
        outcome = Outcome(FAILED, message, contact.id, row.lead_email, row.lead_company,
                          error=exc)
        if row.status == "FAILED" and not unknown:
            outcome.message += " Failed after 3 attempts: use Retry in the journal once fixed."
        sync.record(outcome, source=row.source)
        if verdict.stop:
            raise RunStopped(exc, counts) from exc
        return
    finally:
        sync.before_create = None
    with database_proxy.atomic():
        queue.succeed(row, " ".join(outcome.warnings) or None)
        queue.drop_pending_updates(sync.integration, contact.id, keep=row.id)
        sync.record(outcome, source=row.source)
    counts.updated += 1
    counts.created += outcome.status == CREATED
    counts.unchanged += outcome.status == UNCHANGED
    rule.succeeded()


def _process_delete(sync: ContactSync, row: InesSyncLog, counts: RunCounts,
                    rule: AttemptRule) -> None:
    ref = row.ines_contact_ref or 0
    if ref <= 0:
        queue.fail(row, "No INES contact reference to delete.", charged=False)
        counts.delete_failed += 1
        rule.succeeded()  # not a transient failure: the streak is broken
        return
    queue.charge(row)
    try:
        answer = sync.api.delete_automation_contact(ref)
        if answer.strip().lower() != "success":
            raise ItemError(f"INES did not confirm the deletion of contact {ref} "
                            f"(it answered {answer.strip()[:60]!r}).")
    except Exception as exc:
        verdict = rule.judge(exc)
        if verdict.give_back:
            queue.give_back(row, failure_message(exc))
            raise RunStopped(exc, counts) from exc
        log_failure(sync, row.contact_id, exc)
        queue.fail(row, failure_message(exc))
        counts.delete_failed += 1
        sync._history(row.contact_id, row.lead_email, "error", FAILED,
                      f"INES sync: deleting INES contact {ref} failed: {failure_message(exc)}")
        if verdict.stop:
            raise RunStopped(exc, counts) from exc
        return
    queue.succeed(row)
    counts.deleted += 1
    sync._history(row.contact_id, row.lead_email, "info", "deleted",
                  f"INES sync: INES contact {ref} marked as no longer synchronised.")
    rule.succeeded()


def initial_sync(integration: Integration, mapping: MappingSettings | None = None,
                 fields: FieldCheck | None = None, batch: int | None = None) -> int:
    """Queue up to ``batch`` never-synced eligible contacts, by ascending id (§3.15, D9).

    Only eligible contacts count towards the batch, so ineligible ones cannot stall it.
    """
    mapping = mapping or MappingSettings.of(integration)
    fields = fields or FieldCheck()
    size = int(batch or integration.setting("initial_sync_batch") or DEFAULT_INITIAL_BATCH)
    stop = mapping.stop_sync
    if not stop or not fields.exists(stop):
        return 0
    queued = 0
    last_id = 0
    page = 500
    picked: list[tuple[int, str, str]] = []
    synced = _both_refs_set(mapping)
    while queued < size:
        query = Contact.select(Contact, Company).join(Company).where(
            Contact.id > last_id, Contact.email.is_null(False))
        if synced is not None:
            query = query.where(~synced)
        contacts = list(query.order_by(Contact.id).limit(page))
        if not contacts:
            break
        last_id = contacts[-1].id
        ids = [c.id for c in contacts]
        values = _custom_by_contact(ids, [mapping.contact_ref, mapping.client_ref, stop])
        latest = _latest_rows(integration, ids)
        for contact in contacts:
            own = values.get(contact.id, {})
            company_name = contact.company.name if contact.company is not None else ""
            if (ref_value(own.get(mapping.contact_ref)) > 0
                    and ref_value(own.get(mapping.client_ref)) > 0):
                continue
            if ineligible_reason(contact.email or "", company_name or "", stop,
                                 own.get(stop), fields):
                continue
            row = latest.get(contact.id)
            if row is not None and row.status == "PENDING":
                continue  # already queued
            if row is not None and row.status == "FAILED" and contact.updated <= row.date_last_update:
                continue  # failed three times and unchanged since (D9)
            picked.append((contact.id, contact.email or "", company_name))
            queued += 1
            if queued >= size:
                break
    queue.enqueue_initial(integration, picked)
    return queued


def _both_refs_set(mapping: MappingSettings) -> Any:
    """SQL: the contact holds both refs > 0 (as text: not blank, not 0, not negative), so the
    initial sync reads only never-synced contacts however many are synced already."""
    from core.models.store import CustomField, CustomValue

    ids = [CustomField.get_or_none(CustomField.entity == "contact", CustomField.key == key)
           for key in (mapping.contact_ref, mapping.client_ref)]
    if None in ids:
        return None

    def has_ref(field: Any) -> Any:
        return pw.fn.EXISTS(CustomValue.select(CustomValue.id).where(
            CustomValue.field == field, CustomValue.record_id == Contact.id,
            CustomValue.value.is_null(False), CustomValue.value != "", CustomValue.value != "0",
            ~CustomValue.value.startswith("-")))

    return has_ref(ids[0]) & has_ref(ids[1])


def _custom_by_contact(ids: list[int], keys: list[str]) -> dict[int, dict[str, Any]]:
    from core.models.store import CustomField, CustomValue

    out: dict[int, dict[str, Any]] = {}
    wanted = [k for k in keys if k]
    if not wanted:
        return out
    query = (CustomValue.select(CustomValue.record_id, CustomValue.value, CustomField.key,
                                CustomField.kind)
             .join(CustomField)
             .where(CustomField.entity == "contact", CustomField.key.in_(wanted),
                    CustomValue.record_id.in_(ids)))
    for row in query:
        out.setdefault(row.record_id, {})[row.field.key] = parse_custom(row.field.kind, row.value)
    return out


def _latest_rows(integration: Integration, ids: list[int]) -> dict[int, InesSyncLog]:
    latest: dict[int, InesSyncLog] = {}
    query = (InesSyncLog.select().where(InesSyncLog.integration == integration,
                                        InesSyncLog.action == UPDATE,
                                        InesSyncLog.contact_id.in_(ids))
             .order_by(InesSyncLog.id))
    for row in query:
        if row.contact_id is not None:
            latest[int(row.contact_id)] = row
    return latest


# -- queueing on record changes (§3.11, §3.13) ----------------------------------------------------------

@dataclass
class _Listening:
    """What the listener needs to know of one INES integration."""

    integration: Integration
    mapping: MappingSettings
    full: bool
    fields: FieldCheck
    auto: bool = False  # push-only mode: changed contacts are pushed automatically

    @property
    def watched(self) -> frozenset[str]:
        """The contact fields whose change makes an automatic push: what INES receives."""
        local = {key for key in self.mapping.fields.values() if not key.startswith(COMPANY_PREFIX)}
        return frozenset(local | AUTO_PUSH_FIELDS)


class _ListenerCache:
    """The INES integrations and their mappings, read at most every ``TTL`` seconds: the
    listener runs on every contact write (a 100,000-row import included), so it must not query
    the settings each time. Changes made through this process's code (features, mapping, local
    fields, saving the integration) drop the cache at once; another process's within ``TTL``."""

    TTL = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = -1e9
        self._database: object = None
        self._items: list[_Listening] = []
        self._version = settings_version()

    def items(self) -> list[_Listening]:
        with self._lock:
            database = database_proxy.obj  # another profile opened: read it again
            version = settings_version()
            if (database is not self._database or version != self._version
                    or time.monotonic() - self._read_at > self.TTL):
                self._database, self._version = database, version
                self._items = [_Listening(i, MappingSettings.of(i), full_sync_mode(i), FieldCheck(),
                                          auto_push_mode(i))
                               for i in Integration.select().where(Integration.type == TYPE_NAME)]
                self._read_at = time.monotonic()
            return list(self._items)

    def forget(self) -> None:
        with self._lock:
            self._read_at = -1e9


listener_cache = _ListenerCache()


def on_record_change(change: RecordChange) -> None:
    """The ``core.changes`` listener: every INES integration hears every contact change, and
    company deletions (its contacts lost their primary company, §3.11)."""
    if change.entity == "contact":
        handle = _on_change
    elif change.entity == "company" and change.action == "deleted":
        handle = _on_company_deleted
    else:
        return
    try:
        listening = listener_cache.items()
    except Exception:  # no database yet, or its tables: nothing can be queued anyway
        log.debug("INES listener skipped for %s %s", change.entity, change.record_id,
                  exc_info=True)
        return
    for state in listening:
        try:
            handle(state, change)
        except Exception:  # the admin's edit is saved; the log keeps why it was not queued
            log.exception("[%s] INES handling of %s %s failed", state.integration.name,
                          change.entity, change.record_id)


def _on_change(state: _Listening, change: RecordChange) -> None:
    integration, mapping, fields, full = state.integration, state.mapping, state.fields, state.full
    if change.action == "deleted":
        if full:
            queue.drop_pending_updates(integration, change.record_id)  # moot now
            _queue_deletion(integration, mapping, fields, change)
        return
    company_changed = change.action == "updated" and "company" in change.changed_fields
    auto = state.auto and (change.action == "created" or company_changed
                           or bool(change.changed_fields & state.watched))
    if not (full or auto or company_changed):
        return
    contact = Contact.get_or_none(Contact.id == change.record_id)
    if contact is None:
        return
    view = LocalContact(contact)
    if company_changed:
        _reset_refs(integration, mapping, fields, view)
    if not (full or auto):
        return
    stop = mapping.stop_sync
    reason = ineligible_reason(view.email, view.company_name, stop,
                               view.value(stop) if stop else None, fields)
    if reason:
        if queue.drop_pending_updates(integration, contact.id):
            HistoryEvent.create(integration=integration, entity="contact", record_id=contact.id,
                                email=view.email, level="info", kind="ines_unqueued",
                                message=f"INES sync: removed from the queue. {reason}")
        return
    if full:
        queue.enqueue_update(integration, contact.id, view.email, view.company_name)
        return
    queue.enqueue_update(integration, contact.id, view.email, view.company_name,
                         source=queue.AUTO)
    request_run(integration)  # the scheduler runs it once the burst is over


# Besides the mapped fields, what INES receives of a contact (§3.6, §3.9).
AUTO_PUSH_FIELDS = frozenset({"email", "company", "points", "do_not_contact"})

def _reset_refs(integration: Integration, mapping: MappingSettings, fields: FieldCheck,
                view: LocalContact) -> None:
    """Primary company changed: both refs to 0 at once, in every mode (§3.11)."""
    values = {key: 0 for key in (mapping.contact_ref, mapping.client_ref)
              if key and key not in CONTACT_ATTRS and fields.exists(key)}
    if not values or not any(ref_value(view.value(k)) for k in values):
        return
    with database_proxy.atomic():
        set_custom_values("contact", view.contact.id, values)
    HistoryEvent.create(integration=integration, entity="contact", record_id=view.contact.id,
                        email=view.email, level="info", kind="ines_refs_reset",
                        message="INES sync: the primary company changed, so the INES references "
                                "were reset; a new INES client and contact will be created.")


NO_COMPANY = "The contact has no company (a primary company with a name is needed)."


def _on_company_deleted(state: _Listening, change: RecordChange) -> None:
    """A company was deleted: its contacts are unlinked (the foreign key sets their company to
    NULL, without a contact notification), so their refs go to 0 at once in every mode, like
    any change of primary company (§3.11); in full-sync mode their PENDING UPDATE rows go too,
    since a contact without a company is not synchronised (§3.4).

    ``change.before["contact_ids"]`` (the contacts that had the company, captured before the
    deletion) names them when ``core.store.delete_record`` provides it; otherwise the contacts
    without a company that still hold a ref are taken: such refs point at an INES client for a
    company they no longer have, and any later company would reset them anyway.
    """
    integration, mapping, fields = state.integration, state.mapping, state.fields
    keys = [key for key in (mapping.contact_ref, mapping.client_ref)
            if key and key not in CONTACT_ATTRS and not key.startswith(COMPANY_PREFIX)
            and fields.exists(key)]
    given = change.before.get("contact_ids")
    if given is not None:
        candidates = sorted({int(i) for i in given if i})
    elif keys:
        candidates = _companyless_with_refs(keys)
    else:
        candidates = []
    if not candidates:
        return
    rows: Any = (Contact.select(Contact.id, Contact.email)
                 .where(Contact.id.in_(candidates), Contact.company.is_null()).tuples())
    emails: dict[int, str | None] = dict(rows)
    candidates = [cid for cid in candidates if cid in emails]  # gone, or linked again meanwhile
    refs = _custom_by_contact(candidates, keys) if keys else {}
    with_refs = [cid for cid in candidates
                 if any(ref_value(refs.get(cid, {}).get(key)) for key in keys)]
    with database_proxy.atomic():
        _zero_refs(keys, with_refs)
        events = [{"integration": integration.id, "entity": "contact", "record_id": cid,
                   "email": emails[cid] or "", "level": "info", "kind": "ines_refs_reset",
                   "message": "INES sync: the primary company was deleted, so the INES "
                              "references were reset; a new INES client and contact will be "
                              "created once the contact has a company again."}
                  for cid in with_refs]
        if state.full:
            for cid in candidates:
                if queue.drop_pending_updates(integration, cid):
                    events.append({"integration": integration.id, "entity": "contact",
                                   "record_id": cid, "email": emails[cid] or "",
                                   "level": "info", "kind": "ines_unqueued",
                                   "message": f"INES sync: removed from the queue. {NO_COMPANY}"})
        for start in range(0, len(events), 500):
            HistoryEvent.insert_many(events[start:start + 500]).execute()


def _companyless_with_refs(keys: list[str]) -> list[int]:
    """Contacts without a company holding a non-blank, non-zero value in a ref field."""
    from core.models.store import CustomField, CustomValue

    query: Any = (CustomValue.select(CustomValue.record_id)
                  .join(CustomField)
                  .switch(CustomValue)
                  .join(Contact, on=(CustomValue.record_id == Contact.id))
                  .where(CustomField.entity == "contact", CustomField.key.in_(keys),
                         Contact.company.is_null(), CustomValue.value.is_null(False),
                         CustomValue.value != "", CustomValue.value != "0")
                  .distinct())
    return sorted(int(record_id) for (record_id,) in query.tuples())


def _zero_refs(keys: list[str], contact_ids: list[int]) -> None:
    """Both refs to 0 for these contacts, in bulk, without notifying listeners."""
    from core.models.store import CustomField, CustomValue

    if not keys or not contact_ids:
        return
    for ref_field in CustomField.select().where(CustomField.entity == "contact",
                                                CustomField.key.in_(keys)):
        zero = format_custom(ref_field.kind, 0)
        for start in range(0, len(contact_ids), 500):
            chunk = contact_ids[start:start + 500]
            (CustomValue.update(value=zero)
             .where(CustomValue.field == ref_field, CustomValue.record_id.in_(chunk))
             .execute())


def _queue_deletion(integration: Integration, mapping: MappingSettings, fields: FieldCheck,
                    change: RecordChange) -> None:
    before = change.before
    custom = dict(before.get("custom") or {})
    email = str(before.get("email") or "")
    company = str(before.get("company_name") or "")
    stop = mapping.stop_sync
    if ineligible_reason(email, company, stop, custom.get(stop) if stop else None, fields):
        return
    ref = ref_value(custom.get(mapping.contact_ref) if mapping.contact_ref else None)
    if ref <= 0:
        return  # no ref, no row (D8)
    queue.enqueue_delete(integration, change.record_id, ref, email, company)


_unsubscribe: Callable[[], None] | None = None


def install_change_listener() -> None:
    """Subscribe ``on_record_change`` to ``core.changes`` once per process."""
    global _unsubscribe
    if _unsubscribe is None:
        from core.changes import subscribe

        _unsubscribe = subscribe(on_record_change)


def uninstall_change_listener() -> None:
    global _unsubscribe
    if _unsubscribe is not None:
        _unsubscribe()
        _unsubscribe = None

