"""The local marketing store: people, companies, lists, campaigns, newsletter types.

Emails are unique per kind, compared case-insensitively: ``email_key`` holds the trimmed,
lower-cased address and carries the unique index; ``email`` keeps what the admin typed.
"""

from __future__ import annotations

import json
from typing import Any

import peewee as pw

from core.clock import utcnow
from core.db import BaseModel

ENTITY_KINDS = ("contact", "lead", "company")


def email_key(email: str | None) -> str | None:
    if email is None:
        return None
    key = email.strip().lower()
    return key or None


class User(BaseModel):
    """A person who owns records; the person at the desk is the default owner."""

    username = pw.CharField(unique=True, max_length=150)
    display_name = pw.CharField(default="", max_length=255)
    email = pw.CharField(default="", max_length=320)
    is_default = pw.BooleanField(default=False)
    created = pw.DateTimeField(default=utcnow)

    def __str__(self) -> str:
        return self.display_name or self.username


class TimestampedModel(BaseModel):
    created = pw.DateTimeField(default=utcnow, index=True)
    updated = pw.DateTimeField(default=utcnow, index=True)

    def save(self, *args: Any, **kwargs: Any) -> int:
        self.updated = utcnow()
        return super().save(*args, **kwargs)


class AddressMixin(pw.Model):
    street = pw.CharField(default="", max_length=255)
    street2 = pw.CharField(default="", max_length=255)
    postal_code = pw.CharField(default="", max_length=32)
    city = pw.CharField(default="", max_length=128)
    state = pw.CharField(default="", max_length=128)
    country = pw.CharField(default="", max_length=128)


class Company(TimestampedModel, AddressMixin):
    name = pw.CharField(max_length=255, index=True)
    email = pw.CharField(null=True, max_length=320)
    email_key = pw.CharField(null=True, unique=True, max_length=320)
    phone = pw.CharField(default="", max_length=64)
    fax = pw.CharField(default="", max_length=64)
    website = pw.CharField(default="", max_length=255)
    primary_contact = pw.DeferredForeignKey("Contact", null=True, on_delete="SET NULL")
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    active = pw.BooleanField(default=True)
    do_not_contact = pw.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class PersonMixin(pw.Model):
    email = pw.CharField(null=True, max_length=320)
    email_key = pw.CharField(null=True, unique=True, max_length=320)
    salutation = pw.CharField(default="", max_length=32)
    first_name = pw.CharField(default="", max_length=255, index=True)
    last_name = pw.CharField(default="", max_length=255, index=True)
    job_title = pw.CharField(default="", max_length=255)
    phone = pw.CharField(default="", max_length=64)
    mobile = pw.CharField(default="", max_length=64)
    active = pw.BooleanField(default=True)
    do_not_contact = pw.BooleanField(default=False)
    points = pw.IntegerField(default=0)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Contact(TimestampedModel, PersonMixin, AddressMixin):
    company = pw.ForeignKeyField(Company, null=True, on_delete="SET NULL", backref="contacts")
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    birth_date = pw.DateField(null=True)
    company_id: int | None  # the keys' values, as peewee adds them (see ``core.db.BaseModel``)
    owner_id: int | None

    def __str__(self) -> str:
        return self.full_name or (self.email or "")


class Lead(TimestampedModel, PersonMixin, AddressMixin):
    company_name = pw.CharField(default="", max_length=255)
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    status = pw.CharField(default="open", max_length=32)  # open, qualified, disqualified
    source = pw.CharField(default="", max_length=64)

    def __str__(self) -> str:
        return self.full_name or (self.email or "")


StoreModel = type[Contact] | type[Lead] | type[Company]
MODEL_FOR_KIND: dict[str, StoreModel] = {
    "contact": Contact,
    "lead": Lead,
    "company": Company,
}

CUSTOM_FIELD_KINDS = ("text", "number", "boolean", "date", "choice")


class CustomField(BaseModel):
    """A field the admin adds to contacts, leads or companies."""

    entity = pw.CharField(max_length=16)  # contact, lead, company
    key = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    kind = pw.CharField(max_length=16, default="text")
    choices_json = pw.TextField(default="[]")
    position = pw.IntegerField(default=0)
    created = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("entity", "key"), True),)

    @property
    def choices(self) -> list[str]:
        return list(json.loads(self.choices_json or "[]"))

    @choices.setter
    def choices(self, values: list[str]) -> None:
        self.choices_json = json.dumps(list(values))


class CustomValue(BaseModel):
    """One record's value of one custom field, kept as text and read back by the field's kind."""

    field = pw.ForeignKeyField(CustomField, on_delete="CASCADE", backref="values")
    field_id: int
    record_id = pw.IntegerField(index=True)
    value = pw.TextField(null=True)

    class Meta:
        indexes = ((("field", "record_id"), True),)


class NewsletterType(BaseModel):
    """One kind of newsletter a person can accept (the CleverReach checklist's entries)."""

    code = pw.IntegerField(unique=True)
    description = pw.CharField(max_length=255)
    position = pw.IntegerField(default=0)


LIST_TYPES = ("static", "dynamic")
MEMBER_STATES = ("subscribed", "unsubscribed", "removed")


class MarketingList(TimestampedModel):
    name = pw.CharField(unique=True, max_length=255)
    description = pw.TextField(default="")
    entity = pw.CharField(max_length=16, default="contact")
    list_type = pw.CharField(max_length=16, default="static")
    filter_json = pw.TextField(default="")
    newsletter_type = pw.ForeignKeyField(NewsletterType, null=True, on_delete="SET NULL")
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")
    last_recomputed = pw.DateTimeField(null=True)

    def __str__(self) -> str:
        return self.name

    @property
    def has_email(self) -> bool:
        """Contacts and leads carry an email field; only such lists connect to mail services."""
        return self.entity in ("contact", "lead")


class ListMember(BaseModel):
    """A person or company on a marketing list, with a state and when it last changed."""

    mlist = pw.ForeignKeyField(MarketingList, on_delete="CASCADE", backref="members")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    lead = pw.ForeignKeyField(Lead, null=True, on_delete="CASCADE")
    company = pw.ForeignKeyField(Company, null=True, on_delete="CASCADE")
    state = pw.CharField(max_length=16, default="subscribed", index=True)
    mlist_id: int
    contact_id: int | None
    lead_id: int | None
    company_id: int | None
    added_at = pw.DateTimeField(default=utcnow)
    state_changed_at = pw.DateTimeField(default=utcnow, index=True)
    unsubscribed_at = pw.DateTimeField(null=True)
    removed_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = (
            (("mlist", "contact"), True),
            (("mlist", "lead"), True),
            (("mlist", "company"), True),
        )

    @property
    def record(self) -> Contact | Lead | Company | None:
        return self.contact or self.lead or self.company


class Campaign(TimestampedModel):
    name = pw.CharField(max_length=255, index=True)
    description = pw.TextField(default="")
    active = pw.BooleanField(default=True)
    start_date = pw.DateField(null=True)
    end_date = pw.DateField(null=True)
    newsletter_type = pw.ForeignKeyField(NewsletterType, null=True, on_delete="SET NULL")
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")

    def __str__(self) -> str:
        return self.name


class CampaignList(BaseModel):
    campaign = pw.ForeignKeyField(Campaign, on_delete="CASCADE", backref="list_links")
    mlist = pw.ForeignKeyField(MarketingList, on_delete="CASCADE", backref="campaign_links")

    class Meta:
        indexes = ((("campaign", "mlist"), True),)


class CampaignLead(BaseModel):
    campaign = pw.ForeignKeyField(Campaign, on_delete="CASCADE", backref="lead_links")
    lead = pw.ForeignKeyField(Lead, on_delete="CASCADE", backref="campaign_links")

    class Meta:
        indexes = ((("campaign", "lead"), True),)


class CampaignActivity(TimestampedModel):
    campaign = pw.ForeignKeyField(Campaign, on_delete="CASCADE", backref="activities")
    subject = pw.CharField(max_length=255)
    description = pw.TextField(default="")
    active = pw.BooleanField(default=True)
    channel = pw.CharField(max_length=32, default="email")
    scheduled_start = pw.DateTimeField(null=True)
    newsletter_type = pw.ForeignKeyField(NewsletterType, null=True, on_delete="SET NULL")
    owner = pw.ForeignKeyField(User, null=True, on_delete="SET NULL")

    def __str__(self) -> str:
        return self.subject


class ActivityList(BaseModel):
    activity = pw.ForeignKeyField(CampaignActivity, on_delete="CASCADE", backref="list_links")
    mlist = pw.ForeignKeyField(MarketingList, on_delete="CASCADE")

    class Meta:
        indexes = ((("activity", "mlist"), True),)


class ActivityParty(BaseModel):
    """A contact or lead added to a campaign activity directly."""

    activity = pw.ForeignKeyField(CampaignActivity, on_delete="CASCADE", backref="parties")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="CASCADE")
    lead = pw.ForeignKeyField(Lead, null=True, on_delete="CASCADE")

    class Meta:
        indexes = ((("activity", "contact"), True), (("activity", "lead"), True))


CHECKLIST_STATES = {0: "not chosen", 1: "accepted", 2: "declined"}


class ChecklistEntry(BaseModel):
    """A person's or company's answer for one newsletter type (state 0, 1 or 2)."""

    newsletter_type = pw.ForeignKeyField(NewsletterType, on_delete="CASCADE", backref="entries")
    contact = pw.ForeignKeyField(Contact, null=True, on_delete="CASCADE", backref="checklist")
    lead = pw.ForeignKeyField(Lead, null=True, on_delete="CASCADE", backref="checklist")
    company = pw.ForeignKeyField(Company, null=True, on_delete="CASCADE", backref="checklist")
    newsletter_type_id: int
    contact_id: int | None
    lead_id: int | None
    company_id: int | None
    state = pw.IntegerField(default=0)
    modified_by = pw.CharField(default="", max_length=150)
    modified_on = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("newsletter_type", "contact"), True),
            (("newsletter_type", "lead"), True),
            (("newsletter_type", "company"), True),
        )


STORE_MODELS: list[type[BaseModel]] = [
    User,
    Company,
    Contact,
    Lead,
    CustomField,
    CustomValue,
    NewsletterType,
    MarketingList,
    ListMember,
    Campaign,
    CampaignList,
    CampaignLead,
    CampaignActivity,
    ActivityList,
    ActivityParty,
    ChecklistEntry,
]
