"""Sample data for the demo profile: about 1,000 people, 50 companies, lists, campaigns.

Deterministic (a seeded generator), so screenshots and demos look the same every time.
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

from core.clock import utcnow
from core.db import database_proxy
from core.lists import add_members, recompute
from core.models.store import (
    ActivityList,
    Campaign,
    CampaignActivity,
    CampaignLead,
    CampaignList,
    ChecklistEntry,
    Company,
    Contact,
    CustomField,
    CustomValue,
    Lead,
    MarketingList,
    NewsletterType,
)
from core.store import default_owner, email_key

FIRST = ["Alex", "Marie", "Jean", "Lena", "Paul", "Sophie", "Lukas", "Camille", "Emma", "Noah",
         "Chloé", "Felix", "Hannah", "Louis", "Mia", "Hugo", "Anna", "Jonas", "Léa", "Ben",
         "Clara", "Elias", "Inès", "Max", "Julia", "Nathan", "Sarah", "Tom", "Zoé", "David"]
LAST = ["Martin", "Bernard", "Müller", "Schmidt", "Dubois", "Durand", "Schneider", "Fischer",
        "Leroy", "Moreau", "Weber", "Meyer", "Laurent", "Simon", "Wagner", "Becker", "Michel",
        "Garcia", "Hoffmann", "Roux", "Fournier", "Koch", "Richter", "Girard", "Smith", "Brown",
        "Wilson", "Taylor", "Klein", "Wolf"]
CITIES = [("Paris", "75002", "France"), ("Lyon", "69002", "France"), ("Nantes", "44000", "France"),
          ("Berlin", "10115", "Germany"), ("München", "80331", "Germany"),
          ("Hamburg", "20095", "Germany"), ("London", "EC1A 1BB", "United Kingdom"),
          ("Manchester", "M1 1AE", "United Kingdom"), ("Bruxelles", "1000", "Belgium"),
          ("Zürich", "8001", "Switzerland")]
COMPANY_WORDS = ["Nord", "Atlas", "Blue", "Kraft", "Lumière", "Vertex", "Alpen", "Orion", "Delta",
                 "Horizon", "Solaris", "Rhein", "Cobalt", "Garonne", "Pixel"]
COMPANY_KINDS = ["Consulting", "Logistik", "Industries", "SA", "GmbH", "Ltd", "Software",
                 "Distribution", "Média", "Foods"]
TITLES = ["Marketing Manager", "CEO", "Head of Sales", "Office Manager", "CTO", "Buyer",
          "Responsable marketing", "Geschäftsführer", "Assistant", "Product Owner"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "corp.example"]


def _email(rng: random.Random, first: str, last: str, n: int) -> str:
    plain = (first + "." + last).lower()
    for a, b in (("é", "e"), ("è", "e"), ("ü", "u"), ("ö", "o"), ("ä", "a")):
        plain = plain.replace(a, b)
    return f"{plain}{n}@{rng.choice(DOMAINS)}"


def fill_demo_store(seed: int = 7, people: int = 1000) -> None:
    """Fill an empty store with sample data; does nothing if contacts already exist."""
    if Contact.select().exists():
        return
    rng = random.Random(seed)
    owner = default_owner()
    now = utcnow()
    with database_proxy.atomic():
        types = _newsletter_types()
        fields = _custom_fields()
        companies = _companies(rng, owner, now)
        contacts = _people(rng, Contact, int(people * 0.6), owner, now, companies)
        leads = _people(rng, Lead, people - len(contacts), owner, now, None)
        _primary_contacts(companies)
        _custom_values(rng, fields, contacts)
        _checklists(rng, types, contacts, leads)
    _lists_and_campaigns(rng, owner, types, contacts, leads)


def _newsletter_types() -> list[NewsletterType]:
    rows = [(0, "Information", 1), (1, "Werbung und Spiele", 0), (2, "Product news", 2)]
    return [NewsletterType.create(code=c, description=d, position=p) for c, d, p in rows]


def _custom_fields() -> dict[str, CustomField]:
    specs = [("segment", "Segment", "choice", ["Enterprise", "SMB", "Public sector"]),
             ("customer_since", "Customer since", "date", []),
             ("lifetime_value", "Lifetime value", "number", []),
             ("vip", "VIP", "boolean", [])]
    made = {}
    for position, (key, label, kind, choices) in enumerate(specs):
        made[key] = CustomField.create(entity="contact", key=key, label=label, kind=kind,
                                       choices_json=json.dumps(choices), position=position)
    return made


def _companies(rng: random.Random, owner: object, now: object) -> list[Company]:
    names: set[str] = set()
    while len(names) < 50:
        names.add(f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}")
    result = []
    for name in sorted(names):
        city, postal, country = rng.choice(CITIES)
        result.append(Company.create(
            name=name, phone=f"+33 1 {rng.randint(10, 99)} {rng.randint(10, 99)} "
                             f"{rng.randint(10, 99)} {rng.randint(10, 99)}",
            website=f"https://www.{name.split()[0].lower()}.example", street=f"{rng.randint(1, 120)} "
            f"{rng.choice(['rue de la Paix', 'Hauptstraße', 'High Street', 'avenue Foch'])}",
            postal_code=postal, city=city, country=country, owner=owner, created=now, updated=now))
    return result


def _people(rng: random.Random, model: type[Contact] | type[Lead], count: int, owner: object,
            now: object, companies: list[Company] | None) -> list[int]:
    rows = []
    offset = 0 if model is Contact else 100_000
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = _email(rng, first, last, n + offset)
        city, postal, country = rng.choice(CITIES)
        row = dict(email=email, email_key=email_key(email), first_name=first, last_name=last,
                   salutation=rng.choice(["Mr", "Ms", "Dr", ""]), job_title=rng.choice(TITLES),
                   phone=f"+49 30 {rng.randint(1000000, 9999999)}", city=city, postal_code=postal,
                   country=country, street=f"{rng.randint(1, 200)} Demo Street",
                   owner=owner, active=rng.random() > 0.05, do_not_contact=rng.random() < 0.03,
                   points=rng.randint(0, 120), created=now, updated=now)
        if companies is not None:
            row["company"] = rng.choice(companies) if rng.random() > 0.1 else None
        else:
            row["company_name"] = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}"
            row["status"] = rng.choice(["open", "open", "qualified", "disqualified"])
            row["source"] = rng.choice(["Web form", "Trade fair", "Referral", "Cold call"])
        rows.append(row)
    for start in range(0, len(rows), 200):
        model.insert_many(rows[start:start + 200]).execute()
    return list(model.select(model.id).order_by(model.id).scalars())


def _primary_contacts(companies: list[Company]) -> None:
    for company in companies:
        first = Contact.select(Contact.id).where(Contact.company == company).order_by(
            Contact.id).first()
        if first is not None:
            company.primary_contact = first.id
            company.save()


def _custom_values(rng: random.Random, fields: dict[str, CustomField], contacts: list[int]) -> None:
    rows = []
    for cid in contacts:
        rows.append(dict(field=fields["segment"], record_id=cid,
                         value=rng.choice(fields["segment"].choices)))
        if rng.random() < 0.6:
            since = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3800))
            rows.append(dict(field=fields["customer_since"], record_id=cid, value=since.isoformat()))
            rows.append(dict(field=fields["lifetime_value"], record_id=cid,
                             value=str(rng.randint(100, 90000))))
        rows.append(dict(field=fields["vip"], record_id=cid, value="1" if rng.random() < 0.1 else "0"))
    for start in range(0, len(rows), 300):
        CustomValue.insert_many(rows[start:start + 300]).execute()


def _checklists(rng: random.Random, types: list[NewsletterType], contacts: list[int],
                leads: list[int]) -> None:
    rows = []
    for column, ids in (("contact", contacts), ("lead", leads)):
        for rid in ids:
            for nt in types:
                state = rng.choices([0, 1, 2], weights=[5, 4, 1])[0]
                if state:
                    rows.append({"newsletter_type": nt, column: rid, "state": state,
                                 "modified_by": "demo"})
    for start in range(0, len(rows), 300):
        ChecklistEntry.insert_many(rows[start:start + 300]).execute()


def _lists_and_campaigns(rng: random.Random, owner: object, types: list[NewsletterType],
                         contacts: list[int], leads: list[int]) -> None:
    newsletter = MarketingList.create(name="Newsletter subscribers", entity="contact",
                                      description="Everyone who asked for the monthly newsletter.",
                                      newsletter_type=types[0], owner=owner)
    add_members(newsletter, rng.sample(contacts, 300))
    fair = MarketingList.create(name="Trade fair 2026 leads", entity="lead", owner=owner,
                                description="Leads met at the spring trade fair.")
    add_members(fair, rng.sample(leads, 120))
    paris = MarketingList.create(
        name="Contacts in Paris", entity="contact", list_type="dynamic", owner=owner,
        filter_json=json.dumps({"match": "all", "rules": [
            {"field": "city", "op": "equals", "value": "Paris"},
            {"field": "do_not_contact", "op": "equals", "value": False}]}))
    vip = MarketingList.create(
        name="VIP customers", entity="contact", list_type="dynamic", owner=owner,
        filter_json=json.dumps({"match": "any", "rules": [
            {"field": "vip", "op": "equals", "value": True},
            {"field": "lifetime_value", "op": "greater", "value": 80000}]}))
    german = MarketingList.create(
        name="Companies in Germany", entity="company", list_type="dynamic", owner=owner,
        filter_json=json.dumps({"match": "all", "rules": [
            {"field": "country", "op": "equals", "value": "Germany"}]}))
    for mlist in (paris, vip, german):
        recompute(mlist)
    spring = Campaign.create(name="Spring launch 2026", owner=owner, newsletter_type=types[2],
                             description="Launch of the 2026 product line.",
                             start_date=date(2026, 3, 1), end_date=date(2026, 5, 31))
    CampaignList.create(campaign=spring, mlist=newsletter)
    for lead_id in rng.sample(leads, 15):
        CampaignLead.create(campaign=spring, lead=lead_id)
    invite = CampaignActivity.create(campaign=spring, subject="Invitation: launch webinar",
                                     description="Email invitation to the launch webinar.",
                                     newsletter_type=types[2], owner=owner)
    ActivityList.create(activity=invite, mlist=paris)
    CampaignActivity.create(campaign=spring, subject="Follow-up: webinar replay", owner=owner,
                            description="Replay link for those who missed it.")
    winter = Campaign.create(name="Winter sale", owner=owner, active=False,
                             description="End-of-year promotion.", newsletter_type=types[1])
    CampaignList.create(campaign=winter, mlist=vip)
    CampaignList.create(campaign=winter, mlist=fair)
    CampaignActivity.create(campaign=winter, subject="Winter sale announcement", owner=owner,
                            active=False, newsletter_type=types[1])
