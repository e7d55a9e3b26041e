"""CSV import as an admin meets it: files from Excel in several encodings and delimiters, broken
rows, duplicates, lists, custom fields, progress and cancel."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.changes import RecordChange, subscribe
from core.csvio import CsvReadError, reread, sniff, suggest_mapping
from core.importer import ImportRefused, ListRefused, import_csv
from core.lists import member_ids, set_member_state
from core.models.store import Company, Contact, CustomField, Lead, ListMember, MarketingList
from core.store import custom_values, save_record


def write(folder: Path, text: str, encoding: str = "utf-8", name: str = "people.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def contact(email: str) -> Contact:
    return Contact.get(Contact.email_key == email.lower())


# -- encodings and delimiters ----------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_encoding_and_delimiter_reads_accents(profile, tmp_path, encoding, delimiter):
    rows = [["E-Mail", "Vorname", "Nachname", "Stadt"],
            ["jorg@example.de", "Jörg", "Größer", "Köln"],
            ["francoise@example.fr", "Françoise", "Lefèvre", "Besançon"]]
    path = write(tmp_path, "\r\n".join(delimiter.join(row) for row in rows) + "\r\n", encoding)

    info = sniff(path)
    report = import_csv(path, "contact")

    assert (info.encoding, info.delimiter) == (encoding, delimiter)
    assert info.headers[0] == "E-Mail"  # no BOM glued to the first header
    assert report.created == 2 and not report.rejected
    jorg = contact("jorg@example.de")
    assert (jorg.first_name, jorg.last_name, jorg.city) == ("Jörg", "Größer", "Köln")
    assert contact("francoise@example.fr").city == "Besançon"


def test_excel_unicode_text_is_utf16_with_tabs(profile, tmp_path):
    path = write(tmp_path, "Email\tFirst name\nzoe@example.com\tZoë\n", "utf-16")
    report = import_csv(path, "contact")
    assert report.created == 1 and contact("zoe@example.com").first_name == "Zoë"


def test_a_cp1252_character_late_in_the_file_switches_the_whole_file(profile, tmp_path):
    lines = ["Email;Last name"] + [f"p{i}@example.com;Plain" for i in range(3000)]
    path = write(tmp_path, "\n".join(lines + ["late@example.com;Dürr"]) + "\n", "cp1252")
    report = import_csv(path, "contact")
    assert report.encoding == "cp1252" and report.created == 3001
    assert contact("late@example.com").last_name == "Dürr"


def test_bytes_undefined_in_windows_1252_are_replaced_with_a_warning(profile, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Email;Last name\nodd@example.com;M\xfcller\x81\n")
    report = import_csv(path, "contact")
    assert contact("odd@example.com").last_name == "Müller\ufffd"
    assert any("neither UTF-8 nor Windows-1252" in w for w in report.warnings)


def test_files_that_are_not_csv_are_refused_clearly(profile, tmp_path):
    workbook = tmp_path / "book.csv"
    workbook.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(200))
    empty = write(tmp_path, "\n\n", name="empty.csv")
    with pytest.raises(CsvReadError, match="Excel workbook"):
        import_csv(workbook, "contact")
    with pytest.raises(CsvReadError, match="empty"):
        import_csv(empty, "contact")
    with pytest.raises(CsvReadError, match="no file"):
        import_csv(tmp_path / "missing.csv", "contact")


# -- bad rows --------------------------------------------------------------------------------------

def test_every_rejected_row_has_its_line_and_reason_and_the_rest_is_kept(profile, tmp_path):
    path = write(tmp_path, "\n".join([
        "Email,First name,Last name,Points",
        "ok1@example.com,Ann,One,3",          # 2
        "not-an-email,Bad,Email,1",           # 3
        "",                                   # 4: blank, skipped silently
        'ok2@example.com,"Quoted, Name",Two,',  # 5
        ",,,",                                # 6: empty cells, skipped silently
        "ok3@example.com,Too,Many,1,extra",   # 7
        ",,,4",                               # 8: no email, no name
        "ok4@example.com,Pts,Bad,lots",       # 9
        "ok5@example.com,Last,Row,",          # 10
    ]) + "\n")

    report = import_csv(path, "contact")

    assert report.created == 3
    assert [(r.line, r.email) for r in report.rejected] == [
        (3, "not-an-email"), (7, "ok3@example.com"), (8, ""), (9, "ok4@example.com")]
    reasons = [r.reason for r in report.rejected]
    assert "Invalid email “not-an-email”" in reasons[0]
    assert "5 values but the header has 4 columns" in reasons[1]
    assert "No email and no name" in reasons[2]
    assert reasons[3].startswith("Points: “lots” is not a number")
    assert contact("ok2@example.com").first_name == "Quoted, Name"


def test_an_unclosed_quote_rejects_its_row_without_swallowing_the_rest(profile, tmp_path):
    lines = ["Email;Last name;City", 'a@example.com;"Broken;Paris']
    lines += [f"r{i}@example.com;Row {i};Lyon" for i in range(150)]
    lines += ['z@example.com;"Also broken;Nice']
    path = write(tmp_path, "\n".join(lines) + "\n")

    report = import_csv(path, "contact")

    assert report.created == 150
    assert [r.line for r in report.rejected] == [2, 153]
    assert all("never closed" in r.reason for r in report.rejected)


def test_a_quote_closed_by_luck_further_down_is_caught(profile, tmp_path):
    path = write(tmp_path, "\n".join([
        "Email,Last name,City",
        'a@example.com,"Broken,Paris',
        "b@example.com,Bee,Lyon",
        'c@example.com,Cee",Nice',
        "d@example.com,Dee,Metz",
    ]) + "\n")
    report = import_csv(path, "contact")
    assert [r.line for r in report.rejected] == [2]
    assert "look like rows of their own" in report.rejected[0].reason
    # Reading resumes on line 3; a quote inside an unquoted value is just a character.
    assert {c.email for c in Contact.select()} == {"b@example.com", "c@example.com",
                                                   "d@example.com"}
    assert contact("c@example.com").last_name == 'Cee"'


def test_a_quoted_value_over_several_lines_is_one_row(profile, tmp_path):
    path = write(tmp_path, 'Email,Street,City\na@example.com,"Hof 3\nAufgang B",Graz\n'
                           "b@example.com,Ring 1,Linz,oops\n")
    report = import_csv(path, "contact")
    assert contact("a@example.com").street == "Hof 3\nAufgang B"
    assert [r.line for r in report.rejected] == [4]  # line numbers count the physical lines


def test_long_values_are_cut_to_the_column_with_a_warning(profile, tmp_path):
    path = write(tmp_path, f"Email,First name\nlong@example.com,{'x' * 10_000}\n")
    report = import_csv(path, "contact")
    assert len(contact("long@example.com").first_name) == 255
    assert report.warnings == ["Line 2: First name was cut to 255 characters (it had 10,000)."]


def test_formula_cells_are_stored_as_text_never_evaluated(profile, tmp_path):
    path = write(tmp_path, "\n".join([
        "Email;First name;Last name;Phone;Job title",
        "f@example.com;=1+1;@SUM(A1:A9);+49 30 1234;-cmd|' /C calc'!A0",
        "g@example.com;'=2+2;'@x;'+1;'-1",  # our own export's escaping comes back off
    ]) + "\n")
    import_csv(path, "contact")
    f, g = contact("f@example.com"), contact("g@example.com")
    assert (f.first_name, f.last_name, f.phone, f.job_title) == (
        "=1+1", "@SUM(A1:A9)", "+49 30 1234", "-cmd|' /C calc'!A0")
    assert (g.first_name, g.last_name, g.phone, g.job_title) == ("=2+2", "@x", "+1", "-1")


def test_a_header_only_file_imports_nothing_and_says_so(profile, tmp_path):
    report = import_csv(write(tmp_path, "\ufeffEmail;Vorname\r\n"), "contact")
    assert report.kept == 0 and not report.rejected
    assert "The file has no rows under its header." in report.warnings


def test_unknown_columns_are_reported_once(profile, tmp_path):
    path = write(tmp_path, "Email,Notes,Shoe size\na@example.com,x,42\nb@example.com,y,43\n")
    report = import_csv(path, "contact")
    assert report.created == 2
    assert report.warnings == [
        "The column “Notes” matches no field of contacts and was not imported.",
        "The column “Shoe size” matches no field of contacts and was not imported."]


# -- duplicates and merging ------------------------------------------------------------------------

def test_duplicates_merge_by_email_within_the_file_and_with_the_store(profile, tmp_path):
    save_record(Contact(email="Anna@Example.com", first_name="Anna", last_name="Alt", city="Paris"))
    path = write(tmp_path, "\n".join([
        "Email,First name,Last name,City",
        "ANNA@example.com,,,Lyon",       # existing: city updated, names kept (empty cells)
        "ben@example.com,Ben,,Nice",
        "Ben@Example.com,,Berger,",       # same file, same email: merged into the row above
        "anna@example.com,,,Lyon",        # nothing new for Anna
    ]) + "\n")

    report = import_csv(path, "contact")

    assert (report.created, report.updated, report.unchanged, report.merged) == (1, 1, 0, 2)
    assert Contact.select().count() == 2
    anna, ben = contact("anna@example.com"), contact("ben@example.com")
    assert (anna.first_name, anna.last_name, anna.city) == ("Anna", "Alt", "Lyon")
    assert (ben.first_name, ben.last_name, ben.city) == ("Ben", "Berger", "Nice")


def test_duplicates_across_batches_merge_too(profile, tmp_path):
    lines = ["Email,City", "dup@example.com,First"]
    lines += [f"p{i}@example.com,X" for i in range(5)] + ["DUP@example.com,Second"]
    report = import_csv(write(tmp_path, "\n".join(lines) + "\n"), "contact", batch_size=2)
    assert (report.created, report.updated, report.merged) == (6, 0, 1)
    assert contact("dup@example.com").city == "Second"


def test_importing_the_same_file_twice_changes_nothing(profile, tmp_path):
    path = write(tmp_path, "Email,First name,Last name,Company\n"
                           "a@example.com,Ann,A,ACME\n,Nobody,Without Mail,ACME\n")
    import_csv(path, "contact")
    again = import_csv(path, "contact")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Contact.select().count() == 2 and Company.select().count() == 1


def test_without_an_email_column_named_rows_are_kept(profile, tmp_path):
    report = import_csv(write(tmp_path, "Prénom;Nom\nÉmile;Zola\n;\n"), "contact")
    assert report.created == 1 and Contact.get().email is None


def test_a_mapping_that_can_keep_no_row_is_refused(profile, tmp_path):
    path = write(tmp_path, "City,Phone\nParis,1\n")
    with pytest.raises(ImportRefused, match="Email or First name or Last name"):
        import_csv(path, "contact")
    with pytest.raises(ImportRefused, match="both go to"):
        import_csv(path, "contact", mapping={"City": "last_name", "Phone": "last_name"})
    assert Contact.select().count() == 0


# -- companies, leads, custom fields ---------------------------------------------------------------

def test_contacts_company_is_linked_by_name_ignoring_case_or_created(profile, tmp_path):
    acme = save_record(Company(name="ACME GmbH"))
    muller = save_record(Company(name="Müller AG"))
    path = write(tmp_path, "Email;Firma\na@example.com;acme gmbh\nb@example.com;MÜLLER AG\n"
                           "c@example.com;Neue Firma\nd@example.com;neue firma\n")
    report = import_csv(path, "contact")
    assert contact("a@example.com").company_id == acme.id
    assert contact("b@example.com").company_id == muller.id
    assert contact("c@example.com").company_id == contact("d@example.com").company_id
    assert report.companies_created == 1 and Company.select().count() == 3


def test_companies_merge_by_name_when_they_have_no_email(profile, tmp_path):
    save_record(Company(name="Dupont SARL", city="Paris"))
    path = write(tmp_path, "Société;Ville;Site web\ndupont sarl;Lyon;\nNeu GmbH;Wien;"
                           "=HYPERLINK(\"http://x\")\nNEU GMBH;;neu.example\n")
    report = import_csv(path, "company")
    assert (report.created, report.updated, report.merged) == (1, 1, 1)
    assert Company.get(Company.name == "Dupont SARL").city == "Lyon"
    # The name matched on keeps its first spelling; other values come from the later row.
    assert Company.get(Company.name == "Neu GmbH").website == "neu.example"


def test_leads_check_their_status_and_keep_their_company_name(profile, tmp_path):
    path = write(tmp_path, "Email,Company,Status\nl1@example.com,ACME,Qualified\n"
                           "l2@example.com,ACME,maybe\n")
    report = import_csv(path, "lead")
    assert Lead.get().status == "qualified" and Lead.get().company_name == "ACME"
    assert report.rejected[0].line == 3
    assert "“maybe” is not one of open, qualified" in report.rejected[0].reason


def test_typed_values_in_european_formats(profile, tmp_path):
    path = write(tmp_path, "Email;Punkte;Geburtsdatum;Aktiv\nt@example.com;12;31.12.1980;nein\n"
                           "u@example.com;1;31.02.1980;ja\nv@example.com;1e30;;\n")
    report = import_csv(path, "contact")
    t = contact("t@example.com")
    assert (t.points, t.birth_date.isoformat(), t.active) == (12, "1980-12-31", False)
    assert [(r.line, r.reason) for r in report.rejected] == [
        (3, "Birth date: “31.02.1980” is not a date (use 2024-03-31 or 31.03.2024)."),
        (4, "Points: “1e30” is too large.")]


def test_custom_fields_are_mappable_columns(profile, tmp_path):
    CustomField.create(entity="contact", key="since", label="Customer since", kind="date")
    CustomField.create(entity="contact", key="vip", label="VIP", kind="boolean")
    CustomField.create(entity="contact", key="budget", label="Budget", kind="number")
    path = write(tmp_path, "Email;Customer since;VIP;Budget\nc@example.com;01.04.2023;oui;3,5\n"
                           "d@example.com;;perhaps;\n")
    report = import_csv(path, "contact")
    assert custom_values("contact", contact("c@example.com").id) == {
        "since": __import__("datetime").date(2023, 4, 1), "vip": True, "budget": 3.5}
    assert report.rejected[0].reason == "VIP: “perhaps” is not yes or no."

    update = write(tmp_path, "Email;VIP;Budget\nc@example.com;no;3,5\n", name="update.csv")
    again = import_csv(update, "contact")
    assert again.updated == 1
    assert custom_values("contact", contact("c@example.com").id)["vip"] is False


def test_suggested_mapping_knows_french_and_german_headers(profile):
    headers = ["E-Mail", "Vorname", "Nachname", "Firma", "Straße", "PLZ", "Stadt", "Telefon",
               "Courriel", "Prénom", "Code postal", "Ville", "Téléphone", "Société", "Notes"]
    mapping = suggest_mapping("contact", headers)
    assert mapping == {
        "E-Mail": "email", "Vorname": "first_name", "Nachname": "last_name", "Firma": "company",
        "Straße": "street", "PLZ": "postal_code", "Stadt": "city", "Telefon": "phone",
        # each field is offered once: the second language's columns are left to the admin
        "Courriel": None, "Prénom": None, "Code postal": None, "Ville": None,
        "Téléphone": None, "Société": None, "Notes": None}
    assert suggest_mapping("company", ["Nom", "Ville"]) == {"Nom": "name", "Ville": "city"}
    assert suggest_mapping("lead", ["Nom", "Email Address"]) == {
        "Nom": "last_name", "Email Address": "email"}


def test_an_explicit_mapping_wins(profile, tmp_path):
    path = write(tmp_path, "Mail,Who,Where\nm@example.com,Mia,Bern\n")
    report = import_csv(path, "contact", mapping={"Mail": "email", "Who": "first_name",
                                                  "Where": None})
    assert contact("m@example.com").first_name == "Mia" and contact("m@example.com").city == ""
    assert report.warnings == ["The column “Where” was left out."]
    with pytest.raises(ImportRefused, match="no column “Nope”"):
        import_csv(path, "contact", mapping={"Nope": "email"})


# -- lists -----------------------------------------------------------------------------------------

def test_imported_records_join_the_static_list_which_is_created_if_missing(profile, tmp_path):
    path = write(tmp_path, "Email\na@example.com\nb@example.com\n")
    import_csv(path, "contact", list_name="Newsletter")
    mlist = MarketingList.get(MarketingList.name == "Newsletter")
    assert (mlist.entity, mlist.list_type) == ("contact", "static")
    assert member_ids(mlist) == {c.id for c in Contact.select()}

    set_member_state(mlist, [contact("a@example.com").id], "unsubscribed")
    more = write(tmp_path, "Email\na@example.com\nc@example.com\n", name="more.csv")
    import_csv(more, "contact", list_name="newsletter")  # the name ignores case
    assert ListMember.select().count() == 3
    assert member_ids(mlist, ("unsubscribed",)) == {contact("a@example.com").id}


def test_a_dynamic_list_or_a_list_of_another_kind_is_refused(profile, tmp_path):
    MarketingList.create(name="Auto", list_type="dynamic", filter_json='{"rules": []}')
    MarketingList.create(name="Leads", entity="lead")
    path = write(tmp_path, "Email\na@example.com\n")
    with pytest.raises(ListRefused, match="dynamic"):
        import_csv(path, "contact", list_name="Auto")
    with pytest.raises(ListRefused, match="holds leads, not contacts"):
        import_csv(path, "contact", list_name="Leads")
    assert Contact.select().count() == 0


# -- listeners, progress, cancel, rejected file ----------------------------------------------------

def test_listeners_hear_each_created_and_updated_record(profile, tmp_path):
    old = save_record(Contact(email="old@example.com", city="Paris"))
    heard: list[RecordChange] = []
    unsubscribe = subscribe(heard.append)
    try:
        path = write(tmp_path, "Email;City;Firma\nold@example.com;Lyon;\nnew@example.com;;ACME\n"
                               "same@example.com;;\n")
        import_csv(path, "contact")
        import_csv(path, "contact")  # nothing new: nothing heard
    finally:
        unsubscribe()
    new = contact("new@example.com")
    assert {(c.entity, c.record_id, c.action) for c in heard} == {
        ("contact", old.id, "updated"), ("contact", new.id, "created"),
        ("contact", contact("same@example.com").id, "created"),
        ("company", new.company_id, "created")}
    assert len(heard) == 4 and all(c.origin == "import" for c in heard)
    updated = next(c for c in heard if c.action == "updated")
    assert (updated.record_id, updated.changed_fields) == (old.id, {"city"})


def test_progress_is_reported_per_batch_and_cancel_keeps_committed_batches(profile, tmp_path):
    lines = ["Email"] + [f"p{i}@example.com" for i in range(2500)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    calls: list[tuple[int, int]] = []

    report = import_csv(path, "contact", progress=lambda done, total: calls.append((done, total)),
                        cancel=lambda: bool(calls), batch_size=1000)

    assert calls == [(1000, 2500)]
    assert report.cancelled and report.created == 1000 and report.last_line == 1001
    assert Contact.select().count() == 1000


def test_a_threading_event_cancels_too(profile, tmp_path):
    import threading

    event = threading.Event()
    event.set()
    report = import_csv(write(tmp_path, "Email\na@example.com\n"), "contact", cancel=event)
    assert report.cancelled and Contact.select().count() == 0


def test_rejected_rows_are_written_to_a_csv_with_line_and_reason(profile, tmp_path):
    path = write(tmp_path, "Email;Vorname\nbad;=1+1\nok@example.com;Ok\n")
    target = tmp_path / "logs" / "rejected.csv"
    report = import_csv(path, "contact", rejected_csv=target)
    assert report.rejected_csv == target
    with open(target, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0] == ["Line", "Reason", "Email", "Vorname"]
    assert rows[1][0] == "2" and rows[1][2:] == ["bad", "'=1+1"]


def test_the_admin_can_choose_another_encoding_or_delimiter(profile, tmp_path):
    path = write(tmp_path, "Email|Nachname\nm@example.com|Müller\n", "cp1252")
    info = sniff(path)
    assert info.headers == ("Email|Nachname",)  # a pipe is not guessed
    chosen = reread(info, "cp1252", "|")
    assert chosen.headers == ("Email", "Nachname")
    assert chosen.sample_rows == (("m@example.com", "Müller"),)
    import_csv(path, "contact", info=chosen)
    assert contact("m@example.com").last_name == "Müller"
