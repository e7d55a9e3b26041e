"""The demo profile's sample data: what the issue promises a newcomer sees."""

from __future__ import annotations

from core.demo import fill_demo_store
from core.models.store import (
    Campaign,
    CampaignActivity,
    Company,
    Contact,
    Lead,
    ListMember,
    MarketingList,
    NewsletterType,
)


def test_demo_store_holds_people_companies_lists_and_campaigns(profile):
    fill_demo_store()
    people = Contact.select().count() + Lead.select().count()
    assert 900 <= people <= 1100
    assert Company.select().count() == 50
    kinds = {(m.list_type, m.entity) for m in MarketingList.select()}
    assert ("static", "contact") in kinds and ("dynamic", "contact") in kinds
    for mlist in MarketingList.select():
        assert ListMember.select().where(ListMember.mlist == mlist).count() > 0, mlist.name
    assert Campaign.select().count() >= 2 and CampaignActivity.select().count() >= 2
    assert NewsletterType.select().count() >= 2


def test_demo_fill_is_idempotent(profile):
    fill_demo_store()
    fill_demo_store()
    assert Company.select().count() == 50
