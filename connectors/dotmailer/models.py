"""The Dotmailer mirror: address books, contacts, export state, imports, fields, campaigns.

These tables belong to the Dotmailer connector, with their own migration series ``dotmailer``
(``core.migrations``), registered when this module is imported; the store's own tables
(``core.models.store``) never point at them. A contact is unique per integration by its lower-cased
email and by its remote id. A ``BookMember`` is one contact's membership of one address book, seen
from both sides: what the service last said (``in_book``, ``remote_status``) and what ListBridge
last sent (``export_status``, ``sent_hash``, ``import_``).
"""

from __future__ import annotations

import json
from typing import Any

import peewee as pw

from core.clock import utcnow
from core.db import BaseModel
from core.migrations import series
from core.models.store import MarketingList
from core.models.sync import Integration

SYSTEM_BOOK_NAMES = ("all contacts", "test")

# Export states of a membership: what the next export must do with it.
EXPORT_NEW = "new"  # the contact has no remote id yet
EXPORT_ADD = "add"  # the contact exists remotely but is not in this book
EXPORT_UPDATE = "update"  # mapped values changed since the last export
EXPORT_DONE = "exported"  # in the book with the values last sent
EXPORT_REJECTED = "rejected"  # refused (invalid entry, failed 3 times): never re-sent automatically
EXPORT_WATCHDOG = "watchdog"  # in an import the Data Watchdog refused: never re-sent automatically
EXPORT_QUEUED = "queued"  # failed alone: the engine's queue retries it (3 attempts), not the export
EXPORT_STATES = (EXPORT_NEW, EXPORT_ADD, EXPORT_UPDATE, EXPORT_DONE, EXPORT_REJECTED,
                 EXPORT_WATCHDOG, EXPORT_QUEUED)
REFUSED_STATES = (EXPORT_REJECTED, EXPORT_WATCHDOG)  # what the admin's "Retry rejected" sends again

IMPORT_PENDING = "NotFinished"
IMPORT_SENDING = "Sending"  # ours: written before the file is sent; left over only by a crash
IMPORT_FINAL = ("Finished", "RejectedByWatchdog", "InvalidFileFormat", "Failed",
                "ExceedsAllowedContactLimit", "Unknown", "NotAvailableInThisVersion")


def is_system_book(name: str | None) -> bool:
    """All Contacts and Test are never offered nor imported, whatever the API returns."""
    return (name or "").strip().lower() in SYSTEM_BOOK_NAMES


class AddressBook(BaseModel):
    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="address_books")
    remote_id = pw.BigIntegerField()
    name = pw.CharField(max_length=255)
    visibility = pw.CharField(max_length=16, default="Private")
    contacts_count = pw.IntegerField(default=0)  # as E2 last said
    # One book per list and one list per book.
    mlist = pw.ForeignKeyField(MarketingList, null=True, unique=True, on_delete="SET NULL",
                               backref="dotmailer_books")
    integration_id: int  # the keys' values, as peewee adds them (see ``core.db.BaseModel``)
    mlist_id: int | None
    connected_at = pw.DateTimeField(null=True)
    # Per-book watermarks (service time): E7 contacts, E8 unsubscribes; reconciliation date.
    contacts_synced_at = pw.DateTimeField(null=True)
    unsubscribes_synced_at = pw.DateTimeField(null=True)
    reconciled_at = pw.DateTimeField(null=True)
    export_paused = pw.CharField(default="", max_length=255)  # why export stopped, if it did
    seen_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "dotmailer_address_book"
        indexes = ((("integration", "remote_id"), True),)

    def __str__(self) -> str:
        return self.name


class DotmailerContact(BaseModel):
    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="dotmailer_contacts")
    remote_id = pw.BigIntegerField(null=True)  # None until the service has given it
    email = pw.CharField(max_length=320)
    email_key = pw.CharField(max_length=320)
    status = pw.CharField(max_length=32, default="")  # the account-wide status
    opt_in_type = pw.CharField(max_length=32, default="")
    email_type = pw.CharField(max_length=32, default="")
    datafields_json = pw.TextField(null=True)  # {"FIRSTNAME": "Alex", ...}; None: not read
    suppressed_at = pw.DateTimeField(null=True)
    updated = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "dotmailer_contact"
        indexes = (
            (("integration", "email_key"), True),
            (("integration", "remote_id"), True),
        )

    @property
    def datafields(self) -> dict[str, Any]:
        return dict(json.loads(self.datafields_json or "{}"))


class DotmailerImport(BaseModel):
    """One contacts import (E12) and what became of it."""

    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="dotmailer_imports")
    book = pw.ForeignKeyField(AddressBook, null=True, on_delete="SET NULL", backref="imports")
    book_id: int | None  # the key's value, as peewee adds it (see ``core.db.BaseModel``)
    remote_id = pw.CharField(max_length=64, index=True)  # the GUID
    file_name = pw.CharField(max_length=255, default="")
    status = pw.CharField(max_length=32, default=IMPORT_PENDING, index=True)
    rows = pw.IntegerField(default=0)
    polls = pw.IntegerField(default=0)
    failures = pw.IntegerField(default=0)  # poll calls that failed
    created = pw.DateTimeField(default=utcnow)  # local clock
    started_at = pw.DateTimeField(null=True)  # service clock, for the contact watermark
    next_poll_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    report_json = pw.TextField(default="{}")
    message = pw.TextField(default="")

    @property
    def report(self) -> dict[str, int]:
        return dict(json.loads(self.report_json or "{}"))

    class Meta:
        table_name = "dotmailer_import"



class BookMember(BaseModel):
    book = pw.ForeignKeyField(AddressBook, on_delete="CASCADE", backref="members")
    contact = pw.ForeignKeyField(DotmailerContact, on_delete="CASCADE", backref="memberships")
    # What the service says: listed by E6/E7, and the membership's own status.
    in_book = pw.BooleanField(default=False)
    remote_status = pw.CharField(max_length=32, default="")  # Subscribed, Unsubscribed, Removed...
    unsubscribed_at = pw.DateTimeField(null=True)
    # What ListBridge sent.
    export_status = pw.CharField(max_length=16, default=EXPORT_NEW, index=True)
    sent_hash = pw.CharField(max_length=40, default="")
    pending_hash = pw.CharField(max_length=40, default="")
    import_ = pw.ForeignKeyField(DotmailerImport, null=True, on_delete="SET NULL",
                                 column_name="import_id", backref="members")
    book_id: int  # the keys' values, as peewee adds them (see ``core.db.BaseModel``)
    contact_id: int
    import_id: int | None  # ``import_``'s column name, which peewee uses for the value too
    failures = pw.IntegerField(default=0)  # imports that failed for this row
    last_error = pw.TextField(default="")
    exported_at = pw.DateTimeField(null=True)
    updated = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "dotmailer_book_member"
        indexes = ((("book", "contact"), True),)


DATAFIELD_TYPES = ("String", "Numeric", "Date", "Boolean")


class DataField(BaseModel):
    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="dotmailer_fields")
    name = pw.CharField(max_length=64)  # as the account spells it
    type = pw.CharField(max_length=16, default="String")
    visibility = pw.CharField(max_length=16, default="Private")
    default_value = pw.TextField(null=True)
    seen_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "dotmailer_data_field"
        indexes = ((("integration", "name"), True),)


DEFAULT_MAPPINGS = (
    ("first_name", "FIRSTNAME"),
    ("last_name", "LASTNAME"),
    ("full_name", "FULLNAME"),  # first and last name joined with a space
)


class DataFieldMapping(BaseModel):
    """A store field sent to a data field, per entity kind (contact, lead)."""

    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="dotmailer_mappings")
    entity = pw.CharField(max_length=16, default="contact")
    entity_field = pw.CharField(max_length=64)
    datafield = pw.CharField(max_length=64)
    priority = pw.IntegerField(default=0)
    two_way = pw.BooleanField(default=False)
    created = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "dotmailer_field_mapping"
        indexes = ((("integration", "entity", "datafield"), True),)


class EmailCampaign(BaseModel):
    integration = pw.ForeignKeyField(Integration, on_delete="CASCADE", backref="email_campaigns")
    remote_id = pw.BigIntegerField()
    name = pw.CharField(max_length=255, default="")
    subject = pw.CharField(max_length=255, default="")
    from_name = pw.CharField(max_length=255, default="")
    from_email = pw.CharField(max_length=320, default="")
    reply_action = pw.CharField(max_length=32, default="")
    is_split_test = pw.BooleanField(default=False)
    status = pw.CharField(max_length=32, default="", index=True)
    deleted = pw.BooleanField(default=False)
    date_sent = pw.DateTimeField(null=True)
    activities_synced_at = pw.DateTimeField(null=True)  # service time of the last activity read
    summary_synced_at = pw.DateTimeField(null=True)
    seen_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "dotmailer_campaign"
        indexes = ((("integration", "remote_id"), True),)

    def __str__(self) -> str:
        return self.name


class EmailCampaignBook(BaseModel):
    campaign = pw.ForeignKeyField(EmailCampaign, on_delete="CASCADE", backref="book_links")
    book = pw.ForeignKeyField(AddressBook, on_delete="CASCADE", backref="campaign_links")

    class Meta:
        table_name = "dotmailer_campaign_book"
        indexes = ((("campaign", "book"), True),)


# Every field of the E21 summary (§2.1), as (attribute, API key, kind).
def _summary_fields() -> list[tuple[str, str, str]]:
    fields = [("date_sent", "dateSent", "date")]
    ints = ["numUniqueOpens", "numUniqueTextOpens", "numTotalUniqueOpens"]
    for base in ("Opens", "Clicks"):
        ints += [f"num{base}", f"numText{base}", f"numTotal{base}"]
    ints += ["numPageViews", "numTotalPageViews", "numTextPageViews", "numForwards",
             "numTextForwards"]
    for base in ("EstimatedForwards", "Replies", "HardBounces", "SoftBounces", "Unsubscribes",
                 "IspComplaints", "MailBlocks", "Sent", "Delivered"):
        ints += [f"num{base}", f"numText{base}", f"numTotal{base}"]
    ints += ["numRecipientsClicked", "numOrders", "numAssistedOrders"]
    floats = ["percentageDelivered", "percentageUniqueOpens", "percentageOpens",
              "percentageUnsubscribes", "percentageReplies", "percentageHardBounces",
              "percentageSoftBounces", "percentageUsersClicked", "percentageClicksToOpens",
              "conversionRate"]
    texts = ["revenue", "assistedRevenue"]
    for key in ints:
        fields.append((_snake(key), key, "int"))
    for key in floats:
        fields.append((_snake(key), key, "float"))
    for key in texts:
        fields.append((_snake(key), key, "text"))
    return fields


def _snake(name: str) -> str:
    out = []
    for char in name:
        if char.isupper():
            out.append("_" + char.lower())
        else:
            out.append(char)
    return "".join(out)


SUMMARY_FIELDS = _summary_fields()


class CampaignSummary(BaseModel):
    """E21 for one campaign: every known field, plus the whole answer as JSON (new fields too)."""

    campaign = pw.ForeignKeyField(EmailCampaign, unique=True, on_delete="CASCADE",
                                  backref="summaries")
    fetched_at = pw.DateTimeField(default=utcnow)
    raw_json = pw.TextField(default="{}")
    date_sent = pw.DateTimeField(null=True)
    # ...and one column per count, percentage and revenue field of SUMMARY_FIELDS, added below:
    # num_opens, num_unique_opens, percentage_delivered, revenue ("$0.00"), conversion_rate...

    class Meta:
        table_name = "dotmailer_campaign_summary"


_field: pw.Field
for _attr, _key, _kind in SUMMARY_FIELDS:
    if _kind == "date":
        continue  # date_sent, declared above
    if _kind == "int":
        _field = pw.IntegerField(default=0)
    elif _kind == "float":
        _field = pw.FloatField(default=0.0)
    else:
        _field = pw.CharField(max_length=64, default="")  # revenue is text: "$0.00"
    CampaignSummary._meta.add_field(_attr, _field)


class ContactActivity(BaseModel):
    """One contact's activity on one campaign (E19/E20); joined to list members by email."""

    campaign = pw.ForeignKeyField(EmailCampaign, on_delete="CASCADE", backref="activities")
    remote_contact_id = pw.BigIntegerField()
    email = pw.CharField(max_length=320, default="")
    email_key = pw.CharField(max_length=320, default="", index=True)
    num_opens = pw.IntegerField(default=0)
    num_page_views = pw.IntegerField(default=0)
    num_clicks = pw.IntegerField(default=0)
    num_forwards = pw.IntegerField(default=0)
    num_estimated_forwards = pw.IntegerField(default=0)
    num_replies = pw.IntegerField(default=0)
    date_sent = pw.DateTimeField(null=True)
    date_first_opened = pw.DateTimeField(null=True)
    date_last_opened = pw.DateTimeField(null=True)
    first_open_ip = pw.CharField(max_length=64, default="")
    unsubscribed = pw.BooleanField(default=False)
    soft_bounced = pw.BooleanField(default=False)
    hard_bounced = pw.BooleanField(default=False)
    updated = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "dotmailer_activity"
        indexes = ((("campaign", "remote_contact_id"), True),)


DOTMAILER_MODELS: list[type[BaseModel]] = [
    AddressBook,
    DotmailerContact,
    DotmailerImport,
    BookMember,
    DataField,
    DataFieldMapping,
    EmailCampaign,
    EmailCampaignBook,
    CampaignSummary,
    ContactActivity,
]


# Dotmailer statuses that mean the mail came back (INES's "NPai from bounces", through
# ``core.bounces``).
HARD_BOUNCE_STATUSES = ("HardBounced",)


def hard_bounced(key: str) -> bool:
    """A Dotmailer integration saw this address (an email key) hard-bounce."""
    return DotmailerContact.select().where(
        DotmailerContact.email_key == key,
        DotmailerContact.status.in_(HARD_BOUNCE_STATUSES)).exists()


# The connector's own migration series; step 1 was number 3 of the global series before issue 8.
MIGRATIONS = series("dotmailer", legacy={3: 1})


@MIGRATIONS.step(1, "mirror tables")
def _tables(db: pw.Database) -> None:
    db.create_tables(DOTMAILER_MODELS, safe=True)
