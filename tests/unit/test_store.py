"""The marketing store as an admin would use it: records, emails, custom fields, lists."""

from __future__ import annotations

import json
import threading

import pytest

from core import changes
from core.lists import add_members, describe_filter, matching_ids, recompute, remove_members
from core.models.store import (
    ChecklistEntry,
    Company,
    Contact,
    CustomField,
    Lead,
    ListMember,
    MarketingList,
    NewsletterType,
)
from core.store import (
    DuplicateEmail,
    InvalidEmail,
    checklist,
    custom_values,
    delete_record,
    fields_for,
    save_record,
    set_checklist,
)


def test_email_is_unique_per_kind_ignoring_case(profile):
    save_record(Contact(email="Alex.Case@Example.com", first_name="Alex"))
    with pytest.raises(DuplicateEmail):
        save_record(Contact(email="  alex.case@example.COM "))
    # A lead may share the address: uniqueness is per kind.
    save_record(Lead(email="alex.case@example.com"))
    assert Contact.get().email_key == "alex.case@example.com"


@pytest.mark.parametrize("bad", ["not-an-email", "a@", "@b.example", "a b@c.example", "x" * 400])
def test_invalid_email_is_refused_with_a_reason(profile, bad):
    with pytest.raises(InvalidEmail) as info:
        save_record(Contact(email=bad))
    assert str(info.value)
    assert Contact.select().count() == 0


def test_contact_links_company_and_company_names_primary_contact(profile):
    acme = save_record(Company(name="Acme"))
    alex = save_record(Contact(email="alex@example.com", company=acme))
    acme.primary_contact = alex.id
    save_record(acme)
    assert Company.get_by_id(acme.id).primary_contact.id == alex.id
    delete_record(alex)
    assert Company.get_by_id(acme.id).primary_contact is None


def test_new_records_get_the_default_owner(profile):
    contact = save_record(Contact(email="o@example.com"))
    assert contact.owner.is_default


def test_custom_fields_are_typed_and_offered_to_mappings(profile):
    CustomField.create(entity="contact", key="ines_contact_ref", label="INES contact ref",
                       kind="number")
    CustomField.create(entity="contact", key="ines_stop_sync", label="Stop sync INES",
                       kind="boolean")
    CustomField.create(entity="contact", key="since", label="Since", kind="date")
    contact = save_record(Contact(email="c@example.com"),
                          custom={"ines_contact_ref": "5001", "ines_stop_sync": True,
                                  "since": "2024-02-03"})
    values = custom_values("contact", contact.id)
    assert values == {"ines_contact_ref": 5001, "ines_stop_sync": True,
                      "since": __import__("datetime").date(2024, 2, 3)}
    keys = [f.key for f in fields_for("contact")]
    assert "ines_stop_sync" in keys and "email" in keys
    with pytest.raises(ValueError):
        save_record(contact, custom={"ines_contact_ref": "abc"})


def test_listeners_hear_what_changed(profile):
    heard: list[changes.RecordChange] = []
    unsubscribe = changes.subscribe(heard.append)
    try:
        contact = save_record(Contact(email="l@example.com", first_name="L"))
        contact.first_name = "Louise"
        save_record(contact)
        save_record(contact)  # nothing changed: nothing to say
        delete_record(contact)
    finally:
        unsubscribe()
    assert [c.action for c in heard] == ["created", "updated", "deleted"]
    assert "first_name" in heard[1].changed_fields
    assert heard[2].before["email"] == "l@example.com"


def _people(n, **extra):
    return [save_record(Contact(email=f"p{i}@example.com", **extra)).id for i in range(n)]


def test_static_list_membership_states(profile):
    ids = _people(3)
    mlist = MarketingList.create(name="Static", entity="contact")
    assert add_members(mlist, ids) == 3
    assert add_members(mlist, ids) == 0  # already there
    remove_members(mlist, ids[:1])
    states = {m.contact_id: m.state for m in ListMember.select()}
    assert states[ids[0]] == "removed" and states[ids[1]] == "subscribed"
    removed = ListMember.get(ListMember.contact == ids[0])
    assert removed.removed_at is not None
    assert add_members(mlist, ids[:1]) == 1  # brought back
    assert ListMember.get(ListMember.contact == ids[0]).state == "subscribed"


def test_dynamic_list_recompute_reports_joined_and_left(profile):
    paris = [save_record(Contact(email=f"p{i}@example.com", city="Paris")).id for i in range(3)]
    save_record(Contact(email="b@example.com", city="Berlin"))
    mlist = MarketingList.create(name="Paris", entity="contact", list_type="dynamic",
                                 filter_json=json.dumps({"match": "all", "rules": [
                                     {"field": "city", "op": "equals", "value": "paris"}]}))
    first = recompute(mlist)
    assert sorted(first.joined) == sorted(paris) and first.left == []
    moved = Contact.get_by_id(paris[0])
    moved.city = "Lyon"
    save_record(moved)
    second = recompute(mlist)
    assert second.joined == [] and second.left == [paris[0]]
    assert ListMember.get(ListMember.contact == paris[0]).state == "removed"


def test_filters_combine_and_or_across_operators_and_custom_fields(profile):
    CustomField.create(entity="contact", key="vip", label="VIP", kind="boolean")
    CustomField.create(entity="contact", key="value", label="Value", kind="number")
    a = save_record(Contact(email="a@example.com", city="Paris", points=10),
                    custom={"vip": True, "value": 100}).id
    b = save_record(Contact(email="b@example.com", city="Lyon", points=50),
                    custom={"value": 5}).id
    c = save_record(Contact(email="c@example.com", city="", points=0)).id
    assert matching_ids("contact", {"match": "all", "rules": [
        {"field": "vip", "op": "equals", "value": True}]}) == {a}
    assert matching_ids("contact", {"match": "all", "rules": [
        {"field": "vip", "op": "equals", "value": False}]}) == {b, c}
    assert matching_ids("contact", {"match": "any", "rules": [
        {"field": "value", "op": "greater", "value": 50},
        {"field": "points", "op": "greater", "value": 40}]}) == {a, b}
    assert matching_ids("contact", {"match": "all", "rules": [
        {"field": "city", "op": "empty"}]}) == {c}
    assert matching_ids("contact", {"match": "all", "rules": [
        {"field": "city", "op": "in", "value": "paris, lyon"},
        {"match": "any", "rules": [{"field": "email", "op": "contains", "value": "B@"},
                                   {"field": "points", "op": "less", "value": 20}]}]}) == {a, b}
    text = describe_filter({"match": "any", "rules": [{"field": "city", "op": "empty"},
                                                      {"field": "points", "op": "greater",
                                                       "value": 3}]})
    assert text == "city is empty or points is greater than “3”"


def test_newsletter_checklist_states(profile):
    info = NewsletterType.create(code=0, description="Information", position=1)
    contact = save_record(Contact(email="n@example.com"))
    ChecklistEntry.create(newsletter_type=info, contact=contact, state=1, modified_by="me")
    entry = ChecklistEntry.get(ChecklistEntry.contact == contact)
    assert (entry.state, entry.newsletter_type.description) == (1, "Information")


def test_set_checklist_writes_the_answers_and_tells_listeners(profile):
    info = NewsletterType.create(code=0, description="Information", position=1)
    offers = NewsletterType.create(code=1, description="Offers", position=2)
    contact = save_record(Contact(email="n@example.com"))
    heard: list[changes.RecordChange] = []
    unsubscribe = changes.subscribe(heard.append)
    try:
        assert set_checklist(contact, {info.id: 1, offers.id: 0}, "admin") == {info.id}
        assert set_checklist(contact, {info.id: 1, offers.id: 0}, "admin") == set()  # no news
        assert set_checklist(contact, {info.id: 2}, "other", origin="import") == {info.id}
    finally:
        unsubscribe()
    assert checklist(contact) == {info.id: 2}  # "not chosen" and never answered: no row
    entry = ChecklistEntry.get(ChecklistEntry.contact == contact)
    assert (entry.state, entry.modified_by) == (2, "other")
    assert [(c.entity, c.record_id, c.action, c.changed_fields, c.origin) for c in heard] == [
        ("contact", contact.id, "updated", frozenset({"checklist"}), "user"),
        ("contact", contact.id, "updated", frozenset({"checklist"}), "import")]
    with pytest.raises(ValueError):
        set_checklist(contact, {info.id: 7}, "admin")


def _add_at_once(mlist_id: int, ids: list[int]) -> tuple[list[int], list[BaseException]]:
    """``add_members`` from two threads released together (two recomputes at the same time)."""
    from core.db import database_proxy

    barrier = threading.Barrier(2)
    added: list[int] = []
    errors: list[BaseException] = []

    def add() -> None:
        try:
            mlist = MarketingList.get_by_id(mlist_id)
            barrier.wait(timeout=10)
            added.append(add_members(mlist, ids))
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            database_proxy.close()

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return added, errors


def test_two_recomputes_adding_the_same_members_at_once_both_succeed(profile):
    ids = _people(700)  # more than one batch
    for attempt in range(4):  # the race is timing-dependent: give it several chances
        mlist = MarketingList.create(name=f"Both at once {attempt}", entity="contact")
        added, errors = _add_at_once(mlist.id, ids)
        assert errors == []
        assert sum(added) == len(ids)  # each member counted once, by whichever came first
        assert ListMember.select().where(ListMember.mlist == mlist).count() == len(ids)
    remove_members(mlist, ids[:5])
    added, errors = _add_at_once(mlist.id, ids)
    assert errors == [] and sum(added) == 5  # the removed ones brought back once
