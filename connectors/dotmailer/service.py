"""The admin's Dotmailer actions, shared by the GUI and the command line.

Connect a marketing list to an address book (one book per list, one list per book: both are
unique indexes), disconnect it, read a list's connection, manage the data fields and their
mappings, and read email campaigns with their statistics. Functions marked *network* call
Dotmailer and belong on a worker thread; the others only read or write the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import peewee as pw

from connectors.dotmailer.client import DotmailerClient
from connectors.dotmailer.models import (
    DATAFIELD_TYPES,
    EXPORT_ADD,
    EXPORT_DONE,
    EXPORT_NEW,
    EXPORT_QUEUED,
    EXPORT_REJECTED,
    EXPORT_UPDATE,
    EXPORT_WATCHDOG,
    IMPORT_PENDING,
    REFUSED_STATES,
    AddressBook,
    BookMember,
    CampaignSummary,
    ContactActivity,
    DataField,
    DataFieldMapping,
    DotmailerContact,
    DotmailerImport,
    EmailCampaign,
    EmailCampaignBook,
    is_system_book,
)
from core.clock import utcnow
from core.db import database_proxy, plain_rows
from core.integrations import read_secrets, schedule_next
from core.lists import member_column
from core.models.store import MODEL_FOR_KIND, ListMember, MarketingList
from core.models.sync import HistoryEvent, Integration

TYPE_NAME = "dotmailer"


class ConnectRefused(ValueError):
    """The connection cannot be made; the message says why, in the admin's words."""


class MappingRefused(ValueError):
    """The mapping or data field cannot be added; the message says why, in the admin's words."""


# -- integrations and books --------------------------------------------------------------------------

def dotmailer_integrations(active_only: bool = True) -> list[Integration]:
    """The Integration selector of the Connect to Dotmailer form."""
    query = Integration.select().where(Integration.type == TYPE_NAME)
    if active_only:
        query = query.where(Integration.active == True)  # noqa: E712
    return list(query.order_by(Integration.name))


def connectable_books(integration: Integration,
                      mlist: MarketingList | None = None) -> list[AddressBook]:
    """The Address Book selector: the integration's books except All Contacts and Test and
    those connected to another list (``mlist``'s own book stays, for Connection Settings).

    Reads the books the last sync (or ``refresh_books``) imported; no network."""
    query = AddressBook.select().where(AddressBook.integration == integration)
    if mlist is not None and mlist.id is not None:
        query = query.where(AddressBook.mlist.is_null() | (AddressBook.mlist == mlist))
    else:
        query = query.where(AddressBook.mlist.is_null())
    return [b for b in query.order_by(pw.fn.LOWER(AddressBook.name), AddressBook.remote_id)
            if not is_system_book(b.name)]


def client_for(integration: Integration, secrets: dict[str, str] | None = None) -> DotmailerClient:
    from connectors.dotmailer.sync import make_client

    return make_client(integration, secrets if secrets is not None else read_secrets(integration))


def refresh_books(integration: Integration, secrets: dict[str, str] | None = None,
                  client: DotmailerClient | None = None) -> list[AddressBook]:
    """*Network.* Read the address books (E2) now, as the sync's address-book step does, so that
    a new integration offers its books before its first sync. Vanished books that are
    connected are left for the sync to unlink (with its journal line)."""
    from connectors.dotmailer.sync import read_books, store_books

    client = client or client_for(integration, secrets)
    store_books(integration, read_books(client))
    return connectable_books(integration)


def books_read_at(integration: Integration) -> datetime | None:
    """When the address books were last read from Dotmailer (a sync or a refresh); None: never."""
    from connectors.dotmailer.sync import MARK_BOOKS, get_mark

    return get_mark(integration, MARK_BOOKS)


def find_book(integration: Integration, ref: str | int) -> AddressBook | None:
    """A book by remote id, or by name (ignoring case)."""
    text = str(ref).strip()
    query = AddressBook.select().where(AddressBook.integration == integration)
    if text.isdigit():
        found = query.where(AddressBook.remote_id == int(text)).first()
        if found is not None:
            return found
    return query.where(pw.fn.LOWER(AddressBook.name) == text.lower()).first()


# -- connecting ----------------------------------------------------------------------------------------

def connect_list(mlist: MarketingList, integration: Integration, book_id: int) -> AddressBook:
    """Connect the list to the book with remote id ``book_id`` and ask for a sync soon.

    Raises ``ConnectRefused`` (a sentence for the admin) when the list has no email field, the
    book is a system book or unknown, or either side is connected elsewhere."""
    if integration.type != TYPE_NAME:
        raise ConnectRefused(f"{integration.name} is not a Dotmailer integration.")
    if not mlist.has_email:
        raise ConnectRefused(f"Only lists of contacts or leads can be connected to Dotmailer; "
                             f"“{mlist.name}” is a list of {mlist.entity} records.")
    book = AddressBook.get_or_none(AddressBook.integration == integration,
                                   AddressBook.remote_id == int(book_id))
    if book is None:
        raise ConnectRefused(f"{integration.name} has no address book {book_id}; refresh the "
                             "address books and try again.")
    if is_system_book(book.name):
        raise ConnectRefused(f"“{book.name}” is created by Dotmailer itself and cannot be "
                             "connected.")
    current = AddressBook.get_or_none(AddressBook.mlist == mlist)
    if current is not None and current.id == book.id:
        return book
    if current is not None:
        raise ConnectRefused(f"“{mlist.name}” is already connected to the address book "
                             f"“{current.name}”; disconnect it first.")
    if book.mlist is not None:
        raise ConnectRefused(f"The address book “{book.name}” is already connected to the list "
                             f"“{book.mlist.name}”.")
    try:
        with database_proxy.atomic():
            BookMember.delete().where(BookMember.book == book).execute()
            updated = (AddressBook.update(mlist=mlist, connected_at=utcnow(),
                                          contacts_synced_at=None, unsubscribes_synced_at=None,
                                          reconciled_at=None, export_paused="")
                       .where(AddressBook.id == book.id, AddressBook.mlist.is_null()).execute())
            if not updated:
                raise ConnectRefused(f"The address book “{book.name}” was just connected to "
                                     "another list.")
    except pw.IntegrityError:
        raise ConnectRefused(f"“{mlist.name}” or “{book.name}” was just connected elsewhere."
                             ) from None
    _journal(integration, mlist, f"Connected to the Dotmailer address book “{book.name}”.")
    request_sync(integration)
    return AddressBook.get_by_id(book.id)


def disconnect_list(mlist: MarketingList) -> AddressBook | None:
    """Disconnect the list from its book (the list and the book keep their contacts)."""
    book = AddressBook.get_or_none(AddressBook.mlist == mlist)
    if book is None:
        return None
    with database_proxy.atomic():
        BookMember.delete().where(BookMember.book == book).execute()
        AddressBook.update(mlist=None, connected_at=None, contacts_synced_at=None,
                           unsubscribes_synced_at=None, reconciled_at=None, export_paused=""
                           ).where(AddressBook.id == book.id).execute()
    _journal(book.integration, mlist,
             f"Disconnected from the Dotmailer address book “{book.name}”.")
    return AddressBook.get_by_id(book.id)


def change_connection(mlist: MarketingList, integration: Integration,
                      book_id: int) -> AddressBook:
    """Connection Settings: move the list to another book (or integration); nothing changes
    when the choice is the current one. Raises ``ConnectRefused`` as ``connect_list`` does,
    and then the list stays connected as it was."""
    current = AddressBook.get_or_none(AddressBook.mlist == mlist)
    if (current is not None and current.integration_id == integration.id
            and current.remote_id == int(book_id)):
        return current
    target = AddressBook.get_or_none(AddressBook.integration == integration,
                                     AddressBook.remote_id == int(book_id))
    if target is not None and target.mlist is not None and target.mlist.id != mlist.id:
        raise ConnectRefused(f"The address book “{target.name}” is already connected to the list "
                             f"“{target.mlist.name}”.")
    with database_proxy.atomic():
        disconnect_list(mlist)
        return connect_list(mlist, integration, book_id)


def request_sync(integration: Integration) -> None:
    """Ask the scheduler for a sync of this integration now (if it is active and scheduled)."""
    if integration.active and integration.schedule_minutes:
        schedule_next(integration, after=timedelta(0))


def _journal(integration: Integration, mlist: MarketingList, message: str) -> None:
    HistoryEvent.create(integration=integration, entity="list", record_id=mlist.id,
                        kind="dotmailer", message=message)


@dataclass(frozen=True)
class ListConnection:
    """What the Dotmailer menu of a list shows."""

    integration: Integration
    book: AddressBook
    connected_at: datetime | None
    last_sync_at: datetime | None
    last_status: str
    exported: int  # members in the book with the values last sent
    waiting: int  # members to send at the next export (new, add, update)
    sending: int  # members in an import Dotmailer is still processing
    rejected: int  # refused (Data Watchdog, invalid entries): not sent again automatically
    queued: int  # failed alone, retried by the queue
    export_paused: str  # why the export stopped, if it did
    watchdog_rejected: int = 0  # of ``rejected``: in imports the Data Watchdog refused

    @property
    def book_id(self) -> int:
        return int(self.book.remote_id)


def list_connection(mlist: MarketingList) -> ListConnection | None:
    """The list's Dotmailer connection, or None (then the GUI shows Connect to Dotmailer)."""
    book = AddressBook.get_or_none(AddressBook.mlist == mlist)
    if book is None:
        return None
    # The book also holds contacts added in Dotmailer itself: count only the list's own members.
    ours = _list_members_in_book(mlist, book)
    counts: dict[str, int] = {}
    for status, n in plain_rows(BookMember.select(BookMember.export_status,
                                                  pw.fn.COUNT(BookMember.id))
                                .where(BookMember.book == book, ours)
                                .group_by(BookMember.export_status).tuples()):
        counts[status] = n
    sending = (BookMember.select().join(DotmailerImport, on=(
        BookMember.import_ == DotmailerImport.id)).where(
        BookMember.book == book, ours, DotmailerImport.status == IMPORT_PENDING).count())
    integration = book.integration
    return ListConnection(
        integration, book, book.connected_at, integration.last_sync_at, integration.last_status,
        counts.get(EXPORT_DONE, 0),
        sum(counts.get(s, 0) for s in (EXPORT_NEW, EXPORT_ADD, EXPORT_UPDATE)) - sending,
        sending, counts.get(EXPORT_REJECTED, 0) + counts.get(EXPORT_WATCHDOG, 0),
        counts.get(EXPORT_QUEUED, 0), book.export_paused, counts.get(EXPORT_WATCHDOG, 0))


def _list_members_in_book(mlist: MarketingList, book: AddressBook) -> Any:
    """A condition on BookMember: the row's contact is on the list (by email, any case)."""
    model = MODEL_FOR_KIND[mlist.entity]
    emails = (model.select(model.email_key)
              .join(ListMember, on=(member_column(mlist.entity) == model.id))
              .where(ListMember.mlist == mlist))
    return BookMember.contact.in_(DotmailerContact.select(DotmailerContact.id).where(
        DotmailerContact.integration == book.integration, DotmailerContact.email_key.in_(emails)))


def retry_rejected(mlist: MarketingList) -> int:
    """The admin's "send the rejected contacts again" (Data Watchdog or invalid entries): they go
    with the next export."""
    book = AddressBook.get_or_none(AddressBook.mlist == mlist)
    if book is None:
        return 0
    return int(BookMember.update(export_status=EXPORT_ADD, last_error="", failures=0,
                                 import_=None, updated=utcnow())
               .where(BookMember.book == book, BookMember.export_status.in_(REFUSED_STATES))
               .execute())


def resume_export(integration: Integration) -> int:
    """Resume an export paused by the account's contact limit or a refused file."""
    return int(AddressBook.update(export_paused="").where(
        AddressBook.integration == integration, AddressBook.export_paused != "").execute())


# -- data fields and their mappings -----------------------------------------------------------------

FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")  # Dotmailer: 20 characters at most


def check_field_name(name: str) -> str | None:
    """Dotmailer's rule for a new data field's name, in the admin's words (None: fine)."""
    if not FIELD_NAME.match(name):
        return ("A data field name has 1 to 20 letters, digits or underscores and starts with "
                "a letter.")
    if name.lower() == "email":
        return "EMAIL is the contact's address itself, not a data field."
    return None


def data_fields(integration: Integration) -> list[DataField]:
    """The account's data fields as last read (a sync's step 2 or ``refresh_data_fields``)."""
    return list(DataField.select().where(DataField.integration == integration)
                .order_by(pw.fn.LOWER(DataField.name)))


def data_field(integration: Integration, name: str) -> DataField | None:
    """A data field by name, whatever its case."""
    return DataField.get_or_none(DataField.integration == integration,
                                 pw.fn.LOWER(DataField.name) == name.strip().lower())


def refresh_data_fields(integration: Integration, secrets: dict[str, str] | None = None,
                        client: DotmailerClient | None = None) -> list[DataField]:
    """*Network.* Read the account's data fields (E22) now, as the sync's step 2 does."""
    from connectors.dotmailer.sync import store_data_fields

    client = client or client_for(integration, secrets)
    store_data_fields(integration, client.data_fields())
    return data_fields(integration)


def create_data_field(integration: Integration, name: str, type_: str = "String",
                      visibility: str = "Private", default: Any = None,
                      secrets: dict[str, str] | None = None,
                      client: DotmailerClient | None = None) -> DataField:
    """*Network.* Create a data field in Dotmailer (one made there since the last read is taken
    as it is), then read the fields again so that its name is kept as the account spells it.

    Raises ``MappingRefused`` for a name or type Dotmailer would refuse, a ``ConnectorError``
    when Dotmailer refuses or cannot be reached."""
    from connectors.dotmailer.client import FieldExists

    name = name.strip()
    refusal = check_field_name(name)
    if refusal:
        raise MappingRefused(refusal)
    if type_ not in DATAFIELD_TYPES:
        raise MappingRefused(f"{type_} is not a Dotmailer data field type.")
    client = client or client_for(integration, secrets)
    try:
        client.create_data_field(name, type_, visibility, default)
    except FieldExists:
        pass  # made in Dotmailer since the last read: map the one that is there
    refresh_data_fields(integration, client=client)
    found = data_field(integration, name)
    if found is None:  # the account did not list it (yet): keep it as asked
        found = DataField.create(integration=integration, name=name, type=type_,
                                 visibility=visibility,
                                 default_value=None if default is None else str(default))
    return found


def delete_data_field(integration: Integration, name: str,
                      secrets: dict[str, str] | None = None) -> int:
    """*Network.* Delete a data field in Dotmailer, then the mappings that send it (how many);
    ``FieldInUse`` (with ``dependencies``) when a campaign or another object still uses it
    (D4: a 409 is a failure), and then nothing changes here."""
    client_for(integration, secrets).delete_data_field(name)
    with database_proxy.atomic():
        DataField.delete().where(DataField.integration == integration,
                                 pw.fn.LOWER(DataField.name) == name.lower()).execute()
        return int(DataFieldMapping.delete().where(
            DataFieldMapping.integration == integration,
            pw.fn.LOWER(DataFieldMapping.datafield) == name.lower()).execute())


def mappings(integration: Integration, entity: str | None = None) -> list[DataFieldMapping]:
    """Which store field goes to which data field, by kind then priority. FIRSTNAME, LASTNAME
    and FULLNAME are mapped the first time (as the sync's step 2 does)."""
    from connectors.dotmailer.sync import ensure_default_mappings

    ensure_default_mappings(integration)
    query = DataFieldMapping.select().where(DataFieldMapping.integration == integration)
    if entity is not None:
        query = query.where(DataFieldMapping.entity == entity)
    return list(query.order_by(DataFieldMapping.entity, DataFieldMapping.priority,
                               DataFieldMapping.id))


def add_mapping(integration: Integration, entity: str, entity_field: str, datafield: str,
                create: bool = False, type_: str = "String", default: Any = None,
                secrets: dict[str, str] | None = None) -> DataFieldMapping:
    """Send ``entity_field`` of contacts or leads (``entity``) to ``datafield`` from the next
    export, after the kind's other mappings. With ``create`` the data field is created in
    Dotmailer first (*network*).

    Raises ``MappingRefused`` when the data field is already mapped for that kind or its name or
    type would be refused (nothing is created then), a ``ConnectorError`` from Dotmailer."""
    name = datafield.strip()
    if not name or not entity_field:
        raise MappingRefused("Choose a field and a data field.")
    mappings(integration)  # the defaults first, so that they keep their places
    clash = DataFieldMapping.get_or_none(
        DataFieldMapping.integration == integration, DataFieldMapping.entity == entity,
        pw.fn.LOWER(DataFieldMapping.datafield) == name.lower())
    if clash is not None:
        raise MappingRefused(f"{name} is already mapped from {clash.entity_field} for "
                             f"{entity}s; remove that mapping first.")
    if create:
        name = create_data_field(integration, name, type_, default=default,
                                 secrets=secrets).name
    else:
        known = data_field(integration, name)
        name = known.name if known is not None else name
    last = (DataFieldMapping.select(pw.fn.MAX(DataFieldMapping.priority))
            .where(DataFieldMapping.integration == integration,
                   DataFieldMapping.entity == entity).scalar())
    return DataFieldMapping.create(integration=integration, entity=entity,
                                   entity_field=entity_field, datafield=name,
                                   priority=(last if last is not None else -1) + 1)


def remove_mapping(integration: Integration, mapping_id: int) -> bool:
    """Stop sending a field (the data field stays in Dotmailer); False if it was not there."""
    return bool(DataFieldMapping.delete().where(DataFieldMapping.integration == integration,
                                                DataFieldMapping.id == mapping_id).execute())


# -- email campaigns -----------------------------------------------------------------------------------

def email_campaigns(mlist: MarketingList | None = None, integration: Integration | None = None,
                    include_deleted: bool = False) -> list[EmailCampaign]:
    """Campaigns sent to the list's book (or all of an integration's), newest first."""
    query = EmailCampaign.select(EmailCampaign).distinct()
    if mlist is not None:
        query = (query.join(EmailCampaignBook).join(AddressBook)
                 .where(AddressBook.mlist == mlist))
    if integration is not None:
        query = query.where(EmailCampaign.integration == integration)
    if not include_deleted:
        query = query.where(EmailCampaign.deleted == False)  # noqa: E712
    return list(query.order_by(EmailCampaign.date_sent.desc(nulls="LAST"),
                               EmailCampaign.remote_id.desc()))


def campaign_summary(campaign: EmailCampaign) -> CampaignSummary | None:
    """The campaign's statistics (E21); None until a sync read them (sent campaigns only)."""
    return CampaignSummary.get_or_none(CampaignSummary.campaign == campaign)


@dataclass(frozen=True)
class ActivityRow:
    """One contact's activity on a campaign, joined to the list's record by email."""

    activity: ContactActivity
    entity: str | None  # contact or lead, when a list member has this email
    record_id: int | None
    member_state: str | None


def campaign_activities(campaign: EmailCampaign, mlist: MarketingList | None = None,
                        limit: int | None = None, offset: int = 0) -> list[ActivityRow]:
    """Per-contact activity, most opens first; joined to ``mlist``'s members when given."""
    query = (ContactActivity.select().where(ContactActivity.campaign == campaign)
             .order_by(ContactActivity.num_opens.desc(), ContactActivity.email_key))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    activities = list(query)
    members: dict[str, tuple[int, str]] = {}
    if mlist is not None and activities:
        model = MODEL_FOR_KIND[mlist.entity]
        column = member_column(mlist.entity)
        keys = [a.email_key for a in activities]
        for start in range(0, len(keys), 500):
            rows = (ListMember.select(model.id, model.email_key, ListMember.state)
                    .join(model, on=(column == model.id))
                    .where(ListMember.mlist == mlist, model.email_key.in_(keys[start:start + 500]))
                    .tuples())
            members.update({key: (rid, state) for rid, key, state in plain_rows(rows)})
    out = []
    for activity in activities:
        found = members.get(activity.email_key)
        out.append(ActivityRow(activity, mlist.entity if found and mlist else None,
                               found[0] if found else None, found[1] if found else None))
    return out


def contact_status(integration: Integration, email: str) -> str:
    """The contact's account-wide Dotmailer status as last read ("" if unknown)."""
    row = DotmailerContact.get_or_none(DotmailerContact.integration == integration,
                                       DotmailerContact.email_key == email.strip().lower())
    return row.status if row is not None else ""
