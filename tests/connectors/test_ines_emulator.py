"""The INES CRM emulator against shared/api/ines.md: real HTTP over loopback, raw SOAP
envelopes built here, zeep for the WSDLs. Each test names the conformance point (§6) or the
emulator section (§5) it covers."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import requests
from lxml import etree

from connectors.ines.emulator import InesEmulator, demo_seed, main

NS = "http://webservice.ines.fr"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
CT = "text/xml; charset=utf-8"
PATHS = {
    "login": "/wslogin/login.asmx",
    "wsicm": "/ws/wsicm.asmx",
    "wscf": "/ws/wscf.asmx",
    "WSAutomationSync": "/ws/WSAutomationSync.asmx",
}
ACCOUNT, USER, PASSWORD = "ACME", "jdupont", "s3cr&t<pw>"
NOW = datetime(2024, 3, 15, 10, 30, 0)
ROOT = Path(__file__).resolve().parents[2]


# --- helpers -----------------------------------------------------------------------------------


def q(name: str, ns: str = NS) -> str:
    return f"{{{ns}}}{name}"


def path_q(path: str, ns: str = NS) -> str:
    return "/".join(q(part, ns) for part in path.split("/"))


def xml_fields(**fields: Any) -> str:
    """Child elements in the order given; None leaves one out, "" sends <X />."""
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(f"<{name}>{escape(str(value))}</{name}>" if value != "" else f"<{name} />")
    return "".join(parts)


def contact_xml(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "Author": 0,
        "CompanyRef": 0,
        "Confidentiality": "Undefined",
        "FirstName": "Paul",
        "IsNew": True,
        "LastName": "Durand",
        "PrimaryMailAddress": "paul@durand.example",
        "Rang": "Principal",
        "Type": 0,
        "Desabo": 0,
        "NPai": 0,
        "InternalRef": 0,
        "AutomationRef": 42,
        "Scoring": 15,
    }
    fields.update(overrides)
    return xml_fields(**fields)


def client_xml(contacts: list[str] | None = None, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "Confidentiality": "Undefined",
        "CompanyName": "Durand SA",
        "Type": 2,
        "City": "Lyon",
        "Manager": 0,
        "PaymentMethodRef": 1,
        "IsNew": True,
        "AutomationRef": 0,
        "InternalRef": 0,
    }
    fields.update(overrides)
    inner = xml_fields(**fields)
    if contacts is not None:
        items = "".join(f"<ContactInfoAuto>{c}</ContactInfoAuto>" for c in contacts)
        inner += f"<Contacts>{items}</Contacts>"
    return inner


def envelope(
    op: str, inner: str = "", sid: str | None = None, ns: str = NS, id_ns: str | None = None
) -> str:
    header = ""
    if sid is not None:
        id_attr = f' xmlns="{id_ns}"' if id_ns is not None else ""
        header = f'<soap:Header><SessionID xmlns="{ns}"><ID{id_attr}>{sid}</ID></SessionID></soap:Header>'
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}">{header}'
        f'<soap:Body><{op} xmlns="{ns}">{inner}</{op}></soap:Body></soap:Envelope>'
    )


class Soap:
    """A minimal hand-made SOAP client: nothing of the emulator's own code is reused."""

    def __init__(self, emu: InesEmulator, http: requests.Session, ns: str = NS) -> None:
        self.emu, self.http, self.ns = emu, http, ns
        self.sid: str | None = None

    def post(
        self,
        service: str,
        op: str,
        inner: str = "",
        sid: str | None = "auto",
        *,
        action: str | None = "auto",
        content_type: str = CT,
        body: str | None = None,
        timeout: float = 5,
        **envelope_kw: Any,
    ) -> requests.Response:
        if sid == "auto":
            sid = None if service == "login" else (self.sid or self.login())
        headers = {"Content-Type": content_type}
        if action == "auto":
            action = f'"{self.ns.rstrip("/")}/{op}"'
        if action is not None:
            headers["SOAPAction"] = action
        data = (
            body
            if body is not None
            else envelope(op, inner, sid, ns=envelope_kw.pop("ns", self.ns), **envelope_kw)
        )
        return self.http.post(
            self.emu.base_url + PATHS[service], data=data.encode(), headers=headers, timeout=timeout
        )

    def login(self, account: str = ACCOUNT, user: str = USER, password: str = PASSWORD) -> str:
        inner = f"<request>{xml_fields(compte=account, userName=user, password=password)}</request>"
        answer = self.ok("login", "authenticationWs", inner)
        result = answer.find(q("authenticationWsResult", self.ns))
        assert result is not None and result.findtext(q("codeReturn", self.ns)) == "ok"
        self.sid = result.findtext(q("idSession", self.ns))
        assert self.sid
        return self.sid

    def ok(self, service: str, op: str, inner: str = "", **kw: Any) -> etree._Element:
        """The <Op>Response element of a successful call."""
        response = self.post(service, op, inner, **kw)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/xml")
        return response_element(response, op, self.ns)

    def result(self, service: str, op: str, inner: str = "", **kw: Any) -> etree._Element:
        """The <Op>Result element of a successful call, which must be there."""
        result = self.ok(service, op, inner, **kw).find(q(f"{op}Result", self.ns))
        assert result is not None
        return result


def response_element(response: requests.Response, op: str, ns: str = NS) -> etree._Element:
    root = etree.fromstring(response.content)
    assert root.tag == q("Envelope", SOAP)
    element = root.find(f"{q('Body', SOAP)}/{q(op + 'Response', ns)}")
    assert element is not None, response.text
    return element


def fault_of(response: requests.Response) -> tuple[str, str]:
    assert response.status_code == 500, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    fault = etree.fromstring(response.content).find(f"{q('Body', SOAP)}/{q('Fault', SOAP)}")
    assert fault is not None, response.text
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def text(element: etree._Element | None, path: str) -> str | None:
    assert element is not None
    return element.findtext(path_q(path))


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def make_emu() -> Iterator[Callable[..., InesEmulator]]:
    started: list[InesEmulator] = []

    def factory(**kwargs: Any) -> InesEmulator:
        kwargs.setdefault("users", [(ACCOUNT, USER, PASSWORD)])
        kwargs.setdefault("now", NOW)
        emu = InesEmulator(**kwargs).start()
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def emu(make_emu: Callable[..., InesEmulator]) -> InesEmulator:
    return make_emu()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def soap(emu: InesEmulator, http: requests.Session) -> Soap:
    return Soap(emu, http)


def seeded(emu: InesEmulator) -> InesEmulator:
    emu.seed(
        {
            "sync_info": {"LeadRef": 3, "SocieteType": 2},
            "lookups": {
                "client_types": [{"InternalRef": 2, "Description": "Prospect", "Order": 1}],
                "contact_types": [{"InternalRef": 1, "Description": "Décideur", "Order": 1}],
                "origins": [{"InternalRef": 1, "Description": "Salon"}],
                "users": [{"UserRef": 4, "RHRef": 9, "LastName": "Martin", "FirstName": "Claire"}],
            },
            "cf_definitions": [
                {"InesID": 17, "concept": "contact", "name": "Abonné", "type": "text"},
                {
                    "InesID": 41,
                    "concept": "client",
                    "name": "Secteur",
                    "type": "list",
                    "values": ["Industrie", "Services"],
                },
                {"InesID": 60, "concept": "lead", "name": "Budget", "type": "numeral"},
                {
                    "InesID": 61,
                    "concept": "contact",
                    "name": "Caché",
                    "type": "text",
                    "exposed": False,
                },
            ],
            "clients": [
                {
                    "CompanyName": "Durand SA",
                    "Contacts": [
                        {"PrimaryMailAddress": "paul@durand.example", "LastName": "Durand"}
                    ],
                }
            ],
        }
    )
    return emu


# --- §6.1 WSDL -----------------------------------------------------------------------------------


def fetch_wsdl(
    emu: InesEmulator, http: requests.Session, path: str, query: str = "wsdl"
) -> etree._Element:
    response = http.get(f"{emu.base_url}{path}?{query}", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    return etree.fromstring(response.content)


@pytest.mark.parametrize("service", list(PATHS))
@pytest.mark.parametrize("spelling", [str.lower, str.upper, lambda p: p])
@pytest.mark.parametrize("query", ["wsdl", "WSDL", "Wsdl"])
def test_wsdl_is_served_under_any_case(
    emu: InesEmulator,
    http: requests.Session,
    service: str,
    spelling: Callable[[str], str],
    query: str,
) -> None:
    path = spelling(PATHS[service])
    root = fetch_wsdl(emu, http, path, query)
    assert root.tag == q("definitions", WSDL)
    assert root.get("targetNamespace") == NS
    address = root.find(f".//{q('address', WSDL_SOAP)}")
    assert address is not None and address.get("location") == f"{emu.base_url}{path}"


@pytest.mark.parametrize("service", list(PATHS))
def test_wsdl_shape_follows_5_1(emu: InesEmulator, http: requests.Session, service: str) -> None:
    root = fetch_wsdl(emu, http, PATHS[service])
    schema = root.find(f"{q('types', WSDL)}/{q('schema', XSD)}")
    assert schema is not None and schema.get("elementFormDefault") == "qualified"
    assert schema.get("targetNamespace") == NS
    messages = {m.get("name") for m in root.iter(q("message", WSDL))}
    binding = root.find(q("binding", WSDL))
    assert binding is not None
    assert (
        binding.find(q("binding", WSDL_SOAP)).get("transport")
        == "http://schemas.xmlsoap.org/soap/http"
    )
    for operation in binding.iter(q("operation", WSDL)):
        name = operation.get("name")
        assert {f"{name}SoapIn", f"{name}SoapOut"} <= messages
        soap_op = operation.find(q("operation", WSDL_SOAP))
        assert soap_op.get("soapAction") == f"{NS}/{name}" and soap_op.get("style") == "document"
        assert operation.find(f"{q('input', WSDL)}/{q('body', WSDL_SOAP)}").get("use") == "literal"
        header = operation.find(f"{q('input', WSDL)}/{q('header', WSDL_SOAP)}")
        # Every operation but login carries the SessionID{ID} header.
        assert (header is not None) == (service != "login")
        if header is not None:
            assert header.get("part") == "SessionID"
    if service != "login":
        session_type = schema.find(f"{q('complexType', XSD)}[@name='SessionID']")
        assert session_type is not None
        assert [e.get("name") for e in session_type.iter(q("element", XSD))] == ["ID"]


def test_wsdl_declares_2_4_fields_in_wire_order(emu: InesEmulator, http: requests.Session) -> None:
    schema = fetch_wsdl(emu, http, PATHS["WSAutomationSync"]).find(f".//{q('schema', XSD)}")
    assert schema is not None

    def members(type_name: str) -> list[str]:
        complex_type = schema.find(f"{q('complexType', XSD)}[@name='{type_name}']")
        assert complex_type is not None
        return [e.get("name") for e in complex_type.iter(q("element", XSD))]

    contact = members("ContactInfoAuto")
    assert contact[:6] == [
        "Author",
        "BusinessAddress",
        "BussinesTelephone",
        "City",
        "Comment",
        "CompanyRef",
    ]
    assert contact[-5:] == ["Desabo", "NPai", "InternalRef", "AutomationRef", "Scoring"]
    client = members("ClientInfoAuto")
    assert client[:3] == ["Confidentiality", "CompanyName", "Type"]
    assert client.index("PaymentMethodRef") < client.index("IsNew") < client.index("InternalRef")
    assert client[-3:] == ["Effectif", "CA", "Contacts"]
    assert members("LeadInfo")[:6] == [
        "ClRef",
        "CtRef",
        "MailExpe",
        "DescriptionCourte",
        "ReclaDescDetail",
        "FileRef",
    ]
    assert "Propietaire" in members("LeadInfo")


def zeep_client(url: str, http: requests.Session) -> Any:
    import zeep
    from zeep.transports import Transport

    return zeep.Client(url, transport=Transport(session=http))


def zeep_calls(lead: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Keyword arguments of one valid call of every operation, by service."""
    contact = {"PrimaryMailAddress": "z@zeep.example", "LastName": "Zeep", "Desabo": 0, "NPai": 0}
    client = {"CompanyName": "Zeep SARL", "PaymentMethodRef": 1, "Type": 2}
    cf = {"chvLies": 0, "chvGroupeAssoc": 0}
    return {
        "login": {
            "authenticationWs": {
                "request": {"compte": ACCOUNT, "userName": USER, "password": PASSWORD}
            }
        },
        "WSAutomationSync": {
            "GetSyncInfo": {},
            "AddClientWithContacts": {
                "client": {**client, "Contacts": {"ContactInfoAuto": [contact, contact]}}
            },
            "UpdateContact": {"contact": {**contact, "InternalRef": 5001, "Scoring": 9}},
            "AddLead": {
                "info": {"ClRef": 1001, "CtRef": 5001, "MailExpe": "z@zeep.example", "FileRef": 3}
            },
            "DeleteAutomationContact": {"InesRef": 5002},
            "AddContact": {
                "contact": contact,
                "AutomationRef": 7,
                "clientRef": 1001,
                "scoring": 3,
                "desabo": 0,
                "npai": 1,
            },
            "UpdateClient": {"client": {**client, "InternalRef": 1001}},
        },
        "wsicm": {
            "GetContact": {"reference": 5001},
            "GetClient": {"reference": 1001},
            "UpdateClient": {"client": {**client, "InternalRef": 1001, "Effectif": 12}},
            "AddClient": {"client": client},
            "GetTypeContactList": {},
            "GetTypeClientList": {},
            "GetOriginList": {},
            "GetUserInfoFromUserRef": {},
            "GetUserInfoFromRHRef": {},
        },
        "wscf": {
            "InsertContactCF": {"ctRef": 5001, "chdefRef": 17, "chpValue": "Oui", **cf},
            "InsertCompanyCF": {"clRef": 1001, "chdefRef": 41, "chpValue": "Services", **cf},
            "InsertLeadCF": {"ReclaRef": lead, "chdefRef": 60, "chpValue": "1200", **cf},
            "UpdateContactCF": {"ctRef": 5001, "chdefRef": 17, "chpRef": 1, "chpValue": "Non"},
            "UpdateCompanyCF": {
                "clRef": 1001,
                "chdefRef": 41,
                "chpRef": 2,
                "chpValue": "Industrie",
            },
            "GetContactCF": {"reference": 5001},
            "GetCompanyCF": {"reference": 1001},
            "GetLeadCF": {"reference": lead},
        },
    }


def schema_of(wsdl: etree._Element) -> etree.XMLSchema:
    schema = wsdl.find(f".//{q('schema', XSD)}")
    return etree.XMLSchema(etree.fromstring(etree.tostring(schema)))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"null_dates": "omit", "empty_list": "absent", "lenient": False},
        {"namespace": "http://webservice.ines.fr/"},
    ],
    ids=["defaults", "omit-absent-strict", "trailing-slash"],
)
def test_every_operation_answers_through_zeep_and_validates(
    make_emu: Callable[..., InesEmulator], http: requests.Session, options: dict[str, Any]
) -> None:
    """§6.1: each WSDL loads in zeep, zeep's own requests are accepted, and every answer is
    valid against the schema of the WSDL that served it."""
    emu = seeded(make_emu(**options))
    ns = options.get("namespace", NS)
    sid = ""
    for service, calls in zeep_calls(1).items():
        client = zeep_client(f"{emu.base_url}{PATHS[service]}?wsdl", http)
        wsdl = fetch_wsdl(emu, http, PATHS[service])
        declared = {
            op.get("name") for op in wsdl.find(q("portType", WSDL)).iter(q("operation", WSDL))
        }
        assert declared == set(calls), service
        headers = {} if service == "login" else {"_soapheaders": {"SessionID": {"ID": sid}}}
        for op, kwargs in calls.items():
            result = getattr(client.service, op)(**kwargs, **headers)
            assert result is not None, op
            if op == "authenticationWs":
                assert result.codeReturn == "ok"
                sid = result.idSession
        schema = schema_of(wsdl)
        for entry in emu.requests():
            if entry["path"] == PATHS[service] and entry["method"] == "POST":
                assert entry["status"] == 200, entry["response"]
                body = etree.fromstring(entry["response"].encode()).find(q("Body", SOAP))
                schema.assertValid(etree.fromstring(etree.tostring(body[0])))
                assert body[0].tag.startswith(f"{{{ns}}}")
    assert emu.call_count() == sum(len(c) for c in zeep_calls(1).values())


def test_wsdl_address_follows_the_host_header_and_plain_gets_show_a_page(
    emu: InesEmulator, http: requests.Session
) -> None:
    url = emu.base_url + PATHS["wscf"]
    response = http.get(url + "?wsdl", headers={"Host": "ines.example:8080"}, timeout=5)
    address = etree.fromstring(response.content).find(f".//{q('address', WSDL_SOAP)}")
    assert (
        address is not None and address.get("location") == "http://ines.example:8080/ws/wscf.asmx"
    )
    page = http.get(url, timeout=5)
    assert page.status_code == 200 and "InsertContactCF" in page.text
    assert http.put(url, data=b"", timeout=5).status_code == 405


# --- §6.2 and §5.1: transport, namespace, SOAPAction -------------------------------------------


def test_soap_1_2_and_other_content_types_get_415(soap: Soap) -> None:
    assert (
        soap.post(
            "wsicm", "GetOriginList", content_type="application/soap+xml; charset=utf-8"
        ).status_code
        == 415
    )
    assert soap.post("wsicm", "GetOriginList", content_type="application/json").status_code == 415
    assert soap.emu.call_count() == 1  # the login only: refused requests are no calls


def test_unknown_path_is_404_and_unknown_operation_a_client_fault(
    soap: Soap, http: requests.Session
) -> None:
    assert http.get(soap.emu.base_url + "/ws/nothing.asmx?wsdl", timeout=5).status_code == 404
    assert (
        http.post(
            soap.emu.base_url + "/ws/other.asmx",
            data=b"<x/>",
            headers={"Content-Type": CT},
            timeout=5,
        ).status_code
        == 404
    )
    code, _ = fault_of(soap.post("wsicm", "GetSyncInfo"))  # exists, but on WSAutomationSync
    assert code == "soap:Client"
    code, _ = fault_of(soap.post("wscf", "Nope"))
    assert code == "soap:Client"


def test_unreadable_requests_are_client_faults(soap: Soap) -> None:
    code, text_ = fault_of(soap.post("wsicm", "GetContact", body="<soap:Envelope"))
    assert code == "soap:Client" and text_.startswith("Server was unable to read request.")
    empty_body = f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body/></soap:Envelope>'
    assert fault_of(soap.post("wsicm", "GetContact", body=empty_body))[0] == "soap:Client"
    code, _ = fault_of(soap.post("wsicm", "GetContact", xml_fields(reference="")))
    assert code == "soap:Client"  # §1.5: never an empty element for a number


def test_answers_are_soap_1_1_with_declaration_and_prefix(soap: Soap) -> None:
    response = soap.post("wsicm", "GetOriginList")
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope')


def test_strict_mode_checks_soap_action(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    strict = Soap(make_emu(lenient=False), http)
    strict.login()
    assert strict.post("wsicm", "GetOriginList").status_code == 200
    for action in (
        None,
        f"{NS}/GetOriginList",
        '"http://webservice.ines.fr/GetClient"',
        '"urn:other/GetOriginList"',
    ):
        code, text_ = fault_of(strict.post("wsicm", "GetOriginList", action=action))
        assert code == "soap:Client" and "SOAPAction" in text_, action
    lenient = Soap(make_emu(), http)
    assert lenient.post("wsicm", "GetOriginList", action='"urn:whatever"').status_code == 200
    assert lenient.post("wsicm", "GetOriginList", action=None).status_code == 200


def test_strict_mode_wants_utf8_charset_and_exact_namespace(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    strict = Soap(make_emu(lenient=False), http)
    strict.login()
    assert strict.post("wsicm", "GetOriginList", content_type="text/xml").status_code == 415
    assert (
        fault_of(
            strict.post("wsicm", "GetOriginList", ns=NS + "/", action=f'"{NS}/GetOriginList"')
        )[0]
        == "soap:Client"
    )
    lenient = Soap(make_emu(), http)
    lenient.login()
    assert lenient.post("wsicm", "GetOriginList", content_type="text/xml").status_code == 200
    assert lenient.post("wsicm", "GetOriginList", ns=NS + "/").status_code == 200


def test_lenient_mode_takes_unqualified_children_and_id_strict_refuses_them(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    for lenient in (True, False):
        emu = seeded(make_emu(lenient=lenient))
        client = Soap(emu, http)
        sid = client.login()
        unqualified = (
            envelope("GetContact", "", sid, id_ns="")
            .replace(
                '<GetContact xmlns="http://webservice.ines.fr">',
                '<ns0:GetContact xmlns:ns0="http://webservice.ines.fr"><reference>5001</reference>',
            )
            .replace("</GetContact>", "</ns0:GetContact>")
        )
        response = client.post("wsicm", "GetContact", body=unqualified)
        if lenient:
            assert (
                text(response_element(response, "GetContact"), "GetContactResult/InternalRef")
                == "5001"
            )
        else:
            assert fault_of(response)[0] == "soap:Client"


def test_strict_mode_refuses_unknown_elements_lenient_ignores_them(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    inner = f"<client>{client_xml(Colour='blue')}</client>"
    lenient = Soap(make_emu(), http)
    assert lenient.result("WSAutomationSync", "AddClientWithContacts", inner) is not None
    strict = Soap(make_emu(lenient=False), http)
    assert (
        fault_of(strict.post("WSAutomationSync", "AddClientWithContacts", inner))[0]
        == "soap:Client"
    )
    assert strict.emu.clients() == []


def test_namespace_option_with_trailing_slash(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    ns = "http://webservice.ines.fr/"
    emu = make_emu(namespace=ns, lenient=False)
    wsdl = fetch_wsdl(emu, http, PATHS["wsicm"])
    assert wsdl.get("targetNamespace") == ns
    actions = {o.get("soapAction") for o in wsdl.iter(q("operation", WSDL_SOAP))}
    assert f"{ns}GetContact" in actions  # like ASP.NET: no double slash
    client = Soap(emu, http, ns=ns)
    assert client.result("wsicm", "GetOriginList", action=f'"{ns}GetOriginList"') is not None


def test_keep_alive_serves_several_requests_on_one_connection(soap: Soap) -> None:
    soap.login()
    host, port = soap.emu.base_url.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=5)
    try:
        sockets = []
        for _ in range(3):
            body = envelope("GetOriginList", "", soap.sid).encode()
            connection.request("POST", PATHS["wsicm"], body=body, headers={"Content-Type": CT})
            response = connection.getresponse()
            assert response.status == 200 and response.version == 11
            assert not response.will_close
            response.read()
            sockets.append(connection.sock)
        assert sockets[0] is sockets[1] is sockets[2]
    finally:
        connection.close()


# --- §6.3 login --------------------------------------------------------------------------------


def test_login_ok_gives_a_decimal_session(soap: Soap) -> None:
    sid = soap.login()
    assert sid.isdigit()


@pytest.mark.parametrize(
    "account,user,password",
    [(ACCOUNT, USER, "wrong"), ("OTHER", USER, PASSWORD), (ACCOUNT, USER, "")],
)
def test_login_refused_says_failed_with_empty_session(
    soap: Soap, account: str, user: str, password: str
) -> None:
    inner = f"<request>{xml_fields(compte=account, userName=user, password=password)}</request>"
    result = soap.result("login", "authenticationWs", inner)
    assert text(result, "codeReturn") == "failed"
    id_session = result.find(q("idSession"))
    assert id_session is not None and not (id_session.text or "")


def test_login_ignores_unknown_children_such_as_url(soap: Soap) -> None:
    inner = f"<request>{xml_fields(compte=ACCOUNT, userName=USER, password=PASSWORD, url='https://x', extra=1)}</request>"
    assert text(soap.result("login", "authenticationWs", inner), "codeReturn") == "ok"


def test_login_fault_option(make_emu: Callable[..., InesEmulator], http: requests.Session) -> None:
    client = Soap(make_emu(login_fault=True), http)
    inner = f"<request>{xml_fields(compte=ACCOUNT, userName=USER, password='bad')}</request>"
    code, text_ = fault_of(client.post("login", "authenticationWs", inner))
    assert code == "soap:Server" and text_.startswith("Server was unable to process request. --->")
    assert client.login()


def test_passwords_and_session_ids_never_leave_in_logs(
    soap: Soap, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="listbridge.emulator.ines")
    sid = soap.login()
    soap.ok("wsicm", "GetOriginList")
    raw = json.dumps(soap.emu.requests(), default=str)
    assert escape(PASSWORD) not in raw and PASSWORD not in raw
    assert sid not in raw
    assert (
        "<password>***</password>" in raw
        and "<ID>***</ID>" in raw
        and "<idSession>***</idSession>" in raw
    )
    assert PASSWORD not in caplog.text and sid not in caplog.text
    login_call = soap.emu.calls("login", "authenticationWs")[0]
    assert login_call.params == {
        "request": {"compte": ACCOUNT, "userName": USER, "password": "***"}
    }


# --- §6.4 sessions -----------------------------------------------------------------------------


def test_expired_sessions_fault_by_default(soap: Soap) -> None:
    soap.login()
    assert soap.post("wsicm", "GetOriginList").status_code == 200
    assert soap.emu.expire_all_sessions() == 1
    code, _ = fault_of(soap.post("wsicm", "GetOriginList"))
    assert code == "soap:Client"
    soap.login()
    assert soap.post("wsicm", "GetOriginList").status_code == 200
    assert soap.emu.call_count("login", "authenticationWs") == 2


def test_invalid_session_empty_answers_without_result(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    client = Soap(make_emu(invalid_session="empty"), http)
    sid = client.login()
    assert client.emu.expire_session(sid)
    answer = client.ok("wsicm", "GetOriginList")
    assert answer.find(q("GetOriginListResult")) is None
    assert client.emu.calls("wsicm")[-1].outcome == "invalid_session"


@pytest.mark.parametrize("sid", [None, "", "123", "not-a-session"])
def test_missing_or_unknown_sessions_are_refused(soap: Soap, sid: str | None) -> None:
    assert fault_of(soap.post("wsicm", "GetOriginList", sid=sid))[0] == "soap:Client"


def test_session_ttl_follows_the_clock(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    client = Soap(make_emu(session_ttl_s=60), http)
    client.login()
    client.emu.advance_clock(59)
    assert client.post("wsicm", "GetOriginList").status_code == 200
    client.emu.advance_clock(1)
    assert fault_of(client.post("wsicm", "GetOriginList"))[0] == "soap:Client"


def test_sessions_without_ttl_never_expire(soap: Soap) -> None:
    soap.login()
    soap.emu.advance_clock(10 * 365 * 86400)
    assert soap.post("wsicm", "GetOriginList").status_code == 200


def test_same_calls_give_same_ids(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    answers = []
    for _ in range(2):
        client = Soap(make_emu(), http)
        sid = client.login()
        result = client.result(
            "WSAutomationSync",
            "AddClientWithContacts",
            f"<client>{client_xml([contact_xml()])}</client>",
        )
        answers.append(
            (sid, text(result, "InternalRef"), text(result, "Contacts/ContactInfoAuto/InternalRef"))
        )
    assert answers[0] == answers[1] == (answers[0][0], "1001", "5001")


# --- §6.5 lists and omitted strings --------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 3])
@pytest.mark.parametrize("empty_list", ["empty", "absent"])
def test_lists_of_zero_one_and_n_items(
    make_emu: Callable[..., InesEmulator], http: requests.Session, count: int, empty_list: str
) -> None:
    client = Soap(make_emu(empty_list=empty_list), http)
    client.emu.set_lookup(
        "origins", [{"InternalRef": i, "Description": f"Origine {i}"} for i in range(1, count + 1)]
    )
    answer = client.ok("wsicm", "GetOriginList")
    wrapper = answer.find(q("GetOriginListResult"))
    if count == 0 and empty_list == "absent":
        assert wrapper is None
        return
    assert wrapper is not None
    items = wrapper.findall(q("OriginInfo"))
    assert [i.findtext(q("Description")) for i in items] == [
        f"Origine {i}" for i in range(1, count + 1)
    ]


def test_null_strings_are_omitted_empty_ones_sent_empty(soap: Soap) -> None:
    inner = f"<client>{client_xml([contact_xml(Fax='', Function=None)])}</client>"
    soap.ok("WSAutomationSync", "AddClientWithContacts", inner)
    contact = soap.result("wsicm", "GetContact", xml_fields(reference=5001))
    assert contact is not None
    fax = contact.find(q("Fax"))
    assert fax is not None and fax.text is None  # <Fax />
    assert contact.find(q("Function")) is None


def test_lists_in_sync_info_and_value_lists(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    emu = seeded(make_emu())
    result = Soap(emu, http).result("WSAutomationSync", "GetSyncInfo")
    assert text(result, "LeadRef") == "3" and text(result, "SocieteType") == "2"
    company = result.findall(path_q("CompanyCustomFields/CustomFieldToAuto"))
    assert [text(c, "InesID") for c in company] == ["41"]
    assert [s.text for s in company[0].findall(path_q("ValueList/string"))] == [
        "Industrie",
        "Services",
    ]
    # Only exposed contact definitions are listed; lead definitions never are.
    assert [
        text(c, "InesID") for c in result.findall(path_q("ContactCustomFields/CustomFieldToAuto"))
    ] == ["17"]


# --- §6.6 injected faults ----------------------------------------------------------------------


def test_injected_soap_fault(soap: Soap) -> None:
    soap.login()
    soap.emu.inject("wsicm", "GetOriginList", "fault", text="Boom")
    code, text_ = fault_of(soap.post("wsicm", "GetOriginList"))
    assert code == "soap:Server" and text_ == "Server was unable to process request. ---> Boom"
    soap.emu.inject("wsicm", "GetOriginList", "fault", code="soap:Client", text="Bad request")
    assert fault_of(soap.post("wsicm", "GetOriginList")) == ("soap:Client", "Bad request")
    assert soap.post("wsicm", "GetOriginList").status_code == 200  # times=1


def test_injected_http_status_and_html_error(soap: Soap) -> None:
    soap.login()
    soap.emu.inject("wsicm", "GetOriginList", "http_status", code=503, body="busy")
    response = soap.post("wsicm", "GetOriginList")
    assert (response.status_code, response.text) == (503, "busy")
    soap.emu.inject("wsicm", "GetOriginList", "html_error")
    response = soap.post("wsicm", "GetOriginList")
    assert response.status_code == 500 and response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text


def test_injected_malformed_empty_and_wrong_content_type(soap: Soap) -> None:
    soap.login()
    soap.emu.inject("wsicm", "GetOriginList", "malformed_xml")
    response = soap.post("wsicm", "GetOriginList")
    assert response.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)
    soap.emu.inject("wsicm", "GetOriginList", "empty_body")
    response = soap.post("wsicm", "GetOriginList")
    assert response.status_code == 200 and response.content == b""
    soap.emu.inject("wsicm", "GetOriginList", "wrong_content_type")
    response = soap.post("wsicm", "GetOriginList")
    assert response.headers["Content-Type"].startswith("text/html")
    assert response_element(response, "GetOriginList") is not None


def test_injected_truncated_body_and_dropped_connection(soap: Soap) -> None:
    soap.login()
    soap.emu.inject("wsicm", "GetOriginList", "truncated")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        soap.post("wsicm", "GetOriginList")
    soap.emu.inject("wsicm", "GetOriginList", "drop_connection")
    with pytest.raises(requests.exceptions.ConnectionError):
        soap.post("wsicm", "GetOriginList")
    assert soap.post("wsicm", "GetOriginList").status_code == 200  # the server lives on


def test_injected_delay_becomes_a_timeout(soap: Soap) -> None:
    soap.login()
    soap.emu.inject("wsicm", "GetOriginList", "delay", seconds=0.3)
    started = time.monotonic()
    assert soap.post("wsicm", "GetOriginList").status_code == 200
    assert time.monotonic() - started >= 0.3
    soap.emu.inject("wsicm", "GetOriginList", "delay", seconds=0.5)
    with pytest.raises(requests.exceptions.Timeout):
        soap.post("wsicm", "GetOriginList", timeout=0.1)


@pytest.mark.parametrize("mode", ["fault", "empty"])
def test_injected_invalid_session(soap: Soap, mode: str) -> None:
    soap.login()
    soap.emu.inject("wsicm", "GetOriginList", "invalid_session", mode=mode)
    response = soap.post("wsicm", "GetOriginList")
    if mode == "fault":
        assert fault_of(response)[0] == "soap:Client"
    else:
        assert response_element(response, "GetOriginList").find(q("GetOriginListResult")) is None
    assert soap.post("wsicm", "GetOriginList").status_code == 200  # the session itself is fine


def test_injection_times_wildcards_and_wsdl(soap: Soap, http: requests.Session) -> None:
    soap.login()
    soap.emu.inject("*", "*", "http_status", times=2, code=502)
    assert soap.post("wscf", "GetContactCF", xml_fields(reference=1)).status_code == 502
    assert soap.post("wsicm", "GetOriginList").status_code == 502
    assert soap.post("wsicm", "GetOriginList").status_code == 200
    soap.emu.inject("WSICM", "wsdl", "html_error", times=None)  # service names in any case
    for _ in range(2):
        assert http.get(soap.emu.base_url + PATHS["wsicm"] + "?wsdl", timeout=5).status_code == 500
    soap.emu.clear_injections()
    assert http.get(soap.emu.base_url + PATHS["wsicm"] + "?wsdl", timeout=5).status_code == 200
    assert soap.emu.call_count("wsicm", "wsdl") == 3
    assert soap.emu.call_count("wsicm") == 2  # WSDL reads are not operation calls
    with pytest.raises(ValueError):
        soap.emu.inject("wsicm", "GetSyncInfo", "fault")
    with pytest.raises(ValueError):
        soap.emu.inject("wsicm", "GetContact", "explode")


def test_a_seeded_rate_spoils_the_same_calls_each_run(soap: Soap) -> None:
    def spoilt(seed: int) -> list[int]:
        soap.emu.clear_injections()
        soap.emu.inject("login", "authenticationWs", "http_status", times=None, rate=0.3, seed=seed)
        inner = f"<request>{xml_fields(compte=ACCOUNT, userName=USER, password=PASSWORD)}</request>"
        return [n for n in range(20)
                if soap.post("login", "authenticationWs", inner).status_code == 503]

    first = spoilt(7)
    assert first == spoilt(7) and 0 < len(first) < 20
    assert first != spoilt(8)
    with pytest.raises(ValueError):
        soap.emu.inject("wsicm", "GetContact", "fault", rate=2)


@pytest.mark.parametrize("kind", ["fault", "drop_connection", "malformed_xml", "http_status"])
def test_after_commit_stores_the_change_and_loses_the_answer(soap: Soap, kind: str) -> None:
    soap.login()
    inner = f"<client>{client_xml([contact_xml()])}</client>"
    soap.emu.inject("WSAutomationSync", "AddClientWithContacts", kind)
    try:
        soap.post("WSAutomationSync", "AddClientWithContacts", inner)
    except requests.exceptions.ConnectionError:
        pass
    assert soap.emu.clients() == []  # refused before anything was stored
    soap.emu.inject("WSAutomationSync", "AddClientWithContacts", kind, after_commit=True)
    try:
        soap.post("WSAutomationSync", "AddClientWithContacts", inner)
    except requests.exceptions.ConnectionError:
        pass
    assert [c["InternalRef"] for c in soap.emu.clients()] == [1001]
    assert (
        soap.emu.calls("WSAutomationSync", "AddClientWithContacts")[-1].outcome
        == f"injected:{kind}"
    )


# --- §6.8 creation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"PaymentMethodRef": 0}, "PaymentMethodRef must not be 0"),
        ({"PaymentMethodRef": None}, "PaymentMethodRef must not be 0"),
        ({"CompanyName": "  "}, "CompanyName"),
        ({"CompanyName": None}, "CompanyName"),
    ],
)
def test_create_refuses_payment_method_zero_and_blank_name(
    soap: Soap, overrides: dict[str, Any], message: str
) -> None:
    for op in ("AddClientWithContacts", "AddClient"):
        service = "WSAutomationSync" if op == "AddClientWithContacts" else "wsicm"
        code, text_ = fault_of(
            soap.post(service, op, f"<client>{client_xml([contact_xml()], **overrides)}</client>")
        )
        assert code == "soap:Server" and text_.startswith(
            "Server was unable to process request. --->"
        )
        assert message in text_
    assert soap.emu.clients() == [] and soap.emu.contacts() == []


def test_create_assigns_refs_and_links_contacts(soap: Soap) -> None:
    contacts = [
        contact_xml(),
        contact_xml(
            PrimaryMailAddress="anne@durand.example", AutomationRef=43, Desabo=1, Scoring=0
        ),
    ]
    result = soap.result(
        "WSAutomationSync", "AddClientWithContacts", f"<client>{client_xml(contacts)}</client>"
    )
    assert text(result, "InternalRef") == "1001" and text(result, "CompanyName") == "Durand SA"
    items = result.findall(path_q("Contacts/ContactInfoAuto"))
    assert [(text(c, "InternalRef"), text(c, "CompanyRef")) for c in items] == [
        ("5001", "1001"),
        ("5002", "1001"),
    ]
    stored = soap.emu.get_contact(5002)
    assert stored is not None
    assert (stored["CompanyRef"], stored["AutomationRef"], stored["Desabo"], stored["Scoring"]) == (
        1001,
        43,
        1,
        0,
    )
    assert stored["DateOfBirth"] is None and stored["CreationDate"] == NOW
    client = soap.emu.get_client(1001)
    assert client is not None and client["Type"] == 2 and client["PaymentMethodRef"] == 1
    # Type 0 is stored as sent: replacing it by SocieteType is the client's job (§6.8).
    soap.ok(
        "WSAutomationSync", "AddClientWithContacts", f"<client>{client_xml([], Type=0)}</client>"
    )
    assert soap.emu.get_client(1002)["Type"] == 0  # type: ignore[index]


def test_contact_without_email_is_refused(soap: Soap) -> None:
    inner = f"<client>{client_xml([contact_xml(PrimaryMailAddress='')])}</client>"
    assert (
        fault_of(soap.post("WSAutomationSync", "AddClientWithContacts", inner))[0] == "soap:Server"
    )
    assert soap.emu.clients() == []


def test_add_contact_needs_an_existing_client(soap: Soap) -> None:
    inner = f"<contact>{contact_xml()}</contact>" + xml_fields(
        AutomationRef=9, clientRef=1001, scoring=4, desabo="true", npai=0
    )
    assert fault_of(soap.post("WSAutomationSync", "AddContact", inner))[0] == "soap:Server"
    soap.ok("wsicm", "AddClient", f"<client>{client_xml()}</client>")
    result = soap.result("WSAutomationSync", "AddContact", inner)
    assert (text(result, "InternalRef"), text(result, "CompanyRef"), text(result, "Scoring")) == (
        "5001",
        "1001",
        "4",
    )
    assert (text(result, "Desabo"), text(result, "AutomationRef")) == ("1", "9")


def test_add_lead_stores_every_info_field(soap: Soap) -> None:
    info = xml_fields(
        ClRef=1001,
        CtRef=5001,
        MailExpe="p@d.example",
        DescriptionCourte="Lead ListBridge",
        ReclaDescDetail="",
        FileRef=3,
        Propietaire=0,
        AutomationScoring=12,
    )
    assert (
        text(soap.ok("WSAutomationSync", "AddLead", f"<info>{info}</info>"), "AddLeadResult") == "1"
    )
    assert (
        text(soap.ok("WSAutomationSync", "AddLead", f"<info>{info}</info>"), "AddLeadResult") == "2"
    )
    lead = soap.emu.leads()[0]
    assert (
        lead["ref"],
        lead["FileRef"],
        lead["ReclaDescDetail"],
        lead["AutomationScoring"],
        lead["created"],
    ) == (1, 3, "", 12, NOW)


# --- §5.3 updates and reads ----------------------------------------------------------------------


def test_update_contact_keeps_absent_fields_and_returns_its_ref(soap: Soap) -> None:
    soap.ok(
        "WSAutomationSync",
        "AddClientWithContacts",
        f"<client>{client_xml([contact_xml(City='Lyon')])}</client>",
    )
    update = xml_fields(
        InternalRef=5001, PrimaryMailAddress="paul@durand.example", Scoring=30, IsNew=False
    )
    assert (
        text(
            soap.ok("WSAutomationSync", "UpdateContact", f"<contact>{update}</contact>"),
            "UpdateContactResult",
        )
        == "5001"
    )
    stored = soap.emu.get_contact(5001)
    assert stored is not None
    assert (stored["Scoring"], stored["City"], stored["LastName"], stored["IsNew"]) == (
        30,
        "Lyon",
        "Durand",
        False,
    )
    unknown = xml_fields(InternalRef=9999, PrimaryMailAddress="x@y.z")
    assert (
        fault_of(soap.post("WSAutomationSync", "UpdateContact", f"<contact>{unknown}</contact>"))[0]
        == "soap:Server"
    )


@pytest.mark.parametrize("service", ["wsicm", "WSAutomationSync"])
def test_update_client_on_both_services(soap: Soap, service: str) -> None:
    soap.ok("wsicm", "AddClient", f"<client>{client_xml(Phone='01')}</client>")
    update = client_xml(
        InternalRef=1001, City="Paris", Phone=None, ModifiedDate="2024-03-16T08:00:00", IsNew=False
    )
    result = soap.result(service, "UpdateClient", f"<client>{update}</client>")
    assert (text(result, "InternalRef"), text(result, "City"), text(result, "Phone")) == (
        "1001",
        "Paris",
        "01",
    )
    assert text(result, "ModifiedDate") == "2024-03-16T08:00:00"
    assert (
        fault_of(
            soap.post(
                service,
                "UpdateClient",
                f"<client>{client_xml(InternalRef=1001, PaymentMethodRef=0)}</client>",
            )
        )[0]
        == "soap:Server"
    )
    assert (
        fault_of(
            soap.post(service, "UpdateClient", f"<client>{client_xml(InternalRef=77)}</client>")
        )[0]
        == "soap:Server"
    )


def test_lookups_and_users(make_emu: Callable[..., InesEmulator], http: requests.Session) -> None:
    client = Soap(seeded(make_emu()), http)
    assert (
        text(client.result("wsicm", "GetTypeClientList"), "ClientTypeInfo/Description")
        == "Prospect"
    )
    assert text(client.result("wsicm", "GetTypeContactList"), "ContactTypeInfo/Order") == "1"
    for op, ref in (
        ("GetUserInfoFromUserRef", ("UserRef", "4")),
        ("GetUserInfoFromRHRef", ("RHRef", "9")),
    ):
        user = client.result("wsicm", op)
        assert text(user, f"UserInfoRH/{ref[0]}") == ref[1]
        assert (text(user, "UserInfoRH/LastName"), text(user, "UserInfoRH/FirstName")) == (
            "Martin",
            "Claire",
        )
        assert text(user, "UserInfoRH/Name") == "Claire Martin"


# --- §6.11 gone objects ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["empty", "absent", "fault"])
def test_deleted_objects_read_per_missing_object(
    make_emu: Callable[..., InesEmulator], http: requests.Session, mode: str
) -> None:
    emu = seeded(make_emu(missing_object=mode))
    client = Soap(emu, http)
    assert (
        text(client.result("wsicm", "GetContact", xml_fields(reference=5001)), "InternalRef")
        == "5001"
    )
    emu.delete_contact(5001)
    emu.delete_client(1001)
    for op, ref in (("GetContact", 5001), ("GetClient", 1001), ("GetContact", 4242)):
        response = client.post("wsicm", op, xml_fields(reference=ref))
        if mode == "fault":
            code, text_ = fault_of(response)
            assert code == "soap:Server" and "Object reference not set" in text_
            continue
        result = response_element(response, op).find(q(f"{op}Result"))
        if mode == "absent":
            assert result is None
        else:
            assert text(result, "InternalRef") == "0"
    update = xml_fields(InternalRef=5001, PrimaryMailAddress="p@d.example")
    assert (
        fault_of(client.post("WSAutomationSync", "UpdateContact", f"<contact>{update}</contact>"))[
            0
        ]
        == "soap:Server"
    )
    assert emu.get_contact(5001)["deleted"] is True  # type: ignore[index]


# --- §6.12 custom fields -----------------------------------------------------------------------


def cf_insert(ref: int, definition: int, value: str, owner: str = "ctRef") -> str:
    return xml_fields(
        **{owner: ref}, chdefRef=definition, chpValue=value, chvLies=0, chvGroupeAssoc=0
    )


def test_custom_field_insert_update_and_get(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    emu = seeded(make_emu())
    client = Soap(emu, http)
    assert (
        text(
            client.ok("wscf", "InsertContactCF", cf_insert(5001, 17, "Oui")),
            "InsertContactCFResult",
        )
        == "1"
    )
    assert (
        text(
            client.ok("wscf", "InsertContactCF", cf_insert(5001, 17, "Peut-être")),
            "InsertContactCFResult",
        )
        == "2"
    )
    result = client.result("wscf", "GetContactCF", xml_fields(reference=5001))
    values = [
        (text(v, "DefinitionRef"), text(v, "Ref"), text(v, "Value"))
        for v in result.findall(path_q("Values/CustomField"))
    ]
    assert values == [("17", "1", "Oui"), ("17", "2", "Peut-être")]  # both kept, in insertion order
    assert [
        text(d, "Ref") for d in result.findall(path_q("Definitions/CustomFieldDefinition"))
    ] == ["17", "61"]
    assert len(result.findall(path_q("Groups/CustomFieldGroup"))) == 1
    update = xml_fields(ctRef=5001, chdefRef=17, chpRef=2, chpValue="Non")
    assert text(client.ok("wscf", "UpdateContactCF", update), "UpdateContactCFResult") == "2"
    assert [v["Value"] for v in emu.cf_values("contact", 5001)] == ["Oui", "Non"]
    assert {(v["chvLies"], v["chvGroupeAssoc"]) for v in emu.cf_values()} == {(0, 0)}


@pytest.mark.parametrize(
    "op,inner",
    [
        (
            "UpdateContactCF",
            xml_fields(ctRef=5001, chdefRef=17, chpRef=99, chpValue="x"),
        ),  # unknown chpRef
        (
            "UpdateContactCF",
            xml_fields(ctRef=5001, chdefRef=61, chpRef=1, chpValue="x"),
        ),  # other definition
        (
            "UpdateCompanyCF",
            xml_fields(clRef=1001, chdefRef=41, chpRef=1, chpValue="x"),
        ),  # other owner
        ("InsertContactCF", cf_insert(5001, 41, "x")),  # a client definition on a contact
        ("InsertContactCF", cf_insert(4242, 17, "x")),  # no such contact
        ("InsertCompanyCF", cf_insert(1001, 999, "x", owner="clRef")),  # no such definition
        ("InsertLeadCF", cf_insert(77, 60, "x", owner="ReclaRef")),  # no such lead
    ],
)
def test_custom_field_refusals(
    make_emu: Callable[..., InesEmulator], http: requests.Session, op: str, inner: str
) -> None:
    emu = seeded(make_emu())
    client = Soap(emu, http)
    client.ok("wscf", "InsertContactCF", cf_insert(5001, 17, "Oui"))
    code, text_ = fault_of(client.post("wscf", op, inner))
    assert code == "soap:Server" and text_.startswith("Server was unable to process request. --->")
    assert [v["Value"] for v in emu.cf_values()] == ["Oui"]


def test_company_and_lead_custom_fields(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    emu = seeded(make_emu())
    client = Soap(emu, http)
    client.ok("wscf", "InsertCompanyCF", cf_insert(1001, 41, "Industrie", owner="clRef"))
    client.ok(
        "WSAutomationSync",
        "AddLead",
        f"<info>{xml_fields(ClRef=1001, CtRef=5001, FileRef=3)}</info>",
    )
    client.ok("wscf", "InsertLeadCF", cf_insert(1, 60, "1200", owner="ReclaRef"))
    assert (
        text(
            client.result("wscf", "GetCompanyCF", xml_fields(reference=1001)),
            "Values/CustomField/Value",
        )
        == "Industrie"
    )
    assert (
        text(
            client.result("wscf", "GetLeadCF", xml_fields(reference=1)), "Values/CustomField/Value"
        )
        == "1200"
    )
    assert (
        client.result("wscf", "GetContactCF", xml_fields(reference=5001)).find(
            path_q("Values/CustomField")
        )
        is None
    )


def test_duplicate_cf_value_and_list_value_check_options(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    emu = seeded(make_emu(duplicate_cf_value="fault", list_value_check=True))
    client = Soap(emu, http)
    client.ok("wscf", "InsertContactCF", cf_insert(5001, 17, "Oui"))
    assert (
        fault_of(client.post("wscf", "InsertContactCF", cf_insert(5001, 17, "Non")))[0]
        == "soap:Server"
    )
    assert (
        fault_of(
            client.post(
                "wscf", "InsertCompanyCF", cf_insert(1001, 41, "Agriculture", owner="clRef")
            )
        )[0]
        == "soap:Server"
    )
    client.ok("wscf", "InsertCompanyCF", cf_insert(1001, 41, "Services", owner="clRef"))
    update = xml_fields(clRef=1001, chdefRef=41, chpRef=2, chpValue="Autre")
    assert fault_of(client.post("wscf", "UpdateCompanyCF", update))[0] == "soap:Server"


# --- §6.16 DeleteAutomationContact -------------------------------------------------------------


def test_delete_automation_contact(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    emu = seeded(make_emu())
    client = Soap(emu, http)
    assert (
        text(
            client.ok("WSAutomationSync", "DeleteAutomationContact", xml_fields(InesRef=5001)),
            "DeleteAutomationContactResult",
        )
        == "Success"
    )
    assert emu.get_contact(5001)["unsynced"] is True  # type: ignore[index]
    assert (
        text(client.result("wsicm", "GetContact", xml_fields(reference=5001)), "InternalRef")
        == "5001"
    )
    assert (
        text(
            client.ok("WSAutomationSync", "DeleteAutomationContact", xml_fields(InesRef=4242)),
            "DeleteAutomationContactResult",
        )
        == "NotFound"
    )


# --- §5.4 options not covered above --------------------------------------------------------------


@pytest.mark.parametrize(
    "null_dates,expected", [("min_value", "0001-01-01T00:00:00"), ("omit", None)]
)
def test_null_dates_option(
    make_emu: Callable[..., InesEmulator],
    http: requests.Session,
    null_dates: str,
    expected: str | None,
) -> None:
    emu = seeded(make_emu(null_dates=null_dates))
    contact = Soap(emu, http).result("wsicm", "GetContact", xml_fields(reference=5001))
    assert text(contact, "DateOfBirth") == expected
    assert text(contact, "CreationDate") == "2024-03-15T10:30:00"


def test_dates_with_offset_fraction_or_min_value_are_read(soap: Soap) -> None:
    contact = contact_xml(
        DateOfBirth="1980-02-03T00:00:00.000+01:00", CreationDate="0001-01-01T00:00:00"
    )
    soap.ok(
        "WSAutomationSync", "AddClientWithContacts", f"<client>{client_xml([contact])}</client>"
    )
    stored = soap.emu.get_contact(5001)
    assert stored is not None
    assert stored["DateOfBirth"] == datetime(1980, 2, 3) and stored["CreationDate"] == NOW
    bad = contact_xml(DateOfBirth="03/02/1980")
    assert (
        fault_of(
            soap.post(
                "WSAutomationSync", "AddClientWithContacts", f"<client>{client_xml([bad])}</client>"
            )
        )[0]
        == "soap:Client"
    )


def test_enum_check_option(make_emu: Callable[..., InesEmulator], http: requests.Session) -> None:
    off = Soap(make_emu(), http)
    off.ok(
        "WSAutomationSync",
        "AddClientWithContacts",
        f"<client>{client_xml([contact_xml(Rang='Archived', Confidentiality='7')])}</client>",
    )
    on = Soap(make_emu(enum_check=True), http)
    for contact in (contact_xml(Rang="Archived"), contact_xml(Confidentiality="Secret")):
        assert (
            fault_of(
                on.post(
                    "WSAutomationSync",
                    "AddClientWithContacts",
                    f"<client>{client_xml([contact])}</client>",
                )
            )[0]
            == "soap:Server"
        )
    for rang, confidentiality in (("Principal", "Undefined"), ("1", "-1")):  # both spellings pass
        on.ok(
            "WSAutomationSync",
            "AddClientWithContacts",
            f"<client>{client_xml([contact_xml(Rang=rang, Confidentiality=confidentiality)])}</client>",
        )
    custom = Soap(make_emu(enum_check={"Rang": ["Principal", "Secondaire"]}), http)
    custom.ok(
        "WSAutomationSync",
        "AddClientWithContacts",
        f"<client>{client_xml([contact_xml(Rang='Secondaire', Confidentiality='x')])}</client>",
    )
    assert (
        fault_of(
            custom.post(
                "WSAutomationSync",
                "AddClientWithContacts",
                f"<client>{client_xml([contact_xml(Rang='1')])}</client>",
            )
        )[0]
        == "soap:Server"
    )


def test_require_birth_date_option(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    client = Soap(make_emu(require_birth_date=True), http)
    code, text_ = fault_of(
        client.post(
            "WSAutomationSync",
            "AddClientWithContacts",
            f"<client>{client_xml([contact_xml()])}</client>",
        )
    )
    assert code == "soap:Server" and "DateOfBirth" in text_
    sentinel = contact_xml(DateOfBirth="1900-01-01T00:00:00")
    client.ok(
        "WSAutomationSync", "AddClientWithContacts", f"<client>{client_xml([sentinel])}</client>"
    )
    update = xml_fields(InternalRef=5001, PrimaryMailAddress="paul@durand.example")
    assert (
        fault_of(client.post("WSAutomationSync", "UpdateContact", f"<contact>{update}</contact>"))[
            0
        ]
        == "soap:Server"
    )


def test_option_defaults_and_validation() -> None:
    emu = InesEmulator()
    assert emu.namespace == "http://webservice.ines.fr"
    assert {
        k: emu.options[k]
        for k in (
            "lenient",
            "invalid_session",
            "session_ttl_s",
            "missing_object",
            "null_dates",
            "enum_check",
            "list_value_check",
            "duplicate_cf_value",
            "login_fault",
            "require_birth_date",
        )
    } == {
        "lenient": True,
        "invalid_session": "fault",
        "session_ttl_s": None,
        "missing_object": "empty",
        "null_dates": "min_value",
        "enum_check": None,
        "list_value_check": False,
        "duplicate_cf_value": "append",
        "login_fault": False,
        "require_birth_date": False,
    }
    with pytest.raises(ValueError):
        InesEmulator(colour="blue")
    with pytest.raises(ValueError):
        InesEmulator(missing_object="vanish")
    with pytest.raises(RuntimeError):
        _ = emu.base_url


def test_configure_changes_options_at_run_time(soap: Soap) -> None:
    soap.login()
    soap.emu.configure(invalid_session="empty")
    soap.emu.expire_all_sessions()
    assert soap.ok("wsicm", "GetOriginList").find(q("GetOriginListResult")) is None


# --- §5.5 hooks and readers --------------------------------------------------------------------


def test_reset_goes_back_to_the_constructed_state(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    emu = make_emu(seed={"sync_info": {"LeadRef": -1}})
    client = Soap(emu, http)
    client.ok(
        "WSAutomationSync",
        "AddClientWithContacts",
        f"<client>{client_xml([contact_xml()])}</client>",
    )
    emu.set_sync_info(lead_ref=5)
    emu.inject("*", "*", "fault", times=None)
    emu.reset()
    assert emu.clients() == [] and emu.calls() == [] and emu.session_ids() == []
    client.sid = None
    assert text(client.result("WSAutomationSync", "GetSyncInfo"), "LeadRef") == "-1"
    assert (
        text(
            client.result(
                "WSAutomationSync",
                "AddClientWithContacts",
                f"<client>{client_xml([contact_xml()])}</client>",
            ),
            "InternalRef",
        )
        == "1001"
    )


def test_seed_counters_and_explicit_refs(emu: InesEmulator) -> None:
    emu.seed(
        {
            "counters": {"clients": 2000, "contacts": 9000},
            "clients": [
                {
                    "InternalRef": 1500,
                    "CompanyName": "A",
                    "Contacts": [{"PrimaryMailAddress": "a@a.example"}],
                },
                {"CompanyName": "B"},
            ],
        }
    )
    assert [c["InternalRef"] for c in emu.clients()] == [1500, 2000]
    contact = emu.contacts()[0]
    assert (contact["InternalRef"], contact["CompanyRef"], contact["IsNew"]) == (9000, 1500, False)
    assert emu.get_client(1500)["PaymentMethodRef"] == 1  # type: ignore[index]
    with pytest.raises(ValueError):
        emu.seed({"contacts": [{"Colour": "blue"}]})


def test_edit_hooks_change_what_the_service_answers(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    emu = seeded(make_emu())
    client = Soap(emu, http)
    emu.set_clock(datetime(2024, 4, 1, 9, 0, 0))
    emu.edit_contact(5001, LastName="Dupont", DateOfBirth="1975-06-01T00:00:00", NPai=True)
    emu.edit_client(1001, City="Brest", CA=1500.5)
    contact = client.result("wsicm", "GetContact", xml_fields(reference=5001))
    assert (text(contact, "LastName"), text(contact, "DateOfBirth"), text(contact, "NPai")) == (
        "Dupont",
        "1975-06-01T00:00:00",
        "1",
    )
    assert text(contact, "ModificationDate") == "2024-04-01T09:00:00"
    company = client.result("wsicm", "GetClient", xml_fields(reference=1001))
    assert (text(company, "City"), text(company, "CA"), text(company, "ModifiedDate")) == (
        "Brest",
        "1500.5",
        "2024-04-01T09:00:00",
    )
    with pytest.raises(KeyError):
        emu.edit_contact(4242, LastName="X")
    with pytest.raises(ValueError):
        emu.edit_contact(5001, Nickname="X")


def test_delete_client_cascade_and_clock_hooks(make_emu: Callable[..., InesEmulator]) -> None:
    emu = seeded(make_emu())
    emu.delete_client(1001)
    assert emu.get_contact(5001)["deleted"] is False  # type: ignore[index]
    emu.delete_client(1001, cascade=True)
    assert emu.get_contact(5001)["deleted"] is True  # type: ignore[index]
    assert emu.advance_clock(90) == datetime(2024, 3, 15, 10, 31, 30) == emu.now()
    emu.set_clock("2025-01-02T03:04:05")
    assert emu.now() == datetime(2025, 1, 2, 3, 4, 5)
    emu.set_clock(None)
    assert abs((emu.now() - datetime.now()).total_seconds()) < 5  # back to the real time
    with pytest.raises(KeyError):
        emu.delete_contact(4242)


def test_add_cf_definition_set_sync_info_and_lookups(soap: Soap) -> None:
    emu = soap.emu
    assert emu.add_cf_definition("contact", "Newsletter", "boolean") == 1
    assert emu.add_cf_definition("client", "Taille", "list", ["S", "M"], ines_id=90) == 90
    emu.add_cf_definition("client", "Interne", exposed=False)
    emu.set_sync_info(lead_ref=-1, societe_type=7)
    result = soap.result("WSAutomationSync", "GetSyncInfo")
    assert (text(result, "LeadRef"), text(result, "SocieteType")) == ("-1", "7")
    assert [
        text(c, "InesName") for c in result.findall(path_q("CompanyCustomFields/CustomFieldToAuto"))
    ] == ["Taille"]
    with pytest.raises(ValueError):
        emu.add_cf_definition("deal", "X")
    with pytest.raises(ValueError):
        emu.set_lookup("colours", [])


def test_set_credentials_changes_and_removes_logins(soap: Soap) -> None:
    old_sid = soap.login()
    soap.emu.set_credentials(ACCOUNT, USER, "new-pass")
    inner = f"<request>{xml_fields(compte=ACCOUNT, userName=USER, password=PASSWORD)}</request>"
    assert text(soap.result("login", "authenticationWs", inner), "codeReturn") == "failed"
    assert soap.login(password="new-pass") != old_sid
    soap.emu.set_credentials(ACCOUNT, USER, None)
    inner = f"<request>{xml_fields(compte=ACCOUNT, userName=USER, password='new-pass')}</request>"
    assert text(soap.result("login", "authenticationWs", inner), "codeReturn") == "failed"
    assert soap.post("wsicm", "GetOriginList").status_code == 200  # open sessions stay valid


def test_calls_filter_and_record_outcomes(soap: Soap) -> None:
    soap.login()
    soap.ok("wsicm", "GetOriginList")
    soap.post("wsicm", "GetContact", xml_fields(reference=""))
    assert [c.operation for c in soap.emu.calls()] == [
        "authenticationWs",
        "GetOriginList",
        "GetContact",
    ]
    assert soap.emu.call_count("wsicm") == 2 and soap.emu.call_count(operation="GetOriginList") == 1
    assert soap.emu.calls("/ws/wsicm.asmx", "GetContact")[0].outcome == "fault"
    soap.emu.clear_calls()
    assert soap.emu.calls() == []


def test_state_saves_to_json_and_loads_back_without_passwords(
    make_emu: Callable[..., InesEmulator], http: requests.Session, tmp_path: Path
) -> None:
    emu = seeded(make_emu())
    client = Soap(emu, http)
    client.ok("wscf", "InsertContactCF", cf_insert(5001, 17, "Oui"))
    client.ok(
        "WSAutomationSync",
        "AddLead",
        f"<info>{xml_fields(ClRef=1001, CtRef=5001, FileRef=3)}</info>",
    )
    emu.edit_client(1001, VatTax="19.6")
    path = tmp_path / "ines.json"
    emu.save_state(path)
    assert PASSWORD not in path.read_text(encoding="utf-8")
    other = make_emu()
    other.load_state(path)
    assert other.snapshot() == emu.snapshot()
    assert other.get_client(1001)["VatTax"] == emu.get_client(1001)["VatTax"]  # type: ignore[index]
    assert other.cf_values() == emu.cf_values() and other.leads() == emu.leads()
    again = Soap(other, http)
    assert (
        text(
            again.result(
                "WSAutomationSync",
                "AddClientWithContacts",
                f"<client>{client_xml([contact_xml()])}</client>",
            ),
            "InternalRef",
        )
        == "1002"
    )


def test_admin_http_mirrors_the_hooks_only_when_enabled(
    make_emu: Callable[..., InesEmulator], http: requests.Session
) -> None:
    closed = make_emu()
    assert http.post(closed.base_url + "/_emulator/reset", json={}, timeout=5).status_code == 404
    emu = make_emu(admin_http=True)
    base = emu.base_url + "/_emulator/"
    assert http.post(base + "seed", json={"data": demo_seed()}, timeout=5).status_code == 200
    assert (
        http.get(base + "get_contact", params={"ref": 5001}, timeout=5).json()["result"][
            "PrimaryMailAddress"
        ]
        == "paul@durand.example"
    )
    assert (
        http.post(
            base + "inject",
            json={"service": "wsicm", "operation": "GetContact", "kind": "fault"},
            timeout=5,
        ).status_code
        == 200
    )
    client = Soap(emu, http)
    assert (
        fault_of(client.post("wsicm", "GetContact", xml_fields(reference=5001)))[0] == "soap:Server"
    )
    calls = http.get(base + "calls", params={"service": "wsicm"}, timeout=5).json()["result"]
    assert [c["outcome"] for c in calls] == ["injected:fault"]
    assert http.post(base + "delete_contact", json={"ref": 5001}, timeout=5).status_code == 200
    assert http.post(base + "nope", json={}, timeout=5).status_code == 404
    assert (
        http.post(base + "set_lookup", json={"name": "colours", "items": []}, timeout=5).status_code
        == 400
    )


def test_demo_seed_has_users_types_origins_clients_and_a_field_per_type_and_concept(
    make_emu: Callable[..., InesEmulator],
) -> None:
    emu = make_emu(seed=demo_seed())
    definitions = emu.cf_definitions()
    for concept in ("contact", "client", "lead"):
        types = {d["type"] for d in definitions if d["concept"] == concept}
        assert {"text", "url", "list", "user", "numeral", "boolean", "date"} <= types
    assert len(emu.clients()) >= 3 and all(
        c["CompanyRef"] in {1001, 1002, 1003} for c in emu.contacts()
    )
    snapshot = emu.snapshot()
    assert all(
        snapshot["lookups"][name] for name in ("contact_types", "client_types", "origins", "users")
    )


# --- speed and the command line ----------------------------------------------------------------


def test_throughput_is_well_above_100_contacts_per_second(soap: Soap) -> None:
    """§5.1: four calls per contact, on one keep-alive connection with a light client, so that
    the emulator's own cost is what is measured."""
    sid = soap.login()
    host, port = soap.emu.base_url.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=5)

    def call(service: str, op: str, inner: str) -> etree._Element:
        connection.request(
            "POST",
            PATHS[service],
            body=envelope(op, inner, sid).encode(),
            headers={"Content-Type": CT},
        )
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        return etree.fromstring(body)

    count = 100
    try:
        started = time.monotonic()
        for n in range(count):
            contact = contact_xml(PrimaryMailAddress=f"c{n}@speed.example", AutomationRef=n)
            answer = call(
                "WSAutomationSync",
                "AddClientWithContacts",
                f"<client>{client_xml([contact])}</client>",
            )
            ref = answer.findtext(f".//{q('Contacts')}/{q('ContactInfoAuto')}/{q('InternalRef')}")
            call("WSAutomationSync", "AddLead", f"<info>{xml_fields(CtRef=ref, FileRef=1)}</info>")
            call("wsicm", "GetContact", xml_fields(reference=ref))
            update = xml_fields(InternalRef=ref, PrimaryMailAddress="x@y.example")
            call("WSAutomationSync", "UpdateContact", f"<contact>{update}</contact>")
        rate = count / (time.monotonic() - started)
    finally:
        connection.close()
    assert len(soap.emu.contacts()) == count
    assert rate > 100, f"{rate:.0f} contacts per second"


def test_main_rejects_a_bad_user(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--user", "no-colons"])
    assert exit_info.value.code == 2
    assert "ACCOUNT:USER:PASSWORD" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGINT delivery to a child process")
def test_main_serves_until_interrupted_and_saves_state(
    tmp_path: Path, http: requests.Session
) -> None:
    state = tmp_path / "state.json"
    code = "import sys; from connectors.ines.emulator import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "--port",
            "0",
            "--demo",
            "--state",
            str(state),
            "--user",
            "A:u:p",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        inner = f"<request>{xml_fields(compte='A', userName='u', password='p')}</request>"
        response = http.post(
            base_url + PATHS["login"],
            data=envelope("authenticationWs", inner).encode(),
            headers={"Content-Type": CT},
            timeout=5,
        )
        assert (
            text(
                response_element(response, "authenticationWs").find(q("authenticationWsResult")),
                "codeReturn",
            )
            == "ok"
        )
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [c["ref"] for c in saved["clients"]] == [1001, 1002, 1003]
    assert "credentials" not in saved and "password" not in state.read_text(encoding="utf-8")
