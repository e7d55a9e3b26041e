"""The Dotmailer sync steps, between the store and the service (``shared/api/dotmailer.md`` §3.2).

Order: pending imports, data fields, address books, campaigns, contacts, unsubscribes,
reconciliation, activities, summaries, then the export in four steps. This module holds the run's
shared state (client, service clock, waits), the import steps and the helpers both directions
use; ``export`` holds step 1 and the export steps; ``bulk`` the many-row database writes.

Every step works on the books connected to a marketing list. Each keeps its own watermarks (the
service's clock at the run's start, saved only when that book, campaign or step finished), so a
step cut off half-way repeats its window and changes nothing twice.

A member's state changes only on an explicit signal from the service (D15): an unsubscribe or a
suppression (E8, E9), a remote status that stops mail, an import fault with such a reason, or a
silent removal found by reconciliation (D7).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import peewee as pw

from connectors.base import (
    ConfigurationError,
    FatalError,
    RateLimited,
    TransientError,
)
from connectors.dotmailer import bulk, forms
from connectors.dotmailer.client import (
    DISCOVERY_URL,
    FIRST_DATE,
    DotmailerClient,
    RemoteGone,
    as_date,
    as_int,
    as_text,
    datafields_of,
    enum_value,
)
from connectors.dotmailer.models import (
    DEFAULT_MAPPINGS,
    EXPORT_DONE,
    AddressBook,
    BookMember,
    DataField,
    DataFieldMapping,
    DotmailerContact,
    is_system_book,
)
from core.clock import utcnow
from core.db import database_proxy, plain_rows
from core.lists import member_column
from core.models.store import (
    MODEL_FOR_KIND,
    CustomField,
    CustomValue,
    ListMember,
    MarketingList,
)
from core.models.sync import Integration, Watermark
from core.store import parse_custom
from core.sync.context import SyncContext

log = logging.getLogger("listbridge.dotmailer")

OVERLAP = timedelta(minutes=10)
RECONCILE_EVERY = timedelta(days=1)
DATAFIELDS_EVERY = timedelta(days=1)
SUMMARY_EVERY = timedelta(days=1)  # and whenever the campaign had new activity
BATCH_ROWS = 10_000
BATCH_BYTES = 8 * 1024 * 1024
REMOVE_BATCH = 1000
POLL_DELAYS = (5.0, 10.0, 20.0, 60.0)  # after an import is sent, then every 60 s (§3.4)
MAX_EXPORT_WAIT = 600.0  # seconds a run waits for a free import slot before leaving the rest
UNKNOWN_AFTER_POLL_FAILURES = 10
UNKNOWN_AFTER = timedelta(hours=2)
MAX_IMPORT_FAILURES = 3

MARK_DATAFIELDS = "dotmailer:datafields"
MARK_BOOKS = "dotmailer:books"  # when the address books were last read (sync or refresh)
MARK_SUPPRESSED = "dotmailer:suppressed"
MARK_ACTIVITY = "dotmailer:activity"
JOURNAL_KIND = "dotmailer"

# Statuses under which a contact still gets mail: the list member stays subscribed.
KEEPS_MAIL = frozenset({"Subscribed", "SoftBounced"})
# Remote statuses that explicitly stop mail: the list member becomes unsubscribed (D15).
STOPS_MAIL = frozenset({"Unsubscribed", "HardBounced", "IspComplained", "MailBlocked",
                        "DirectComplaint", "SharedSuppression", "Suppressed", "NotAllowed",
                        "DomainSuppression", "NoMxRecord"})

EMAIL_SHAPE = re.compile(r"^[^@\s\"(),:;<>\[\]\\]+@[^@\s\"(),:;<>\[\]\\]+\.[^@\s\"(),:;<>\[\]\\]+$")


# -- the run's shared state --------------------------------------------------------------------------

Sleep = Callable[[float], None]

WAIT_FOR_IMPORTS = 35.0  # 5 + 10 + 20 s: what a manual or headless run waits for its imports
WAITING_TRIGGERS = ("manual", "headless")
EXPORT_ACTION = "dotmailer_export"


@dataclass(frozen=True)
class Tuning:
    """Every wait and size of a run, in one place so tests (and the bench) can change them.

    ``sleep`` None waits on the run's cancel flag. ``wait_for_imports`` is how long the export
    waits at its end for the imports it sent, polling at ``poll_delays``: None means 35 s for a
    manual or headless run (the admin sees the outcome) and 0 for a scheduled one (the next run,
    4 minutes later, polls them).
    """

    sleep: Sleep | None = None
    poll_delays: tuple[float, ...] = POLL_DELAYS
    max_export_wait: float = MAX_EXPORT_WAIT
    wait_for_imports: float | None = None
    batch_rows: int = BATCH_ROWS
    batch_bytes: int = BATCH_BYTES

    def import_wait(self, trigger: str) -> float:
        if self.wait_for_imports is not None:
            return self.wait_for_imports
        return WAIT_FOR_IMPORTS if trigger in WAITING_TRIGGERS else 0.0


@dataclass
class RunState:
    client: DotmailerClient
    started_at: datetime  # the service's clock at the start of the run (§3.2 step 0)
    tuning: Tuning
    sleep: Sleep
    columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    finished_books: set[int] = field(default_factory=set)  # books whose imports finished now
    members: dict[int, dict[str, LocalMember]] = field(default_factory=dict)  # by book, by email
    datafields_read: bool = False
    active_campaigns: set[int] = field(default_factory=set)  # new activity read in this run


def make_client(integration: Integration, secrets: dict[str, str],
                sleep: Sleep | None = None) -> DotmailerClient:
    settings = integration.settings
    username = str(settings.get(forms.USERNAME) or "")
    password = secrets.get(forms.PASSWORD) or ""
    if not password:
        raise ConfigurationError(
            f"The password of {integration.name} is missing from the keyring; edit the "
            "integration and type it again.")
    return DotmailerClient(username, password, str(settings.get(forms.API_URL) or DISCOVERY_URL),
                           sleep=sleep)


def tuning_of(ctx: SyncContext) -> Tuning:
    tuning = getattr(ctx.connector, "tuning", None) or ctx.cache.get("dotmailer.tuning")
    return tuning if isinstance(tuning, Tuning) else Tuning()


def run_sleep(ctx: SyncContext) -> Sleep:
    """How the run waits: the tuning's (tests), else the cancellable ``ctx.sleep``."""
    return tuning_of(ctx).sleep or ctx.sleep


def run_state(ctx: SyncContext) -> RunState:
    """The run's client and start time, made by the first step that needs them."""
    state = ctx.cache.get("dotmailer")
    if isinstance(state, RunState):
        return state
    sleep = run_sleep(ctx)
    client = ctx.client if isinstance(ctx.client, DotmailerClient) else None
    if client is None:
        client = make_client(ctx.integration, ctx.secrets, sleep)
        ctx.client = client
    started = client.server_time() or utcnow()
    state = RunState(client, started, tuning_of(ctx), sleep)
    ctx.cache["dotmailer"] = state
    return state


def list_of(book: AddressBook) -> MarketingList:
    """The marketing list a connected book belongs to."""
    mlist = book.mlist
    if mlist is None:
        raise FatalError("An address book without a list reached a step for connected books.")
    return mlist


def connected_books(integration: Integration) -> list[AddressBook]:
    return list(AddressBook.select(AddressBook, MarketingList)
                .join(MarketingList)
                .where(AddressBook.integration == integration,
                       AddressBook.mlist.is_null(False))
                .order_by(AddressBook.remote_id))


def get_mark(integration: Integration, name: str) -> datetime | None:
    row = Watermark.get_or_none(Watermark.integration == integration, Watermark.step == name)
    return row.value if row else None


def save_mark(integration: Integration, name: str, value: datetime) -> None:
    (Watermark.insert(integration=integration, step=name, value=value, updated=utcnow())
     .on_conflict(conflict_target=[Watermark.integration, Watermark.step],
                  preserve=[Watermark.value, Watermark.updated])
     .execute())


def _since(mark: datetime | None) -> datetime:
    """Where an incremental read starts: the watermark less the overlap, or 1971 (D10)."""
    return FIRST_DATE if mark is None else max(FIRST_DATE, mark - OVERLAP)


# -- unlinking a vanished book ---------------------------------------------------------------------

def unlink_gone_book(ctx: SyncContext, book: AddressBook) -> None:
    """A connected book was deleted in Dotmailer: disconnect it; the list keeps its members (D7)."""
    mlist = list_of(book) if book.mlist_id else None
    name = mlist.name if mlist is not None else "?"
    ctx.journal(f"The address book “{book.name}” no longer exists in Dotmailer; the marketing "
                f"list “{name}” was disconnected from it and keeps its members.",
                level="warning", entity="list", record_id=book.mlist_id, kind=JOURNAL_KIND)
    ctx.count("books_unlinked")
    with database_proxy.atomic():
        AddressBook.delete().where(AddressBook.id == book.id).execute()


# -- list members ----------------------------------------------------------------------------------

def member_records(mlist: MarketingList, email_keys: Iterable[str],
                    states: tuple[str, ...]) -> dict[int, str]:
    """Record ids (contact or lead) of the list's members in ``states`` with these emails."""
    model = MODEL_FOR_KIND[mlist.entity]
    column = member_column(mlist.entity)
    keys = sorted(set(email_keys))
    found: dict[int, str] = {}
    for chunk in bulk.chunks(keys):
        query = (ListMember.select(model.id, model.email_key)
                 .join(model, on=(column == model.id))
                 .where(ListMember.mlist == mlist, ListMember.state.in_(states),
                        model.email_key.in_(chunk)).tuples())
        found.update({rid: key for rid, key in plain_rows(query)})
    return found


def change_members(ctx: SyncContext, mlist: MarketingList, email_keys: Iterable[str],
                    state: str, why: str, from_states: tuple[str, ...] = ("subscribed",)) -> int:
    records = member_records(mlist, email_keys, from_states)
    if not records:
        return 0
    column = member_column(mlist.entity)
    now = utcnow()
    extra: dict[Any, Any] = {ListMember.unsubscribed_at: now} if state == "unsubscribed" else {
        ListMember.removed_at: now}
    ids = sorted(records)
    with database_proxy.atomic():
        for chunk in bulk.chunks(ids):
            (ListMember.update({ListMember.state: state, ListMember.state_changed_at: now,
                                **extra})
             .where(ListMember.mlist == mlist, column.in_(chunk),
                    ListMember.state.in_(from_states)).execute())
    for rid, key in records.items():
        ctx.journal(f"{'Unsubscribed from' if state == 'unsubscribed' else 'Removed from'} "
                    f"“{mlist.name}”: {why}.", entity=mlist.entity, record_id=rid, email=key,
                    kind=JOURNAL_KIND)
    ctx.count(state, len(records))
    return len(records)


def unsubscribe_members(ctx: SyncContext, mlist: MarketingList, email_keys: Iterable[str],
                         why: str) -> int:
    return change_members(ctx, mlist, email_keys, "unsubscribed", why)


# -- step 2: data fields ---------------------------------------------------------------------------

def sync_data_fields(ctx: SyncContext, force: bool = False) -> None:
    """E22 (one call, D5) when due: daily, when forced, or before the first export."""
    integration = ctx.integration
    last = get_mark(integration, MARK_DATAFIELDS)
    due = force or last is None or utcnow() - last >= DATAFIELDS_EVERY or bool(
        ctx.cache.get("dotmailer.force_datafields"))
    if due:
        state = run_state(ctx)
        count = store_data_fields(integration, state.client.data_fields())
        state.datafields_read = True
        state.columns.clear()
        ctx.count("datafields", count)
    ensure_default_mappings(integration)


def store_data_fields(integration: Integration, remote: list[dict[str, Any]]) -> int:
    """Upsert what E22 returned (as the account spells each name), drop the fields it no longer
    lists and move the daily watermark; how many fields the account has."""
    seen: dict[str, dict[str, Any]] = {}
    for item in remote:
        name = as_text(item.get("name")).strip()
        if name:
            seen[name.lower()] = item
    existing = {f.name.lower(): f for f in DataField.select().where(
        DataField.integration == integration)}
    now = utcnow()
    with database_proxy.atomic():
        for key, item in seen.items():
            row = existing.get(key) or DataField(integration=integration)
            row.name = as_text(item.get("name")).strip()
            row.type = enum_value(item.get("type")) or "String"
            row.visibility = enum_value(item.get("visibility")) or "Private"
            default = item.get("defaultvalue")
            row.default_value = None if default is None else as_text(default)
            row.seen_at = now
            row.save()
        gone = [f.id for k, f in existing.items() if k not in seen]
        if gone:
            DataField.delete().where(DataField.id.in_(gone)).execute()
        save_mark(integration, MARK_DATAFIELDS, now)
    return len(seen)


def ensure_default_mappings(integration: Integration) -> None:
    """FIRSTNAME, LASTNAME and FULLNAME for contacts and leads, the first time only."""
    if DataFieldMapping.select().where(DataFieldMapping.integration == integration).exists():
        return
    with database_proxy.atomic():
        for entity in ("contact", "lead"):
            for priority, (entity_field, datafield) in enumerate(DEFAULT_MAPPINGS):
                DataFieldMapping.create(integration=integration, entity=entity,
                                        entity_field=entity_field, datafield=datafield,
                                        priority=priority)


def export_columns(integration: Integration, entity: str) -> list[tuple[str, str]]:
    """(data field as the account spells it, store field) for mapped fields that exist (D14)."""
    remote = {f.name.lower(): f.name for f in DataField.select().where(
        DataField.integration == integration)}
    columns = []
    for mapping in (DataFieldMapping.select()
                    .where(DataFieldMapping.integration == integration,
                           DataFieldMapping.entity == entity)
                    .order_by(DataFieldMapping.priority, DataFieldMapping.id)):
        name = remote.get(mapping.datafield.lower())
        if name is not None and name.lower() != "email":
            columns.append((name, mapping.entity_field))
    return columns


def columns_for(ctx: SyncContext, entity: str) -> list[tuple[str, str]]:
    state = run_state(ctx)
    if entity not in state.columns:
        state.columns[entity] = export_columns(ctx.integration, entity)
    return state.columns[entity]


# -- step 3: address books -------------------------------------------------------------------------

def sync_address_books(ctx: SyncContext) -> None:
    """E2 in full; All Contacts and Test never enter; vanished connected books are unlinked."""
    state = run_state(ctx)
    seen = read_books(state.client, ctx.check_cancel)
    for book in store_books(ctx.integration, seen):
        unlink_gone_book(ctx, book)
    ctx.count("books", len(seen))


def read_books(client: DotmailerClient,
               check: Callable[[], None] | None = None) -> dict[int, dict[str, Any]]:
    """Every address book but All Contacts and Test, whatever the API returns (§3.2 step 3)."""
    seen: dict[int, dict[str, Any]] = {}
    for page in client.address_books():
        for item in page:
            remote_id = as_int(item.get("id"), -1)
            if remote_id >= 0 and not is_system_book(as_text(item.get("name"))):
                seen[remote_id] = item
        if check is not None:
            check()
    return seen


def store_books(integration: Integration, seen: dict[int, dict[str, Any]]) -> list[AddressBook]:
    """Upsert the books by remote id, delete vanished unconnected ones; the vanished connected
    books are returned for the caller to unlink (with a journal line)."""
    existing = {b.remote_id: b for b in AddressBook.select().where(
        AddressBook.integration == integration)}
    now = utcnow()
    gone = []
    with database_proxy.atomic():
        for remote_id, item in seen.items():
            book = existing.get(remote_id) or AddressBook(integration=integration,
                                                          remote_id=remote_id)
            book.name = as_text(item.get("name")).strip()[:255]
            book.visibility = enum_value(item.get("visibility")) or "Private"
            book.contacts_count = as_int(item.get("contacts"))
            book.seen_at = now
            book.save()
        for remote_id, book in existing.items():
            if remote_id in seen:
                continue
            if book.mlist_id:
                gone.append(book)
            else:
                book.delete_instance()
        save_mark(integration, MARK_BOOKS, now)
    return gone


# -- step 5: contacts ------------------------------------------------------------------------------

def sync_contacts(ctx: SyncContext) -> None:
    """E6 the first time, then E7 since the book's watermark less 10 minutes."""
    state = run_state(ctx)
    for book in connected_books(ctx.integration):
        ctx.check_cancel()
        read_book_contacts(ctx, state, book)


def read_book_contacts(ctx: SyncContext, state: RunState, book: AddressBook) -> bool:
    """Read one book's contacts into the mirror; False if the book is gone."""
    client = state.client
    mark = book.contacts_synced_at
    pager = (client.book_contacts(book.remote_id) if mark is None
             else client.book_contacts_modified(book.remote_id, mark - OVERLAP))
    columns = columns_for(ctx, list_of(book).entity) if book.mlist_id else []
    read = 0
    try:
        for page in pager:
            upsert_contacts(ctx.integration, book, page, columns)
            read += len(page)
            ctx.check_cancel()
            ctx.progress(read, book.contacts_count or None, book.name)
    except RemoteGone:
        unlink_gone_book(ctx, book)
        return False
    changes: dict[Any, Any] = {AddressBook.contacts_synced_at: state.started_at}
    if mark is None:
        # A full read of a book just connected (its rows were cleared) is a reconciliation.
        changes[AddressBook.reconciled_at] = utcnow()
    AddressBook.update(changes).where(AddressBook.id == book.id).execute()
    book.contacts_synced_at = state.started_at
    ctx.count("contacts_read", read)
    return True


@dataclass
class _RemoteContact:
    remote_id: int | None
    email: str
    email_key: str
    status: str
    opt_in_type: str
    email_type: str
    datafields: dict[str, Any] | None


def _parse_contact(item: dict[str, Any]) -> _RemoteContact | None:
    email = as_text(item.get("email")).strip()
    if not email:
        return None
    remote_id = item.get("id")
    return _RemoteContact(as_int(remote_id) if remote_id is not None else None, email,
                          email.lower(), enum_value(item.get("status")),
                          enum_value(item.get("optintype")), enum_value(item.get("emailtype")),
                          datafields_of(item))


def upsert_contacts(integration: Integration, book: AddressBook | None,
                    items: list[dict[str, Any]], columns: list[tuple[str, str]] | None = None,
                    set_status: bool = True, in_book: bool = True) -> dict[str, int]:
    """Mirror a page of contacts (by remote id, then by email); their book rows when ``book``.

    Returns {email_key: mirror row id}.
    """
    parsed = [c for c in (_parse_contact(i) for i in items) if c is not None]
    if not parsed:
        return {}
    ids = [c.remote_id for c in parsed if c.remote_id is not None]
    keys = [c.email_key for c in parsed]
    select = ("SELECT id, remote_id, email_key, status, email, opt_in_type, email_type, "
              f"datafields_json FROM {DotmailerContact._meta.table_name} "
              f"WHERE integration_id = {database_proxy.obj.param} AND ")
    by_id = {r[1]: r for r in bulk.select_in(select + "remote_id IN", [integration.id], ids)}
    by_key = {r[2]: r for r in bulk.select_in(select + "email_key IN", [integration.id], keys)}
    row: tuple[Any, ...] | None
    now = utcnow()
    result: dict[str, int] = {}
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[Any, ...]] = []
    with database_proxy.atomic():
        for contact in parsed:
            row = by_id.get(contact.remote_id) if contact.remote_id is not None else None
            if row is None:
                row = by_key.get(contact.email_key)
            elif row[2] != contact.email_key and contact.email_key in by_key:
                # The email moved to this id remotely: the id-less twin goes.
                twin = by_key[contact.email_key]
                if twin[0] != row[0]:
                    DotmailerContact.delete().where(DotmailerContact.id == twin[0]).execute()
            fields_json = (None if contact.datafields is None
                           else json.dumps(contact.datafields, sort_keys=True, default=str))
            if row is None:
                inserts.append({"integration": integration.id, "remote_id": contact.remote_id,
                                "email": contact.email, "email_key": contact.email_key,
                                "status": contact.status if set_status else "",
                                "opt_in_type": contact.opt_in_type,
                                "email_type": contact.email_type,
                                "datafields_json": fields_json, "updated": now})
                continue
            result[contact.email_key] = row[0]
            status = contact.status if set_status and contact.status else row[3]
            new = (contact.remote_id if contact.remote_id is not None else row[1],
                   contact.email_key, status, contact.email,
                   contact.opt_in_type or row[5], contact.email_type or row[6],
                   fields_json if fields_json is not None else row[7])
            if new != tuple(row[1:]):
                updates.append((*new, now, row[0]))
        bulk.update_many(DotmailerContact, ["remote_id", "email_key", "status", "email",
                                        "opt_in_type", "email_type", "datafields_json",
                                        "updated"], updates)
        bulk.insert_many(DotmailerContact, inserts)
        if inserts:
            result.update(dict(bulk.select_in(
                f"SELECT email_key, id FROM {DotmailerContact._meta.table_name} WHERE "
                f"integration_id = {database_proxy.obj.param} AND email_key IN",
                [integration.id], [r["email_key"] for r in inserts])))
        if book is not None and in_book:
            _mark_in_book(book, parsed, result, columns or [])
    return result


def _mark_in_book(book: AddressBook, parsed: list[_RemoteContact], ids: dict[str, int],
                  columns: list[tuple[str, str]]) -> None:
    """The book lists these contacts: their memberships are present."""
    contact_ids = [ids[c.email_key] for c in parsed if c.email_key in ids]
    existing = {row[0]: row[1:] for row in bulk.select_in(
        "SELECT contact_id, id, in_book, remote_status, sent_hash, export_status FROM "
        f"{BookMember._meta.table_name} WHERE book_id = {database_proxy.obj.param} AND "
        "contact_id IN", [book.id], contact_ids)}
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[Any, ...]] = []
    for contact in parsed:
        cid = ids.get(contact.email_key)
        if cid is None:
            continue
        remote_hash = values_hash(_remote_values(contact.datafields, columns)) if (
            contact.datafields is not None and columns) else ""
        row = existing.get(cid)
        if row is None:
            # Already in the book: only changed values need sending.
            inserts.append({"book": book.id, "contact": cid, "in_book": True,
                            "remote_status": "", "export_status": EXPORT_DONE,
                            "sent_hash": remote_hash, "updated": now})
            continue
        member_id, was_in, remote_status, sent_hash, _export_status = row
        if remote_status not in ("", "Subscribed", "Removed"):
            continue  # unsubscribed from the book: a listing does not undo that
        if was_in and remote_status != "Removed" and (sent_hash or not remote_hash):
            continue
        # Listed again after a removal (or for the first time): the membership is present.
        updates.append((True, "", sent_hash or remote_hash, now, member_id))
    bulk.insert_many(BookMember, inserts, ignore=True)
    bulk.update_many(BookMember, ["in_book", "remote_status", "sent_hash", "updated"], updates)


# -- mapped values ---------------------------------------------------------------------------------

def format_value(value: Any) -> str:
    """A CSV cell (§3.3): ``.`` decimals, true/false, UTC dates, empty for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00")
    return str(value)


def values_hash(values: list[str]) -> str:
    return hashlib.sha1("\x1f".join(values).encode("utf-8")).hexdigest()


def _remote_values(datafields: dict[str, Any] | None, columns: list[tuple[str, str]]) -> list[str]:
    lowered = {k.lower(): v for k, v in (datafields or {}).items()}
    return [format_value(lowered.get(name.lower())) for name, _field in columns]


@dataclass
class LocalMember:
    record_id: int
    email: str
    email_key: str
    values: list[str]


def list_members(mlist: MarketingList, columns: list[tuple[str, str]],
                 state: str = "subscribed") -> Iterator[LocalMember]:
    """The list's members in ``state`` with their mapped values, in record order."""
    model = MODEL_FOR_KIND[mlist.entity]
    column = member_column(mlist.entity)
    standard = [f for _n, f in columns if f in model._meta.fields]
    needs_names = any(f == "full_name" for _n, f in columns)
    selected = {"first_name", "last_name"} if needs_names else set()
    selected |= set(standard)
    wanted = sorted(selected)
    custom = _custom_values(mlist, model, column, [f for _n, f in columns
                                                   if f not in model._meta.fields
                                                   and f != "full_name"])
    query = (ListMember.select(model.id, model.email, model.email_key,
                               *[getattr(model, f) for f in wanted])
             .join(model, on=(column == model.id))
             .where(ListMember.mlist == mlist, ListMember.state == state)
             .order_by(model.id))
    # Raw rows: text stays text; dates and the like go through their field (birth_date).
    readers = [None if isinstance(model._meta.fields[f], pw.CharField | pw.TextField)
               else model._meta.fields[f].python_value for f in wanted]
    for row in bulk.fetch_rows(query):
        record_id, email, key = row[0], row[1], row[2]
        found = {f: (v if r is None else r(v))
                 for f, r, v in zip(wanted, readers, row[3:], strict=True)}
        values = []
        for _name, store_field in columns:
            if store_field == "full_name":
                value: Any = " ".join(p for p in (found.get("first_name"),
                                                  found.get("last_name")) if p)
            elif store_field in found:
                value = found[store_field]
            else:
                value = custom.get(store_field, {}).get(record_id)
            values.append(format_value(value))
        yield LocalMember(record_id, (email or "").strip(), (key or "").strip(), values)


def _custom_values(mlist: MarketingList, model: Any, column: Any,
                   keys: list[str]) -> dict[str, dict[int, Any]]:
    out: dict[str, dict[int, Any]] = {}
    for key in keys:
        custom = CustomField.get_or_none(CustomField.entity == mlist.entity, CustomField.key == key)
        if custom is None:
            log.warning("Mapped field %r does not exist for %s; sent empty", key, mlist.entity)
            out[key] = {}
            continue
        rows = (CustomValue.select(CustomValue.record_id, CustomValue.value)
                .join(ListMember, on=(column == CustomValue.record_id))
                .where(CustomValue.field == custom, ListMember.mlist == mlist).tuples())
        out[key] = {rid: parse_custom(custom.kind, raw) for rid, raw in plain_rows(rows)}
    return out


def valid_email(key: str) -> bool:
    return bool(key) and len(key) <= 254 and EMAIL_SHAPE.match(key) is not None


# -- step 6: unsubscribes --------------------------------------------------------------------------

def sync_unsubscribes(ctx: SyncContext) -> None:
    """E8 per book (the membership), then E9 (the contact), each with its own watermark."""
    state = run_state(ctx)
    for book in connected_books(ctx.integration):
        ctx.check_cancel()
        since = _since(book.unsubscribes_synced_at)
        try:
            for page in state.client.book_unsubscribes(book.remote_id, since):
                _apply_book_unsubscribes(ctx, book, page)
                ctx.check_cancel()
        except RemoteGone:
            unlink_gone_book(ctx, book)
            continue
        AddressBook.update(unsubscribes_synced_at=state.started_at).where(
            AddressBook.id == book.id).execute()
    since = _since(get_mark(ctx.integration, MARK_SUPPRESSED))
    for page in state.client.suppressed_since(since):
        _apply_suppressions(ctx, page)
        ctx.check_cancel()
    save_mark(ctx.integration, MARK_SUPPRESSED, state.started_at)


def _suppressions(page: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, datetime | None]]:
    out = []
    for item in page:
        inner = item.get("suppressedcontact")
        if isinstance(inner, dict) and as_text(inner.get("email")).strip():
            reason = enum_value(item.get("reason")) or "Unsubscribed"
            out.append((inner, reason, as_date(item.get("dateremoved"))))
    return out


def _apply_book_unsubscribes(ctx: SyncContext, book: AddressBook,
                             page: list[dict[str, Any]]) -> None:
    """E8: the reason applies to the membership only; the contact's status is left alone."""
    rows = _suppressions(page)
    ids = upsert_contacts(ctx.integration, None, [r[0] for r in rows], set_status=False)
    changed: dict[str, str] = {}
    with database_proxy.atomic():
        for inner, reason, when in rows:
            key = as_text(inner.get("email")).strip().lower()
            cid = ids.get(key)
            if cid is None:
                continue
            member = BookMember.get_or_none(BookMember.book == book, BookMember.contact == cid)
            if member is None:
                member = BookMember(book=book, contact=cid, export_status=EXPORT_DONE)
            elif member.remote_status == reason and member.unsubscribed_at == when:
                continue  # already applied by an earlier, overlapping read
            member.in_book = False
            member.remote_status = reason
            member.unsubscribed_at = when
            member.updated = utcnow()
            member.save()
            changed[key] = reason
    if changed and book.mlist_id:
        for reason in sorted(set(changed.values())):
            keys = {k for k, r in changed.items() if r == reason}
            unsubscribe_members(ctx, list_of(book), keys,
                                 f"{reason_words(reason)} from the address book “{book.name}” "
                                 "in Dotmailer")


def _apply_suppressions(ctx: SyncContext, page: list[dict[str, Any]]) -> None:
    """E9: the reason becomes the contact's status, so every list it is on unsubscribes it."""
    rows = _suppressions(page)
    existing: dict[str, tuple[str, datetime | None]] = {}
    emails = [as_text(r[0].get("email")).strip().lower() for r in rows]
    for chunk in bulk.chunks(emails):
        for key, status, when in plain_rows(DotmailerContact.select(
                DotmailerContact.email_key, DotmailerContact.status,
                DotmailerContact.suppressed_at).where(
                DotmailerContact.integration == ctx.integration,
                DotmailerContact.email_key.in_(chunk)).tuples()):
            existing[key] = (status, when)
    fresh = [(inner, reason, when) for inner, reason, when in rows
             if existing.get(as_text(inner.get("email")).strip().lower()) != (reason, when)]
    if not fresh:
        return
    ids = upsert_contacts(ctx.integration, None, [r[0] for r in fresh], set_status=False)
    by_reason: dict[str, set[str]] = {}
    with database_proxy.atomic():
        for inner, reason, when in fresh:
            key = as_text(inner.get("email")).strip().lower()
            if key in ids:
                DotmailerContact.update(status=reason, suppressed_at=when, updated=utcnow()).where(
                    DotmailerContact.id == ids[key]).execute()
                by_reason.setdefault(reason, set()).add(key)
    if not by_reason:
        return
    for book in connected_books(ctx.integration):
        for reason, keys in sorted(by_reason.items()):
            if reason in STOPS_MAIL or reason not in KEEPS_MAIL:
                unsubscribe_members(ctx, list_of(book), keys,
                                     f"{reason_words(reason)} in Dotmailer (account-wide)")


def reason_words(reason: str) -> str:
    words = {"Unsubscribed": "unsubscribed", "HardBounced": "hard bounce",
             "IspComplained": "ISP complaint", "MailBlocked": "mail blocked",
             "DirectComplaint": "complaint", "Suppressed": "suppressed",
             "DomainSuppression": "domain suppressed", "NotAllowed": "blocked",
             "NoMxRecord": "no MX record"}
    return words.get(reason, reason)


# -- step 7: reconciliation ------------------------------------------------------------------------

def reconcile_books(ctx: SyncContext) -> None:
    """Find silent removals (D7): daily, or when a book's count differs from ours."""
    state = run_state(ctx)
    for book in connected_books(ctx.integration):
        ctx.check_cancel()
        if not _reconcile_due(book):
            continue
        remote_ids: set[int] = set()
        try:
            for page in state.client.book_contacts(book.remote_id, full=False):
                remote_ids.update(as_int(i.get("id")) for i in page if i.get("id") is not None)
                ctx.check_cancel()
        except RemoteGone:
            unlink_gone_book(ctx, book)
            continue
        except RateLimited:
            raise
        except (TransientError, FatalError) as exc:
            ctx.journal(f"Checking “{book.name}” for removed contacts failed part-way; nothing "
                        f"was changed ({exc.admin_message}).", level="warning", kind=JOURNAL_KIND)
            continue
        gone = _gone(book, remote_ids)
        with database_proxy.atomic():
            for chunk in bulk.chunks([g[0] for g in gone]):
                BookMember.update(in_book=False, remote_status="Removed", updated=utcnow()).where(
                    BookMember.id.in_(chunk)).execute()
            AddressBook.update(reconciled_at=utcnow()).where(AddressBook.id == book.id).execute()
        if gone and book.mlist_id:
            change_members(ctx, list_of(book), {g[1] for g in gone}, "removed",
                            f"removed from the address book “{book.name}” in Dotmailer")
        ctx.count("reconciled_books")


def _gone(book: AddressBook, remote_ids: set[int]) -> list[tuple[int, str]]:
    """(membership, email) of members we believe present whose remote id the book lacks."""
    query = (BookMember.select(BookMember.id, DotmailerContact.email_key,
                               DotmailerContact.remote_id)
             .join(DotmailerContact)
             .where(BookMember.book == book, BookMember.in_book == True,  # noqa: E712
                    DotmailerContact.remote_id.is_null(False)))
    rows = bulk.fetch_rows(query)
    return [(mid, key) for mid, key, rid in rows if rid not in remote_ids]


def _reconcile_due(book: AddressBook) -> bool:
    if book.reconciled_at is None or utcnow() - book.reconciled_at >= RECONCILE_EVERY:
        return True
    listed = (BookMember.select().where(BookMember.book == book,
                                        BookMember.in_book == True).count())  # noqa: E712
    unsubscribed = (BookMember.select().where(BookMember.book == book,
                                              BookMember.in_book == False,  # noqa: E712
                                              BookMember.remote_status.not_in(["", "Removed"]))
                    .count())
    # E2's count may or may not include members who unsubscribed from the book.
    return book.contacts_count not in (listed, listed + unsubscribed)
