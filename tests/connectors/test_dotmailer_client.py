"""The Dotmailer client, protocol only: discovery, auth, lenient JSON, paging, errors, limits.

Real HTTP over loopback to the emulator; waits are injected (``Sleeps``), nothing sleeps.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import requests

from connectors.base import ConfigurationError, RateLimited, TransientError
from connectors.dotmailer.client import (
    DotmailerClient,
    FieldExists,
    FieldInUse,
    Pager,
    RefusedItem,
    RemoteGone,
    RetryLater,
    ServiceFatalError,
    TooManyImports,
    UsageExceeded,
    WrongRegion,
    as_date,
    base_from_endpoint,
    map_error,
    parse_faults,
    path_date,
    path_value,
    with_policy,
)
from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER, DotmailerEmulator
from tests.conftest import SHARED
from tests.helpers.dotmailer import Sleeps, emulator

FIXTURES = (emulator,)  # used by name as test arguments

ACCOUNT = 123456


def make_client(emu: DotmailerEmulator, sleeps: Sleeps | None = None,
                password: str = DEFAULT_PASSWORD, **kwargs) -> DotmailerClient:
    return DotmailerClient(DEFAULT_USER, password, emu.url, sleep=sleeps or Sleeps(), **kwargs)


def calls(emu: DotmailerEmulator, suffix: str) -> int:
    return sum(1 for e in emu.requests() if e["path"].endswith(suffix))


# -- discovery, regions, authentication ----------------------------------------------------------

@pytest.mark.parametrize("region", [1, 2, 3])
def test_discovery_finds_the_region_and_its_endpoint_answers(emulator, region):
    emulator.set_region(ACCOUNT, region)
    client = make_client(emulator)
    base, account = client.discover()
    assert base == emulator.region_urls[region] + "/v2"
    assert account.name == "ListBridge Demo Ltd"
    assert account.main_email == "owner@listbridge-demo.example"
    assert [b["name"] for page in client.address_books() for b in page] == ["All Contacts",
                                                                             "Test"]


def test_endpoint_is_normalised_as_oro_does():
    assert base_from_endpoint("https://r1-api.dotdigital.com/") == "https://r1-api.dotdigital.com/v2"
    assert base_from_endpoint("https://r2-api.dotdigital.com/v2") == "https://r2-api.dotdigital.com/v2"


def test_discovery_happens_once_per_process_and_credentials(emulator):
    first = make_client(emulator)
    first.probe()
    second = make_client(emulator)
    second.probe()
    second.server_time()
    assert calls(emulator, "/account-info") == 1  # D16
    emulator.add_user("apiuser-2@apiconnector.com", "other-pass-2")
    DotmailerClient("apiuser-2@apiconnector.com", "other-pass-2", emulator.url,
                    sleep=Sleeps()).probe()
    assert calls(emulator, "/account-info") == 2


def test_a_403_rediscovers_once_then_is_a_configuration_error(emulator):
    client = make_client(emulator)
    client.probe()
    emulator.set_region(ACCOUNT, 3)  # the account moved: 403 on r1
    client.probe()
    assert client.base_url == emulator.region_urls[3] + "/v2"
    assert calls(emulator, "/account-info") == 2
    emulator.inject("GET", "address-books", times=5, status=403, body={"message": "Forbidden"})
    with pytest.raises(WrongRegion) as info:
        client.probe()
    assert isinstance(info.value, ConfigurationError)
    assert calls(emulator, "/account-info") == 3  # once more, then it gives up


def test_bad_credentials_are_a_configuration_error_with_the_service_message(emulator):
    client = make_client(emulator, password="wrong-pass-9")
    with pytest.raises(ConfigurationError) as info:
        client.probe()
    assert "Authorization has been denied for this request." in info.value.admin_message
    assert info.value.status == 401


def test_plain_http_is_refused_off_this_machine():
    with pytest.raises(ConfigurationError, match="https"):
        DotmailerClient(DEFAULT_USER, DEFAULT_PASSWORD, "http://r1-api.dotdigital.com")
    client = DotmailerClient(DEFAULT_USER, DEFAULT_PASSWORD)
    assert client.discovery_url == "https://r1-api.dotdigital.com"
    assert client.session.verify is True  # D11


def test_headers_and_no_password_in_the_request_log(emulator):
    client = make_client(emulator)
    client.probe()
    client.create_data_field("SHOESIZE", "Numeric")
    for entry in emulator.requests():
        assert DEFAULT_PASSWORD not in json.dumps(entry)
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        assert headers["accept"] == "application/json"
        assert headers["user-agent"].startswith("ListBridge/")
        assert headers["authorization"] == "[redacted]"  # Basic auth on every call
    post = [e for e in emulator.requests() if e["method"] == "POST"][0]
    assert {k.lower(): v for k, v in post["headers"].items()}["content-type"].startswith(
        "application/json")
    assert json.loads(post["body"]) == {"name": "SHOESIZE", "type": "Numeric",
                                        "visibility": "Private", "defaultValue": None}


# -- reading leniently ------------------------------------------------------------------------------

@pytest.mark.parametrize("settings", [
    {},
    {"response_casing": "pascal"},
    {"extra_fields": True, "null_date_style": "0001-01-01T00:00:00"},
    {"response_casing": "pascal", "extra_fields": True, "date_style": "no_zone",
     "datafields_when_not_full": "omitted"},
])
def test_answers_are_read_in_any_casing_with_unknown_keys(emulator, settings):
    emulator.set_config(**settings)
    book = emulator.add_book("Newsletter")
    emulator.add_contact("Alex.Case@Example.com", {"FIRSTNAME": "Alex"}, books=[book])
    campaign = emulator.add_campaign("News", "Sent", [book])
    emulator.add_activity(campaign, "alex.case@example.com", opens=3)
    client = make_client(emulator)
    account = client.account()
    assert account.name == "ListBridge Demo Ltd"
    contacts = [c for page in client.book_contacts(book) for c in page]
    assert contacts[0]["email"] == "alex.case@example.com" and contacts[0]["status"] == "Subscribed"
    assert dict((d["key"], d["value"]) for d in contacts[0]["datafields"])["FIRSTNAME"] == "Alex"
    activity = [a for page in client.activities(campaign) for a in page][0]
    assert activity["numopens"] == 3 and as_date(activity["datefirstopened"]) is None
    assert as_date(activity["datesent"]) is not None
    summary = client.summary(campaign)
    assert summary["numopens"] == 3 and summary["revenue"] == "$0.00"
    assert client.server_time() is not None


def test_dates_in_every_seen_form():
    assert as_date("2015-04-15T13:48:33.013Z") == datetime(2015, 4, 15, 13, 48, 33, 13000)
    assert as_date("2015-10-10T00:00:00z") == datetime(2015, 10, 10)
    assert as_date("2013-01-03T20:05:00") == datetime(2013, 1, 3, 20, 5)
    assert as_date(None) is None and as_date("0001-01-01T00:00:00") is None
    assert as_date("garbage") is None


def test_path_values_and_dates(emulator):
    assert path_value("a+b@example.com") == "a+b@example.com"
    assert path_value("a b/c") == "a%20b%2Fc"
    assert path_date(datetime(2015, 10, 10, 1, 2, 3)) == "2015-10-10T01:02:03+00:00"
    emulator.add_contact("a+b@example.com")
    client = make_client(emulator)
    assert client.contact("a+b@example.com")["email"] == "a+b@example.com"
    with pytest.raises(RefusedItem):
        client.contact("nobody@example.com")


# -- paging -----------------------------------------------------------------------------------------

def synthetic(rows: list[int], log: list[tuple[int, int]], ignore_skip: bool = False):
    def fetch(select: int, skip: int) -> list[dict[str, int]]:
        log.append((select, skip))
        start = 0 if ignore_skip else skip
        return [{"id": i} for i in rows[start:start + select]]

    return fetch


def test_pages_overlap_by_100_and_rows_come_once():
    log: list[tuple[int, int]] = []
    pager = Pager(synthetic(list(range(2500)), log), lambda r: r["id"])
    ids = [r["id"] for page in pager for r in page]
    assert ids == list(range(2500))
    assert log == [(1000, 0), (1000, 900), (1000, 1800)]


@pytest.mark.parametrize("total, reads", [(0, 1), (1000, 2), (999, 1), (1900, 3)])
def test_paging_stops_on_a_short_or_empty_page(total, reads):
    log: list[tuple[int, int]] = []
    ids = [r["id"] for page in Pager(synthetic(list(range(total)), log), lambda r: r["id"])
           for r in page]
    assert ids == list(range(total)) and len(log) == reads


def test_paging_stops_when_the_server_ignores_skip():
    log: list[tuple[int, int]] = []
    ids = [r["id"] for page in Pager(synthetic(list(range(5000)), log, ignore_skip=True),
                                     lambda r: r["id"]) for r in page]
    assert ids == list(range(1000)) and len(log) == 2  # D5: a repeated page ends the loop


def test_shuffled_pages_with_an_insert_mid_read_yield_each_id_once(emulator):
    emulator.set_config(page_order="shuffle")
    book = emulator.add_book("Big")
    for i in range(2300):
        emulator.add_contact(f"c{i}@example.com", books=[book])
    client = make_client(emulator)
    pager = client.book_contacts(book, full=False)
    ids: list[int] = []
    for n, page in enumerate(pager):
        ids += [c["id"] for c in page]
        if n == 0:
            emulator.add_contact("late@example.com", books=[book])
    assert len(ids) == len(set(ids))
    remote = {c["id"] for page in make_client(emulator).book_contacts(book) for c in page}
    assert set(ids) <= remote and len(remote - set(ids)) <= 1


def test_data_fields_are_one_call(emulator):
    client = make_client(emulator)
    names = [f["name"] for f in client.data_fields()]
    assert names == ["FIRSTNAME", "LASTNAME", "FULLNAME", "GENDER", "POSTCODE", "LASTSUBSCRIBED"]
    assert calls(emulator, "/data-fields") == 1


# -- errors -----------------------------------------------------------------------------------------

def response(status: int, body: str, headers: dict[str, str] | None = None) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = body.encode()
    r.headers.update(headers or {})
    r.url = "https://r1-api.dotdigital.com/v2/x"
    return r


@pytest.mark.parametrize("status, message, kind", [
    (401, "Authorization has been denied for this request.", ConfigurationError),
    (400, "Error: ERROR_APIUSER_INVALID", ConfigurationError),
    (400, "Address book cannot be written to via the API. ERROR_ADDRESSBOOK_NOTWRITABLE",
     ConfigurationError),
    (400, "Error: ERROR_DATAFIELD_NOTFOUND", ConfigurationError),
    (404, "Error: ERROR_ADDRESSBOOK_NOT_FOUND", RemoteGone),
    (404, "Error: ERROR_CAMPAIGN_NOT_FOUND", RemoteGone),
    (404, "Error: ERROR_IMPORT_NOT_FOUND", RemoteGone),
    (404, "Error: ERROR_CONTACT_NOT_FOUND", RefusedItem),
    (400, "Contact is suppressed. ERROR_CONTACT_SUPPRESSED", RefusedItem),
    (400, "Email is not a valid email address. ERROR_PARAMETER_INVALID", RefusedItem),
    (400, "Error: ERROR_PARAMETER_INVALID", ServiceFatalError),
    (400, "Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND",
     RetryLater),
    (400, "Error: ERROR_IMPORT_TOOMANYACTIVEIMPORTS", TooManyImports),
    (400, "Error: ERROR_ADDRESSBOOK_IN_USE", RetryLater),
    (400, "Field already exists. ERROR_NON_UNIQUE_DATAFIELD", FieldExists),
    (400, "Your account has generated excess API activity and is being temporarily capped. "
          "Please contact support. ERROR_APIUSAGE_EXCEEDED", UsageExceeded),
    (403, "Forbidden", WrongRegion),
    (429, "Too many requests.", RateLimited),
    (400, "Error: ERROR_IMPORT_UNSUPPORTED_FORMAT", ServiceFatalError),
    (400, "Error: ERROR_NO_EMAIL_COLUMN", ServiceFatalError),
    (503, "", TransientError),
])
def test_the_error_map(status, message, kind):
    body = json.dumps({"Message": message}) if message else "<html><body>Bad gateway</body></html>"
    error = map_error(response(status, body))
    assert isinstance(error, kind)
    assert error.admin_message
    assert map_error(response(200, "{}")) is None


def test_a_409_is_a_failure_with_its_dependencies(emulator):
    emulator.add_datafield("SHOESIZE", "Numeric")
    emulator.mark_datafield_in_use("SHOESIZE", [("Campaign", 15662)])
    client = make_client(emulator)
    with pytest.raises(FieldInUse) as info:
        client.delete_data_field("SHOESIZE")
    assert info.value.dependencies == [{"type": "Campaign", "objectid": 15662}]  # D4
    assert "SHOESIZE" in [f["name"] for f in client.data_fields()]


@pytest.mark.parametrize("body", ["field", "empty"])
def test_creating_a_data_field_with_or_without_a_body(emulator, body):
    emulator.set_config(datafield_create_body=body)
    client = make_client(emulator)
    created = client.create_data_field("Shoesize", "Numeric", default=0)
    assert (created is None) == (body == "empty")
    with pytest.raises(FieldExists):
        client.create_data_field("SHOESIZE", "Numeric")


@pytest.mark.parametrize("fault", [
    {"status": 500, "body": "<html><body>Internal error</body></html>"},
    {"status": 503},
    {"reset": True},
    {"malformed": True},
    {"truncated": True},
    {"empty": True},
])
def test_transient_faults_are_retried_inline(emulator, fault):
    sleeps = Sleeps()
    client = make_client(emulator, sleeps)
    client.probe()
    emulator.inject("GET", "address-books", times=2, **fault)
    books = [b["name"] for page in client.address_books() for b in page]
    assert books == ["All Contacts", "Test"]
    assert len(sleeps.calls) == 2


def test_a_delay_longer_than_the_read_timeout_is_retried(emulator):
    from connectors.dotmailer.client import default_policy

    policy = default_policy()
    client = make_client(emulator, policy=type(policy)(**{**policy.__dict__,
                                                          "read_timeout": 0.3}))
    client.probe()
    emulator.inject("GET", "address-books", times=1, delay=0.6)
    assert client.probe() is None


def test_persistent_faults_end_as_transient(emulator):
    client = make_client(emulator)
    client.probe()
    emulator.inject("GET", "address-books", times=50, status=502, body="<html>proxy</html>")
    with pytest.raises(TransientError) as info:
        client.probe()
    assert "HTTP 502" in info.value.admin_message


# -- rate limits ------------------------------------------------------------------------------------

def test_a_429_waits_for_x_ratelimit_reset(emulator):
    sleeps = Sleeps()
    client = make_client(emulator, sleeps)
    client.probe()
    emulator.inject("GET", "address-books", times=1, status=429,
                    body={"message": "Too many requests."},
                    headers={"x-ratelimit-reset": "3", "x-ratelimit-limit": "35",
                             "x-ratelimit-scope": "Low"})
    client.probe()
    assert sleeps.calls == [3.0]  # D2


def test_a_wait_beyond_120_seconds_ends_the_step(emulator):
    client = make_client(emulator)
    client.probe()
    emulator.inject("GET", "address-books", times=1, status=429, headers={"Retry-After": "600"})
    with pytest.raises(RateLimited) as info:
        client.probe()
    assert info.value.retry_after == 600


def test_usage_exceeded_under_a_400_is_a_rate_limit(emulator):
    sleeps = Sleeps()
    client = make_client(emulator, sleeps)
    client.probe()
    capped = {"message": "Your account has generated excess API activity and is being "
                         "temporarily capped. Please contact support. ERROR_APIUSAGE_EXCEEDED"}
    emulator.inject("GET", "address-books", times=2, status=400, body=capped,
                    headers={"x-ratelimit-reset": "3"})
    client.probe()
    assert sleeps.calls == [3.0, 3.0]
    emulator.inject("GET", "address-books", times=20, status=400, body=capped)
    with pytest.raises(RateLimited):
        client.probe()
    assert sleeps.calls[2:] == [5.0, 10.0, 20.0, 40.0]  # 5 s doubling, at most 120 s in all


def test_the_flat_scheme_caps_and_resumes(emulator):
    emulator.set_rate_limit("flat", per_hour=2)

    def sleep(seconds: float) -> None:
        emulator.advance(seconds)

    client = DotmailerClient(DEFAULT_USER, DEFAULT_PASSWORD, emulator.url, sleep=sleep)
    client.probe()  # account-info and this call
    with pytest.raises(RateLimited):
        client.probe()  # capped for the rest of the hour: 5+10+20+40 s, then beyond 120 s
    emulator.advance(3600)
    client.probe()


# -- imports ----------------------------------------------------------------------------------------

def test_an_import_is_polled_without_cache_until_final(emulator):
    emulator.set_config(import_polls_until_done=2)
    book = emulator.add_book("Newsletter")
    client = make_client(emulator)
    guid, status = client.start_import(book, "lb-1.csv", b"Email,FIRSTNAME\r\nA@x.io,Al\r\n")
    assert status == "NotFinished" and len(guid) == 36
    with pytest.raises(RetryLater):
        client.import_faults(guid)
    assert [client.import_status(guid) for _ in range(3)] == ["NotFinished", "NotFinished",
                                                              "Finished"]
    assert calls(emulator, guid) == 3  # every poll reached the service: nothing cached (D3)
    assert client.import_report(guid)["newcontacts"] == 1
    assert client.import_faults(guid) == []
    headers = [e["headers"] for e in emulator.requests() if e["path"].endswith(guid)][0]
    assert {k.lower(): v for k, v in headers.items()}["cache-control"] == "no-cache"


def test_removing_contacts_answers_nothing(emulator):
    book = emulator.add_book("Newsletter")
    ids = [emulator.add_contact(f"c{i}@example.com", books=[book]) for i in range(3)]
    client = make_client(emulator)
    assert client.remove_contacts(book, ids[:2]) is None
    assert [c["id"] for page in client.book_contacts(book) for c in page] == ids[2:]


def test_the_oro_faults_fixture_parses():
    faults = parse_faults((SHARED / "api/fixtures/dotmailer/importFaults.csv").read_bytes())
    assert [(f.reason, f.email) for f in faults] == [
        ("Hard bounced", "test1@ex.com"), ("Hard bounced", "catherinejhinojosa@armyspy.com"),
        ("Hard bounced", "frankjclarke@gustr.com")]
    assert faults[0].row["firstname"] == "Bonnie"


@pytest.mark.parametrize("bom, newline", [(True, "\n"), (True, "\r\n"), (False, "\r\n")])
def test_faults_parse_with_or_without_bom_and_any_newline(bom, newline):
    text = newline.join(["Reason,Email,FIRSTNAME", "Hard Bounced,A@x.io,Al",
                         "Invalid Entries,not-an-email,"]) + newline
    faults = parse_faults(("\ufeff" if bom else "").encode() + text.encode())
    assert [(f.reason, f.email) for f in faults] == [("Hard Bounced", "a@x.io"),
                                                     ("Invalid Entries", "not-an-email")]
    with pytest.raises(ServiceFatalError):
        parse_faults(b'{"message": "Error"}')


@pytest.mark.parametrize("settings", [
    {"faults_csv_bom": False, "faults_csv_newline": "CRLF"},
    {"faults_content_type": "application/octet-stream"},
])
def test_faults_from_the_emulator_under_every_setting(emulator, settings):
    emulator.set_config(**settings)
    book = emulator.add_book("Newsletter")
    emulator.add_contact("gone@example.com", status="HardBounced")
    client = make_client(emulator)
    guid, _ = client.start_import(book, "lb.csv", b"Email\r\ngone@example.com\r\nok@example.com\r\n")
    emulator.finish_imports()
    assert [(f.reason, f.email) for f in client.import_faults(guid)] == [
        ("Hard Bounced", "gone@example.com")]


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 429}, {"malformed": True}])
def test_check_connection_words_a_passing_failure_for_the_admin_waiting(emulator, fault):
    """Check Connection is not retried: its message says what to do now, never that "the sync
    will try again" (that is a sync's wording, from the same error map)."""
    from connectors.dotmailer.connector import DotmailerConnector

    connector = DotmailerConnector()
    settings = {"username": DEFAULT_USER, "api_url": emulator.url}
    emulator.inject("GET", "*", times=5, **fault)
    result = connector.check_connection(settings, {"password": DEFAULT_PASSWORD})
    assert not result.ok and result.kind == "transient"
    assert "sync will" not in result.message.lower()
    assert "again" in result.message.lower()
    sync_client = make_client(emulator)
    emulator.inject("GET", "*", times=5, **fault)
    with pytest.raises(TransientError) as raised:
        with_policy(sync_client, max_retries=0)
        sync_client.discover(force=True)
    assert "the sync will" in raised.value.admin_message.lower()
