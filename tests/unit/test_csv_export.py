"""CSV export: what Excel shows when it opens the file, and that the file imports back unchanged."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from core.exporter import export_csv, export_list_members
from core.importer import import_csv
from core.lists import add_members, set_member_state
from core.models.store import Company, Contact, CustomField, MarketingList
from core.store import save_record, set_custom_values


def read(path: Path, delimiter: str = ",") -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


@pytest.fixture
def people(profile):
    acme = save_record(Company(name="Société Générale & Co"))
    return [
        save_record(Contact(email="zoe@example.com", first_name="Zoë", last_name="Größer",
                            company=acme, points=-5, birth_date=date(1980, 12, 31))),
        save_record(Contact(email="eve@example.com", first_name="=1+1", last_name="@SUM(A1)",
                            phone="+49 30 1234", job_title="\tTab", street="\rCR",
                            active=False)),
    ]


def test_excel_gets_a_bom_labels_and_accents(people, tmp_path):
    path = tmp_path / "out.csv"
    written = export_csv(path, "contact", [p.id for p in people],
                         ["email", "first_name", "last_name", "company", "birth_date", "active"])
    assert written == 2
    assert path.read_bytes().startswith(b"\xef\xbb\xbfEmail,First name,")
    rows = read(path)
    assert rows[0] == ["\ufeffEmail", "First name", "Last name", "Company", "Birth date", "Active"]
    assert rows[1] == ["zoe@example.com", "Zoë", "Größer", "Société Générale & Co", "1980-12-31",
                       "yes"]


def test_cells_a_spreadsheet_would_evaluate_get_a_quote(people, tmp_path):
    path = tmp_path / "out.csv"
    export_csv(path, "contact", [people[1].id, people[0].id],
               ["first_name", "last_name", "phone", "job_title", "street", "points"])
    rows = read(path)
    assert rows[1] == ["'=1+1", "'@SUM(A1)", "'+49 30 1234", "'\tTab", "'\rCR", "0"]
    assert rows[2][5] == "'-5"


def test_a_query_keeps_its_order_and_ids_keep_theirs(people, tmp_path):
    by_name = tmp_path / "by_name.csv"
    export_csv(by_name, "contact", Contact.select().order_by(Contact.email), ["email"])
    assert [row[0] for row in read(by_name)[1:]] == ["eve@example.com", "zoe@example.com"]
    by_ids = tmp_path / "by_ids.csv"
    assert export_csv(by_ids, "contact", [people[0].id, 999, people[1].id], ["email"]) == 2
    assert [row[0] for row in read(by_ids)[1:]] == ["zoe@example.com", "eve@example.com"]


def test_custom_fields_are_exported_by_label(people, tmp_path):
    CustomField.create(entity="contact", key="vip", label="VIP", kind="boolean")
    CustomField.create(entity="contact", key="since", label="Customer since", kind="date")
    set_custom_values("contact", people[0].id, {"vip": True, "since": date(2023, 4, 1)})
    path = tmp_path / "out.csv"
    export_csv(path, "contact", [p.id for p in people], ["email", "vip", "since"], delimiter=";")
    assert read(path, ";") == [["\ufeffEmail", "VIP", "Customer since"],
                               ["zoe@example.com", "yes", "2023-04-01"],
                               ["eve@example.com", "", ""]]


def test_list_members_are_exported_with_their_state(people, tmp_path):
    mlist = MarketingList.create(name="News")
    add_members(mlist, [p.id for p in people])
    set_member_state(mlist, [people[1].id], "unsubscribed")
    path = tmp_path / "members.csv"
    assert export_list_members(path, mlist, ["email"]) == 2
    rows = read(path)
    assert rows[0][1:] == ["Membership", "Added to list", "Membership changed"]
    assert [(row[0], row[1]) for row in rows[1:]] == [("zoe@example.com", "subscribed"),
                                                      ("eve@example.com", "unsubscribed")]
    assert export_list_members(path, mlist, ["email"], states=("subscribed",)) == 1


def test_list_members_can_be_narrowed_to_some_records(people, tmp_path):
    mlist = MarketingList.create(name="News")
    add_members(mlist, [p.id for p in people])
    path = tmp_path / "some.csv"
    assert export_list_members(path, mlist, ["email"], record_ids={people[1].id, 999}) == 1
    assert [row[:2] for row in read(path)[1:]] == [["eve@example.com", "subscribed"]]
    assert export_list_members(path, mlist, ["email"], record_ids=[]) == 0


def test_an_export_imports_back_unchanged(people, tmp_path):
    path = tmp_path / "all.csv"
    export_csv(path, "contact", Contact.select())
    report = import_csv(path, "contact")
    assert (report.created, report.unchanged, report.rejected, report.warnings) == (0, 1, [], [])
    eve = Contact.get(Contact.email == "eve@example.com")
    assert (eve.first_name, eve.last_name, eve.phone) == ("=1+1", "@SUM(A1)", "+49 30 1234")
    # The one change: imports trim the spaces, tabs and line breaks around every value.
    assert report.updated == 1 and (eve.job_title, eve.street) == ("Tab", "CR")


def test_unknown_columns_are_refused_and_nothing_is_left_behind(people, tmp_path):
    path = tmp_path / "exports" / "out.csv"
    with pytest.raises(ValueError, match="shoe_size"):
        export_csv(path, "contact", [people[0].id], ["email", "shoe_size"])
    assert not path.parent.exists()
