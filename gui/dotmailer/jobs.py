"""The Dotmailer forms' work, run on worker threads (``gui.workers.start_job``).

Every function here reads or writes the database, and those marked *network* call Dotmailer
through ``connectors.dotmailer.service`` (never HTTP here). They return frozen dataclasses of plain
values, so nothing the GUI thread touches afterwards lazily queries the database. A refusal the
admin can act on comes back as an ``Outcome`` with the service's own sentence; only bugs raise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw

from connectors.base import ConnectorError
from connectors.dotmailer import service
from connectors.dotmailer.models import (
    DEFAULT_MAPPINGS,
    AddressBook,
    CampaignSummary,
    ContactActivity,
    DataFieldMapping,
    EmailCampaign,
    EmailCampaignBook,
)
from core import secrets as keyring_secrets
from core.db import database_proxy
from core.models.store import MarketingList
from core.models.sync import Integration
from core.store import fields_for

log = logging.getLogger("listbridge.gui.dotmailer")

ACTIVITY_LIMIT = 2000  # activity rows shown per campaign (the most opens first)
KIND_TO_TYPE = {"text": "String", "choice": "String", "number": "Numeric", "date": "Date",
                "boolean": "Boolean"}
PERSON_KINDS = ("contact", "lead")  # the kinds of list that connect to Dotmailer


@dataclass(frozen=True)
class Outcome:
    """What an action did: ``ok``, or the admin's sentence saying why not."""

    ok: bool
    message: str = ""
    value: Any = None


def _problem(exc: Exception) -> str:
    if isinstance(exc, ConnectorError):
        return exc.admin_message
    return str(exc) or type(exc).__name__


# -- a list's connection -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    id: int
    name: str
    detail: str = ""


@dataclass(frozen=True)
class ConnectionState:
    """The Dotmailer connection of one list, as its page shows it."""

    integration_id: int
    integration_name: str
    book_id: int  # the book's remote id
    book_name: str
    connected_at: datetime | None
    last_sync_at: datetime | None
    last_status: str
    exported: int
    waiting: int
    sending: int
    rejected: int
    watchdog_rejected: int
    queued: int
    export_paused: str


@dataclass(frozen=True)
class ListState:
    list_id: int
    list_name: str
    has_email: bool
    integrations: tuple[Choice, ...]
    connection: ConnectionState | None

    @property
    def connectable(self) -> bool:
        """Connect to Dotmailer is offered: a list with emails and a Dotmailer integration."""
        return self.has_email and bool(self.integrations) and self.connection is None


def integration_choices() -> tuple[Choice, ...]:
    return tuple(Choice(i.id, i.name, "" if i.active else "inactive")
                 for i in service.dotmailer_integrations(active_only=False))


def list_state(list_id: int) -> ListState:
    mlist = MarketingList.get_by_id(list_id)
    connection = service.list_connection(mlist)
    state = None
    if connection is not None:
        integration = connection.integration
        state = ConnectionState(
            integration.id, integration.name, connection.book_id, connection.book.name,
            connection.connected_at, connection.last_sync_at, connection.last_status or "",
            connection.exported, max(0, connection.waiting), connection.sending,
            connection.rejected, connection.watchdog_rejected, connection.queued,
            connection.export_paused or "")
    return ListState(mlist.id, mlist.name, mlist.has_email, integration_choices(), state)


def _book_choices(integration: Integration, mlist: MarketingList) -> tuple[Choice, ...]:
    return tuple(Choice(int(b.remote_id), b.name,
                        str(b.contacts_count) if b.contacts_count else "")
                 for b in service.connectable_books(integration, mlist))


@dataclass(frozen=True)
class Books:
    integration_id: int
    books: tuple[Choice, ...]
    ever_read: bool  # the integration's books were read at least once (by a sync or a refresh)
    message: str = ""  # why the refresh failed, when it did


def local_books(integration_id: int, list_id: int) -> Books:
    """The Address Book selector from what the last sync or refresh stored; no network."""
    integration = Integration.get_by_id(integration_id)
    mlist = MarketingList.get_by_id(list_id)
    ever = AddressBook.select().where(AddressBook.integration == integration).exists()
    return Books(integration_id, _book_choices(integration, mlist), ever)


def refresh_books(integration_id: int, list_id: int) -> Books:
    """*Network.* Read the address books from Dotmailer now, then the selector."""
    integration = Integration.get_by_id(integration_id)
    mlist = MarketingList.get_by_id(list_id)
    try:
        service.refresh_books(integration)
    except (ConnectorError, keyring_secrets.NoKeyringError) as exc:
        ever = AddressBook.select().where(AddressBook.integration == integration).exists()
        return Books(integration_id, _book_choices(integration, mlist), ever, _problem(exc))
    return Books(integration_id, _book_choices(integration, mlist), True)


def connect(list_id: int, integration_id: int, book_id: int) -> Outcome:
    """Connect (or, from Connection Settings, move) the list to the book; the integration id."""
    mlist = MarketingList.get_by_id(list_id)
    integration = Integration.get_by_id(integration_id)
    current = AddressBook.get_or_none(AddressBook.mlist == mlist)
    if (current is not None and current.integration_id == integration.id
            and int(current.remote_id) == int(book_id)):
        return Outcome(True, "", integration.id)  # nothing changed
    try:
        with database_proxy.atomic():
            if current is not None:
                service.disconnect_list(mlist)
            book = service.connect_list(mlist, integration, book_id)
    except service.ConnectRefused as exc:
        return Outcome(False, str(exc))
    return Outcome(True, book.name, integration.id)


def disconnect(list_id: int) -> Outcome:
    book = service.disconnect_list(MarketingList.get_by_id(list_id))
    return Outcome(book is not None, book.name if book is not None else "")


def retry_rejected(list_id: int) -> int:
    return service.retry_rejected(MarketingList.get_by_id(list_id))


def resume_export(integration_id: int) -> int:
    return service.resume_export(Integration.get_by_id(integration_id))


# -- data fields and their mappings ------------------------------------------------------------------

@dataclass(frozen=True)
class LocalField:
    key: str
    label: str
    kind: str
    custom: bool


@dataclass(frozen=True)
class MappingRow:
    id: int
    entity: str
    entity_field: str
    field_label: str
    datafield: str
    exists: bool  # the data field exists in Dotmailer (as last read): only then is it sent
    is_default: bool


@dataclass(frozen=True)
class DataFieldRow:
    id: int
    name: str
    type: str
    visibility: str
    default_value: str
    mapped_from: tuple[str, ...]  # "Contact: First name", ...


@dataclass(frozen=True)
class DataFieldsData:
    integration_id: int
    integration_name: str
    mappings: tuple[MappingRow, ...]
    fields: tuple[DataFieldRow, ...]
    local_fields: dict[str, tuple[LocalField, ...]]
    ever_read: bool
    message: str = ""  # the refresh's failure, when there was one


FULL_NAME = LocalField("full_name", "Full name (first and last)", "text", False)


def local_fields(entity: str) -> tuple[LocalField, ...]:
    """What a mapping may send: the kind's fields (standard then custom) and the full name."""
    out = [LocalField(f.key, f.label, f.kind, f.custom) for f in fields_for(entity)
           if f.key not in ("email", "company", "owner", "primary_contact")]
    names = [f.key for f in out]
    out.insert(names.index("last_name") + 1 if "last_name" in names else 0, FULL_NAME)
    return tuple(out)


def load_data_fields(integration_id: int, message: str = "") -> DataFieldsData:
    integration = Integration.get_by_id(integration_id)
    fields = {entity: local_fields(entity) for entity in PERSON_KINDS}
    labels = {(entity, f.key): f"{f.label} (custom)" if f.custom else f.label
              for entity, group in fields.items() for f in group}
    mapped = service.mappings(integration)  # the default mappings the first time
    remote = service.data_fields(integration)
    remote_names = {f.name.lower() for f in remote}
    defaults = set(DEFAULT_MAPPINGS)
    mappings = []
    mapped_from: dict[str, list[str]] = {}
    for m in mapped:
        label = labels.get((m.entity, m.entity_field), m.entity_field)
        mappings.append(MappingRow(m.id, m.entity, m.entity_field, label, m.datafield,
                                   m.datafield.lower() in remote_names,
                                   (m.entity_field, m.datafield) in defaults))
        mapped_from.setdefault(m.datafield.lower(), []).append(
            f"{m.entity.capitalize()}: {label}")
    rows = tuple(DataFieldRow(f.id, f.name, f.type, f.visibility, f.default_value or "",
                              tuple(mapped_from.get(f.name.lower(), ()))) for f in remote)
    return DataFieldsData(integration.id, integration.name, tuple(mappings), rows, fields,
                          bool(remote), message)


def refresh_data_fields(integration_id: int) -> DataFieldsData:
    """*Network.* Read the account's data fields (E22) now, then everything the dialog shows."""
    integration = Integration.get_by_id(integration_id)
    try:
        service.refresh_data_fields(integration)
    except (ConnectorError, keyring_secrets.NoKeyringError) as exc:
        return load_data_fields(integration_id, _problem(exc))
    return load_data_fields(integration_id)


@dataclass(frozen=True)
class NewMapping:
    integration_id: int
    entity: str
    entity_field: str
    datafield: str
    create: bool = False  # create the data field in Dotmailer first
    type: str = "String"
    default_value: str | None = None


check_field_name = service.check_field_name  # the panel checks a new name as it is typed


def add_mapping(new: NewMapping) -> Outcome:
    """Map a store field to a data field, creating the data field in Dotmailer when asked
    (*network*). The mapping's priority is after the kind's others."""
    integration = Integration.get_by_id(new.integration_id)
    try:
        mapping = service.add_mapping(integration, new.entity, new.entity_field, new.datafield,
                                      create=new.create, type_=new.type,
                                      default=new.default_value)
    except service.MappingRefused as exc:
        return Outcome(False, str(exc))
    except (ConnectorError, keyring_secrets.NoKeyringError) as exc:
        return Outcome(False, _problem(exc))
    return Outcome(True, mapping.datafield, mapping.id)


def remove_mapping(mapping_id: int) -> int:
    mapping = DataFieldMapping.get_or_none(DataFieldMapping.id == mapping_id)
    if mapping is None:
        return 0
    return int(service.remove_mapping(mapping.integration, mapping_id))


@dataclass(frozen=True)
class Deletion:
    ok: bool
    message: str = ""
    dependencies: tuple[str, ...] = ()  # "Campaign 15662", ...


def _dependency_text(dep: dict[str, Any]) -> str:
    lowered = {str(k).lower(): v for k, v in dep.items()}
    kind = str(lowered.get("type") or lowered.get("name") or "Object")
    ident = lowered.get("objectid", lowered.get("id"))
    return f"{kind} {ident}" if ident is not None else kind


def delete_data_field(integration_id: int, name: str) -> Deletion:
    """*Network.* Delete the data field in Dotmailer, and the mappings that send it. When
    Dotmailer refuses because something uses it (a 409, D4), the dependencies say what."""
    from connectors.dotmailer.client import FieldInUse

    integration = Integration.get_by_id(integration_id)
    try:
        service.delete_data_field(integration, name)  # and the mappings that send it
    except FieldInUse as exc:
        deps = tuple(_dependency_text(d) for d in getattr(exc, "dependencies", []) or [])
        return Deletion(False, exc.admin_message, deps)
    except (ConnectorError, keyring_secrets.NoKeyringError) as exc:
        return Deletion(False, _problem(exc))
    return Deletion(True, name)


# -- email campaigns ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignRow:
    id: int
    name: str
    subject: str
    status: str
    date_sent: datetime | None
    integration_id: int
    integration: str
    lists: str
    deleted: bool
    has_summary: bool


@dataclass(frozen=True)
class CampaignsData:
    generation: int
    integrations: tuple[Choice, ...]
    lists: tuple[Choice, ...]  # the lists connected to an address book
    rows: tuple[CampaignRow, ...]


def connected_lists() -> tuple[Choice, ...]:
    query = (MarketingList.select(MarketingList.id, MarketingList.name)
             .join(AddressBook, on=(AddressBook.mlist == MarketingList.id))
             .order_by(pw.fn.LOWER(MarketingList.name)).tuples())
    return tuple(Choice(list_id, name) for list_id, name in query)


def load_campaigns(generation: int, integration_id: int | None = None,
                   list_id: int | None = None) -> CampaignsData:
    """Every imported campaign (deleted ones too, marked), newest first, with its lists;
    only one integration's, or only those sent to one list's address book, when asked."""
    integrations = integration_choices()
    query = (EmailCampaign.select(EmailCampaign, Integration)
             .join(Integration, on=(EmailCampaign.integration == Integration.id)))
    if integration_id is not None:
        query = query.where(EmailCampaign.integration == integration_id)
    if list_id is not None:
        sent_to = (EmailCampaignBook.select(EmailCampaignBook.campaign).join(AddressBook)
                   .where(AddressBook.mlist == list_id))
        query = query.where(EmailCampaign.id.in_(sent_to))
    campaigns = list(query.order_by(EmailCampaign.date_sent.desc(nulls="LAST"),
                                    EmailCampaign.remote_id.desc()))
    lists: dict[int, list[str]] = {}
    books: dict[int, list[str]] = {}
    ids = [c.id for c in campaigns]
    for start in range(0, len(ids), 500):
        links = (EmailCampaignBook.select(EmailCampaignBook.campaign, AddressBook.name,
                                          MarketingList.name)
                 .join(AddressBook)
                 .join(MarketingList, pw.JOIN.LEFT_OUTER,
                       on=(AddressBook.mlist == MarketingList.id))
                 .where(EmailCampaignBook.campaign.in_(ids[start:start + 500])).tuples())
        for campaign_id, book_name, list_name in links:
            if list_name:
                lists.setdefault(campaign_id, []).append(list_name)
            books.setdefault(campaign_id, []).append(book_name)
    summarized = {c for (c,) in CampaignSummary.select(CampaignSummary.campaign).tuples()}
    rows = []
    for c in campaigns:
        names = sorted(lists.get(c.id, []), key=str.lower)
        if not names and books.get(c.id):
            names = [f"({b})" for b in sorted(books[c.id], key=str.lower)]
        rows.append(CampaignRow(c.id, c.name, c.subject, c.status, c.date_sent,
                                c.integration.id, c.integration.name, ", ".join(names),
                                bool(c.deleted), c.id in summarized))
    return CampaignsData(generation, integrations, connected_lists(), tuple(rows))


@dataclass(frozen=True)
class Stats:
    """The numbers of a campaign's summary (E21) the page shows, totals over HTML and text."""

    sent: int = 0
    delivered: int = 0
    opens: int = 0
    unique_opens: int = 0
    clicks: int = 0
    clickers: int = 0
    page_views: int = 0
    unsubscribes: int = 0
    hard_bounces: int = 0
    soft_bounces: int = 0
    complaints: int = 0
    pct_delivered: float = 0.0
    pct_unique_opens: float = 0.0
    pct_clicked: float = 0.0
    pct_unsubscribes: float = 0.0
    pct_hard_bounces: float = 0.0
    pct_soft_bounces: float = 0.0
    fetched_at: datetime | None = None


def stats_of(summary: CampaignSummary) -> Stats:
    """The columns are added to ``CampaignSummary`` from ``SUMMARY_FIELDS``: read by name."""

    def num(name: str) -> int:
        return int(getattr(summary, name, 0) or 0)

    def total(name: str) -> int:  # HTML and text together (the plain count is HTML only)
        return max(num(f"num_total_{name}"), num(f"num_{name}"))

    def share(name: str) -> float:
        return float(getattr(summary, f"percentage_{name}", 0.0) or 0.0)

    return Stats(
        sent=total("sent"), delivered=total("delivered"), opens=total("opens"),
        unique_opens=max(num("num_total_unique_opens"), num("num_unique_opens")),
        clicks=total("clicks"), clickers=num("num_recipients_clicked"),
        page_views=total("page_views"), unsubscribes=total("unsubscribes"),
        hard_bounces=total("hard_bounces"), soft_bounces=total("soft_bounces"),
        complaints=total("isp_complaints"),
        pct_delivered=share("delivered"), pct_unique_opens=share("unique_opens"),
        pct_clicked=share("users_clicked"), pct_unsubscribes=share("unsubscribes"),
        pct_hard_bounces=share("hard_bounces"), pct_soft_bounces=share("soft_bounces"),
        fetched_at=summary.fetched_at)


@dataclass(frozen=True)
class ActivityLine:
    id: int
    email: str
    opens: int
    clicks: int
    page_views: int
    unsubscribed: bool
    hard_bounced: bool
    soft_bounced: bool
    date_sent: datetime | None
    first_opened: datetime | None
    last_opened: datetime | None
    campaign: str = ""  # on a contact's page: which campaign
    integration: str = ""


def _line(a: ContactActivity, campaign: str = "", integration: str = "") -> ActivityLine:
    return ActivityLine(a.id, a.email, a.num_opens, a.num_clicks, a.num_page_views,
                        bool(a.unsubscribed), bool(a.hard_bounced), bool(a.soft_bounced),
                        a.date_sent, a.date_first_opened, a.date_last_opened, campaign,
                        integration)


@dataclass(frozen=True)
class CampaignDetail:
    campaign_id: int
    stats: Stats | None
    activities: tuple[ActivityLine, ...]
    total_activities: int


def load_campaign_detail(campaign_id: int) -> CampaignDetail:
    campaign = EmailCampaign.get_or_none(EmailCampaign.id == campaign_id)
    if campaign is None:
        return CampaignDetail(campaign_id, None, (), 0)
    summary = service.campaign_summary(campaign)
    rows = service.campaign_activities(campaign, limit=ACTIVITY_LIMIT)
    total = ContactActivity.select().where(ContactActivity.campaign == campaign).count()
    return CampaignDetail(campaign_id, stats_of(summary) if summary is not None else None,
                          tuple(_line(r.activity) for r in rows), total)


@dataclass(frozen=True)
class ContactActivities:
    email: str
    dotmailer: bool  # a Dotmailer integration exists (else the tab says how this fills)
    lines: tuple[ActivityLine, ...]


def contact_activities(email: str) -> ContactActivities:
    """Every campaign activity of this email address, newest campaign first."""
    key = (email or "").strip().lower()
    exists = Integration.select().where(Integration.type == service.TYPE_NAME).exists()
    if not key:
        return ContactActivities(email, exists, ())
    query = (ContactActivity.select(ContactActivity, EmailCampaign, Integration)
             .join(EmailCampaign)
             .join(Integration, on=(EmailCampaign.integration == Integration.id))
             .where(ContactActivity.email_key == key)
             .order_by(EmailCampaign.date_sent.desc(nulls="LAST"), ContactActivity.id.desc()))
    lines = tuple(_line(a, a.campaign.name, a.campaign.integration.name) for a in query)
    return ContactActivities(email, exists, lines)
