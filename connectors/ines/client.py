"""The INES CRM SOAP client: protocol only, no knowledge of the local store (ines.md §1, §2).

SOAP 1.1 envelopes are built with lxml and posted through the shared HTTP session
(``connectors.http``). On first use of a service the client reads its WSDL for the target
namespace and the ``soapAction`` of each operation, falling back to ``http://webservice.ines.fr``
and ``<ns>/<Op>`` when the WSDL cannot be read (§1.2).

Sessions (§1.3): one ``idSession`` per (base URL, account, user) for the whole process (S1);
``check_connection`` drops it and logs in again (S2); an authenticated call that gets a SOAP fault
(or a read that answers without its ``…Result``) drops it, logs in and repeats the call once (S3);
a creating call is repeated only after a fault, never after a timeout or a connection lost
mid-request, whose outcome is unknown (S4). The password is never cached, logged or quoted.

Answers are turned into plain Python: an element with children becomes a dict keyed by local
name (a repeated name becomes a list), a leaf becomes its text. ``as_list`` normalises the list
wrappers of §1.5 (absent → ``[]``, one item → ``[x]``). Typed readers (``ines_int``,
``ines_date``...) apply the emptiness rules of §3.5.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from lxml import etree

from connectors.base import (
    ConfigurationError,
    ConnectorError,
    FatalError,
    ItemError,
    RateLimited,
    TransientError,
)
from connectors.http import (
    CHECK_POLICY,
    HttpPolicy,
    Reauthentication,
    ServiceSession,
    check_url,
    make_session,
)
from core.logs import redact, register_secret

log = logging.getLogger("listbridge.ines.client")

DEFAULT_API_URL = "https://webservices.inescrm.com"
DEFAULT_NAMESPACE = "http://webservice.ines.fr"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
MIN_DATE_TEXT = "0001-01-01T00:00:00"

LOGIN, ICM, CF, AUTOMATION = "login", "wsicm", "wscf", "WSAutomationSync"
SERVICE_PATHS: dict[str, str] = {
    LOGIN: "/wslogin/login.asmx",
    ICM: "/ws/wsicm.asmx",
    CF: "/ws/wscf.asmx",
    AUTOMATION: "/ws/WSAutomationSync.asmx",
}

# S4: calls that create something in INES; after a timeout they are never sent again.
CREATING_OPERATIONS = frozenset({
    "AddClientWithContacts", "AddClient", "AddContact", "AddLead",
    "InsertContactCF", "InsertCompanyCF", "InsertLeadCF",
})
# S3: a read answering without its …Result is treated like a fault (refresh, repeat once).
READ_OPERATIONS = frozenset({
    "GetSyncInfo", "GetContact", "GetClient", "GetTypeContactList", "GetTypeClientList",
    "GetOriginList", "GetUserInfoFromUserRef", "GetUserInfoFromRHRef",
    "GetContactCF", "GetCompanyCF", "GetLeadCF",
})

# -- wire model (§2.4): field name and kind, in wire order ----------------------------------------
# Kinds: str, int, num (decimal), dt (dateTime), bool (true/false), flag (0/1, Desabo and NPai).

def _fields(kind: str, names: str) -> list[tuple[str, str]]:
    return [(name, kind) for name in names.split()]


CLIENT_FIELDS: tuple[tuple[str, str], ...] = (
    *_fields("str", "Confidentiality CompanyName"),
    *_fields("int", "Type"),
    *_fields("str", "Service Address1 Address2 ZipCode City State Country Phone Fax Website Comments"),
    *_fields("int", "Manager SalesResponsable TechnicalResponsable"),
    *_fields("dt", "CreationDate ModifiedDate"),
    *_fields("int", "Origin CustomerNumber"),
    *_fields("str", "CompanyTaxCode"),
    *_fields("num", "VatTax"),
    *_fields("str", "Bank BankAccount PaymentMethod"),
    *_fields("int", "PaymentMethodRef"),
    *_fields("num", "Discount HeadQuarter"),
    *_fields("str", "Language Activity AccountingCode Scoring"),
    *_fields("num", "Remainder MaxRemainder Moral Folder"),
    *_fields("str", "Currency"),
    *_fields("num", "BankReference TaxType VatTaxValue Creator Delivery Billing"),
    *_fields("bool", "IsNew"),
    *_fields("int", "AutomationRef InternalRef"),
    *_fields("int", "Effectif"),  # optional (2019+): sent only when mapped
    *_fields("num", "CA"),
)
CONTACT_FIELDS: tuple[tuple[str, str], ...] = (
    *_fields("int", "Author"),
    *_fields("str", "BusinessAddress BussinesTelephone City Comment"),
    *_fields("int", "CompanyRef"),
    *_fields("str", "Confidentiality Country"),
    *_fields("dt", "CreationDate DateOfBirth"),
    *_fields("str", "Fax FirstName Function Genre HomeAddress HomeTelephone"),
    *_fields("bool", "IsNew"),
    *_fields("str", "Language LastName MobilePhone"),
    *_fields("dt", "ModificationDate"),
    *_fields("str", "PrimaryMailAddress Rang SecondaryMailAddress Service"),
    *_fields("int", "Type"),
    *_fields("str", "State ZipCode"),
    *_fields("flag", "Desabo NPai"),
    *_fields("int", "InternalRef AutomationRef Scoring"),
)
LEAD_FIELDS: tuple[tuple[str, str], ...] = (
    *_fields("int", "ClRef CtRef"),
    *_fields("str", "MailExpe DescriptionCourte ReclaDescDetail"),
    *_fields("int", "FileRef CriticiteRef TypeRef EtatRef OrigineRef DossierRef CampagneRef "
                    "ArticleRef ReclaMere Propietaire Gestionnaire"),
    *_fields("int", "AutomationScoring"),
)
CLIENT_KINDS = dict(CLIENT_FIELDS)
CONTACT_KINDS = dict(CONTACT_FIELDS)
LEAD_KINDS = dict(LEAD_FIELDS)

InesObject = dict[str, Any]


# -- errors ----------------------------------------------------------------------------------------

class InesFault(ItemError):
    """INES answered with a SOAP fault (the server refused or failed this request)."""

    def __init__(self, operation: str, code: str, text: str) -> None:
        self.operation, self.code, self.text = operation, code, redact(text)
        super().__init__(f"INES refused {operation}: {self.text}",
                         f"SOAP fault {code} on {operation}: {self.text}")


class InesAnswerError(ItemError):
    """An answer we cannot read: malformed or truncated XML, an empty body, no ``…Result``."""

    outcome_unknown = False

    def __init__(self, admin_message: str, detail: str = "", outcome_unknown: bool = False) -> None:
        super().__init__(admin_message, detail)
        self.outcome_unknown = outcome_unknown


class InesTimeout(TransientError):
    """The request was sent but no complete answer came back (timeout, connection dropped).

    ``outcome_unknown`` is true for creating calls: INES may have created the object.
    """

    run_wide = False

    def __init__(self, admin_message: str, detail: str = "", outcome_unknown: bool = False) -> None:
        super().__init__(admin_message, detail)
        self.outcome_unknown = outcome_unknown


class InesUnreachable(TransientError):
    """No connection could be opened: nothing was sent, and every other call would fail too."""

    run_wide = True


class LoginRefused(ConfigurationError):
    """INES refused the account, user or password (``codeReturn`` other than ``ok``)."""


def is_run_wide(error: BaseException) -> bool:
    """Errors that would hit every row alike: stop the run without charging untouched rows."""
    return isinstance(error, ConfigurationError | FatalError) or bool(
        getattr(error, "run_wide", False))


# -- small typed readers (§1.5, §3.5) ---------------------------------------------------------------

def as_list(wrapper: Any, item: str) -> list[Any]:
    """The items of a list wrapper: absent or empty → ``[]``, one item → ``[x]``."""
    if wrapper is None or isinstance(wrapper, str):
        return []
    if isinstance(wrapper, list):  # a wrapper repeated by mistake: merge its items
        return [x for w in wrapper for x in as_list(w, item)]
    value = wrapper.get(item)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text_of(value: Any) -> str:
    """A string read from INES: absent and nil read as empty (§1.5)."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def ines_int(value: Any) -> int | None:
    text = text_of(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return int(number) if number == number.to_integral_value() else None


def ines_number(value: Any) -> Decimal | None:
    text = text_of(value).strip()
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def ines_flag(value: Any) -> int | None:
    text = text_of(value).strip().lower()
    if text in ("1", "true"):
        return 1
    if text in ("0", "false"):
        return 0
    return None


_DT_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
                    r"\s*(?:Z|[+-]\d{2}:?\d{2})?$")


def ines_datetime(value: Any) -> datetime | None:
    """A dateTime as INES writes it, fraction and offset optional; the .NET minimum is no value."""
    text = text_of(value).strip()
    match = _DT_RE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    if year <= 1:
        return None
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def wire_datetime(value: datetime | date) -> str:
    """``YYYY-MM-DDTHH:MM:SS``, local wall time, no offset (as the plugin sent, §1.5)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=None, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")


def encode_value(kind: str, value: Any) -> str | None:
    """Python value → wire text for a field kind; None means "leave the element out"."""
    if value is None:
        return None
    if kind == "str":
        return str(value)
    if kind == "bool":
        if isinstance(value, str):
            return "true" if value.strip().lower() in ("1", "true") else "false"
        return "true" if value else "false"
    if kind == "flag":
        if isinstance(value, str):
            return "1" if value.strip().lower() in ("1", "true") else "0"
        return "1" if value else "0"
    if kind == "dt":
        if isinstance(value, date):
            return wire_datetime(value)
        parsed = ines_datetime(value)
        return wire_datetime(parsed) if parsed else None  # never an empty date element
    if kind == "num":
        if isinstance(value, str):
            parsed_num = ines_number(value)
            if parsed_num is None:
                return None
            value = parsed_num
        text = format(Decimal(str(value)).normalize(), "f")
        return "0" if text in ("-0", "") else text
    if kind == "int":
        number = ines_int(value) if isinstance(value, str) else int(value)
        return None if number is None else str(number)
    raise ValueError(f"unknown INES field kind {kind}")


# -- answers ---------------------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True,
                          huge_tree=False)
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def element_to_python(element: etree._Element) -> Any:
    if element.get(_XSI_NIL) in ("true", "1"):
        return None
    children = [c for c in element if isinstance(c.tag, str)]
    if not children:
        return element.text or ""
    out: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        value = element_to_python(child)
        if name in out:
            previous = out[name]
            if isinstance(previous, _Repeated):
                previous.append(value)
            else:
                out[name] = _Repeated([previous, value])
        else:
            out[name] = value
    return out


class _Repeated(list):  # type: ignore[type-arg]
    """Values of an element name that occurred more than once under one parent."""


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


@dataclass(frozen=True)
class _Missing:
    """An answer without ``…Result``."""


MISSING = _Missing()


@dataclass
class ServiceInfo:
    namespace: str
    actions: dict[str, str] = field(default_factory=dict)
    from_wsdl: bool = False

    def action(self, operation: str) -> str:
        found = self.actions.get(operation)
        if found:
            return found
        ns = self.namespace
        return f"{ns}{operation}" if ns.endswith("/") else f"{ns}/{operation}"


# -- process-wide caches (S1) ----------------------------------------------------------------------

_lock = threading.Lock()
_sessions: dict[tuple[str, str, str], str] = {}
_wsdl_cache: dict[tuple[str, str], ServiceInfo] = {}


def forget_sessions() -> None:
    """Drop every cached session and WSDL reading (tests; a changed password)."""
    with _lock:
        _sessions.clear()
        _wsdl_cache.clear()


@dataclass(frozen=True)
class CustomFieldDef:
    """An INES custom field offered to the sync (``CustomFieldToAuto``)."""

    ines_id: int
    name: str
    type: str  # text url list user numeral boolean date
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncInfo:
    lead_ref: int
    societe_type: int
    company_custom_fields: tuple[CustomFieldDef, ...] = ()
    contact_custom_fields: tuple[CustomFieldDef, ...] = ()


@dataclass(frozen=True)
class LookupItem:
    """An entry of a lookup list: types, origins, users (key = ``InternalRef``/``UserRef``/...)."""

    key: int
    label: str
    order: int = 0


@dataclass(frozen=True)
class CustomValueRead:
    definition: int
    ref: int
    value: str


CF_TYPES = ("text", "url", "list", "user", "numeral", "boolean", "date")
_CF_SUFFIX = {"contact": ("Contact", "ctRef"), "client": ("Company", "clRef"),
              "lead": ("Lead", "ReclaRef")}


class InesClient:
    """One integration's client; make one per run (or per dialog) and drop it afterwards."""

    def __init__(self, base_url: str, account: str, username: str, password: str, *,
                 namespace: str = DEFAULT_NAMESPACE, session: ServiceSession | None = None,
                 policy: HttpPolicy | None = None, not_found_fault_regex: str = "",
                 update_client_service: str = ICM, fail_fast: bool = False) -> None:
        self.base_url = (base_url or DEFAULT_API_URL).strip().rstrip("/")
        check_url(self.base_url + "/")  # https only, plain http to loopback only (D3)
        self.account, self.username = account, username
        self._password = password
        register_secret(password)
        self.default_namespace = namespace or DEFAULT_NAMESPACE
        self.http = session or make_session(
            self.base_url, secrets=[password] if password else [],
            policy=policy or HttpPolicy(connect_timeout=10.0, read_timeout=60.0),
            service="INES CRM")
        self.not_found = re.compile(not_found_fault_regex) if not_found_fault_regex else None
        # An expired SessionID (§1.3): the shared session logs in again, once for every client
        # of this account, and repeats the call with the new SessionID in its envelope.
        if self.http.reauthenticate is None:
            self.http.reauthenticate = Reauthentication(
                "ines:" + ":".join(self.session_key), self._login_again,
                expired=self._session_refused, apply=lambda _session, _token: None)
        self.update_client_service = update_client_service
        # "Test connection": INES unreachable while reading a WSDL ends the check at once,
        # instead of trying the operation itself (with the default namespace) as a run does.
        self.fail_fast = fail_fast
        self.calls = 0  # SOAP requests sent by this client, logins included
        self._services: dict[str, ServiceInfo] = {}

    @property
    def session_key(self) -> tuple[str, str, str]:
        return (self.base_url.lower(), self.account, self.username)

    def close(self) -> None:
        self.http.close()

    # -- WSDL (§1.2) ---------------------------------------------------------------------------------

    def service_info(self, service: str) -> ServiceInfo:
        known = self._services.get(service)
        if known is not None:
            return known
        key = (self.base_url.lower(), service)
        with _lock:
            cached = _wsdl_cache.get(key)
        if cached is None:
            cached = self._read_wsdl(service)
            if cached.from_wsdl:
                with _lock:
                    _wsdl_cache[key] = cached
        self._services[service] = cached
        return cached

    def _read_wsdl(self, service: str) -> ServiceInfo:
        url = f"{self.base_url}{SERVICE_PATHS[service]}?wsdl"
        try:
            response = self.http.request("GET", url, retry=False, map_errors=False,
                                         reauth=False, headers={"Accept": "text/xml"})
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            return parse_wsdl(response.content, self.default_namespace)
        except ConfigurationError:
            raise
        except TransientError as exc:
            if self.fail_fast:
                raise _transport_error(exc, "the WSDL", False) from None
            log.warning("The WSDL of INES service %s could not be read (%s); using the default "
                        "namespace %s", service, redact(str(exc)), self.default_namespace)
            return ServiceInfo(self.default_namespace)
        except (ConnectorError, ValueError, etree.XMLSyntaxError) as exc:
            log.warning("The WSDL of INES service %s could not be read (%s); using the default "
                        "namespace %s", service, redact(str(exc)), self.default_namespace)
            return ServiceInfo(self.default_namespace)

    # -- sessions (§1.3) ------------------------------------------------------------------------------

    def session_id(self) -> str:
        with _lock:
            current = _sessions.get(self.session_key)
        return current if current is not None else self.login()

    def drop_session(self, session_id: str | None = None) -> None:
        with _lock:
            if session_id is None or _sessions.get(self.session_key) == session_id:
                _sessions.pop(self.session_key, None)

    def login(self) -> str:
        """Open a session; a refusal is a ``LoginRefused`` (configuration) and is not retried."""
        request = [("request", [("compte", self.account), ("userName", self.username),
                                ("password", self._password)])]
        try:
            result = self._send(LOGIN, "authenticationWs", request, None)
        except InesFault as fault:
            raise LoginRefused(
                "INES refused the login. Check the account, user and password of the integration.",
                fault.text) from None
        except ItemError as exc:
            raise FatalError("INES answered the login with something ListBridge cannot read.",
                             str(exc)) from None
        except ConnectorError as exc:
            exc.run_wide = True  # type: ignore[attr-defined]  # no session: every row would fail
            raise
        if not isinstance(result, dict):
            raise FatalError("INES answered the login with something ListBridge cannot read.",
                             "authenticationWs: no authenticationWsResult")
        code = text_of(result.get("codeReturn")).strip()
        session = text_of(result.get("idSession")).strip()
        if code.lower() != "ok" or not session:
            raise LoginRefused(
                "INES refused the account, user or password. Check them in the integration's "
                "Enable/Auth tab.", f"authenticationWs codeReturn={code or '(empty)'}")
        register_secret(session)
        with _lock:
            _sessions[self.session_key] = session
        log.info("Logged in to INES as %s/%s", self.account, self.username)
        return session

    def _login_again(self) -> str:
        """The ``Reauthentication`` refresh: a new session for every client of this account."""
        self.drop_session()
        return self.login()

    def _session_refused(self, response: requests.Response) -> bool:
        """INES's "session expired": a SOAP fault answering a call made with a SessionID
        (INES does not say why it refuses; a fault that means "not found" is no expiry)."""
        try:
            read_answer("call", response.status_code, response.content)
        except InesFault as fault:
            return not self._is_not_found(fault)
        except Exception:
            return False
        return False

    def check_connection(self) -> str:
        """S2: drop the cached session and log in; raises the failure's kind."""
        self.drop_session()
        self.login()
        return f"Connected to INES CRM as {self.username} ({self.account})."

    # -- calls ------------------------------------------------------------------------------------------

    def call(self, service: str, operation: str, params: Sequence[tuple[str, Any]] = (), *,
             missing_ok: bool = False, not_found_ok: bool = False) -> Any:
        """Send one authenticated operation and return the content of its ``…Result``.

        ``missing_ok``: a ``…Result`` still missing after the refresh returns None (gone objects).
        ``not_found_ok``: a fault matching ``not_found_fault_regex`` returns None.
        """
        creating = operation in CREATING_OPERATIONS
        session = self.session_id()
        try:
            # A fault is met by the shared session first: it logs in again and repeats once.
            result = self._send(service, operation, params, session)
        except InesFault as fault:
            if not_found_ok and self._is_not_found(fault):
                return None
            raise
        if result is MISSING:
            if creating:  # S4: the server may or may not have created it
                self.drop_session(session)
                raise InesAnswerError(
                    f"INES answered {operation} without a result; whether it was created is "
                    "unknown (outcome unknown).", f"{operation}: no {operation}Result",
                    outcome_unknown=True)
            self.drop_session(session)
            session = self.login()
            return self._repeat(service, operation, params, session, missing_ok, not_found_ok)
        return result

    def _repeat(self, service: str, operation: str, params: Sequence[tuple[str, Any]],
                session: str, missing_ok: bool, not_found_ok: bool) -> Any:
        try:
            result = self._send(service, operation, params, session)
        except InesFault as fault:
            if not_found_ok and self._is_not_found(fault):
                return None
            raise
        if result is MISSING:
            if missing_ok:
                return None
            raise InesAnswerError(f"INES answered {operation} without a result.",
                                  f"{operation}: no {operation}Result")
        return result

    def _is_not_found(self, fault: InesFault) -> bool:
        return bool(self.not_found and self.not_found.search(fault.text))

    def _send(self, service: str, operation: str, params: Sequence[tuple[str, Any]],
              session: str | None) -> Any:
        info = self.service_info(service)
        body = build_envelope(info.namespace, operation, params, session)
        headers = {"Content-Type": "text/xml; charset=utf-8",
                   "SOAPAction": f'"{info.action(operation)}"',
                   "Accept": "text/xml"}
        creating = operation in CREATING_OPERATIONS
        self.calls += 1
        try:
            def rebuild(kwargs: dict[str, Any], new_session: str) -> dict[str, Any]:
                kwargs["data"] = build_envelope(info.namespace, operation, params, new_session)
                return kwargs

            response = self.http.request("POST", SERVICE_PATHS[service], data=body,
                                         headers=headers, retry=False, map_errors=False,
                                         rebuild=rebuild, reauth=session is not None)
        except TransientError as exc:
            raise _transport_error(exc, operation, creating) from None
        except requests.exceptions.RequestException as exc:  # the answer was cut off mid-body
            raise InesTimeout(
                f"The answer of INES to {operation} was cut off; the sync will try again later."
                + (" Whether it was created is unknown (outcome unknown)." if creating else ""),
                redact(f"{operation}: {type(exc).__name__}"), outcome_unknown=creating) from None
        try:
            content = response.content
        except requests.exceptions.RequestException as exc:  # body cut off while reading
            raise InesTimeout(
                f"The answer of INES to {operation} was cut off; the sync will try again later."
                + (" Whether it was created is unknown (outcome unknown)." if creating else ""),
                redact(f"{operation}: {type(exc).__name__}"), outcome_unknown=creating) from None
        return read_answer(operation, response.status_code, content, creating)


def _transport_error(exc: TransientError, operation: str, creating: bool) -> TransientError:
    cause = exc.__context__
    from connectors import http as shared_http

    if cause is not None and shared_http._never_sent(cause):
        error = InesUnreachable(
            "INES CRM could not be reached (the connection could not be opened); the sync "
            "will try again later.", str(exc))
        return error
    unknown = " Whether it was created is unknown (outcome unknown)." if creating else ""
    if isinstance(cause, requests.exceptions.Timeout):
        message = f"INES did not answer {operation} in time; the sync will try again later."
    else:
        message = f"The connection to INES was lost during {operation}; the sync will try again later."
    return InesTimeout(message + unknown, str(exc), outcome_unknown=creating)


def read_answer(operation: str, status: int, content: bytes, creating: bool = False) -> Any:
    """Decide what an HTTP answer means (§1.4): the ``…Result`` content, MISSING, or an error."""
    if status in (401, 403):
        raise ConfigurationError(f"INES refused access (HTTP {status}). Check the integration.",
                                 f"{operation}: HTTP {status}")
    if status == 429:  # INES (or a proxy before it) turned the request away: nothing was done
        raise RateLimited("INES asked ListBridge to slow down (HTTP 429); the sync will try "
                          "again later.", f"{operation}: HTTP 429")
    if status in (404, 405, 415):
        raise ConfigurationError(
            f"INES did not recognise the request (HTTP {status}); check the service URL.",
            f"{operation}: HTTP {status}")
    envelope = _parse_envelope(content)
    if envelope is None:
        snippet = redact(" ".join(content[:300].decode("utf-8", "replace").split()))
        if status >= 500:
            raise TransientError(
                f"INES is not available at the moment (HTTP {status}); the sync will try again "
                "later.", f"{operation}: HTTP {status}: {snippet}")
        unknown = " Whether it was created is unknown (outcome unknown)." if creating else ""
        what = "an empty answer" if not content.strip() else "an answer that is not valid SOAP"
        raise InesAnswerError(f"INES gave {what} to {operation}.{unknown}",
                              f"{operation}: HTTP {status}: {snippet or '(empty body)'}",
                              outcome_unknown=creating)
    body = next((c for c in envelope if _local(c) == "Body"), None)
    first = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
    if first is not None and _local(first) == "Fault":
        parts = {_local(c): (c.text or "") for c in first if isinstance(c.tag, str)}
        raise InesFault(operation, parts.get("faultcode", "").strip(),
                        parts.get("faultstring", "").strip())
    if status >= 500:
        raise TransientError(f"INES is not available at the moment (HTTP {status}).",
                             f"{operation}: HTTP {status} without a fault")
    if status >= 400:
        raise InesAnswerError(f"INES refused {operation} (HTTP {status}).",
                              f"{operation}: HTTP {status}")
    if first is None or _local(first) != f"{operation}Response":
        raise InesAnswerError(f"INES gave an unexpected answer to {operation}.",
                              f"{operation}: body element {_local(first) if first is not None else '(none)'}",
                              outcome_unknown=creating)
    result = next((c for c in first if _local(c) == f"{operation}Result"), None)
    if result is None:
        return MISSING
    return element_to_python(result)


def _parse_envelope(content: bytes) -> etree._Element | None:
    if not content or not content.strip():
        return None
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if _local(root) != "Envelope":
        return None
    return root


def parse_wsdl(content: bytes, default_namespace: str) -> ServiceInfo:
    """The target namespace and each operation's SOAP 1.1 ``soapAction`` of an ``.asmx`` WSDL."""
    root = etree.fromstring(content, _PARSER)
    if _local(root) != "definitions":
        raise ValueError("not a WSDL document")
    namespace = root.get("targetNamespace") or default_namespace
    actions: dict[str, str] = {}
    for binding in root.iter(f"{{{WSDL_NS}}}binding"):
        for op in binding.iter(f"{{{WSDL_NS}}}operation"):
            soap_op = op.find(f"{{{WSDL_SOAP11_NS}}}operation")
            if soap_op is not None and soap_op.get("soapAction") and op.get("name"):
                actions.setdefault(op.get("name", ""), soap_op.get("soapAction", ""))
    return ServiceInfo(namespace, actions, from_wsdl=True)


def build_envelope(namespace: str, operation: str, params: Sequence[tuple[str, Any]],
                   session: str | None) -> bytes:
    """A SOAP 1.1 envelope; the namespace is the default one of the operation and of SessionID,
    so every child is qualified (§1.2)."""
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    if session is not None:
        header = etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
        sid = etree.SubElement(header, f"{{{namespace}}}SessionID", nsmap={None: namespace})
        etree.SubElement(sid, f"{{{namespace}}}ID").text = session
    body = etree.SubElement(env, f"{{{SOAP_ENV}}}Body")
    op = etree.SubElement(body, f"{{{namespace}}}{operation}", nsmap={None: namespace})
    _add_children(op, namespace, params)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def _add_children(parent: etree._Element, namespace: str, params: Iterable[tuple[str, Any]]) -> None:
    for name, value in params:
        if value is None:
            continue
        child = etree.SubElement(parent, f"{{{namespace}}}{name}")
        if isinstance(value, list):
            _add_children(child, namespace, value)
        else:
            child.text = _xml_text(str(value))


_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _INVALID_XML.sub("", text)


def object_params(table: Sequence[tuple[str, str]], values: InesObject) -> list[tuple[str, Any]]:
    """An object's elements in wire order, each encoded by its kind; None values are left out."""
    out: list[tuple[str, Any]] = []
    for name, kind in table:
        if name in values:
            text = encode_value(kind, values[name])
            if text is not None:
                out.append((name, text))
    return out


# -- the operations the sync uses (§2) ---------------------------------------------------------------

class InesApi(InesClient):
    """Typed operations over ``InesClient.call``."""

    def get_sync_info(self) -> SyncInfo:
        result = self.call(AUTOMATION, "GetSyncInfo")
        if not isinstance(result, dict):
            result = {}
        lead_ref = ines_int(result.get("LeadRef"))
        return SyncInfo(
            lead_ref=0 if lead_ref is None else lead_ref,  # absent was read as 0 [K]
            societe_type=ines_int(result.get("SocieteType")) or 0,
            company_custom_fields=_custom_defs(result.get("CompanyCustomFields")),
            contact_custom_fields=_custom_defs(result.get("ContactCustomFields")),
        )

    def add_client_with_contacts(self, client: InesObject, contacts: list[InesObject]) -> InesObject:
        params = object_params(CLIENT_FIELDS, client)
        params.append(("Contacts", [("ContactInfoAuto", object_params(CONTACT_FIELDS, c))
                                    for c in contacts]))
        result = self.call(AUTOMATION, "AddClientWithContacts", [("client", params)])
        return result if isinstance(result, dict) else {}

    def get_contact(self, ref: int) -> InesObject | None:
        """The contact, or None when it is gone (§2.2: no result, ``InternalRef`` absent, 0 or
        different, or a fault matching ``not_found_fault_regex``)."""
        return self._get_object("GetContact", ref)

    def get_client(self, ref: int) -> InesObject | None:
        return self._get_object("GetClient", ref)

    def _get_object(self, operation: str, ref: int) -> InesObject | None:
        result = self.call(ICM, operation, [("reference", ref)], missing_ok=True,
                           not_found_ok=True)
        if not isinstance(result, dict) or ines_int(result.get("InternalRef")) != ref:
            return None
        return result

    def update_contact(self, contact: InesObject) -> int | None:
        result = self.call(AUTOMATION, "UpdateContact",
                           [("contact", object_params(CONTACT_FIELDS, contact))])
        return ines_int(result)

    def update_client(self, client: InesObject) -> InesObject:
        service = AUTOMATION if self.update_client_service == AUTOMATION else ICM
        result = self.call(service, "UpdateClient",
                           [("client", object_params(CLIENT_FIELDS, client))])
        return result if isinstance(result, dict) else {}

    def add_client(self, client: InesObject) -> InesObject:
        result = self.call(ICM, "AddClient", [("client", object_params(CLIENT_FIELDS, client))])
        return result if isinstance(result, dict) else {}

    def add_lead(self, info: InesObject) -> int | None:
        result = self.call(AUTOMATION, "AddLead", [("info", object_params(LEAD_FIELDS, info))])
        return ines_int(result)

    def delete_automation_contact(self, ref: int) -> str:
        return text_of(self.call(AUTOMATION, "DeleteAutomationContact", [("InesRef", ref)]))

    # custom fields (§2.3)

    def get_custom_values(self, concept: str, ref: int) -> list[CustomValueRead]:
        suffix, _ = _CF_SUFFIX[concept]
        result = self.call(CF, f"Get{suffix}CF", [("reference", ref)])
        values = []
        for item in as_list(result.get("Values") if isinstance(result, dict) else None,
                            "CustomField"):
            if isinstance(item, dict):
                values.append(CustomValueRead(ines_int(item.get("DefinitionRef")) or 0,
                                              ines_int(item.get("Ref")) or 0,
                                              text_of(item.get("Value"))))
        return values

    def insert_custom_value(self, concept: str, ref: int, definition: int, value: str) -> Any:
        suffix, owner = _CF_SUFFIX[concept]
        return self.call(CF, f"Insert{suffix}CF", [
            (owner, ref), ("chdefRef", definition), ("chpValue", value),
            ("chvLies", 0), ("chvGroupeAssoc", 0)])

    def update_custom_value(self, concept: str, ref: int, definition: int, value_ref: int,
                            value: str) -> Any:
        suffix, owner = _CF_SUFFIX[concept]
        return self.call(CF, f"Update{suffix}CF", [
            (owner, ref), ("chdefRef", definition), ("chpRef", value_ref), ("chpValue", value)])

    # lookups (§2.2), sorted as the mapping tab shows them; the …Result is the list wrapper, so
    # its absence (after the refresh of S3) is an empty list (§1.5)

    def contact_types(self) -> list[LookupItem]:
        return _types(self.call(ICM, "GetTypeContactList", missing_ok=True), "ContactTypeInfo")

    def client_types(self) -> list[LookupItem]:
        return _types(self.call(ICM, "GetTypeClientList", missing_ok=True), "ClientTypeInfo")

    def origins(self) -> list[LookupItem]:
        items = [LookupItem(ines_int(i.get("InternalRef")) or 0, text_of(i.get("Description")))
                 for i in as_list(self.call(ICM, "GetOriginList", missing_ok=True), "OriginInfo")
                 if isinstance(i, dict)]
        return sorted(items, key=lambda i: (i.label.lower(), i.key))

    def users(self) -> list[LookupItem]:
        return _users(self.call(ICM, "GetUserInfoFromUserRef", missing_ok=True), "UserRef")

    def hr_users(self) -> list[LookupItem]:
        return _users(self.call(ICM, "GetUserInfoFromRHRef", missing_ok=True), "RHRef")


def _custom_defs(wrapper: Any) -> tuple[CustomFieldDef, ...]:
    out = []
    for item in as_list(wrapper, "CustomFieldToAuto"):
        if not isinstance(item, dict):
            continue
        ines_id = ines_int(item.get("InesID"))
        kind = text_of(item.get("Type")).strip().lower()
        if ines_id is None or kind not in CF_TYPES:
            continue  # other types are ignored (§2.1)
        values = tuple(v for v in (text_of(x) for x in as_list(item.get("ValueList"), "string"))
                       if v.strip())
        out.append(CustomFieldDef(ines_id, text_of(item.get("InesName")), kind, values))
    return tuple(out)


def _types(result: Any, item: str) -> list[LookupItem]:
    items = [LookupItem(ines_int(i.get("InternalRef")) or 0, text_of(i.get("Description")),
                        ines_int(i.get("Order")) or 0)
             for i in as_list(result, item) if isinstance(i, dict)]
    return sorted(items, key=lambda i: (i.order, i.label.lower()))


def _users(result: Any, key: str) -> list[LookupItem]:
    items = []
    for i in as_list(result, "UserInfoRH"):
        if not isinstance(i, dict):
            continue
        label = " ".join(p for p in (text_of(i.get("LastName")).strip(),
                                     text_of(i.get("FirstName")).strip()) if p)
        items.append(LookupItem(ines_int(i.get(key)) or 0, label or text_of(i.get("Name"))))
    return sorted(items, key=lambda i: (i.label.lower(), i.key))


# "Test connection" tries once, briefly (a run keeps the integration's own timeouts).
CHECK_CONNECT_TIMEOUT_S = 5.0
CHECK_READ_TIMEOUT_S = 15.0
UNREACHABLE_MESSAGE = "INES could not be reached: check the service URL and the network."


def make_check_client(settings: dict[str, Any], secrets: dict[str, str]) -> InesApi:
    """The client of "Test connection" (S2): one try, no retry, short timeouts; INES unreachable
    while reading a WSDL ends the check at once (``fail_fast``). Only for the check: a run
    keeps ``make_client``'s timeouts."""
    policy = dataclasses.replace(CHECK_POLICY, connect_timeout=CHECK_CONNECT_TIMEOUT_S,
                                 read_timeout=CHECK_READ_TIMEOUT_S)
    return make_client(settings, secrets, policy=policy, fail_fast=True)


def check_failure_message(exc: ConnectorError) -> str:
    """What "Test connection" says about a failure: INES unreachable is worded as a check of
    the URL and the network; other failures keep their own words."""
    if isinstance(exc, TransientError) and not isinstance(exc, RateLimited):
        cause = ("no answer within "
                 f"{CHECK_READ_TIMEOUT_S:g} s" if isinstance(exc, InesTimeout) else
                 "the connection could not be opened")
        return f"{UNREACHABLE_MESSAGE[:-1]} ({cause})."
    return exc.admin_message


def make_client(settings: dict[str, Any], secrets: dict[str, str], *,
                session: ServiceSession | None = None, policy: HttpPolicy | None = None,
                fail_fast: bool = False) -> InesApi:
    """The client for an integration's settings and keyring secrets (``policy``: the check's
    own timeouts, else the integration's, without retries: the client repeats by its rules)."""
    account = str(settings.get("account") or "").strip()
    username = str(settings.get("username") or "").strip()
    password = secrets.get("password") or ""
    if not (account and username and password):
        raise ConfigurationError(
            "The INES integration needs an account, a user and a password (Enable/Auth tab).")
    if policy is None:
        policy = HttpPolicy(connect_timeout=10.0, read_timeout=60.0).with_settings(settings)
    return InesApi(
        str(settings.get("api_url") or DEFAULT_API_URL), account, username, password,
        namespace=str(settings.get("namespace") or DEFAULT_NAMESPACE), session=session,
        policy=replace(policy, max_retries=0),
        not_found_fault_regex=str(settings.get("not_found_fault_regex") or ""),
        update_client_service=str(settings.get("update_client_service") or ICM),
        fail_fast=fail_fast)
