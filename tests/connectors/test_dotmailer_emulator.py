"""The Dotmailer v2 emulator against shared/api/dotmailer.md (§2, §5, and the server side of §6).

Real HTTP over loopback with ``requests``. Each test names the conformance point (§6) it covers.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from connectors.dotmailer import emulator as emulator_module
from connectors.dotmailer.emulator import (
    DEFAULT_PASSWORD,
    DEFAULT_USER,
    SETTINGS_DEFAULTS,
    DotmailerEmulator,
)
from connectors.dotmailer.emulator import cli as emulator_cli

SHARED = Path(os.environ.get("LISTBRIDGE_SHARED") or Path(__file__).resolve().parents[3] / "shared")
FIXTURES = SHARED / "api" / "fixtures" / "dotmailer"
AUTH = (DEFAULT_USER, DEFAULT_PASSWORD)
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DENIED = '{"message":"Authorization has been denied for this request."}'
NOW = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
ALL_CONTACTS_ID, TEST_BOOK_ID, FIRST_BOOK_ID = 1000, 1001, 1002


class Api:
    """A thin client for the tests: paths are relative to {base}/v2."""

    def __init__(self, session: requests.Session, base: str, auth: Any = AUTH) -> None:
        self.session, self.base, self.auth = session, base, auth

    def url(self, path: str) -> str:
        return f"{self.base}/v2/{path}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), auth=self.auth, timeout=5, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), auth=self.auth, timeout=5, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url(path), auth=self.auth, timeout=5, **kwargs)


@pytest.fixture
def emu() -> Iterator[DotmailerEmulator]:
    with DotmailerEmulator() as emulator:
        yield emulator


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def api(emu: DotmailerEmulator, session: requests.Session) -> Api:
    return Api(session, emu.url)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def start_import(api: Api, book: int, text: str, name: str = "lb-1-0001.csv") -> str:
    response = api.post(
        f"address-books/{book}/contacts/import", json={"fileName": name, "data": b64(text)}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def run_import(api: Api, book: int, text: str) -> str:
    import_id = start_import(api, book, text)
    for _ in range(10):
        if api.get(f"contacts/import/{import_id}").json()["status"] != "NotFinished":
            return import_id
    raise AssertionError("import never finished")


def book_emails(api: Api, book: int, **params: Any) -> list[str]:
    response = api.get(f"address-books/{book}/contacts", params=params)
    assert response.status_code == 200, response.text
    return [c["email"] for c in response.json()]


def message(response: requests.Response) -> str:
    return str(response.json()["message"])


def walk_keys(payload: Any) -> Iterator[str]:
    if isinstance(payload, dict):
        for key, value in payload.items():
            yield key
            yield from walk_keys(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from walk_keys(item)


def camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def seed_world(emu: DotmailerEmulator) -> dict[str, int]:
    """A book with two members, a suppressed contact, a sent and an unsent campaign."""
    book = emu.add_book("Newsletter")
    alex = emu.add_contact("alex@example.com", {"FIRSTNAME": "Alex"}, books=[book])
    emu.add_contact("sam@example.com", books=["Newsletter"])
    sent = emu.add_campaign("Spring", "Sent", books=[book], date_sent=NOW - timedelta(days=2))
    unsent = emu.add_campaign("Draft", "Unsent", books=[book])
    emu.add_activity(
        sent,
        "alex@example.com",
        opens=2,
        clicks=1,
        first_opened=NOW - timedelta(days=1),
        at=NOW - timedelta(days=1),
    )
    return {"book": book, "alex": alex, "sent": sent, "unsent": unsent}


# -- 1, 2: discovery and regions ---------------------------------------------------------------


def test_account_info_answers_on_every_region_and_leads_to_a_working_base(
    emu: DotmailerEmulator, session: requests.Session
) -> None:
    """Point 1."""
    assert emu.url == emu.region_urls[1]
    assert len(set(emu.region_urls.values())) == 3
    for url in emu.region_urls.values():
        info = Api(session, url).get("account-info")
        assert info.status_code == 200
        props = {p["name"]: p["value"] for p in info.json()["properties"]}
        assert props["ApiEndpoint"] == emu.url
        assert {"Name", "MainEmail", "APILocale"} <= props.keys()
        base = props["ApiEndpoint"].rstrip("/")
        assert Api(session, base).get("address-books").status_code == 200


def test_wrong_region_gets_403_and_discovery_points_to_the_right_one(
    emu: DotmailerEmulator, session: requests.Session
) -> None:
    """Point 2 (server part)."""
    emu.set_region(None, 2)
    r1, r2, r3 = (Api(session, emu.region_urls[r]) for r in (1, 2, 3))
    assert r1.get("address-books").status_code == 403
    assert r3.get("data-fields").status_code == 403
    for api in (r1, r3):
        props = {p["name"]: p["value"] for p in api.get("account-info").json()["properties"]}
        assert props["ApiEndpoint"] == emu.region_urls[2]
    assert r2.get("address-books").status_code == 200
    emu.set_config(region_enforced=False)
    assert r1.get("address-books").status_code == 200


def test_base_port_gives_consecutive_region_ports() -> None:
    for _attempt in range(20):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = int(probe.getsockname()[1])
        try:
            emulator = DotmailerEmulator(base_port=free).start()
        except OSError:
            continue  # a neighbouring port was taken: try another range
        with emulator:
            ports = [int(emulator.region_urls[r].rsplit(":", 1)[1]) for r in (1, 2, 3)]
            assert ports == [free, free + 1, free + 2]
        return
    raise AssertionError("no three consecutive free ports found")


def test_a_taken_port_raises_instead_of_exiting() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = int(blocker.getsockname()[1])
        emulator = DotmailerEmulator(base_port=taken - 2)  # r3 collides
        with pytest.raises(OSError):
            emulator.start()
    with pytest.raises(RuntimeError):
        emulator.url  # noqa: B018 - nothing is left listening


# -- 3: authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth", [None, (DEFAULT_USER, "wrong-pass-1"), ("nobody@apiconnector.com", DEFAULT_PASSWORD)]
)
def test_bad_credentials_get_the_exact_401(
    emu: DotmailerEmulator, session: requests.Session, auth: Any
) -> None:
    """Point 3."""
    response = Api(session, emu.url, auth).get("address-books")
    assert response.status_code == 401
    assert response.text == DENIED
    bearer = session.get(
        f"{emu.url}/v2/account-info", headers={"Authorization": "Bearer x"}, timeout=5
    )
    assert (bearer.status_code, bearer.text) == (401, DENIED)


def test_added_users_log_in_and_server_time_is_open_unless_configured(
    emu: DotmailerEmulator, session: requests.Session
) -> None:
    emu.add_user("apiuser-second@apiconnector.com", "second-pass-2")
    second = Api(session, emu.url, ("APIUSER-second@apiconnector.com", "second-pass-2"))
    assert second.get("address-books").status_code == 200
    anonymous = Api(session, emu.url, None)
    time_response = anonymous.get("server-time")
    assert time_response.status_code == 200
    assert time_response.json() == "2024-05-01T10:00:00.000Z"
    emu.set_config(server_time_auth=True)
    assert anonymous.get("server-time").text == DENIED
    assert Api(session, emu.url).get("server-time").status_code == 200


# -- 4, 5: JSON rules ------------------------------------------------------------------------------


def test_response_keys_start_lower_case_and_settings_change_casing(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 4 (server part), with response_casing and extra_fields."""
    ids = seed_world(emu)
    emu.suppress("sam@example.com", "HardBounced")
    paths = [
        "account-info",
        "address-books",
        f"address-books/{ids['book']}/contacts?withFullData=true",
        "contacts/suppressed-since/2020-01-01",
        f"campaigns/{ids['sent']}",
        f"campaigns/{ids['sent']}/activities",
        f"campaigns/{ids['sent']}/summary",
        "data-fields",
        "contacts/alex@example.com",
    ]
    for path in paths:
        keys = list(walk_keys(api.get(path).json()))
        assert keys and all(k[0].islower() for k in keys), path
    emu.set_config(response_casing="pascal", extra_fields=True)
    contact = api.get("contacts/alex@example.com").json()
    assert {"Id", "Email", "OptInType", "EmailType", "DataFields", "Status"} <= contact.keys()
    assert contact["ZzFutureField"] == 1
    assert all(item["ZzFutureField"] == 1 for item in contact["DataFields"])


def test_body_keys_query_names_and_enum_values_bind_in_any_case(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 5."""
    bodies = [
        {"Name": "Pascal", "Visibility": "Public"},
        {"name": "camel", "visibility": "public"},
        {"NAME": "upper", "VISIBILITY": "PUBLIC"},
    ]
    created = [api.post("address-books", json=body) for body in bodies]
    assert [r.status_code for r in created] == [201, 201, 201]
    assert {r.json()["visibility"] for r in created} == {"Public"}
    fields = [
        {"Name": "F_ONE", "Type": "numeric", "DefaultValue": 3},
        {"name": "f_two", "type": "NUMERIC", "defaultValue": 3},
    ]
    results = [api.post("data-fields", json=body) for body in fields]
    assert [r.json()["type"] for r in results] == ["Numeric", "Numeric"]
    emu.add_contact("a@example.com", books=["Pascal"])
    emu.add_contact("b@example.com", books=["Pascal"])
    book = created[0].json()["id"]
    page = api.get(
        f"address-books/{book}/contacts", params={"SELECT": 1, "Skip": 1, "WITHFULLDATA": "TRUE"}
    )
    assert [c["email"] for c in page.json()] == ["b@example.com"]
    assert page.json()[0]["dataFields"] is not None
    for body in (
        {"FileName": "x.csv", "Data": b64("Email\nc@example.com\n")},
        {"filename": "y.csv", "DATA": b64("email\nd@example.com\n")},
    ):
        assert api.post(f"address-books/{book}/contacts/import", json=body).status_code == 202


# -- 6, 7: paging ----------------------------------------------------------------------------------


def test_lists_return_at_most_select_and_empty_past_the_end(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 6."""
    for name in ("B1", "B2", "B3"):
        emu.add_book(name)
    everything = api.get("address-books").json()
    assert [b["name"] for b in everything] == ["All Contacts", "Test", "B1", "B2", "B3"]
    pages = [api.get("address-books", params={"select": 2, "skip": s}).json() for s in (0, 2, 4)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [b["id"] for p in pages for b in p] == [b["id"] for b in everything]
    assert api.get("address-books", params={"select": 2, "skip": 50}).json() == []
    for params in ({"select": 0}, {"select": 1001}, {"select": "x"}, {"skip": -1}):
        bad = api.get("address-books", params=params)
        assert (bad.status_code, message(bad)) == (400, "Error: ERROR_PARAMETER_INVALID")
    emu.set_config(select_default=2, select_max=3)
    assert len(api.get("address-books").json()) == 2
    assert api.get("address-books", params={"select": 4}).status_code == 400


def test_shuffled_pages_with_an_insert_still_yield_every_id(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 7: Oro-style overlapping reads under page_order=shuffle."""
    book = emu.add_book("Big")
    for index in range(40):
        emu.add_contact(f"c{index:02d}@example.com", books=[book])
    emu.set_config(page_order="shuffle")
    original = {c["id"] for c in api.get(f"address-books/{book}/contacts").json()}
    select, overlap, skip, seen, pages = 10, 3, 0, [], 0
    while True:
        page = api.get(f"address-books/{book}/contacts", params={"select": select, "skip": skip})
        ids = [c["id"] for c in page.json()]
        assert len(ids) == len(set(ids))
        seen += ids
        pages += 1
        if pages == 1:
            emu.add_contact("late@example.com", books=[book])
        if len(ids) < select:
            break
        skip += select - overlap
    assert original <= set(seen)
    shuffled = [c["id"] for c in api.get(f"address-books/{book}/contacts").json()]
    assert shuffled != sorted(shuffled)
    assert shuffled == [c["id"] for c in api.get(f"address-books/{book}/contacts").json()]
    emu.set_config(page_order="reverse")
    reverse = [c["id"] for c in api.get(f"address-books/{book}/contacts").json()]
    assert reverse == sorted(reverse, reverse=True)


def test_big_lists_are_ordered_once_and_follow_every_change(
    emu: DotmailerEmulator, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of a big list costs the page: the emulator orders a book's contacts or a
    campaign's activities once, and again only after they changed (a read of 1,000,000
    activities in pages of 1,000 is linear, not quadratic)."""
    book = emu.add_book("Big")
    for index in range(30):
        emu.add_contact(f"c{index:02d}@example.com", books=[book])
    campaign = emu.add_campaign("Sent", "Sent", [book])
    for index in range(25):
        emu.add_activity(campaign, f"c{index:02d}@example.com", opens=1)
    sorts = []
    ordered = DotmailerEmulator._ordered

    def counting(self: DotmailerEmulator, items: Any, key: Any) -> Any:
        sorts.append(len(items))
        return ordered(self, items, key)

    monkeypatch.setattr(DotmailerEmulator, "_ordered", counting)

    def read(path: str, **params: Any) -> list[dict[str, Any]]:
        rows = []
        for skip in range(0, 40, 10):
            rows += api.get(path, params={"select": 10, "skip": skip, **params}).json()
        return rows

    activities = f"campaigns/{campaign}/activities"
    assert [a["email"] for a in read(activities)] == [f"c{i:02d}@example.com" for i in range(25)]
    assert sorts == [25]  # four pages, one ordering
    emu.add_activity(campaign, "c00@example.com", opens=7)  # changed: ordered again
    emu.add_activity(campaign, "c29@example.com", opens=1)  # and one more
    rows = read(activities)
    assert (len(rows), rows[0]["numOpens"], rows[-1]["email"]) == (26, 7, "c29@example.com")
    assert sorts == [25, 26]
    since = read(f"{activities}/since-date/2024-01-01")
    assert len(since) == 26 and sorts == [25, 26, 26]

    contacts = read(f"address-books/{book}/contacts")
    assert len(contacts) == 30 and sorts[3:] == [30]
    emu.unsubscribe_from_book(book, "c05@example.com")
    emu.remove_from_book(book, "c06@example.com")
    emails = [c["email"] for c in read(f"address-books/{book}/contacts")]
    assert len(emails) == 28 and "c05@example.com" not in emails and sorts[3:] == [30, 28]
    modified = f"address-books/{book}/contacts/modified-since/2024-01-01"
    assert len(read(modified)) == 28
    emu.update_contact("c07@example.com", fields={"FIRSTNAME": "Changed"})
    changed = {c["email"]: c for c in read(modified, withFullData="true")}["c07@example.com"]
    assert {"key": "FIRSTNAME", "value": "Changed"} in changed["dataFields"]
    assert sorts[3:] == [30, 28, 28, 28]


def test_contacts_are_found_by_email_after_renames_imports_and_restores(
    emu: DotmailerEmulator, api: Api
) -> None:
    book = emu.add_book("Renames")
    alex = emu.add_contact("alex@example.com", books=[book])
    emu.add_contact("sam@example.com")
    emu.update_contact(alex, email="Alex.New@Example.com")
    assert api.get("contacts/alex.new@example.com").json()["id"] == alex
    assert api.get("contacts/alex@example.com").status_code == 404
    with pytest.raises(ValueError, match="exists"):
        emu.update_contact(alex, email="sam@example.com")  # emails stay unique
    start_import(api, book, "Email\nALEX.NEW@example.com\nnew@example.com\n")
    assert emu.finish_imports() == 1
    assert api.get("contacts/new@example.com").json()["id"] > alex
    assert len(emu.snapshot()["contacts"]) == 3  # the import updated alex, did not add
    snapshot = emu.snapshot()
    emu.reset()
    assert api.get("contacts/new@example.com").status_code == 404
    emu.restore(snapshot)
    assert api.get("contacts/alex.new@example.com").json()["id"] == alex
    assert len(api.get(f"address-books/{book}/contacts").json()) == 2


# -- 8: path dates -----------------------------------------------------------------------------


def test_every_path_date_form_selects_the_same_rows(emu: DotmailerEmulator, api: Api) -> None:
    """Point 8: E7, E8, E9, E17 and E20 with every accepted form of one instant."""
    midnight = datetime(2024, 4, 1, tzinfo=UTC)
    book, left = emu.add_book("Dates"), emu.add_book("Left")
    campaign = emu.add_campaign("C", books=[book], date_sent=midnight - timedelta(days=3))
    for name, delta in (("before", -1), ("exact", 0), ("after", 1)):
        when = midnight + timedelta(seconds=delta)
        emu.add_contact(f"{name}@example.com", books=[book, left], at=when)
        emu.unsubscribe_from_book(left, f"{name}@example.com", at=when)
        emu.suppress(f"{name}@example.com", "Unsubscribed", at=when)
        emu.add_activity(campaign, f"{name}@example.com", opens=1, at=when)
    forms = [
        "2024-04-01T00:00:00Z",
        "2024-04-01T00:00:00z",
        "2024-04-01T00:00:00+0000",
        "2024-04-01T00:00:00+00:00",
        "2024-04-01T00:00:00",
        "2024-04-01",
        "2024-04-01 00:00:00",
        "2024-04-01T00:00:00.000Z",
    ]
    endpoints = [
        f"address-books/{book}/contacts/modified-since/{{}}",
        f"address-books/{left}/contacts/unsubscribed-since/{{}}",
        "contacts/suppressed-since/{}",
        f"campaigns/{campaign}/activities/since-date/{{}}",
    ]
    for endpoint in endpoints:
        results = set()
        for form in forms:
            response = api.get(endpoint.format(quote(form, safe="@+:")))
            assert response.status_code == 200, (endpoint, form, response.text)
            results.add(json.dumps(response.json(), sort_keys=True))
        assert len(results) == 1, endpoint
        assert "after@example.com" in results.pop()
    rows = api.get(endpoints[0].format("2024-04-01T00:00:00Z")).json()
    assert [r["email"] for r in rows] == ["after@example.com"]
    encoded_plus = api.get(endpoints[0].format("2024-04-01T00:00:00%2B00:00")).json()
    assert [r["email"] for r in encoded_plus] == ["after@example.com"]
    with_activity = api.get("campaigns/with-activity-since/2024-04-01").json()
    assert [c["id"] for c in with_activity] == [campaign]
    for bad in ("2024-04-01T00:00:00+01:00", "yesterday", "2024-13-01", "01/04/2024"):
        response = api.get(endpoints[0].format(quote(bad, safe="@+:")))
        assert (response.status_code, message(response)) == (400, "Error: ERROR_PARAMETER_INVALID")


# -- 9, 22: address books ----------------------------------------------------------------------


def test_create_book_and_duplicate_names(emu: DotmailerEmulator, api: Api) -> None:
    """Point 9."""
    created = api.post("address-books", json={"name": "Newsletter", "visibility": "Private"})
    assert created.status_code == 201
    assert created.json() == {
        "id": FIRST_BOOK_ID,
        "name": "Newsletter",
        "visibility": "Private",
        "contacts": 0,
    }
    assert api.get(f"address-books/{FIRST_BOOK_ID}").json() == created.json()
    for name in ("Newsletter", " newsletter ", "Test", "all contacts"):
        duplicate = api.post("address-books", json={"name": name})
        assert (duplicate.status_code, message(duplicate)) == (
            400,
            "Error: ERROR_ADDRESSBOOK_DUPLICATE",
        )
    for body in ({"name": ""}, {"name": "x" * 129}, {"name": "V", "visibility": "Secret"}):
        assert api.post("address-books", json=body).status_code == 400
    assert api.post("address-books", json={"name": "x" * 128}).status_code == 201


def test_system_books_are_listed_per_setting_and_not_writable(
    emu: DotmailerEmulator, api: Api
) -> None:
    """§5.3 Books: All Contacts holds everyone; Test and All Contacts refuse API writes."""
    ids = seed_world(emu)
    names = [b["name"] for b in api.get("address-books").json()]
    assert names[:2] == ["All Contacts", "Test"]
    everyone = api.get(f"address-books/{ALL_CONTACTS_ID}").json()
    assert everyone["contacts"] == 2
    assert book_emails(api, ALL_CONTACTS_ID) == ["alex@example.com", "sam@example.com"]
    not_writable = "Address book cannot be written to via the API. ERROR_ADDRESSBOOK_NOTWRITABLE"
    for book in (ALL_CONTACTS_ID, TEST_BOOK_ID):
        calls = [
            api.delete(f"address-books/{book}"),
            api.post(
                f"address-books/{book}/contacts/import",
                json={"fileName": "a.csv", "data": b64("Email\na@b.co\n")},
            ),
            api.post(f"address-books/{book}/contacts/delete", json=[ids["alex"]]),
        ]
        assert [(r.status_code, message(r)) for r in calls] == [(400, not_writable)] * 3
    emu.set_config(system_books_listed=False)
    assert [b["name"] for b in api.get("address-books").json()] == ["Newsletter"]


def test_deleted_book_is_not_found(emu: DotmailerEmulator, api: Api) -> None:
    """Point 22 (server part)."""
    ids = seed_world(emu)
    other = emu.add_book("Other")
    emu.delete_book("Newsletter")
    for path in (
        f"address-books/{ids['book']}",
        f"address-books/{ids['book']}/contacts",
        f"address-books/{ids['book']}/campaigns",
    ):
        gone = api.get(path)
        assert (gone.status_code, message(gone)) == (404, "Error: ERROR_ADDRESSBOOK_NOT_FOUND")
    assert api.get(f"address-books/{other}").status_code == 200
    assert api.delete(f"address-books/{other}").status_code == 204
    assert api.get(f"address-books/{other}").status_code == 404
    emu.set_config(not_found_status=400)
    assert api.get(f"address-books/{other}").status_code == 400


# -- 11-17: imports ----------------------------------------------------------------------------


def test_import_is_accepted_then_finishes_after_exactly_n_polls(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 11."""
    book = emu.add_book("Imports")
    emu.set_config(import_polls_until_done=3)
    accepted = api.post(
        f"address-books/{book}/contacts/import",
        json={
            "fileName": "lb-11-0001.csv",
            "data": "RW1haWwsRklSU1ROQU1FDQphbGV4QGV4YW1wbGUuY29tLEFsZXgNCg==",
        },
    )
    assert accepted.status_code == 202
    import_id = accepted.json()["id"]
    assert GUID.match(import_id) and accepted.json()["status"] == "NotFinished"
    statuses = []
    for _ in range(4):
        statuses.append(api.get(f"contacts/import/{import_id}").json()["status"])
        if statuses[-1] == "NotFinished":
            assert book_emails(api, book) == []
    assert statuses == ["NotFinished"] * 3 + ["Finished"]
    assert book_emails(api, book) == ["alex@example.com"]
    fields = api.get("contacts/alex@example.com").json()["dataFields"]
    assert {"key": "FIRSTNAME", "value": "Alex"} in fields
    emu.set_config(import_polls_until_done=0)
    quick = start_import(api, book, "Email\nb@example.com\n")
    assert api.get(f"contacts/import/{quick}").json()["status"] == "Finished"


def test_import_ids_come_from_the_seed(session: requests.Session) -> None:
    """§5.2: GUIDs from a seeded generator; the same seed gives the same ids."""
    ids = []
    for seed in (7, 7, 8):
        with DotmailerEmulator(seed=seed) as emulator:
            api = Api(session, emulator.url)
            book = emulator.add_book("B")
            ids.append([start_import(api, book, "Email\na@b.co\n") for _ in range(2)])
    assert ids[0] == ids[1] and ids[0] != ids[2]
    assert len(set(ids[0])) == 2


def test_twenty_sixth_active_import_is_refused(emu: DotmailerEmulator, api: Api) -> None:
    """Point 12 (server part)."""
    book = emu.add_book("Many")
    for _ in range(25):
        start_import(api, book, "Email\na@example.com\n")
    refused = api.post(
        f"address-books/{book}/contacts/import",
        json={"fileName": "x.csv", "data": b64("Email\na@example.com\n")},
    )
    assert (refused.status_code, message(refused)) == (
        400,
        "Error: ERROR_IMPORT_TOOMANYACTIVEIMPORTS",
    )
    assert emu.finish_imports() == 25
    start_import(api, book, "Email\na@example.com\n")
    emu.set_config(max_active_imports_server=1)
    assert (
        api.post(
            f"address-books/{book}/contacts/import",
            json={"fileName": "x.csv", "data": b64("Email\n")},
        ).status_code
        == 400
    )


def test_imported_emails_are_trimmed_lower_cased_and_merged(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 13 and the import rules of §5.3."""
    book = emu.add_book("Case")
    emu.add_datafield("SCORE", "Numeric")
    emu.add_contact("kept@example.com", {"FIRSTNAME": "Kept", "LASTNAME": "Old"})
    text = (
        "id,EMAIL,firstname,LastName,score,optInType,EmailType,Unknown\r\n"
        "9,  Mixed.Case@Example.COM ,First,One,12,double,plaintext,x\r\n"
        "9,mixed.case@example.com,Second,Two,abc,Bogus,Html,y\r\n"
        "9,KEPT@example.com,Kept,,1.5,,,\r\n"
    )
    import_id = run_import(api, book, text)
    report = api.get(f"contacts/import/{import_id}/report").json()
    assert (report["newContacts"], report["updatedContacts"], report["duplicateEmails"]) == (
        1,
        1,
        1,
    )
    assert all(isinstance(report[k], int) for k in report)
    assert book_emails(api, book) == ["kept@example.com", "mixed.case@example.com"]
    mixed = api.get(f"contacts/{quote('MIXED.Case@example.com', safe='@+:')}").json()
    values = {f["key"]: f["value"] for f in mixed["dataFields"]}
    # The last row wins; its bad number and bad opt-in type are ignored, not applied.
    assert (values["FIRSTNAME"], values["LASTNAME"], values["SCORE"]) == ("Second", "Two", None)
    assert (mixed["optInType"], mixed["emailType"]) == ("Unknown", "Html")
    kept = {f["key"]: f["value"] for f in api.get("contacts/kept@example.com").json()["dataFields"]}
    assert (kept["LASTNAME"], kept["SCORE"]) == (None, 1.5)  # blank_cells=clear
    emu.set_config(blank_cells="keep")
    emu.update_contact("kept@example.com", fields={"LASTNAME": "Again"})
    run_import(api, book, "Email,LASTNAME,optintype\nkept@example.com,,Double\n")
    kept_now = api.get("contacts/kept@example.com").json()
    assert {"key": "LASTNAME", "value": "Again"} in kept_now["dataFields"]
    assert kept_now["optInType"] == "Double"


def test_faults_csv_and_report_wait_for_the_final_status(emu: DotmailerEmulator, api: Api) -> None:
    """Point 14 (server part) and the fault reasons of §5.3."""
    book = emu.add_book("Faults")
    statuses = {
        "hard@example.com": "HardBounced",
        "unsub@example.com": "Unsubscribed",
        "mine@example.com": "Suppressed",
        "isp@example.com": "IspComplained",
    }
    for email, status in statuses.items():
        emu.add_contact(email, status=status)
    emu.add_contact("left@example.com", books=[book])
    emu.unsubscribe_from_book(book, "left@example.com")
    text = "eMail,FirstName\r\nnot-an-email,A\r\n" + "".join(
        f"{e},N\r\n" for e in (*statuses, "left@example.com", "ok@example.com")
    )
    import_id = start_import(api, book, text)
    for path in ("report", "report-faults"):
        early = api.get(f"contacts/import/{import_id}/{path}")
        assert (early.status_code, message(early)) == (
            404,
            ("Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND"),
        )
    assert api.get(f"contacts/import/{import_id}").json()["status"] == "NotFinished"
    assert api.get(f"contacts/import/{import_id}").json()["status"] == "Finished"
    faults = api.get(f"contacts/import/{import_id}/report-faults")
    assert faults.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert faults.content.startswith(b"\xef\xbb\xbfReason,eMail,FirstName\n")
    assert b"\r\n" not in faults.content
    rows = list(csv.reader(io.StringIO(faults.content.decode("utf-8-sig"))))
    assert rows == [
        ["Reason", "eMail", "FirstName"],
        ["Invalid Entries", "not-an-email", "A"],
        ["Hard Bounced", "hard@example.com", "N"],
        ["Unsubscribed", "unsub@example.com", "N"],
        ["Suppressed by you", "mine@example.com", "N"],
        ["Globally Suppressed", "isp@example.com", "N"],
        ["Unsubscribed", "left@example.com", "N"],
    ]
    assert book_emails(api, book) == ["ok@example.com"]
    report = api.get(f"contacts/import/{import_id}/report").json()
    assert {
        k: report[k]
        for k in (
            "invalidEntries",
            "hardBounced",
            "unsubscribed",
            "suppressedContacts",
            "globallySuppressed",
            "newContacts",
        )
    } == {
        "invalidEntries": 1,
        "hardBounced": 1,
        "unsubscribed": 2,
        "suppressedContacts": 1,
        "globallySuppressed": 1,
        "newContacts": 1,
    }
    emu.set_config(
        faults_csv_bom=False,
        faults_csv_newline="CRLF",
        faults_content_type="application/octet-stream",
    )
    variant = api.get(f"contacts/import/{import_id}/report-faults")
    assert variant.headers["Content-Type"] == "application/octet-stream"
    assert variant.content.startswith(b"Reason,eMail,FirstName\r\nInvalid Entries")


def test_fixture_import_faults_match_the_emulators_faults(emu: DotmailerEmulator, api: Api) -> None:
    """Point 15: the Oro fixture and the emulator's own faults CSV parse alike."""
    fixture = FIXTURES / "importFaults.csv"
    if not fixture.exists():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    raw = fixture.read_bytes()
    expected = ["test1@ex.com", "catherinejhinojosa@armyspy.com", "frankjclarke@gustr.com"]
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r["email"] for r in rows] == expected
    assert {r["Reason"].replace(" ", "").lower() for r in rows} == {"hardbounced"}
    header, *data = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    for email in expected:
        emu.add_contact(email, status="HardBounced")
    book = emu.add_book("Oro")
    uploaded = "\r\n".join(",".join(row[1:]) for row in [header, *data]) + "\r\n"
    import_id = run_import(api, book, uploaded)
    built = api.get(f"contacts/import/{import_id}/report-faults").content
    ours = list(csv.DictReader(io.StringIO(built.decode("utf-8-sig"), newline="")))
    assert list(ours[0].keys()) == header
    assert [r["email"] for r in ours] == expected
    assert all(r["Reason"].replace(" ", "").lower() == "hardbounced" for r in ours)
    assert [list(r.values())[1:] for r in ours] == [row[1:] for row in data]


def test_scripted_watchdog_rejection_applies_nothing(emu: DotmailerEmulator, api: Api) -> None:
    """Point 16 (server part) and script_imports: outcomes are used first in, first out."""
    book = emu.add_book("Watchdog")
    emu.script_imports(
        [
            {"status": "RejectedByWatchdog", "polls": 2, "faults": [("a@x.io", "Hard Bounced")]},
            {"Status": "failed", "polls": 0},
        ]
    )
    rejected = start_import(api, book, "Email\na@x.io\nb@x.io\n")
    statuses = [api.get(f"contacts/import/{rejected}").json()["status"] for _ in range(3)]
    assert statuses == ["NotFinished", "NotFinished", "RejectedByWatchdog"]
    assert book_emails(api, book) == []
    faults = api.get(f"contacts/import/{rejected}/report-faults").content.decode("utf-8-sig")
    assert faults.splitlines() == ["Reason,Email", "Hard Bounced,a@x.io"]
    failed = start_import(api, book, "Email\nc@x.io\n")
    assert api.get(f"contacts/import/{failed}").json()["status"] == "Failed"
    normal = run_import(api, book, "Email\nd@x.io\n")
    assert api.get(f"contacts/import/{normal}").json()["status"] == "Finished"
    assert book_emails(api, book) == ["d@x.io"]


def test_upload_forms_and_unreadable_files(emu: DotmailerEmulator, api: Api) -> None:
    """E12 multipart and JSON; file must be valid; unsupported format; no Email column."""
    book = emu.add_book("Uploads")
    path = f"address-books/{book}/contacts/import"
    multipart = api.post(path, files={"file": ("list.csv", b"Email\nm@example.com\n")})
    assert multipart.status_code == 202
    for files in ({"file": (None, b"Email\n")}, {"file": ("", b"Email\n")}):
        nameless = api.post(path, files=files)
        assert (nameless.status_code, nameless.text) == (400, '{"message":"file must be valid"}')
    for body in ({"fileName": "x.csv"}, {"fileName": "x.csv", "data": "***"}, {"data": b64("a")}):
        assert message(api.post(path, json=body)) == "file must be valid"
    odd = api.post(path, json={"fileName": "x.txt", "data": b64("Email\n")})
    assert message(odd) == "Error: ERROR_IMPORT_UNSUPPORTED_FORMAT"
    no_email = start_import(api, book, "Name\nAlex\n")
    excel = start_import(api, book, "not really excel", name="list.xlsx")
    emu.finish_imports()
    for import_id in (no_email, excel):
        assert api.get(f"contacts/import/{import_id}").json()["status"] == "InvalidFileFormat"
    assert book_emails(api, book) == ["m@example.com"]
    emu.set_config(no_email_column="error")
    refused = api.post(path, json={"fileName": "x.csv", "data": b64("Name\nAlex\n")})
    assert (refused.status_code, message(refused)) == (400, "Error: ERROR_NO_EMAIL_COLUMN")


def test_unknown_imports_and_time_based_finishing(emu: DotmailerEmulator, api: Api) -> None:
    """A GUID never issued is Unknown (or 404); import_seconds_until_done; deleted books."""
    never = "391da8d7-70f0-405b-98d4-02faa41d499d"
    assert api.get(f"contacts/import/{never}").json() == {"id": never, "status": "Unknown"}
    assert message(api.get(f"contacts/import/{never}/report")) == "Error: ERROR_IMPORT_NOT_FOUND"
    assert api.get("contacts/import/not-a-guid").status_code == 400
    emu.set_config(unknown_import_response="404")
    gone = api.get(f"contacts/import/{never}")
    assert (gone.status_code, message(gone)) == (404, "Error: ERROR_IMPORT_NOT_FOUND")
    book = emu.add_book("Timed")
    emu.set_config(import_seconds_until_done=30)
    timed = start_import(api, book, "Email\nt@example.com\n")
    assert [api.get(f"contacts/import/{timed}").json()["status"] for _ in range(3)] == [
        "NotFinished"
    ] * 3
    emu.advance(30)
    assert api.get(f"contacts/import/{timed}/report").json()["newContacts"] == 1
    emu.set_config(import_seconds_until_done=None)
    orphan = start_import(api, book, "Email\no@example.com\n")
    emu.delete_book(book)
    emu.finish_imports()
    assert api.get(f"contacts/import/{orphan}").json()["status"] == "Failed"


# -- 18-20: removals, unsubscribes, suppressions -------------------------------------------------


def test_removal_answers_204_and_is_not_an_unsubscribe(emu: DotmailerEmulator, api: Api) -> None:
    """Point 18."""
    ids = seed_world(emu)
    book = ids["book"]
    sam = emu.add_contact("third@example.com", books=[book])
    removed = api.post(f"address-books/{book}/contacts/delete", json=[ids["alex"], 999999])
    assert (removed.status_code, removed.content) == (204, b"")
    single = api.delete(f"address-books/{book}/contacts/{sam}")
    assert (single.status_code, single.content) == (204, b"")
    assert book_emails(api, book) == ["sam@example.com"]
    assert api.get(f"address-books/{book}/contacts/unsubscribed-since/2000-01-01").json() == []
    assert len(book_emails(api, ALL_CONTACTS_ID)) == 3
    assert api.get(f"address-books/{book}").json()["contacts"] == 1
    emu.set_config(delete_unknown_ids="404")
    unknown = api.post(f"address-books/{book}/contacts/delete", json=[999999])
    assert (unknown.status_code, message(unknown)) == (404, "Error: ERROR_CONTACT_NOT_FOUND")
    assert api.post(f"address-books/{book}/contacts/delete", json={"ids": [1]}).status_code == 400
    # Literal segments win: POST .../contacts/delete is E10, DELETE .../contacts/delete is E11.
    assert api.delete(f"address-books/{book}/contacts/delete").status_code == 400


def test_book_unsubscribe_shows_in_e8_only(emu: DotmailerEmulator, api: Api) -> None:
    """Point 19 and the E8 half of point 20."""
    ids = seed_world(emu)
    book = ids["book"]
    emu.unsubscribe_from_book("Newsletter", "ALEX@example.com", at=NOW - timedelta(hours=1))
    rows = api.get(f"address-books/{book}/contacts/unsubscribed-since/2024-04-30").json()
    assert rows == [
        {
            "suppressedContact": {
                "id": ids["alex"],
                "email": "alex@example.com",
                "optInType": "Single",
                "emailType": "Html",
                "dataFields": [],
                "status": "Subscribed",
            },
            "dateRemoved": "2024-05-01T09:00:00.000Z",
            "reason": "Unsubscribed",
        }
    ]
    assert (
        api.get(f"address-books/{book}/contacts/unsubscribed-since/2024-05-01T09:30:00Z").json()
        == []
    )
    assert book_emails(api, book) == ["sam@example.com"]
    assert api.get("contacts/alex@example.com").json()["status"] == "Subscribed"
    assert api.get("contacts/suppressed-since/2000-01-01").json() == []
    emu.set_config(unsubscribed_members_listed=True, suppressed_contact_status="reason")
    assert book_emails(api, book) == ["alex@example.com", "sam@example.com"]
    inner = api.get(f"address-books/{book}/contacts/unsubscribed-since/2000-01-01").json()
    assert inner[0]["suppressedContact"]["status"] == "Unsubscribed"


def test_account_suppression_shows_in_e9(emu: DotmailerEmulator, api: Api) -> None:
    """Point 20 (server part)."""
    ids = seed_world(emu)
    emu.suppress("sam@example.com", "HardBounced", at=NOW - timedelta(minutes=5))
    rows = api.get("contacts/suppressed-since/2024-05-01T00:00:00Z").json()
    assert [(r["suppressedContact"]["email"], r["reason"], r["dateRemoved"]) for r in rows] == [
        ("sam@example.com", "HardBounced", "2024-05-01T09:55:00.000Z")
    ]
    assert rows[0]["suppressedContact"]["status"] == "HardBounced"
    assert rows[0]["suppressedContact"]["dataFields"] == []
    listed = api.get(f"address-books/{ids['book']}/contacts").json()
    assert {c["email"]: c["status"] for c in listed}["sam@example.com"] == "HardBounced"
    book_path = f"address-books/{ids['book']}/contacts/unsubscribed-since/2000-01-01"
    assert api.get(book_path).json() == []
    emu.set_config(book_unsubscribes_include_account=True)
    assert [r["reason"] for r in api.get(book_path).json()] == ["HardBounced"]
    with pytest.raises(ValueError):
        emu.suppress("alex@example.com", "Subscribed")


def test_modified_since_follows_contact_and_membership_changes(
    emu: DotmailerEmulator, api: Api
) -> None:
    """E7: the contact or the membership changed after the date."""
    book = emu.add_book("Mod")
    emu.add_contact("old@example.com", books=[book], at=NOW - timedelta(days=10))
    emu.add_contact("edited@example.com", books=[book], at=NOW - timedelta(days=10))
    emu.add_contact("joined@example.com", at=NOW - timedelta(days=10))
    emu.update_contact("edited@example.com", fields={"LASTNAME": "New"}, at=NOW)
    emu.add_to_book(book, "joined@example.com", at=NOW)
    since = "2024-04-30T00:00:00Z"
    rows = api.get(f"address-books/{book}/contacts/modified-since/{since}?withFullData=true")
    assert [c["email"] for c in rows.json()] == ["edited@example.com", "joined@example.com"]
    assert all(isinstance(c["dataFields"], list) for c in rows.json())


# -- 23-25: campaigns ----------------------------------------------------------------------------


def test_book_campaigns_include_unsent_and_its_summary_errors(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 23 (server part)."""
    ids = seed_world(emu)
    campaigns = api.get(f"address-books/{ids['book']}/campaigns").json()
    assert [(c["name"], c["status"]) for c in campaigns] == [
        ("Spring", "Sent"),
        ("Draft", "Unsent"),
    ]
    assert campaigns[0]["fromAddress"].keys() == {"id", "email"}
    unsent = api.get(f"campaigns/{ids['unsent']}/summary")
    assert (unsent.status_code, message(unsent)) == (400, "Error: ERROR_CAMPAIGN_INVALID")
    emu.set_config(summary_unsent_error=(500, "An error has occurred."))
    assert api.get(f"campaigns/{ids['unsent']}/summary").status_code == 500
    missing = api.get("campaigns/1")
    assert (missing.status_code, message(missing)) == (404, "Error: ERROR_CAMPAIGN_NOT_FOUND")
    emu.set_campaign_status("Draft", "Sent")
    assert api.get(f"campaigns/{ids['unsent']}/summary").status_code == 200


SUMMARY_KEYS = {
    "dateSent",
    "numUniqueOpens",
    "numUniqueTextOpens",
    "numTotalUniqueOpens",
    *(f"num{v}{b}" for b in ("Opens", "Clicks") for v in ("", "Text", "Total")),
    "numPageViews",
    "numTotalPageViews",
    "numTextPageViews",
    "numForwards",
    "numTextForwards",
    *(
        f"num{v}{b}"
        for b in (
            "EstimatedForwards",
            "Replies",
            "HardBounces",
            "SoftBounces",
            "Unsubscribes",
            "IspComplaints",
            "MailBlocks",
            "Sent",
            "Delivered",
        )
        for v in ("", "Text", "Total")
    ),
    "numRecipientsClicked",
    "percentageDelivered",
    "percentageUniqueOpens",
    "percentageOpens",
    "percentageUnsubscribes",
    "percentageReplies",
    "percentageHardBounces",
    "percentageSoftBounces",
    "percentageUsersClicked",
    "percentageClicksToOpens",
    "revenue",
    "conversionRate",
    "assistedRevenue",
    "numOrders",
    "numAssistedOrders",
}


def test_summary_has_every_field_including_revenue(emu: DotmailerEmulator, api: Api) -> None:
    """Point 24."""
    ids = seed_world(emu)
    emu.add_activity(ids["sent"], "sam@example.com", hard_bounced=True)
    summary = api.get(f"campaigns/{ids['sent']}/summary").json()
    assert summary.keys() == SUMMARY_KEYS
    assert isinstance(summary["revenue"], str) and summary["revenue"] == "$0.00"
    assert isinstance(summary["assistedRevenue"], str)
    assert isinstance(summary["numAssistedOrders"], int) and isinstance(summary["numOrders"], int)
    assert isinstance(summary["conversionRate"], float)
    assert all(isinstance(summary[k], float) for k in summary if k.startswith("percentage"))
    assert (summary["numSent"], summary["numDelivered"], summary["numHardBounces"]) == (2, 1, 1)
    assert (summary["numUniqueOpens"], summary["numOpens"], summary["numClicks"]) == (1, 2, 1)
    assert summary["percentageDelivered"] == 50.0
    assert summary["dateSent"] == "2024-04-29T10:00:00.000Z"
    emu.set_summary("Spring", revenue="$12.50", NUMORDERS=3)
    changed = api.get(f"campaigns/{ids['sent']}/summary").json()
    assert (changed["revenue"], changed["numOrders"], changed["numOpens"]) == ("$12.50", 3, 2)


def test_activities_since_return_only_later_rows(emu: DotmailerEmulator, api: Api) -> None:
    """Point 25 (server part), E17 and E19."""
    ids = seed_world(emu)
    emu.add_activity(ids["sent"], "sam@example.com", opens=1, at=NOW - timedelta(hours=1))
    everything = api.get(f"campaigns/{ids['sent']}/activities").json()
    assert [a["email"] for a in everything] == ["alex@example.com", "sam@example.com"]
    later = api.get(f"campaigns/{ids['sent']}/activities/since-date/2024-05-01T00:00:00Z").json()
    assert [a["contactId"] for a in later] == [everything[1]["contactId"]]
    alex = everything[0]
    assert (alex["numOpens"], alex["numClicks"], alex["dateFirstOpened"]) == (
        2,
        1,
        "2024-04-30T10:00:00.000Z",
    )
    assert alex["dateSent"] == "2024-04-29T10:00:00.000Z"
    assert api.get("campaigns/with-activity-since/2024-05-02").json() == []
    assert [c["id"] for c in api.get("campaigns/with-activity-since/2024-04-01").json()] == [
        ids["sent"]
    ]
    assert api.get(f"campaigns/{ids['unsent']}/activities").json() == []


# -- 26, 27: data fields --------------------------------------------------------------------------


def test_data_fields_list_create_and_duplicates(emu: DotmailerEmulator, api: Api) -> None:
    """Point 26 (server part)."""
    listed = api.get("data-fields", params={"select": 1})
    assert [f["name"] for f in listed.json()] == [
        "FIRSTNAME",
        "LASTNAME",
        "FULLNAME",
        "GENDER",
        "POSTCODE",
        "LASTSUBSCRIBED",
    ]
    created = api.post(
        "data-fields",
        json={
            "name": "Loyalty_Level",
            "type": "Numeric",
            "visibility": "Public",
            "defaultValue": 0,
        },
    )
    assert created.status_code == 201
    assert created.json() == {
        "name": "LOYALTY_LEVEL",
        "type": "Numeric",
        "visibility": "Public",
        "defaultValue": 0,
    }
    duplicate = api.post("data-fields", json={"name": "loyalty_level", "type": "String"})
    assert (duplicate.status_code, message(duplicate)) == (
        400,
        "Field already exists. ERROR_NON_UNIQUE_DATAFIELD",
    )
    for body in (
        {"name": "x" * 21, "type": "String"},
        {"name": "has space", "type": "String"},
        {"name": "OK", "type": "Text"},
        {"name": "OK2", "type": "Boolean", "defaultValue": "Yes"},
    ):
        invalid = api.post("data-fields", json=body)
        assert (invalid.status_code, message(invalid)) == (400, "Error: ERROR_DATAFIELD_INVALID")
    emu.set_config(datafield_create_body="empty", datafield_name_case="as_given")
    bare = api.post(
        "data-fields",
        json={"name": "Since", "type": "Date", "defaultValue": "2015-10-10T00:00:00z"},
    )
    assert (bare.status_code, bare.content) == (201, b"")
    assert api.get("data-fields").json()[-1] == {
        "name": "Since",
        "type": "Date",
        "visibility": "Private",
        "defaultValue": "2015-10-10T00:00:00",
    }


def test_deleting_a_field_in_use_or_a_system_field_gets_409(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 27 (server part)."""
    emu.add_contact("a@example.com", {"GENDER": "x"})
    emu.mark_datafield_in_use("firstname", [{"Type": "campaign", "ObjectId": 15662}])
    in_use = api.delete("data-fields/FIRSTNAME")
    assert in_use.status_code == 409
    assert in_use.json() == {
        "dependencies": [{"type": "Campaign", "objectId": 15662}],
        "result": False,
    }
    system = api.delete("data-fields/LASTSUBSCRIBED")
    assert (system.status_code, system.json()["result"]) == (409, False)
    deleted = api.delete("data-fields/gender")
    assert (deleted.status_code, deleted.json()) == (200, {"dependencies": [], "result": True})
    assert "GENDER" not in [f["name"] for f in api.get("data-fields").json()]
    keys = [f["key"] for f in api.get("contacts/a@example.com").json()["dataFields"]]
    assert "GENDER" not in keys
    assert message(api.delete("data-fields/GENDER")) == "Error: ERROR_DATAFIELD_NOTFOUND"


# -- E25, E26 and data-field output settings ---------------------------------------------------


def test_contact_by_email_or_id(emu: DotmailerEmulator, api: Api) -> None:
    ids = seed_world(emu)
    plus = emu.add_contact("a+tag@example.com")
    by_id = api.get(f"contacts/{ids['alex']}").json()
    assert by_id["email"] == "alex@example.com"
    assert api.get(f"contacts/{quote('A+Tag@Example.com', safe='@+:')}").json()["id"] == plus
    assert api.get(f"contacts/{quote('a+tag@example.com', safe='')}").json()["id"] == plus
    missing = api.get("contacts/nobody@example.com")
    assert (missing.status_code, message(missing)) == (404, "Error: ERROR_CONTACT_NOT_FOUND")
    assert api.get("contacts/42").status_code == 404
    invalid = api.get("contacts/not-an-email")
    assert (invalid.status_code, message(invalid)) == (
        400,
        "Email is not a valid email address. ERROR_PARAMETER_INVALID",
    )


def test_data_field_and_date_output_settings(emu: DotmailerEmulator, api: Api) -> None:
    """datafields_when_not_full, datafields_include_unset, date_style, null_date_style."""
    ids = seed_world(emu)
    path = f"address-books/{ids['book']}/contacts"
    assert api.get(path).json()[0]["dataFields"] is None
    emu.set_config(datafields_when_not_full="omitted")
    assert "dataFields" not in api.get(path).json()[0]
    emu.set_config(datafields_when_not_full="empty")
    assert api.get(path).json()[0]["dataFields"] == []
    emu.set_config(datafields_include_unset=False)
    assert api.get(path, params={"withFullData": "true"}).json()[0]["dataFields"] == [
        {"key": "FIRSTNAME", "value": "Alex"}
    ]
    emu.add_activity(ids["sent"], "sam@example.com")
    activity_path = f"campaigns/{ids['sent']}/activities"
    assert api.get(activity_path).json()[1]["dateFirstOpened"] is None
    emu.set_config(null_date_style="0001-01-01T00:00:00", date_style="no_zone")
    sam = api.get(activity_path).json()[1]
    assert (sam["dateFirstOpened"], sam["dateSent"]) == (
        "0001-01-01T00:00:00",
        "2024-04-29T10:00:00",
    )
    emu.set_config(date_style="seconds")
    assert api.get("server-time").json() == "2024-05-01T10:00:00Z"


# -- 28, 29: rate limits and faults ------------------------------------------------------------


def test_tiered_and_flat_rate_limits(emu: DotmailerEmulator, api: Api) -> None:
    """Point 28 (server part: the headers and the usage message)."""
    emu.set_rate_limit("tiered", per_minute=2)
    assert [api.get("data-fields").status_code for _ in range(2)] == [200, 200]
    limited = api.get("data-fields")
    assert limited.status_code == 429
    assert (
        limited.headers["x-ratelimit-scope"],
        limited.headers["x-ratelimit-limit"],
        limited.headers["x-ratelimit-reset"],
    ) == ("Low", "2", "60")
    emu.advance(45)
    assert api.get("data-fields").headers["x-ratelimit-reset"] == "15"
    emu.advance(15)
    assert api.get("data-fields").status_code == 200
    emu.set_rate_limit("flat", per_hour=1)
    assert api.get("data-fields").status_code == 200
    capped = api.get("data-fields")
    assert (capped.status_code, message(capped)) == (
        400,
        (
            "Your account has generated excess API activity and is being temporarily capped. "
            "Please contact support. ERROR_APIUSAGE_EXCEEDED"
        ),
    )
    emu.set_config(usage_exceeded_status=403)
    assert api.get("data-fields").status_code == 403
    emu.set_rate_limit("off")
    assert api.get("data-fields").status_code == 200
    emu.inject(
        "GET", "data-fields", status=429, headers={"x-ratelimit-reset": "3", "Retry-After": "3"}
    )
    injected = api.get("data-fields")
    assert (
        injected.status_code,
        injected.headers["x-ratelimit-reset"],
        injected.headers["Retry-After"],
    ) == (429, "3", "3")


def test_each_fault_kind_happens_then_service_resumes(emu: DotmailerEmulator, api: Api) -> None:
    """Point 29 (server part): HTML 500, 503, reset, delay, malformed, truncated, empty."""
    emu.inject("GET", "address-books", status=500, body="<html><body>Oops</body></html>")
    html = api.get("address-books")
    assert (html.status_code, html.headers["Content-Type"]) == (500, "text/html; charset=utf-8")
    assert html.text.startswith("<html>")
    emu.inject("*", "/v2/address-books*", times=2, status=503)
    assert [api.get("address-books").status_code for _ in range(3)] == [503, 503, 200]
    emu.inject("GET", "address-books", reset=True)
    with pytest.raises(requests.ConnectionError):
        api.get("address-books")
    emu.inject("GET", "address-books", malformed=True)
    malformed = api.get("address-books")
    assert malformed.status_code == 200
    with pytest.raises(ValueError):
        malformed.json()
    emu.inject("GET", "address-books", truncated=True)
    with pytest.raises(requests.RequestException):
        api.get("address-books")
    emu.inject("GET", "address-books", empty=True)
    empty = api.get("address-books")
    assert (empty.status_code, empty.content) == (200, b"")
    assert api.get("address-books").content.startswith(b"[")
    emu.inject("POST", "address-books", status=500)
    assert api.get("address-books").status_code == 200  # other methods are not consumed
    assert api.post("address-books", json={"name": "X"}).status_code == 500


def test_delay_outlasts_the_client_timeout_but_the_call_still_lands(
    emu: DotmailerEmulator, api: Api
) -> None:
    """Point 29: a delayed call is processed after the client gave up (so retries must be safe)."""
    emu.inject("POST", "address-books", delay=0.4)
    with pytest.raises(requests.Timeout):
        api.session.post(api.url("address-books"), auth=AUTH, json={"name": "Slow"}, timeout=0.1)
    deadline = time.monotonic() + 3
    while emu.requests()[-1]["status"] is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emu.requests()[-1]["status"] == 201
    assert "Slow" in [b["name"] for b in api.get("address-books").json()]
    with pytest.raises(ValueError):
        emu.inject("GET", "*")


def test_a_lost_answer_still_creates_the_book(emu: DotmailerEmulator, api: Api) -> None:
    """The service acts, then the connection closes without an answer (the shared "lost")."""
    emu.inject("POST", "address-books", lost=True)
    with pytest.raises(requests.ConnectionError):
        api.post("address-books", json={"name": "Landed"})
    assert "Landed" in [b["name"] for b in api.get("address-books").json()]


def test_a_seeded_rate_spoils_the_same_calls_each_run(api: Api) -> None:
    def spoilt(seed: int) -> list[int]:
        with DotmailerEmulator() as emulator:
            emulator.inject("GET", "address-books", times=None, rate=0.3, seed=seed, status=503)
            client = Api(api.session, emulator.url)
            return [n for n in range(20) if client.get("address-books").status_code == 503]

    first = spoilt(7)
    assert first == spoilt(7) and 0 < len(first) < 20
    assert first != spoilt(8)


# -- 31, 32: request log -------------------------------------------------------------------------


def test_request_log_records_every_call(emu: DotmailerEmulator, api: Api) -> None:
    """Point 31 (server part)."""
    book = emu.add_book("Log")
    api.get("account-info")
    import_id = start_import(api, book, "Email\na@example.com\n")
    for _ in range(2):
        api.get(f"contacts/import/{import_id}")
    api.get("address-books", params={"select": 5, "skip": 0})
    assert emu.call_count("GET", "account-info") == 1
    assert emu.call_count("GET", "/v2/contacts/import/*") == 2
    assert emu.call_count(path_glob="*/contacts/import") == 1
    assert emu.call_count() == 5
    entries = emu.requests()
    assert entries[-1]["query"] == "select=5&skip=0" and entries[-1]["status"] == 200
    posted = entries[1]
    assert (posted["method"], posted["path"]) == (
        "POST",
        f"/v2/address-books/{book}/contacts/import",
    )
    assert json.loads(posted["body"])["fileName"] == "lb-1-0001.csv"
    emu.clear_requests()
    assert emu.requests() == []


def test_log_and_logger_never_show_the_password(
    emu: DotmailerEmulator, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """Point 32 (server part)."""
    caplog.set_level(logging.DEBUG, logger="listbridge.emulator.dotmailer")
    api.get("address-books")
    Api(api.session, emu.url, (DEFAULT_USER, "wrong-pass-9")).get("address-books")
    dumped = json.dumps(emu.requests())
    token = base64.b64encode(f"{DEFAULT_USER}:{DEFAULT_PASSWORD}".encode()).decode()
    for secret in (DEFAULT_PASSWORD, "wrong-pass-9", token):
        assert secret not in dumped
        assert secret not in caplog.text
    assert {e["headers"]["Authorization"] for e in emu.requests()} == {"[redacted]"}
    assert "/v2/address-books" in caplog.text


# -- routing ---------------------------------------------------------------------------------------


def test_unknown_paths_and_methods(emu: DotmailerEmulator, api: Api) -> None:
    assert api.get("no-such-thing").status_code == 404
    assert "No HTTP resource was found" in message(api.get("no-such-thing"))
    assert api.session.get(f"{emu.url}/v1/account-info", timeout=5).status_code == 404
    assert api.session.put(api.url("data-fields"), auth=AUTH, timeout=5).status_code == 405
    assert api.get("ADDRESS-BOOKS").status_code == 200  # literal segments ignore case
    assert api.get("address-books/abc").status_code == 400
    assert api.session.post(f"{emu.url}/_emulator/reset", timeout=5).status_code == 404


# -- fixtures: the WADL's shapes -----------------------------------------------------------------


def wadl_types() -> dict[str, dict[str, str]]:
    wadl = FIXTURES / "api-v2.wadl.xml"
    if not wadl.exists():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    root = ET.fromstring(wadl.read_bytes())
    xs = "{http://www.w3.org/2001/XMLSchema}"
    return {
        node.attrib["name"]: {
            e.attrib["name"]: e.attrib.get("type", "") for e in node.iter(f"{xs}element")
        }
        for node in root.iter(f"{xs}complexType")
    }


def assert_shape(
    payload: dict[str, Any], fields: dict[str, str], extra: AbstractSet[str] = frozenset()
) -> None:
    assert payload.keys() == {camel(name) for name in fields} | extra
    python_types = {"xs:int": int, "xs:boolean": bool, "xs:double": float, "xs:string": str}
    for name, kind in fields.items():
        value = payload[camel(name)]
        if kind in python_types and value is not None:
            assert isinstance(value, python_types[kind]), (name, value)
        if kind == "xs:dateTime" and value is not None:
            assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", value), (name, value)


def test_responses_match_the_wadl_types(emu: DotmailerEmulator, api: Api) -> None:
    types = wadl_types()
    ids = seed_world(emu)
    emu.unsubscribe_from_book(ids["book"], "sam@example.com")
    emu.mark_datafield_in_use("FIRSTNAME")
    account = api.get("account-info").json()
    assert_shape(account, types["apiAccount"])
    assert_shape(account["properties"][0], types["apiAccountProperty"])
    assert_shape(api.get(f"address-books/{ids['book']}").json(), types["apiAddressBook"])
    contact = api.get("contacts/alex@example.com").json()
    assert_shape(contact, types["apiContact"])
    assert_shape(contact["dataFields"][0], types["apiContactData"])
    unsub = api.get(f"address-books/{ids['book']}/contacts/unsubscribed-since/2000-01-01").json()
    assert_shape(unsub[0], types["apiContactSuppression"])
    campaign = api.get(f"campaigns/{ids['sent']}").json()
    assert_shape(campaign, types["apiCampaign"])
    assert_shape(campaign["fromAddress"], types["apiCampaignFromAddress"])
    activity = api.get(f"campaigns/{ids['sent']}/activities").json()[0]
    assert_shape(activity, types["apiCampaignContactSummary"])
    revenue = {"revenue", "conversionRate", "assistedRevenue", "numOrders", "numAssistedOrders"}
    assert_shape(
        api.get(f"campaigns/{ids['sent']}/summary").json(), types["apiCampaignSummary"], revenue
    )
    assert_shape(api.get("data-fields").json()[0], types["apiDataField"])
    conflict = api.delete("data-fields/FIRSTNAME").json()
    assert_shape(conflict, types["apiDependencyResult"])
    assert_shape(conflict["dependencies"][0], types["apiDependency"])
    book = emu.add_book("Report")
    import_id = run_import(api, book, "Email\na@example.com\n")
    assert_shape(api.get(f"contacts/import/{import_id}").json(), types["apiContactImport"])
    assert_shape(
        api.get(f"contacts/import/{import_id}/report").json(),
        types["apiContactImportReport"],
        {"suppressedContacts"},
    )


def test_enums_are_those_of_the_wadl() -> None:
    wadl = FIXTURES / "api-v2.wadl.xml"
    if not wadl.exists():
        pytest.skip(f"shared fixtures not found at {FIXTURES}")
    root = ET.fromstring(wadl.read_bytes())
    xs = "{http://www.w3.org/2001/XMLSchema}"
    enums = {
        node.attrib["name"]: [e.attrib["value"] for e in node.iter(f"{xs}enumeration")]
        for node in root.iter(f"{xs}simpleType")
    }
    pairs = [
        ("apiContactStatuses", emulator_module.CONTACT_STATUSES),
        ("apiContactOptInTypes", emulator_module.OPT_IN_TYPES),
        ("apiContactEmailTypes", emulator_module.EMAIL_TYPES),
        ("apiDataTypes", emulator_module.FIELD_TYPES),
        ("apiCampaignStatuses", emulator_module.CAMPAIGN_STATUSES),
        ("apiCampaignReplyActions", emulator_module.REPLY_ACTIONS),
        ("apiContactImportStatuses", ("NotFinished", *emulator_module.IMPORT_FINAL_STATUSES)),
    ]
    for name, ours in pairs:
        assert set(ours) | {"NotAvailableInThisVersion"} == set(enums[name]), name


# -- state, hooks, admin routes, demo, command line ----------------------------------------------


def test_settings_have_the_documented_defaults_and_are_validated() -> None:
    emulator = DotmailerEmulator(page_order="reverse")
    assert emulator.config == {**SETTINGS_DEFAULTS, "page_order": "reverse"}
    assert SETTINGS_DEFAULTS["import_polls_until_done"] == 1
    assert SETTINGS_DEFAULTS["max_active_imports_server"] == 25
    for bad in (
        {"page_order": "random"},
        {"no_such_setting": 1},
        {"extra_fields": "yes"},
        {"error_status": "400"},
        {"summary_unsent_error": 400},
    ):
        with pytest.raises(ValueError):
            emulator.set_config(**bad)


def test_ids_are_sequential_and_state_round_trips(
    emu: DotmailerEmulator, api: Api, tmp_path: Path
) -> None:
    ids = seed_world(emu)
    assert (ids["book"], ids["alex"], ids["sent"], ids["unsent"]) == (1002, 100000, 5000, 5001)
    start_import(api, ids["book"], "Email\nnew@example.com\n")
    before = api.get(f"address-books/{ids['book']}/contacts").json()
    snapshot = emu.snapshot()
    path = tmp_path / "state.json"
    emu.save(path)
    emu.delete_book(ids["book"])
    emu.restore(snapshot)
    assert api.get(f"address-books/{ids['book']}/contacts").json() == before
    emu.reset()
    assert emu.requests() == []
    assert api.get(f"address-books/{ids['book']}").status_code == 404
    emu.load(path)
    assert api.get(f"address-books/{ids['book']}/contacts").json() == before
    assert emu.finish_imports() == 1
    assert emu.add_book("Next") == 1003
    with DotmailerEmulator(seed=99) as other:
        other.load(path)
        assert other.add_book("Next") == 1003
        assert other.snapshot()["seed"] == emu.snapshot()["seed"]


def test_clock_hooks(emu: DotmailerEmulator, api: Api) -> None:
    assert emu.now() == NOW
    emu.advance(90)
    assert api.get("server-time").json() == "2024-05-01T10:01:30.000Z"
    emu.set_now("2025-01-02T03:04:05.678Z")
    assert api.get("server-time").json() == "2025-01-02T03:04:05.678Z"
    custom = DotmailerEmulator(now=datetime(2020, 1, 1))
    assert custom.now() == datetime(2020, 1, 1, tzinfo=UTC)


def test_hooks_accept_book_ids_or_names_and_reject_nonsense(emu: DotmailerEmulator) -> None:
    book = emu.add_book("Named")
    emu.add_contact("a@example.com", books=[book, "Test"])
    emu.add_contact("b@example.com", books=["named"])
    emu.remove_from_book(str(book), "a@example.com")
    emu.unsubscribe_from_book("NAMED", "b@example.com")
    for call in (
        lambda: emu.add_book("named"),
        lambda: emu.add_contact("A@example.com"),
        lambda: emu.remove_from_book("Named", "a@example.com"),
        lambda: emu.add_contact("c@example.com", {"NOPE": 1}),
        lambda: emu.add_campaign("X", status="Bogus"),
        lambda: emu.delete_book("All Contacts"),
        lambda: emu.set_region(None, 4),
        lambda: emu.set_rate_limit("sometimes"),
        lambda: emu.script_imports([{"status": "Done"}]),
    ):
        with pytest.raises(ValueError):
            call()


def test_admin_routes_mirror_the_hooks(session: requests.Session) -> None:
    with DotmailerEmulator(admin_http=True) as emulator:
        admin = f"{emulator.region_urls[2]}/_emulator"
        added = session.post(f"{admin}/add_book", json={"name": "Remote"}, timeout=5)
        assert added.json() == {"result": 1002}
        session.post(
            f"{admin}/add_contact",
            json={"email": "r@example.com", "books": ["Remote"], "at": "2024-01-01T00:00:00Z"},
            timeout=5,
        )
        session.post(f"{admin}/set_now", json={"now": "2024-06-01T00:00:00Z"}, timeout=5)
        api = Api(session, emulator.url)
        assert book_emails(api, 1002) == ["r@example.com"]
        assert api.get("server-time").json() == "2024-06-01T00:00:00.000Z"
        assert session.get(f"{admin}/reset", timeout=5).status_code == 405
        assert session.post(f"{admin}/add_book", json={"nom": "x"}, timeout=5).status_code == 400
        assert session.post(f"{admin}/unknown_hook", json={}, timeout=5).status_code == 404
        logged = session.post(f"{admin}/requests", json={}, timeout=5).json()["result"]
        assert [e["path"] for e in logged] == ["/v2/address-books/1002/contacts", "/v2/server-time"]
        count = session.post(f"{admin}/call_count", json={"path_glob": "server-time"}, timeout=5)
        assert count.json() == {"result": 1}


def test_demo_seed(session: requests.Session) -> None:
    with DotmailerEmulator(demo=True) as emulator:
        api = Api(session, emulator.url)
        books = api.get("address-books").json()
        assert [b["name"] for b in books] == [
            "All Contacts",
            "Test",
            "Newsletter",
            "Customers",
            "Events",
        ]
        assert books[0]["contacts"] == 300
        assert len(api.get("data-fields").json()) == 6
        suppressed = api.get("contacts/suppressed-since/2000-01-01").json()
        assert 5 <= len(suppressed) <= 15
        unsubscribed = sum(
            len(api.get(f"address-books/{b['id']}/contacts/unsubscribed-since/2000-01-01").json())
            for b in books[2:]
        )
        assert unsubscribed >= 10
        campaigns = {
            c["id"]: c
            for b in books[2:]
            for c in api.get(f"address-books/{b['id']}/campaigns").json()
        }
        assert sorted(c["status"] for c in campaigns.values()) == ["Sent", "Sent", "Sent", "Unsent"]
        for campaign in campaigns.values():
            activities = api.get(f"campaigns/{campaign['id']}/activities").json()
            assert bool(activities) == (campaign["status"] == "Sent")
        assert emulator.config["import_seconds_until_done"] == 5
        first = [c["email"] for c in api.get("address-books/1002/contacts").json()]
    with DotmailerEmulator(demo=True) as again:
        assert [
            c["email"] for c in Api(session, again.url).get("address-books/1002/contacts").json()
        ] == first


def test_main_serves_until_interrupted_and_keeps_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "dotmailer.json"
    seen: list[int] = []

    def interrupt() -> None:
        url = re.search(r"r1: (\S+)/v2", capsys.readouterr().out)
        assert url is not None
        with requests.Session() as s:
            books = s.get(
                f"{url.group(1)}/v2/address-books",
                auth=("apiuser-cli@apiconnector.com", "cli:pass-1"),
                timeout=5,
            )
        seen.append(len(books.json()))
        raise KeyboardInterrupt

    monkeypatch.setattr(emulator_cli, "_wait_for_interrupt", interrupt)
    argv = [
        "--port",
        "0",
        "--user",
        "apiuser-cli@apiconnector.com:cli:pass-1",
        "--demo",
        "--state",
        str(state),
    ]
    assert emulator_module.main(argv) == 0
    assert state.exists() and seen == [5]
    data = json.loads(state.read_text(encoding="utf-8"))
    data["books"] = [b for b in data["books"] if b["name"] != "Events"]
    state.write_text(json.dumps(data), encoding="utf-8")
    assert emulator_module.main(argv) == 0
    assert seen == [5, 4]
