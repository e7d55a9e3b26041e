"""What each table of the window shows: its columns, its query and what its search matches.

The queries run on worker threads (``gui.tablemodel``); they select only the columns shown, as
plain dicts, so a page of 500 rows costs a few milliseconds.
"""

from __future__ import annotations

from typing import Any

import peewee as pw

from core.models.store import (
    ActivityList,
    Campaign,
    CampaignActivity,
    CampaignList,
    Company,
    Contact,
    Lead,
    ListMember,
    MarketingList,
    NewsletterType,
)
from gui.tablemodel import Column, TableSource, like_any, tr

JOIN = pw.JOIN.LEFT_OUTER


def entity_labels() -> dict[str, str]:
    return {"contact": tr("Contacts"), "lead": tr("Leads"), "company": tr("Companies")}


def list_type_labels() -> dict[str, str]:
    return {"static": tr("Static"), "dynamic": tr("Dynamic")}


def lead_status_labels() -> dict[str, str]:
    return {"open": tr("Open"), "qualified": tr("Qualified"), "disqualified": tr("Disqualified")}


def channel_labels() -> dict[str, str]:
    return {"email": tr("Email"), "letter": tr("Letter"), "phone": tr("Phone call")}


class ContactSource(TableSource):
    id_field = Contact.id

    def columns(self) -> list[Column]:
        return [
            Column("email", tr("Email"), 240, sort=Contact.email_key, stretch=True),
            Column("first_name", tr("First name"), 105, sort=Contact.first_name),
            Column("last_name", tr("Last name"), 115, sort=Contact.last_name),
            Column("company", tr("Company"), 165),
            Column("city", tr("City"), 100),
            Column("active", tr("Active"), 60, kind="bool"),
            Column("do_not_contact", tr("Do not contact"), 110, kind="bool"),
            Column("updated", tr("Updated"), 130, kind="datetime", sort=Contact.updated),
        ]

    def query(self) -> pw.Select:
        return (Contact.select(Contact.id, Contact.email, Contact.first_name, Contact.last_name,
                               Company.name.alias("company"), Contact.city,
                               Contact.active, Contact.do_not_contact, Contact.updated)
                .join(Company, JOIN, on=(Contact.company == Company.id)))

    def matches(self, text: str) -> Any:
        return like_any([Contact.email_key, Contact.first_name, Contact.last_name, Company.name],
                        text)

    def muted(self, row: dict[str, Any]) -> bool:
        return not row.get("active", True) or bool(row.get("do_not_contact"))


class LeadSource(TableSource):
    id_field = Lead.id

    def columns(self) -> list[Column]:
        return [
            Column("email", tr("Email"), 240, sort=Lead.email_key, stretch=True),
            Column("first_name", tr("First name"), 95, sort=Lead.first_name),
            Column("last_name", tr("Last name"), 105, sort=Lead.last_name),
            Column("company_name", tr("Company"), 155),
            Column("status", tr("Status"), 95, kind="label", labels=lead_status_labels()),
            Column("source", tr("Source"), 95),
            Column("city", tr("City"), 95),
            Column("updated", tr("Updated"), 130, kind="datetime", sort=Lead.updated),
        ]

    def query(self) -> pw.Select:
        return Lead.select(Lead.id, Lead.email, Lead.first_name, Lead.last_name, Lead.company_name,
                           Lead.status, Lead.source, Lead.city, Lead.active,
                           Lead.do_not_contact, Lead.updated)

    def matches(self, text: str) -> Any:
        return like_any([Lead.email_key, Lead.first_name, Lead.last_name, Lead.company_name], text)

    def muted(self, row: dict[str, Any]) -> bool:
        return not row.get("active", True) or bool(row.get("do_not_contact"))


class CompanySource(TableSource):
    id_field = Company.id
    default_sort = (0, False)  # by name: companies are looked up by name

    def columns(self) -> list[Column]:
        return [
            Column("name", tr("Name"), 220, sort=Company.name, stretch=True),
            Column("email", tr("Email"), 170),
            Column("phone", tr("Phone"), 130),
            Column("city", tr("City"), 100),
            Column("country", tr("Country"), 115),
            Column("primary_contact", tr("Primary contact"), 145),
            Column("contacts", tr("Contacts"), 75, kind="number"),
            Column("updated", tr("Updated"), 130, kind="datetime", sort=Company.updated),
        ]

    def query(self) -> pw.Select:
        primary = Contact.alias("primary")
        contacts = (Contact.select(pw.fn.COUNT(Contact.id))
                    .where(Contact.company == Company.id))
        name = pw.fn.TRIM(primary.first_name.concat(" ").concat(primary.last_name))
        return (Company.select(Company.id, Company.name, Company.email, Company.phone,
                               Company.city, Company.country, name.alias("primary_contact"),
                               contacts.alias("contacts"), Company.active,
                               Company.do_not_contact, Company.updated)
                .join(primary, JOIN, on=(Company.primary_contact == primary.id)))

    def matches(self, text: str) -> Any:
        return like_any([Company.name, Company.email_key, Company.city], text)

    def muted(self, row: dict[str, Any]) -> bool:
        return not row.get("active", True) or bool(row.get("do_not_contact"))


class MarketingListSource(TableSource):
    id_field = MarketingList.id
    default_sort = (0, False)  # by name

    def columns(self) -> list[Column]:
        return [
            Column("name", tr("Name"), 260, sort=MarketingList.name, stretch=True),
            Column("entity", tr("Kind"), 100, kind="label", labels=entity_labels()),
            Column("list_type", tr("Type"), 90, kind="label", labels=list_type_labels()),
            Column("members", tr("Subscribed"), 100, kind="number"),
            Column("newsletter", tr("Newsletter type"), 160),
            Column("last_recomputed", tr("Last recomputed"), 140, kind="datetime"),
            Column("updated", tr("Updated"), 140, kind="datetime", sort=MarketingList.updated),
        ]

    def query(self) -> pw.Select:
        members = (ListMember.select(pw.fn.COUNT(ListMember.id))
                   .where(ListMember.mlist == MarketingList.id,
                          ListMember.state == "subscribed"))
        return (MarketingList.select(MarketingList.id, MarketingList.name, MarketingList.entity,
                                     MarketingList.list_type, members.alias("members"),
                                     NewsletterType.description.alias("newsletter"),
                                     MarketingList.last_recomputed, MarketingList.updated)
                .join(NewsletterType, JOIN,
                      on=(MarketingList.newsletter_type == NewsletterType.id)))

    def matches(self, text: str) -> Any:
        return like_any([MarketingList.name, MarketingList.description], text)


class CampaignSource(TableSource):
    id_field = Campaign.id
    default_sort = (0, False)  # by name

    def columns(self) -> list[Column]:
        return [
            Column("name", tr("Name"), 240, sort=Campaign.name, stretch=True),
            Column("active", tr("Active"), 70, kind="bool"),
            Column("newsletter", tr("Newsletter type"), 160),
            Column("lists", tr("Lists"), 60, kind="number"),
            Column("activities", tr("Activities"), 80, kind="number"),
            Column("start_date", tr("Start"), 100, kind="date"),
            Column("end_date", tr("End"), 100, kind="date"),
            Column("updated", tr("Updated"), 140, kind="datetime", sort=Campaign.updated),
        ]

    def query(self) -> pw.Select:
        lists = CampaignList.select(pw.fn.COUNT(CampaignList.id)).where(
            CampaignList.campaign == Campaign.id)
        activities = CampaignActivity.select(pw.fn.COUNT(CampaignActivity.id)).where(
            CampaignActivity.campaign == Campaign.id)
        return (Campaign.select(Campaign.id, Campaign.name, Campaign.active,
                                NewsletterType.description.alias("newsletter"),
                                lists.alias("lists"), activities.alias("activities"),
                                Campaign.start_date, Campaign.end_date, Campaign.updated)
                .join(NewsletterType, JOIN, on=(Campaign.newsletter_type == NewsletterType.id)))

    def matches(self, text: str) -> Any:
        return like_any([Campaign.name, Campaign.description], text)

    def muted(self, row: dict[str, Any]) -> bool:
        return not row.get("active", True)


class ActivitySource(TableSource):
    """The activities of one campaign (``campaign_id`` None: none at all)."""

    id_field = CampaignActivity.id
    descending = False  # in the order they were planned

    def __init__(self, campaign_id: int | None = None) -> None:
        self.campaign_id = campaign_id

    def columns(self) -> list[Column]:
        return [
            Column("subject", tr("Subject"), 280, stretch=True),
            Column("active", tr("Active"), 70, kind="bool"),
            Column("channel", tr("Channel"), 80, kind="label", labels=channel_labels()),
            Column("newsletter", tr("Newsletter type"), 160),
            Column("lists", tr("Lists"), 60, kind="number"),
            Column("updated", tr("Updated"), 140, kind="datetime"),
        ]

    def query(self) -> pw.Select:
        lists = ActivityList.select(pw.fn.COUNT(ActivityList.id)).where(
            ActivityList.activity == CampaignActivity.id)
        return (CampaignActivity.select(
                    CampaignActivity.id, CampaignActivity.subject, CampaignActivity.active,
                    CampaignActivity.channel, NewsletterType.description.alias("newsletter"),
                    lists.alias("lists"), CampaignActivity.updated)
                .join(NewsletterType, JOIN,
                      on=(CampaignActivity.newsletter_type == NewsletterType.id))
                .where(CampaignActivity.campaign == (self.campaign_id or 0)))

    def matches(self, text: str) -> Any:
        return like_any([CampaignActivity.subject], text)

    def muted(self, row: dict[str, Any]) -> bool:
        return not row.get("active", True)


class MemberSource(TableSource):
    """The members of one marketing list, with their state and when it changed."""

    id_field = ListMember.id

    def __init__(self, list_id: int, entity: str, states: tuple[str, ...] = ()) -> None:
        self.list_id, self.entity, self.states = list_id, entity, states
        self.record = {"contact": Contact, "lead": Lead, "company": Company}[entity]
        self.link = {"contact": ListMember.contact, "lead": ListMember.lead,
                     "company": ListMember.company}[entity]

    def columns(self) -> list[Column]:
        if self.entity == "company":
            who = [Column("name", tr("Name"), 220, stretch=True),
                   Column("email", tr("Email"), 200)]
        else:
            who = [Column("email", tr("Email"), 230, stretch=True),
                   Column("name", tr("Name"), 170)]
        return who + [
            Column("state", tr("State"), 110, kind="state", sort=ListMember.state),
            Column("added_at", tr("Added"), 130, kind="datetime"),
            Column("state_changed_at", tr("State changed"), 130, kind="datetime",
                   sort=ListMember.state_changed_at),
            Column("unsubscribed_at", tr("Unsubscribed"), 130, kind="datetime"),
            Column("removed_at", tr("Removed"), 130, kind="datetime"),
        ]

    def _name(self) -> Any:
        if self.entity == "company":
            return self.record.name
        return pw.fn.TRIM(self.record.first_name.concat(" ").concat(self.record.last_name))

    def query(self) -> pw.Select:
        query = (ListMember.select(ListMember.id, self.link.alias("record_id"),
                                   self.record.email, self._name().alias("name"),
                                   ListMember.state, ListMember.added_at,
                                   ListMember.state_changed_at, ListMember.unsubscribed_at,
                                   ListMember.removed_at)
                 .join(self.record, on=(self.link == self.record.id))
                 .where(ListMember.mlist == self.list_id))
        if self.states:
            query = query.where(ListMember.state.in_(self.states))
        return query

    def matches(self, text: str) -> Any:
        if self.entity == "company":
            return like_any([Company.name, Company.email_key], text)
        return like_any([self.record.email_key, self.record.first_name,
                         self.record.last_name], text)

    def muted(self, row: dict[str, Any]) -> bool:
        return row.get("state") != "subscribed"


SOURCES: dict[str, type[TableSource]] = {
    "contact": ContactSource,
    "lead": LeadSource,
    "company": CompanySource,
}
