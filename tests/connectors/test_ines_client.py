"""The INES SOAP client against the emulator over loopback HTTP (ines.md §1, §2; conformance
points 1–6; S1–S4; D3, D11, D12)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from lxml import etree

from connectors.base import ConfigurationError, ItemError, TransientError
from connectors.http import HttpPolicy
from connectors.ines.client import (
    AUTOMATION,
    CF,
    ICM,
    LOGIN,
    InesAnswerError,
    InesApi,
    InesFault,
    InesTimeout,
    InesUnreachable,
    LoginRefused,
    as_list,
    build_envelope,
    encode_value,
    forget_sessions,
    ines_datetime,
    ines_int,
    parse_wsdl,
    text_of,
)
from connectors.ines.connector import InesConnector
from connectors.ines.emulator import InesEmulator
from tests.connectors.ines_values import ACCOUNT, PASSWORD, USER

pytest_plugins = ["tests.connectors.ines_support"]

NS = "http://webservice.ines.fr"


def api_for(emu: InesEmulator, password: str = PASSWORD, **kwargs: Any) -> InesApi:
    policy = kwargs.pop("policy", HttpPolicy(read_timeout=5.0, max_retries=0))
    return InesApi(emu.base_url, ACCOUNT, USER, password, policy=policy, **kwargs)


def logins(emu: InesEmulator) -> int:
    return emu.call_count(operation="authenticationWs")


# -- §1.1–1.2, conformance 2 -----------------------------------------------------------------------

def test_requests_carry_content_type_quoted_soapaction_qualified_children_and_session(
        emulator: InesEmulator):
    api = api_for(emulator)
    api.get_sync_info()
    api.get_contact(5001)
    api.get_custom_values("contact", 5001)
    posts = [r for r in emulator.requests() if r["method"] == "POST"]
    assert len(posts) == 4
    for request in posts:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers["content-type"] == "text/xml; charset=utf-8"
        root = etree.fromstring(request["body"].encode())
        body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        operation = body[0]
        name = etree.QName(operation).localname
        assert etree.QName(operation).namespace == NS
        assert headers["soapaction"] == f'"{NS}/{name}"'
        for child in operation.iter():
            assert etree.QName(child).namespace == NS  # every child qualified
        session = root.find(f"{{http://schemas.xmlsoap.org/soap/envelope/}}Header/{{{NS}}}"
                            f"SessionID/{{{NS}}}ID")
        if name == "authenticationWs":
            assert session is None
        else:
            assert session is not None


@pytest.mark.parametrize("url", ["http://webservices.inescrm.com", "http://10.0.0.5:8080",
                                 "ftp://example.com", "webservices.inescrm.com"])
def test_plain_http_off_this_computer_is_refused(url: str):
    with pytest.raises(ConfigurationError):
        InesApi(url, ACCOUNT, USER, PASSWORD)


def test_https_and_loopback_http_are_accepted_without_any_request():
    InesApi("https://webservices.inescrm.com", ACCOUNT, USER, PASSWORD).close()
    InesApi("http://127.0.0.1:9", ACCOUNT, USER, PASSWORD).close()
    InesApi("http://localhost:9", ACCOUNT, USER, PASSWORD).close()


def test_wsdl_namespace_and_soapaction_are_used_in_strict_mode():
    forget_sessions()
    namespace = "http://webservice.ines.fr/"  # with the trailing slash [G]
    with InesEmulator(users=[(ACCOUNT, USER, PASSWORD)], namespace=namespace,
                      lenient=False) as emu:
        api = api_for(emu)
        assert api.get_sync_info().lead_ref >= -1
        assert emu.call_count(operation="wsdl") == 2  # login and WSAutomationSync, read once
        api.get_sync_info()
        assert emu.call_count(operation="wsdl") == 2
        assert all(c.outcome == "ok" for c in emu.calls())
    forget_sessions()


def test_unreadable_wsdl_falls_back_to_the_configured_namespace(emulator: InesEmulator):
    emulator.configure(lenient=False)
    for service in ("login", "WSAutomationSync"):
        emulator.inject(service, "wsdl", "http_status", code=500)
    api = api_for(emulator)
    assert api.get_sync_info() is not None
    assert api.service_info(AUTOMATION).from_wsdl is False
    assert emulator.calls(operation="GetSyncInfo")[0].outcome == "ok"


def test_parse_wsdl_reads_target_namespace_and_actions():
    wsdl = b"""<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
        xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
        xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" targetNamespace="urn:x">
      <wsdl:binding name="b12"><wsdl:operation name="Op">
        <soap12:operation soapAction="urn:x/Op12"/></wsdl:operation></wsdl:binding>
      <wsdl:binding name="b"><wsdl:operation name="Op">
        <soap:operation soapAction="urn:x/Op"/></wsdl:operation></wsdl:binding>
    </wsdl:definitions>"""
    info = parse_wsdl(wsdl, NS)
    assert info.namespace == "urn:x" and info.action("Op") == "urn:x/Op"
    assert info.action("Other") == "urn:x/Other"


def test_envelope_escapes_text_and_leaves_out_none():
    body = build_envelope(NS, "Op", [("a", "x<&>y"), ("b", None), ("c", [("d", "1")])], "42")
    root = etree.fromstring(body)
    op = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
    assert [etree.QName(c).localname for c in op] == ["a", "c"]
    assert op[0].text == "x<&>y"


# -- §1.3 login and sessions, conformance 3 and 4 ----------------------------------------------------

def test_login_sends_exactly_compte_user_and_password(emulator: InesEmulator):
    api_for(emulator).login()
    (call,) = emulator.calls(operation="authenticationWs")
    assert list(call.params["request"]) == ["compte", "userName", "password"]
    assert call.params["request"]["compte"] == ACCOUNT
    assert call.params["request"]["userName"] == USER


def test_refused_login_is_a_configuration_error_not_retried_and_hides_the_password(
        emulator: InesEmulator, caplog: pytest.LogCaptureFixture):
    wrong = "Wr0ng-passw0rd!"
    api = api_for(emulator, password=wrong)
    with caplog.at_level(logging.DEBUG, logger="listbridge"):
        with pytest.raises(LoginRefused) as raised:
            api.get_sync_info()
    assert raised.value.kind == "configuration"
    assert logins(emulator) == 1
    assert emulator.call_count(operation="GetSyncInfo") == 0
    for text in (str(raised.value), raised.value.admin_message, caplog.text):
        assert wrong not in text and PASSWORD not in text


def test_login_fault_is_a_configuration_error(emulator: InesEmulator):
    emulator.configure(login_fault=True)
    with pytest.raises(LoginRefused):
        api_for(emulator, password="bad-password").login()
    assert logins(emulator) == 1


def test_ten_calls_cost_one_login_across_clients_of_the_process(emulator: InesEmulator):
    first, second = api_for(emulator), api_for(emulator)
    for _ in range(5):
        first.get_contact(5001)
        second.client_types()
    assert logins(emulator) == 1


def test_expired_session_costs_one_login_and_one_repeat(emulator: InesEmulator):
    api = api_for(emulator)
    api.get_sync_info()
    emulator.expire_all_sessions()
    api.get_sync_info()
    assert logins(emulator) == 2
    assert [c.outcome for c in emulator.calls(operation="GetSyncInfo")] == [
        "ok", "invalid_session", "ok"]


def test_a_second_fault_after_the_refresh_is_raised(emulator: InesEmulator):
    api = api_for(emulator)
    api.get_sync_info()
    emulator.expire_all_sessions()
    emulator.inject("WSAutomationSync", "GetSyncInfo", "fault", times=2, text="still broken")
    with pytest.raises(InesFault) as raised:
        api.get_sync_info()
    assert "still broken" in raised.value.admin_message
    assert raised.value.kind == "item"
    assert logins(emulator) == 2
    assert emulator.call_count(operation="GetSyncInfo") == 3


def test_a_read_without_result_refreshes_the_session(emulator: InesEmulator):
    emulator.configure(invalid_session="empty")
    api = api_for(emulator)
    api.get_sync_info()
    emulator.expire_all_sessions()
    assert api.get_sync_info() is not None
    assert logins(emulator) == 2


def test_check_connection_drops_the_cached_session_and_logs_in(emulator: InesEmulator):
    api = api_for(emulator)
    api.get_sync_info()
    assert "Connected" in api.check_connection()
    assert logins(emulator) == 2


@pytest.mark.parametrize(("setup", "kind"), [
    ("good", ""),
    ("bad_password", "configuration"),
    ("closed_port", "transient"),
    ("missing_password", "configuration"),
    ("plain_http", "configuration"),
])
def test_test_connection_reports_ok_or_the_failure_kind(emulator: InesEmulator, setup: str,
                                                        kind: str):
    settings = {"account": ACCOUNT, "username": USER, "api_url": emulator.base_url}
    secrets = {"password": PASSWORD}
    if setup == "bad_password":
        secrets = {"password": "nope-nope"}
    elif setup == "closed_port":
        settings["api_url"] = "http://127.0.0.1:9"
    elif setup == "missing_password":
        secrets = {}
    elif setup == "plain_http":
        settings["api_url"] = "http://inescrm.example.com"
    result = InesConnector().check_connection(settings, secrets)
    assert result.ok == (setup == "good")
    assert result.kind == kind
    assert result.message
    assert "nope-nope" not in result.message


# -- S4: creating calls ----------------------------------------------------------------------------------

def lead_info() -> dict[str, Any]:
    return {"ClRef": 1001, "CtRef": 5001, "MailExpe": "a@b.example", "DescriptionCourte": "x",
            "ReclaDescDetail": "", "FileRef": 1}


def test_a_create_that_times_out_is_not_repeated(emulator: InesEmulator):
    api = api_for(emulator, policy=HttpPolicy(read_timeout=0.2, max_retries=0))
    api.get_sync_info()
    emulator.inject("WSAutomationSync", "AddLead", "delay", seconds=0.5)
    with pytest.raises(InesTimeout) as raised:
        api.add_lead(lead_info())
    assert raised.value.outcome_unknown
    assert "outcome unknown" in raised.value.admin_message
    assert raised.value.kind == "transient"
    assert emulator.call_count(operation="AddLead") == 1


@pytest.mark.parametrize("kind", ["drop_connection", "truncated", "malformed_xml"])
def test_a_create_whose_answer_is_lost_is_not_repeated(emulator: InesEmulator, kind: str):
    api = api_for(emulator)
    api.get_sync_info()
    emulator.inject("WSAutomationSync", "AddLead", kind, after_commit=True)
    with pytest.raises((InesTimeout, InesAnswerError)) as raised:
        api.add_lead(lead_info())
    assert getattr(raised.value, "outcome_unknown", False)
    assert emulator.call_count(operation="AddLead") == 1
    assert len(emulator.leads()) == 1


def test_a_create_refused_with_a_fault_is_repeated_once_after_a_refresh(emulator: InesEmulator):
    api = api_for(emulator)
    api.get_sync_info()
    emulator.expire_all_sessions()
    assert api.add_lead(lead_info()) == 1
    assert emulator.call_count(operation="AddLead") == 2
    assert len(emulator.leads()) == 1


def test_a_create_without_result_is_not_repeated(emulator: InesEmulator):
    emulator.configure(invalid_session="empty")
    api = api_for(emulator)
    api.get_sync_info()
    emulator.expire_all_sessions()
    with pytest.raises(InesAnswerError) as raised:
        api.add_lead(lead_info())
    assert raised.value.outcome_unknown
    assert emulator.call_count(operation="AddLead") == 1
    api.get_sync_info()  # the session was dropped: the next call logs in again
    assert logins(emulator) == 2


# -- §1.4 error kinds, conformance 6 -----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "params", "error", "error_kind"), [
    ("fault", {"text": "Server was unable to process request. ---> boom"}, InesFault, "item"),
    ("html_error", {}, TransientError, "transient"),
    ("http_status", {"code": 503}, TransientError, "transient"),
    ("malformed_xml", {}, InesAnswerError, "item"),
    ("empty_body", {}, InesAnswerError, "item"),
    ("truncated", {}, InesTimeout, "transient"),
    ("drop_connection", {}, InesTimeout, "transient"),
    ("delay", {"seconds": 0.5}, InesTimeout, "transient"),
])
def test_each_failure_gives_an_error_of_the_right_kind(emulator: InesEmulator, kind: str,
                                                       params: dict[str, Any], error: type,
                                                       error_kind: str):
    api = api_for(emulator, policy=HttpPolicy(read_timeout=0.2, max_retries=0))
    api.get_sync_info()
    emulator.inject("wsicm", "GetClient", kind, times=2, **params)
    with pytest.raises(error) as raised:
        api.get_client(1001)
    assert raised.value.kind == error_kind
    assert raised.value.admin_message
    assert PASSWORD not in str(raised.value)
    emulator.clear_injections()
    assert api.get_client(1001) is None  # the client keeps working


def test_connection_refused_is_marked_run_wide():
    forget_sessions()
    api = InesApi("http://127.0.0.1:9", ACCOUNT, USER, PASSWORD,
                  policy=HttpPolicy(connect_timeout=1.0, max_retries=0))
    with pytest.raises(TransientError) as raised:
        api.get_sync_info()
    assert getattr(raised.value, "run_wide", False)


def test_a_wrong_service_path_is_a_configuration_error(emulator: InesEmulator):
    api = InesApi(emulator.base_url + "/nothing-here", ACCOUNT, USER, PASSWORD)
    with pytest.raises(ConfigurationError):
        api.login()


# -- §1.5 wire conventions, conformance 5 ----------------------------------------------------------------

@pytest.mark.parametrize("count", [0, 1, 3])
@pytest.mark.parametrize("empty_list", ["empty", "absent"])
def test_lists_of_zero_one_and_many_items_parse_to_lists(emulator: InesEmulator, count: int,
                                                         empty_list: str):
    emulator.configure(empty_list=empty_list)
    emulator.set_lookup("origins", [{"InternalRef": i + 1, "Description": f"Origin {i}"}
                                    for i in range(count)])
    emulator.set_lookup("client_types", [{"InternalRef": i + 1, "Description": f"T{i}",
                                          "Order": count - i} for i in range(count)])
    api = api_for(emulator)
    origins = api.origins()
    assert isinstance(origins, list) and len(origins) == count
    types = api.client_types()
    assert [t.order for t in types] == sorted(t.order for t in types)


def test_omitted_strings_read_as_empty_and_min_dates_as_none(emulator: InesEmulator):
    emulator.seed({"clients": [{"CompanyName": "Seed SA", "Contacts": [
        {"PrimaryMailAddress": "seed@seed.example", "LastName": "Seed"}]}]})
    contact = api_for(emulator).get_contact(5001)
    assert contact is not None
    assert text_of(contact.get("FirstName")) == ""
    assert ines_datetime(contact.get("DateOfBirth")) is None


def test_users_sorted_by_last_then_first_name(emulator: InesEmulator):
    emulator.set_lookup("users", [
        {"UserRef": 2, "RHRef": 12, "LastName": "Martin", "FirstName": "Zoé"},
        {"UserRef": 1, "RHRef": 11, "LastName": "Dupont", "FirstName": "Jean"}])
    api = api_for(emulator)
    assert [(u.key, u.label) for u in api.users()] == [(1, "Dupont Jean"), (2, "Martin Zoé")]
    assert [u.key for u in api.hr_users()] == [11, 12]


def test_wire_values():
    assert as_list(None, "X") == [] and as_list("", "X") == []
    assert as_list({"X": {"a": "1"}}, "X") == [{"a": "1"}]
    assert ines_datetime("2024-03-15T10:30:00.1234567+02:00") == datetime(2024, 3, 15, 10, 30)
    assert ines_datetime("0001-01-01T00:00:00") is None
    assert ines_int("0") == 0 and ines_int("") is None
    assert encode_value("dt", datetime(2024, 3, 15, 10, 30, 5, 99)) == "2024-03-15T10:30:05"
    assert encode_value("flag", True) == "1" and encode_value("flag", False) == "0"
    assert encode_value("bool", False) == "false"
    assert encode_value("num", Decimal("12.50")) == "12.5"
    assert encode_value("int", "") is None  # never an empty number
    assert encode_value("dt", "0001-01-01T00:00:00") is None  # never an empty date


# -- §2.2 gone objects, D11 ---------------------------------------------------------------------------------

def seeded(emulator: InesEmulator) -> None:
    emulator.seed({"clients": [{"CompanyName": "Seed SA", "Contacts": [
        {"PrimaryMailAddress": "seed@seed.example"}]}]})


@pytest.mark.parametrize("mode", ["empty", "absent"])
def test_a_hard_deleted_contact_reads_as_gone(emulator: InesEmulator, mode: str):
    seeded(emulator)
    emulator.configure(missing_object=mode)
    api = api_for(emulator)
    assert api.get_contact(5001) is not None
    emulator.delete_contact(5001)
    assert api.get_contact(5001) is None
    assert api.get_client(1001) is not None


def test_a_fault_is_gone_only_when_it_matches_the_not_found_pattern(emulator: InesEmulator):
    seeded(emulator)
    emulator.configure(missing_object="fault")
    emulator.delete_contact(5001)
    with pytest.raises(InesFault):
        api_for(emulator).get_contact(5001)
    matching = api_for(emulator, not_found_fault_regex="(?i)object reference not set")
    assert matching.get_contact(5001) is None


# -- §2.3 custom fields, §2.1 sync info -------------------------------------------------------------------

def test_sync_info_and_custom_values_round_trip(emulator: InesEmulator):
    seeded(emulator)
    definition = emulator.add_cf_definition("contact", "Secteur", "list", ["A", "B"])
    emulator.add_cf_definition("client", "Weird", "geolocation")  # other types are ignored
    emulator.set_sync_info(lead_ref=-1, societe_type=7)
    api = api_for(emulator)
    info = api.get_sync_info()
    assert info.lead_ref == -1 and info.societe_type == 7
    assert [(d.ines_id, d.type, d.values) for d in info.contact_custom_fields] == [
        (definition, "list", ("A", "B"))]
    assert info.company_custom_fields == ()
    api.insert_custom_value("contact", 5001, definition, "A")
    api.insert_custom_value("contact", 5001, definition, "B")
    values = api.get_custom_values("contact", 5001)
    assert [v.value for v in values] == ["A", "B"]
    api.update_custom_value("contact", 5001, definition, values[-1].ref, "A")
    assert [v["Value"] for v in emulator.cf_values("contact", 5001)] == ["A", "A"]
    assert emulator.cf_values("contact", 5001)[0]["chvLies"] == 0


def test_a_custom_value_for_a_wrong_owner_is_an_item_error(emulator: InesEmulator):
    api = api_for(emulator)
    with pytest.raises(ItemError):
        api.insert_custom_value("contact", 999999, 1, "x")


# -- D12: nothing leaves the machine but calls to the configured server -------------------------------------

def test_every_request_goes_to_the_configured_server(emulator: InesEmulator,
                                                     monkeypatch: pytest.MonkeyPatch):
    seen: list[str] = []
    original = requests.Session.send

    def record(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        seen.append(request.url or "")
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", record)
    api = api_for(emulator)
    api.get_sync_info()
    api.add_lead(lead_info())
    with pytest.raises(InesFault):
        api.insert_custom_value("contact", 999999, 1, "x")
    assert seen and all(url.startswith(emulator.base_url + "/") for url in seen)


def test_service_keys_are_the_documented_paths():
    from connectors.ines.client import SERVICE_PATHS

    assert SERVICE_PATHS == {LOGIN: "/wslogin/login.asmx", ICM: "/ws/wsicm.asmx",
                             CF: "/ws/wscf.asmx", AUTOMATION: "/ws/WSAutomationSync.asmx"}


def test_unreachable_error_type_is_transient():
    assert issubclass(InesUnreachable, TransientError)
