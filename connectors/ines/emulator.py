"""A loopback emulator of the INES CRM SOAP 1.1 web services (shared/api/ines.md §5).

Tests and the demo mode talk to it over real HTTP; the client cannot tell it from the real
service except by its base URL. It follows the documented service, not any one client: every
point the documentation marks as inferred or guessed is an option (§5.4), so the client can be
run against each alternative.

    with InesEmulator(users=[("ACME", "jdupont", "secret")]) as emu:
        client = InesClient(emu.base_url, ...)
"""

from __future__ import annotations

import argparse
import hmac
import io
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from typing import Any

from lxml import etree
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request

from connectors.ines.emulator_wsdl import (
    CLIENT_FIELDS,
    CONTACT_FIELDS,
    DEFAULT_NAMESPACE,
    FIELDS_BY_NAME,
    LEAD_FIELDS,
    SERVICE_BY_PATH,
    SERVICES,
    SESSION_HEADER,
    SOAP12_ENV_NS,
    SOAP_ENV_NS,
    TYPES,
    XSD_NS,
    XSI_NS,
    Field,
    Operation,
    Service,
    WireValueError,
    build_wsdl,
    coerce_scalar,
    decode_scalar,
    encode_scalar,
    soap_action,
)

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_USER",
    "OPTION_DEFAULTS",
    "Call",
    "Injection",
    "InesEmulator",
    "demo_seed",
    "main",
]

log = logging.getLogger("listbridge.emulator.ines")

DEFAULT_PORT = 8471
DEFAULT_USER = ("DEMO", "demo", "demo-pass-1")

# §5.4, plus three emulator-only knobs (empty_list, missing_object_text, request_log_size).
OPTION_DEFAULTS: dict[str, Any] = {
    "lenient": True,
    "invalid_session": "fault",
    "session_ttl_s": None,
    "missing_object": "empty",
    "missing_object_text": "Object reference not set to an instance of an object.",
    "null_dates": "min_value",
    "enum_check": None,
    "list_value_check": False,
    "duplicate_cf_value": "append",
    "login_fault": False,
    "require_birth_date": False,
    "empty_list": "empty",
    "request_log_size": 2000,
}
_OPTION_CHOICES: dict[str, tuple[str, ...]] = {
    "invalid_session": ("fault", "empty"),
    "missing_object": ("empty", "absent", "fault"),
    "null_dates": ("min_value", "omit"),
    "duplicate_cf_value": ("append", "fault"),
    "empty_list": ("empty", "absent"),
}
# enum_check=True limits these to the documented default and the plugin's numeric choices.
DEFAULT_ENUMS: dict[str, tuple[str, ...]] = {
    "Confidentiality": ("Undefined", "-1", "0", "1"),
    "Rang": ("Principal", "0", "1", "2"),
}

COUNTER_SEEDS: dict[str, int] = {
    "clients": 1001,
    "contacts": 5001,
    "values": 1,
    "leads": 1,
    "definitions": 1,
    "sessions": 8812734,
}
CONCEPTS = ("contact", "client", "lead")
CF_TYPES = ("text", "url", "list", "user", "numeral", "boolean", "date")
CF_GROUP = {"Ref": 1, "Name": "Champs personnalisés"}
LOOKUP_TYPES: dict[str, str] = {
    "contact_types": "ContactTypeInfo",
    "client_types": "ClientTypeInfo",
    "origins": "OriginInfo",
    "users": "UserInfoRH",
}
_CONCEPT_FIELDS: dict[str, tuple[Field, ...]] = {
    "client": CLIENT_FIELDS,
    "contact": CONTACT_FIELDS,
    "lead": LEAD_FIELDS,
}
_CONCEPT_COUNTER = {"client": "clients", "contact": "contacts", "lead": "leads"}
_DATE_STAMPS = {
    "client": ("CreationDate", "ModifiedDate"),
    "contact": ("CreationDate", "ModificationDate"),
    "lead": (),
}
_MODIFIED_STAMP = {"client": "ModifiedDate", "contact": "ModificationDate"}

INJECTION_KINDS = (
    "fault",
    "http_status",
    "delay",
    "malformed_xml",
    "truncated",
    "empty_body",
    "html_error",
    "wrong_content_type",
    "drop_connection",
    "invalid_session",
)
# Kinds that answer instead of the operation, so nothing is stored unless after_commit=True.
_EARLY_KINDS = {
    "fault",
    "http_status",
    "malformed_xml",
    "empty_body",
    "html_error",
    "drop_connection",
}
WSDL_OPERATION = "wsdl"  # pseudo-operation for injections into `GET ?wsdl`

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
JSON_CONTENT_TYPE = "application/json"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>'
_TRANSPORT_KEY = "listbridge.ines_emulator.transport"
_MAX_BODY = 32 * 1024 * 1024

_ABSENT = object()  # a handler's way of saying "answer without …Result"
_PARAM_FIELDS: dict[tuple[str, str], dict[str, Field]] = {
    (key, op.name): {f.name: f for f in op.params}
    for key, service in SERVICES.items()
    for op in service.operations.values()
}
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
_REDACT_RE = re.compile(
    r"(<(?:[\w.-]+:)?(password|ID|idSession)(?:\s[^>]*)?>)(.*?)(</(?:[\w.-]+:)?\2\s*>)", re.DOTALL
)
_SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization"}


# --- records -----------------------------------------------------------------------------------


@dataclass
class Call:
    """One SOAP call as the emulator saw it; params are parsed, with the password redacted."""

    seq: int
    service: str
    operation: str
    at: datetime
    status: int = 0
    outcome: str = ""  # ok | fault | no_result | invalid_session | injected:<kind>
    fault: str | None = None
    params: dict[str, Any] | None = None


@dataclass
class Injection:
    service: str  # a service key or "*"
    operation: str  # an operation name, "wsdl" or "*"
    kind: str
    times: int | None  # None: every matching call until clear_injections()/reset()
    after_commit: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


@dataclass
class StoredObject:
    ref: int
    fields: dict[str, Any]
    deleted: bool = False  # hard-deleted by an INES user (delete_contact/delete_client)
    unsynced: bool = False  # set by DeleteAutomationContact: no longer synchronised
    created: datetime | None = None


@dataclass
class CfDefinition:
    ines_id: int
    concept: str
    name: str
    type: str
    values: list[str] = field(default_factory=list)
    exposed: bool = True


@dataclass
class CfValue:
    ref: int
    concept: str
    owner: int
    definition: int
    value: str
    lies: int = 0
    groupe_assoc: int = 0


@dataclass
class Session:
    account: str
    user: str
    expires_at: datetime | None
    expired: bool = False


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = XML_CONTENT_TYPE
    transport: str = ""  # "" | "drop" | "truncate": done by the request handler
    outcome: str = "ok"
    fault: str | None = None


class SoapFault(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _server_fault(message: str) -> SoapFault:
    return SoapFault("Server", f"Server was unable to process request. ---> {message}")


def _read_fault(message: str) -> SoapFault:
    return SoapFault(
        "Client",
        f"Server was unable to read request. ---> There is an error in XML document. ---> {message}",
    )


@dataclass
class EmulatorState:
    """Everything INES stores (§5.2); sessions and credentials live apart, never in snapshots."""

    clients: dict[int, StoredObject] = field(default_factory=dict)
    contacts: dict[int, StoredObject] = field(default_factory=dict)
    leads: dict[int, StoredObject] = field(default_factory=dict)
    cf_definitions: dict[int, CfDefinition] = field(default_factory=dict)
    cf_by_ref: dict[int, CfValue] = field(default_factory=dict)
    cf_by_owner: dict[tuple[str, int], list[CfValue]] = field(default_factory=dict)
    lookups: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in LOOKUP_TYPES}
    )
    lead_ref: int = 1
    societe_type: int = 1
    counters: dict[str, int] = field(default_factory=lambda: dict(COUNTER_SEEDS))

    def next_id(self, counter: str) -> int:
        value = self.counters[counter]
        self.counters[counter] = value + 1
        return value

    def claim_id(self, counter: str, value: int) -> None:
        """An explicit id from a seed: later ids must not collide with it."""
        self.counters[counter] = max(self.counters[counter], value + 1)

    def store(self, concept: str) -> dict[int, StoredObject]:
        return {"client": self.clients, "contact": self.contacts, "lead": self.leads}[concept]

    def add_cf_value(self, value: CfValue) -> None:
        self.cf_by_ref[value.ref] = value
        self.cf_by_owner.setdefault((value.concept, value.owner), []).append(value)

    def cf_values_of(self, concept: str, owner: int) -> list[CfValue]:
        return self.cf_by_owner.get((concept, owner), [])


# --- XML in ------------------------------------------------------------------------------------


def _split_tag(tag: str) -> tuple[str, str]:
    if tag[:1] == "{":
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


class _RequestReader:
    """Reads request elements into Python values with the field tables (§1.5)."""

    def __init__(self, namespaces: frozenset[str], strict: bool) -> None:
        self.namespaces = namespaces
        self.strict = strict

    def read_fields(self, element: etree._Element, fields: Mapping[str, Field]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for child in element:
            if not isinstance(child.tag, str):
                continue
            namespace, local = _split_tag(child.tag)
            f = fields.get(local) if namespace in self.namespaces else None
            if f is None:
                # ASP.NET ignores unknown elements; strict mode refuses them to catch typos.
                if self.strict:
                    raise _read_fault(f"<{local} xmlns='{namespace}'> was not expected.")
                continue
            values[local] = self._read_value(child, f, local)
        return values

    def _read_value(self, element: etree._Element, f: Field, local: str) -> Any:
        if element.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
            return None
        if f.kind == "obj":
            return self.read_fields(element, FIELDS_BY_NAME[f.type_name])
        if f.kind == "list":
            return self._read_list(element, f)
        try:
            return decode_scalar(f.kind, element.text or "")
        except WireValueError as exc:
            raise _read_fault(f"{local}: {exc}") from None

    def _read_list(self, element: etree._Element, f: Field) -> list[Any]:
        items: list[Any] = []
        for child in element:
            if not isinstance(child.tag, str):
                continue
            namespace, local = _split_tag(child.tag)
            if local != f.item or namespace not in self.namespaces:
                if self.strict:
                    raise _read_fault(f"<{local} xmlns='{namespace}'> was not expected.")
                continue
            if child.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
                continue
            if f.item_kind:
                items.append(decode_scalar(f.item_kind, child.text or ""))
            else:
                items.append(self.read_fields(child, FIELDS_BY_NAME[f.type_name]))
        return items


# --- XML out -----------------------------------------------------------------------------------


class _AnswerWriter:
    """Builds SOAP 1.1 answers and faults as ASP.NET writes them (§5.1)."""

    def __init__(self, namespace: str, null_dates: str, empty_list: str) -> None:
        self.namespace = namespace
        self.null_dates = null_dates
        self.empty_list = empty_list
        self._tags: dict[str, str] = {}

    def _tag(self, name: str) -> str:
        tag = self._tags.get(name)
        if tag is None:
            tag = self._tags[name] = f"{{{self.namespace}}}{name}"
        return tag

    @staticmethod
    def _envelope() -> tuple[etree._Element, etree._Element]:
        nsmap = {"soap": SOAP_ENV_NS, "xsi": XSI_NS, "xsd": XSD_NS}
        envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap=nsmap)
        body = etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body")
        return envelope, body

    def answer(self, op: Operation, result: Any) -> bytes:
        envelope, body = self._envelope()
        response = etree.SubElement(
            body, self._tag(f"{op.name}Response"), nsmap={None: self.namespace}
        )
        if result is not _ABSENT and op.result is not None:
            self._write(response, op.result, result)
        return XML_DECLARATION + etree.tostring(envelope, encoding="utf-8")

    def fault(self, fault: SoapFault) -> bytes:
        envelope, body = self._envelope()
        element = etree.SubElement(body, f"{{{SOAP_ENV_NS}}}Fault")
        etree.SubElement(element, "faultcode").text = f"soap:{fault.code}"
        etree.SubElement(element, "faultstring").text = fault.text
        etree.SubElement(element, "detail")
        return XML_DECLARATION + etree.tostring(envelope, encoding="utf-8")

    def _write(self, parent: etree._Element, f: Field, value: Any) -> None:
        if f.kind == "obj":
            if value is not None:
                self._write_object(etree.SubElement(parent, self._tag(f.name)), f.type_name, value)
        elif f.kind == "list":
            self._write_list(parent, f, value or [])
        else:
            text = encode_scalar(f.kind, value, self.null_dates)
            if text is not None:
                # Empty strings go out as <X />, null ones are left out (§1.5).
                etree.SubElement(parent, self._tag(f.name)).text = text or None

    def _write_object(
        self, element: etree._Element, type_name: str, value: Mapping[str, Any]
    ) -> None:
        for sub in TYPES[type_name]:
            self._write(element, sub, value.get(sub.name))

    def _write_list(self, parent: etree._Element, f: Field, items: Sequence[Any]) -> None:
        if not items and self.empty_list == "absent":
            return
        wrapper = etree.SubElement(parent, self._tag(f.name))
        for item in items:
            if f.item_kind:
                etree.SubElement(wrapper, self._tag(f.item)).text = str(item) or None
            else:
                self._write_object(etree.SubElement(wrapper, self._tag(f.item)), f.type_name, item)


# --- HTTP --------------------------------------------------------------------------------------


class _KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler always closes the connection; this one keeps it open (HTTP/1.1).

    It reads each request body exactly, so the next request line is where it expects it, and it
    carries out the transport faults a WSGI app cannot express (dropped connection, cut body).
    """

    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection gives its thread back after a minute
    disable_nagle_algorithm = True  # headers and body leave at once: no delayed-ACK stalls

    def setup(self) -> None:
        super().setup()
        _connections(self.server).add(self.connection)

    def finish(self) -> None:
        _connections(self.server).discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle(self) -> None:
        try:
            super().handle()
        except Exception as exc:  # a client gone mid-answer, or stop() closing the socket
            log.debug("connection ended: %s", type(exc).__name__)

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        self.environ = environ
        body = self._read_body(environ)
        if body is None:
            self._write_reply(413, [("Content-Type", TEXT_CONTENT_TYPE)], b"Request too large")
            self.close_connection = True
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        status, headers, payload = _call_app(self.server.app, environ)
        transport = environ.get(_TRANSPORT_KEY, "")
        if transport == "drop":
            self._drop()
        elif transport == "truncate":
            # The full length is announced and half the body sent: a body cut on the wire.
            self._write_reply(status, headers, payload, send=len(payload) // 2)
            self._drop()
        else:
            self._write_reply(status, headers, payload)

    def _read_body(self, environ: dict[str, Any]) -> bytes | None:
        if environ.get("wsgi.input_terminated"):  # chunked request
            return bytes(environ["wsgi.input"].read())
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
            self.close_connection = True
        if length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _write_reply(
        self, status: int, headers: list[tuple[str, str]], payload: bytes, send: int | None = None
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload if send is None else payload[:send])
        self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # one line per call is logged by the emulator itself, without werkzeug's noise

    def log_error(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


def _connections(server: Any) -> set[socket.socket]:
    return server.ines_connections  # type: ignore[no-any-return]


def _call_app(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
) -> tuple[int, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    try:
        result = app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:
        log.exception("INES emulator failed on a request")
        return 500, [("Content-Type", TEXT_CONTENT_TYPE)], b"Internal emulator error"
    return int(captured["status"].split()[0]), list(captured["headers"]), payload


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _wants_wsdl(query: str) -> bool:
    return any(part.split("=", 1)[0].lower() == "wsdl" for part in query.split("&"))


def _media_type(content_type: str) -> tuple[str, str]:
    """(media type, charset), both lower case."""
    parts = [p.strip() for p in content_type.split(";")]
    charset = ""
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return parts[0].lower(), charset


def _redact(text: str) -> str:
    return _REDACT_RE.sub(r"\1***\4", text)


def _redact_params(params: dict[str, Any]) -> dict[str, Any]:
    request = params.get("request")
    if isinstance(request, dict) and "password" in request:
        return {**params, "request": {**request, "password": "***"}}
    return params


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


_HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body>"
    "<h1>Server Error in '/' Application.</h1><h2><i>Runtime Error</i></h2>"
    "<p>An application error occurred on the server.</p></body></html>"
)

_ADMIN_HOOKS = frozenset(
    {
        "reset", "seed", "set_clock", "advance_clock", "delete_contact", "delete_client",
        "edit_contact", "edit_client", "add_cf_definition", "set_sync_info", "set_lookup",
        "expire_session", "expire_all_sessions", "set_credentials", "inject", "clear_injections",
        "calls", "call_count", "clear_calls", "requests", "get_client", "get_contact", "contacts",
        "clients", "leads", "cf_values", "cf_definitions", "session_ids", "configure", "snapshot",
        "seed_demo",
    }
)  # fmt: skip


# --- the emulator ------------------------------------------------------------------------------


class InesEmulator:
    """The four INES services on 127.0.0.1, with the state, options and hooks of §5."""

    def __init__(
        self,
        port: int = 0,
        users: Iterable[Sequence[str]] | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        seed: Mapping[str, Any] | None = None,
        now: datetime | None = None,
        admin_http: bool = False,
        **options: Any,
    ) -> None:
        """users: (account, user, password) triples, default DEMO/demo; seed: data for seed(),
        applied now and again on reset(); now: a fixed clock (default: the real local time)."""
        if not namespace:
            raise ValueError("namespace must not be empty")
        self._port = port
        self._namespace = namespace
        self._initial_users = [tuple(u) for u in (users if users is not None else [DEFAULT_USER])]
        self._initial_seed = dict(seed) if seed else None
        self._initial_now = now
        self._admin_http = admin_http
        self._options = dict(OPTION_DEFAULTS)
        self._lock = threading.RLock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        # One method per operation; UpdateClient serves wsicm and WSAutomationSync alike.
        self._handlers: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
            (key, name): getattr(self, f"_op_{name}")
            for key, service in SERVICES.items()
            for name in service.operations
        }
        self.configure(**options)
        self._init_state()

    # -- lifecycle

    def start(self) -> InesEmulator:
        if self._server is not None:
            return self
        server = self._make_server()
        server.ines_connections = set()  # type: ignore[attr-defined]
        self._server = server
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=server.serve_forever,
            # stop() waits for this loop to notice: a short poll keeps test teardown quick.
            kwargs={"poll_interval": 0.02},
            name="ines-emulator",
            daemon=True,
        )
        self._thread.start()
        log.info("INES emulator listening on %s", self.base_url)
        return self

    def _make_server(self) -> BaseWSGIServer:
        # Bind ourselves and hand werkzeug the socket: on a busy port werkzeug would print and
        # call sys.exit(), which a library must not do.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if os.name != "nt":  # on Windows SO_REUSEADDR would let two emulators share a port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self._port))
            sock.listen(128)
            port = sock.getsockname()[1]
            return make_server(
                "127.0.0.1",
                port,
                self._wsgi_app,
                threaded=True,
                request_handler=_KeepAliveHandler,
                fd=sock.fileno(),
            )
        finally:
            sock.close()  # werkzeug holds its own duplicate of the descriptor

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes injected delays
        server.shutdown()
        for connection in list(_connections(server)):
            try:
                connection.shutdown(socket.SHUT_RDWR)  # wakes threads idling in keep-alive
            except OSError:
                pass
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        log.info("INES emulator stopped")

    def __enter__(self) -> InesEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def port(self) -> int:
        return self._server.port if self._server is not None else self._port

    @property
    def namespace(self) -> str:
        return self._namespace

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._options)

    def url(self, service: str) -> str:
        """The endpoint of a service key (login, wsicm, wscf, WSAutomationSync)."""
        return self.base_url + SERVICES[self._service_key(service)].path

    def configure(self, **options: Any) -> None:
        """Change §5.4 options at run time; unknown names or values raise ValueError."""
        for name, value in options.items():
            if name not in OPTION_DEFAULTS:
                raise ValueError(f"unknown option {name!r}")
            if name in _OPTION_CHOICES and value not in _OPTION_CHOICES[name]:
                raise ValueError(f"option {name} must be one of {_OPTION_CHOICES[name]}")
        with self._lock:
            self._options.update(options)
            self._enums = self._enum_lists(self._options["enum_check"])
            lenient = bool(self._options["lenient"])
            self._reader = _RequestReader(self._accepted_namespaces(lenient), strict=not lenient)
            self._writer = _AnswerWriter(
                self._namespace, self._options["null_dates"], self._options["empty_list"]
            )
            self._resize_logs()

    @staticmethod
    def _enum_lists(setting: Any) -> dict[str, tuple[str, ...]]:
        if not setting:
            return {}
        if setting is True:
            return dict(DEFAULT_ENUMS)
        return {name: tuple(str(v) for v in values) for name, values in dict(setting).items()}

    def _accepted_namespaces(self, lenient: bool) -> frozenset[str]:
        if not lenient:
            return frozenset({self._namespace})
        # Lenient: with or without a trailing /, or unqualified (§5.1).
        base = self._namespace.rstrip("/")
        return frozenset({self._namespace, base, base + "/", ""})

    def _resize_logs(self) -> None:
        size = max(1, int(self._options["request_log_size"]))
        old_raw = getattr(self, "_raw_log", ())
        self._raw_log: deque[dict[str, Any]] = deque(old_raw, maxlen=size)
        old_params = getattr(self, "_calls_with_params", ())
        self._calls_with_params: deque[Call] = deque(old_params, maxlen=size)

    # -- state

    def _init_state(self) -> None:
        with self._lock:
            self._state = EmulatorState()
            self._sessions: dict[str, Session] = {}
            self._credentials: dict[tuple[str, str], str] = {
                (str(a), str(u)): str(p) for a, u, p in self._initial_users
            }
            self._clock: datetime | None = self._initial_now
            self._injections: list[Injection] = []
            self._calls: list[Call] = []
            self._raw_log.clear()
            self._calls_with_params.clear()
            self._version = 0
            if self._initial_seed:
                self.seed(self._initial_seed)

    def now(self) -> datetime:
        clock = self._clock
        return clock if clock is not None else datetime.now().replace(microsecond=0)

    @property
    def version(self) -> int:
        """Grows with every change of the stored data (used to save demo state when needed)."""
        return self._version

    def _touch(self) -> None:
        self._version += 1

    # -- WSGI

    def _wsgi_app(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        reply = self._route(request)
        if reply.transport:
            environ[_TRANSPORT_KEY] = reply.transport
        # The reply is complete bytes already: a plain WSGI answer spares werkzeug's Response
        # machinery on a path the benchmark takes 40,000 times.
        status = f"{reply.status} {_reason(reply.status)}"
        headers = [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))]
        start_response(status, headers)
        return [reply.body]

    def _route(self, request: Request) -> Reply:
        path = request.path
        if path.startswith("/_emulator/"):
            if self._admin_http:
                return self._admin(request, path[len("/_emulator/") :])
            return Reply(404, b"Not Found", TEXT_CONTENT_TYPE)
        key = SERVICE_BY_PATH.get(path.lower())
        if key is None:
            return Reply(404, b"Not Found", TEXT_CONTENT_TYPE)
        service = SERVICES[key]
        body = request.get_data()
        if request.method in ("GET", "HEAD"):
            query = request.query_string.decode("latin-1")
            reply = (
                self._serve_wsdl(service, request)
                if _wants_wsdl(query)
                else self._help_page(service)
            )
        elif request.method == "POST":
            reply = self._serve_post(service, request, body)
        else:
            reply = Reply(405, b"Method Not Allowed", TEXT_CONTENT_TYPE)
        self._log_raw(request, body, reply)
        return reply

    def _serve_post(self, service: Service, request: Request, body: bytes) -> Reply:
        media, charset = _media_type(request.headers.get("Content-Type", ""))
        if media == "application/soap+xml":
            return Reply(
                415, b"SOAP 1.2 is not supported: use text/xml (SOAP 1.1).", TEXT_CONTENT_TYPE
            )
        if media != "text/xml" or (not self._options["lenient"] and charset != "utf-8"):
            return Reply(
                415, b"Unsupported Media Type: expected text/xml; charset=utf-8", TEXT_CONTENT_TYPE
            )
        return self._serve_soap(service, request.headers.get("SOAPAction"), body)

    def _serve_wsdl(self, service: Service, request: Request) -> Reply:
        location = f"{request.scheme}://{request.host}{request.path}"

        def run() -> Reply:
            wsdl = build_wsdl(service, self._namespace, location)
            return Reply(200, wsdl, XML_CONTENT_TYPE)

        call = self._new_call(service.key, WSDL_OPERATION)
        reply = self._with_injection(service, WSDL_OPERATION, None, run)
        self._finish_call(call, reply)
        return reply

    @staticmethod
    def _help_page(service: Service) -> Reply:
        items = "".join(f"<li>{name}</li>" for name in service.operations)
        page = f"<html><body><h1>{service.key}</h1><ul>{items}</ul></body></html>"
        return Reply(200, page.encode(), HTML_CONTENT_TYPE)

    # -- SOAP

    def _serve_soap(self, service: Service, action: str | None, body: bytes) -> Reply:
        try:
            envelope, op_element = self._parse_envelope(body)
        except SoapFault as fault:
            call = self._new_call(service.key, "")
            reply = self._fault_reply(fault)
            self._finish_call(call, reply)
            return reply
        op_name = _split_tag(op_element.tag)[1]
        call = self._new_call(service.key, op_name)
        op = service.operations.get(op_name)

        def run() -> Reply:
            return self._execute(service, op, op_name, envelope, op_element, action, call)

        reply = self._with_injection(service, op_name, op, run)
        self._finish_call(call, reply)
        return reply

    def _parse_envelope(self, body: bytes) -> tuple[etree._Element, etree._Element]:
        try:
            envelope = etree.fromstring(body, _XML_PARSER)
        except etree.XMLSyntaxError as exc:
            raise _read_fault(f"{exc.msg}") from None
        namespace, local = _split_tag(envelope.tag)
        if local != "Envelope" or namespace not in (SOAP_ENV_NS, SOAP12_ENV_NS):
            raise _read_fault("The root element is not a SOAP 1.1 Envelope.")
        if namespace == SOAP12_ENV_NS:
            raise SoapFault("VersionMismatch", "Possible SOAP version mismatch: use SOAP 1.1.")
        soap_body = envelope.find(f"{{{SOAP_ENV_NS}}}Body")
        children = [] if soap_body is None else [c for c in soap_body if isinstance(c.tag, str)]
        if not children:
            raise SoapFault(
                "Client", "Server did not recognize the request: the SOAP Body is empty."
            )
        return envelope, children[0]

    def _execute(
        self,
        service: Service,
        op: Operation | None,
        op_name: str,
        envelope: etree._Element,
        op_element: etree._Element,
        action: str | None,
        call: Call,
    ) -> Reply:
        try:
            if op is None:
                raise SoapFault(
                    "Client",
                    f"Server did not recognize the value of the request element: {op_name}.",
                )
            self._check_request(op, op_element, action, envelope)
            if op.authenticated and not self._session_is_valid(envelope):
                return self._invalid_session_reply(op, None)
            params = self._reader.read_fields(op_element, _PARAM_FIELDS[(service.key, op.name)])
            self._keep_params(call, params)
            with self._lock:
                result = self._handlers[(service.key, op.name)](params)
                if not op.name.startswith("Get"):
                    self._touch()
            # Handlers answer copies of the stored data, so the XML is built outside the lock.
            answer = self._writer.answer(op, result)
            return Reply(200, answer, outcome="ok" if result is not _ABSENT else "no_result")
        except SoapFault as fault:
            return self._fault_reply(fault)

    def _check_request(
        self,
        op: Operation,
        op_element: etree._Element,
        action: str | None,
        envelope: etree._Element,
    ) -> None:
        namespace = _split_tag(op_element.tag)[0]
        if namespace not in self._reader.namespaces:
            raise SoapFault(
                "Client", f"Server did not recognize the namespace '{namespace}' of {op.name}."
            )
        expected = soap_action(self._namespace, op.name)
        if not self._options["lenient"] and action != f'"{expected}"':
            raise SoapFault(
                "Client", f"Server did not recognize the value of HTTP Header SOAPAction: {action}."
            )
        header = envelope.find(f"{{{SOAP_ENV_NS}}}Header")
        for child in header if header is not None else ():
            if not isinstance(child.tag, str) or _split_tag(child.tag)[1] == SESSION_HEADER:
                continue
            if child.get(f"{{{SOAP_ENV_NS}}}mustUnderstand") in ("1", "true"):
                raise SoapFault(
                    "MustUnderstand", f"SOAP header {_split_tag(child.tag)[1]} was not understood."
                )

    def _fault_reply(self, fault: SoapFault) -> Reply:
        return Reply(500, self._writer.fault(fault), outcome="fault", fault=fault.text)

    def _invalid_session_reply(self, op: Operation, mode: str | None) -> Reply:
        if (mode or self._options["invalid_session"]) == "empty":
            return Reply(200, self._writer.answer(op, _ABSENT), outcome="invalid_session")
        fault = SoapFault(
            "Client", "Server was unable to process request. ---> Invalid or expired session."
        )
        reply = self._fault_reply(fault)
        reply.outcome = "invalid_session"
        return reply

    # -- sessions

    def _session_id_from(self, envelope: etree._Element) -> str | None:
        # The accepted namespaces include "" in lenient mode only, so an unqualified ID
        # passes there and nowhere else (§5.1).
        header = envelope.find(f"{{{SOAP_ENV_NS}}}Header")
        namespaces = self._reader.namespaces
        for child in header if header is not None else ():
            if not isinstance(child.tag, str) or _split_tag(child.tag) not in {
                (ns, SESSION_HEADER) for ns in namespaces
            }:
                continue
            for id_element in child:
                if isinstance(id_element.tag, str):
                    namespace, local = _split_tag(id_element.tag)
                    if local == "ID" and namespace in namespaces:
                        return (id_element.text or "").strip()
        return None

    def _session_is_valid(self, envelope: etree._Element) -> bool:
        session_id = self._session_id_from(envelope)
        with self._lock:
            session = self._sessions.get(session_id or "")
            if session is None or session.expired:
                return False
            if session.expires_at is not None and self.now() >= session.expires_at:
                session.expired = True
                return False
            return True

    def _new_session(self, account: str, user: str) -> str:
        # MINSTD steps from a fixed seed: decimal, not sequential, and the same on every run.
        state = self._state.counters["sessions"]
        state = state * 48271 % 2147483647
        self._state.counters["sessions"] = state
        session_id = str(state)
        ttl = self._options["session_ttl_s"]
        expires = self.now() + timedelta(seconds=float(ttl)) if ttl is not None else None
        self._sessions[session_id] = Session(account, user, expires)
        return session_id

    # -- injections

    def _with_injection(
        self, service: Service, op_name: str, op: Operation | None, run: Callable[[], Reply]
    ) -> Reply:
        injection = self._take_injection(service.key, op_name)
        if injection is None:
            return run()
        kind, after = injection.kind, injection.after_commit
        if kind == "delay" and not after:
            self._sleep(injection)
        # An invalid session is refused before the operation runs, like the real check.
        early = kind in _EARLY_KINDS or (kind == "invalid_session" and op is not None)
        if early and not after:
            return self._injected_reply(injection, None, op)
        reply = run()
        if kind == "delay":
            if after:
                self._sleep(injection)
            return reply
        return self._injected_reply(injection, reply, op)

    def _take_injection(self, service: str, operation: str) -> Injection | None:
        with self._lock:
            for injection in self._injections:
                if injection.matches(service, operation):
                    if injection.times is not None:
                        injection.times -= 1
                        if injection.times <= 0:
                            self._injections.remove(injection)
                    return injection
        return None

    def _sleep(self, injection: Injection) -> None:
        self._stopping.wait(float(injection.params.get("seconds", 1.0)))

    def _injected_reply(
        self, injection: Injection, real: Reply | None, op: Operation | None
    ) -> Reply:
        kind, params = injection.kind, injection.params
        outcome = f"injected:{kind}"
        if kind == "fault":
            code = str(params.get("code", "Server")).removeprefix("soap:")
            text = str(params.get("text", "Injected fault"))
            if code == "Server" and not text.startswith("Server was unable"):
                text = f"Server was unable to process request. ---> {text}"
            return replace(self._fault_reply(SoapFault(code, text)), outcome=outcome)
        if kind == "http_status":
            body = str(params.get("body", "")).encode()
            content_type = str(params.get("content_type", TEXT_CONTENT_TYPE))
            return Reply(int(params.get("code", 503)), body, content_type, outcome=outcome)
        if kind == "html_error":
            status = int(params.get("code", 500))
            return Reply(status, _HTML_ERROR_PAGE.encode(), HTML_CONTENT_TYPE, outcome=outcome)
        if kind == "malformed_xml":
            return Reply(200, self._malformed(op), outcome=outcome)
        if kind == "empty_body":
            return Reply(200, b"", outcome=outcome)
        if kind == "drop_connection":
            return Reply(200, b"", transport="drop", outcome=outcome)
        if kind == "invalid_session":
            if op is None:  # an unknown operation keeps its own fault
                assert real is not None
                return replace(real, outcome=outcome)
            return replace(self._invalid_session_reply(op, params.get("mode")), outcome=outcome)
        assert real is not None  # truncated, wrong_content_type: the real answer, spoilt
        if kind == "truncated":
            return replace(real, transport="truncate", outcome=outcome)
        content_type = str(params.get("content_type", HTML_CONTENT_TYPE))
        return replace(real, content_type=content_type, outcome=outcome)

    def _malformed(self, op: Operation | None) -> bytes:
        name = op.name if op else "Unknown"
        # Unbalanced on purpose: </Internal closes nothing and the Envelope is never closed.
        text = (
            f'<soap:Envelope xmlns:soap="{SOAP_ENV_NS}"><soap:Body>'
            f'<{name}Response xmlns="{self._namespace}"><{name}Result><InternalRef>1</Internal'
            f"</{name}Result></soap:Body>"
        )
        return XML_DECLARATION + text.encode()

    # -- call records

    def _new_call(self, service: str, operation: str) -> Call:
        with self._lock:
            call = Call(len(self._calls) + 1, service, operation, self.now())
            self._calls.append(call)
            return call

    def _finish_call(self, call: Call, reply: Reply) -> None:
        call.status, call.outcome, call.fault = reply.status, reply.outcome, reply.fault
        if call.operation != WSDL_OPERATION:
            log.debug(
                "%s.%s -> %s %s", call.service, call.operation or "?", reply.status, reply.outcome
            )

    def _keep_params(self, call: Call, params: dict[str, Any]) -> None:
        with self._lock:
            kept = self._calls_with_params
            if len(kept) == kept.maxlen:
                # Only the newest calls keep their parsed parameters: a 10,000-contact
                # benchmark must not hold every request in memory.
                kept[0].params = None
            call.params = _redact_params(params)
            kept.append(call)

    def _log_raw(self, request: Request, body: bytes, reply: Reply) -> None:
        entry = {
            "at": self.now(),
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode("latin-1"),
            "headers": {
                k: v for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS
            },
            "body": body,
            "status": reply.status,
            "content_type": reply.content_type,
            "response": reply.body,
        }
        with self._lock:
            self._raw_log.append(entry)

    # -- operations

    def _op_authenticationWs(self, params: dict[str, Any]) -> Any:
        request = params.get("request") or {}
        account = request.get("compte") or ""
        user = request.get("userName") or ""
        password = request.get("password") or ""
        expected = self._credentials.get((account, user))
        if (
            expected is not None
            and password
            and hmac.compare_digest(expected.encode(), password.encode())
        ):
            log.debug("login accepted for account %s", account)
            return {"codeReturn": "ok", "idSession": self._new_session(account, user)}
        log.debug("login refused for account %s", account)
        if self._options["login_fault"]:
            raise _server_fault("Authentication failed: unknown account, user or password.")
        return {"codeReturn": "failed", "idSession": ""}

    # wsicm

    def _op_GetContact(self, params: dict[str, Any]) -> Any:
        return self._read_object("contact", params.get("reference") or 0)

    def _op_GetClient(self, params: dict[str, Any]) -> Any:
        return self._read_object("client", params.get("reference") or 0)

    def _op_UpdateClient(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("client") or {})
        sent.pop("Contacts", None)  # UpdateClient never touches contacts
        ref = sent.get("InternalRef") or 0
        stored = self._live("client", ref)
        if stored is None:
            raise _server_fault(f"Client {ref} not found.")
        merged = {**stored.fields, **sent, "InternalRef": ref}
        self._check_client(sent, merged)
        stored.fields = merged
        return dict(merged)

    def _op_AddClient(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("client") or {})
        sent.pop("Contacts", None)
        self._check_client(sent, sent)
        return dict(self._create("client", sent).fields)

    def _op_GetTypeContactList(self, params: dict[str, Any]) -> Any:
        return [dict(item) for item in self._state.lookups["contact_types"]]

    def _op_GetTypeClientList(self, params: dict[str, Any]) -> Any:
        return [dict(item) for item in self._state.lookups["client_types"]]

    def _op_GetOriginList(self, params: dict[str, Any]) -> Any:
        return [dict(item) for item in self._state.lookups["origins"]]

    def _op_GetUserInfoFromUserRef(self, params: dict[str, Any]) -> Any:
        return self._users_with("UserRef")

    def _op_GetUserInfoFromRHRef(self, params: dict[str, Any]) -> Any:
        return self._users_with("RHRef")

    def _users_with(self, ref_name: str) -> list[dict[str, Any]]:
        users = []
        for user in self._state.lookups["users"]:
            if (user.get(ref_name) or 0) > 0:
                # Before May 2017 the plugin read a single Name: it is served too (§2.2).
                full = f"{user.get('FirstName') or ''} {user.get('LastName') or ''}".strip()
                users.append({**user, "Name": user.get("Name") or full})
        return users

    # WSAutomationSync

    def _op_GetSyncInfo(self, params: dict[str, Any]) -> Any:
        definitions = [d for d in self._state.cf_definitions.values() if d.exposed]
        return {
            "LeadRef": self._state.lead_ref,
            "SocieteType": self._state.societe_type,
            "CompanyCustomFields": [_cf_to_auto(d) for d in definitions if d.concept == "client"],
            "ContactCustomFields": [_cf_to_auto(d) for d in definitions if d.concept == "contact"],
        }

    def _op_AddClientWithContacts(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("client") or {})
        contacts = [dict(c) for c in sent.pop("Contacts", None) or []]
        self._check_client(sent, sent)
        for contact in contacts:
            self._check_contact(contact, contact)
        client = self._create("client", sent)
        created = [self._create("contact", {**c, "CompanyRef": client.ref}) for c in contacts]
        return {**client.fields, "Contacts": [dict(c.fields) for c in created]}

    def _op_UpdateContact(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("contact") or {})
        ref = sent.get("InternalRef") or 0
        stored = self._live("contact", ref)
        if stored is None:
            raise _server_fault(f"Contact {ref} not found.")
        merged = {**stored.fields, **sent, "InternalRef": ref}
        self._check_contact(sent, merged)
        company = sent.get("CompanyRef")
        if company and self._live("client", company) is None:
            raise _server_fault(f"Client {company} not found.")
        stored.fields = merged
        return ref

    def _op_AddLead(self, params: dict[str, Any]) -> Any:
        return self._create("lead", dict(params.get("info") or {})).ref

    def _op_DeleteAutomationContact(self, params: dict[str, Any]) -> Any:
        stored = self._live("contact", params.get("InesRef") or 0)
        if stored is None:
            return "NotFound"
        stored.unsynced = True  # nothing is erased: the contact is only no longer synchronised
        return "Success"

    def _op_AddContact(self, params: dict[str, Any]) -> Any:
        sent = dict(params.get("contact") or {})
        client_ref = params.get("clientRef") or sent.get("CompanyRef") or 0
        if self._live("client", client_ref) is None:
            raise _server_fault(f"Client {client_ref} not found.")
        for param, name in (
            ("AutomationRef", "AutomationRef"),
            ("scoring", "Scoring"),
            ("desabo", "Desabo"),
            ("npai", "NPai"),
        ):
            if params.get(param) is not None:
                sent[name] = params[param]
        sent["CompanyRef"] = client_ref
        self._check_contact(sent, sent)
        return dict(self._create("contact", sent).fields)

    # wscf

    def _op_GetContactCF(self, params: dict[str, Any]) -> Any:
        return self._read_cf("contact", params.get("reference") or 0)

    def _op_GetCompanyCF(self, params: dict[str, Any]) -> Any:
        return self._read_cf("client", params.get("reference") or 0)

    def _op_GetLeadCF(self, params: dict[str, Any]) -> Any:
        return self._read_cf("lead", params.get("reference") or 0)

    def _op_InsertContactCF(self, params: dict[str, Any]) -> Any:
        return self._insert_cf("contact", params.get("ctRef") or 0, params)

    def _op_InsertCompanyCF(self, params: dict[str, Any]) -> Any:
        return self._insert_cf("client", params.get("clRef") or 0, params)

    def _op_InsertLeadCF(self, params: dict[str, Any]) -> Any:
        return self._insert_cf("lead", params.get("ReclaRef") or 0, params)

    def _op_UpdateContactCF(self, params: dict[str, Any]) -> Any:
        return self._update_cf("contact", params.get("ctRef") or 0, params)

    def _op_UpdateCompanyCF(self, params: dict[str, Any]) -> Any:
        return self._update_cf("client", params.get("clRef") or 0, params)

    # -- operation helpers

    def _live(self, concept: str, ref: int) -> StoredObject | None:
        stored = self._state.store(concept).get(ref)
        return None if stored is None or stored.deleted else stored

    def _read_object(self, concept: str, ref: int) -> Any:
        stored = self._live(concept, ref)
        if stored is not None:
            return dict(stored.fields)
        mode = self._options["missing_object"]
        if mode == "absent":
            return _ABSENT
        if mode == "fault":
            raise _server_fault(str(self._options["missing_object_text"]))
        return _blank_fields(_CONCEPT_FIELDS[concept])  # what .NET answers for `new T()`

    def _create(self, concept: str, sent: Mapping[str, Any], ref: int = 0) -> StoredObject:
        state = self._state
        counter = _CONCEPT_COUNTER[concept]
        if ref > 0:
            state.claim_id(counter, ref)
        else:
            ref = state.next_id(counter)
        now = self.now()
        fields = _blank_fields(_CONCEPT_FIELDS[concept])
        fields.update(_ENUM_DEFAULTS.get(concept, {}))
        fields.update(sent)
        for stamp in _DATE_STAMPS[concept]:
            if fields.get(stamp) is None:
                fields[stamp] = now  # the server stamps what the client left out
        if concept != "lead":
            fields["InternalRef"] = ref
        stored = StoredObject(ref, fields, created=now)
        state.store(concept)[ref] = stored
        return stored

    def _check_client(self, sent: Mapping[str, Any], merged: Mapping[str, Any]) -> None:
        if not sent.get("PaymentMethodRef"):
            raise _server_fault("PaymentMethodRef must not be 0")
        if not (merged.get("CompanyName") or "").strip():
            raise _server_fault("CompanyName must not be empty")
        self._check_enums(sent)

    def _check_contact(self, sent: Mapping[str, Any], merged: Mapping[str, Any]) -> None:
        if not (merged.get("PrimaryMailAddress") or "").strip():
            raise _server_fault("PrimaryMailAddress must not be empty")
        if self._options["require_birth_date"] and sent.get("DateOfBirth") is None:
            raise _server_fault("DateOfBirth is required")
        self._check_enums(sent)

    def _check_enums(self, sent: Mapping[str, Any]) -> None:
        for name, allowed in self._enums.items():
            if name in sent and sent[name] is not None and sent[name] not in allowed:
                raise _server_fault(
                    f"Instance validation error: '{sent[name]}' is not a valid value for {name}."
                )

    def _read_cf(self, concept: str, owner: int) -> Any:
        values = self._state.cf_values_of(concept, owner)
        definitions = [d for d in self._state.cf_definitions.values() if d.concept == concept]
        return {
            "Values": [
                {"DefinitionRef": v.definition, "Ref": v.ref, "Value": v.value} for v in values
            ],
            "Definitions": [
                {
                    "Ref": d.ines_id,
                    "Name": d.name,
                    "Type": d.type,
                    "GroupRef": CF_GROUP["Ref"],
                    "ValueList": list(d.values),
                }
                for d in definitions
            ],
            "Groups": [dict(CF_GROUP)],
        }

    def _cf_definition_for(self, concept: str, owner: int, definition_ref: int) -> CfDefinition:
        if self._live(concept, owner) is None:
            raise _server_fault(f"{concept.capitalize()} {owner} not found.")
        definition = self._state.cf_definitions.get(definition_ref)
        if definition is None or definition.concept != concept:
            raise _server_fault(
                f"Custom field definition {definition_ref} does not exist for {concept}."
            )
        return definition

    def _check_cf_value(self, definition: CfDefinition, value: str) -> None:
        if (
            self._options["list_value_check"]
            and definition.type == "list"
            and value not in definition.values
        ):
            raise _server_fault(f"'{value}' is not a value of the list {definition.name}.")

    def _insert_cf(self, concept: str, owner: int, params: Mapping[str, Any]) -> int:
        definition_ref = params.get("chdefRef") or 0
        definition = self._cf_definition_for(concept, owner, definition_ref)
        value = params.get("chpValue") or ""
        self._check_cf_value(definition, value)
        existing = self._state.cf_values_of(concept, owner)
        if self._options["duplicate_cf_value"] == "fault" and any(
            v.definition == definition_ref for v in existing
        ):
            raise _server_fault(f"A value already exists for custom field {definition_ref}.")
        cf_value = CfValue(
            self._state.next_id("values"),
            concept,
            owner,
            definition_ref,
            value,
            params.get("chvLies") or 0,
            params.get("chvGroupeAssoc") or 0,
        )
        self._state.add_cf_value(cf_value)
        return cf_value.ref

    def _update_cf(self, concept: str, owner: int, params: Mapping[str, Any]) -> int:
        definition_ref = params.get("chdefRef") or 0
        definition = self._cf_definition_for(concept, owner, definition_ref)
        value_ref = params.get("chpRef") or 0
        cf_value = self._state.cf_by_ref.get(value_ref)
        if cf_value is None or (cf_value.concept, cf_value.owner, cf_value.definition) != (
            concept,
            owner,
            definition_ref,
        ):
            raise _server_fault(
                f"Custom field value {value_ref} does not belong to {concept} {owner} and definition {definition_ref}."
            )
        value = params.get("chpValue") or ""
        self._check_cf_value(definition, value)
        cf_value.value = value
        return value_ref

    # -- test hooks (§5.5)

    def reset(self) -> None:
        """Back to the state right after construction: data, sessions, clock, injections, logs."""
        self._init_state()

    def seed(self, data: Mapping[str, Any]) -> None:
        """Add data. Keys, all optional: counters, sync_info {LeadRef, SocieteType}, lookups
        {contact_types, client_types, origins, users}, credentials [(account, user, password)],
        cf_definitions [{InesID?, concept, name, type, values, exposed}], clients [{fields…,
        Contacts: […]}], contacts [{fields…}], leads [{fields…}], cf_values [{concept, owner,
        definition, value}]. Field values may be Python values or wire text."""
        with self._lock:
            for counter, value in dict(data.get("counters") or {}).items():
                if counter not in COUNTER_SEEDS:
                    raise ValueError(f"unknown counter {counter!r}")
                self._state.counters[counter] = int(value)
            sync_info = data.get("sync_info") or {}
            self.set_sync_info(sync_info.get("LeadRef"), sync_info.get("SocieteType"))
            for name, items in dict(data.get("lookups") or {}).items():
                self.set_lookup(name, items)
            for account, user, password in data.get("credentials") or ():
                self.set_credentials(account, user, password)
            for definition in data.get("cf_definitions") or ():
                self._seed_definition(definition)
            for client in data.get("clients") or ():
                self._seed_client(client)
            for concept, key in (("contact", "contacts"), ("lead", "leads")):
                for item in data.get(key) or ():
                    self._seed_object(concept, item)
            for value in data.get("cf_values") or ():
                self._seed_cf_value(value)
            self._touch()

    def _seed_definition(self, definition: Mapping[str, Any]) -> None:
        self.add_cf_definition(
            definition["concept"],
            definition["name"],
            definition.get("type", "text"),
            definition.get("values") or (),
            ines_id=definition.get("InesID"),
            exposed=definition.get("exposed", True),
        )

    def _seed_client(self, data: Mapping[str, Any]) -> int:
        contacts = data.get("Contacts") or ()
        client_ref = self._seed_object("client", {k: v for k, v in data.items() if k != "Contacts"})
        for contact in contacts:
            self._seed_object("contact", {**contact, "CompanyRef": client_ref})
        return client_ref

    def _seed_object(self, concept: str, data: Mapping[str, Any]) -> int:
        meta = {k: data[k] for k in ("deleted", "unsynced") if k in data}
        fields = {k: v for k, v in data.items() if k not in meta}
        ref = int(fields.pop("InternalRef", 0) or fields.pop("Ref", 0) or 0)
        # Objects already in INES look like an INES user made them: valid payment, not new.
        defaults: dict[str, Any] = {"client": {"PaymentMethodRef": 1}, "contact": {}, "lead": {}}[
            concept
        ]
        if concept != "lead":
            defaults = {**defaults, "IsNew": False}
        sent = {**defaults, **_coerce_fields(concept, fields)}
        stored = self._create(concept, sent, ref)
        stored.deleted = bool(meta.get("deleted", False))
        stored.unsynced = bool(meta.get("unsynced", False))
        return stored.ref

    def _seed_cf_value(self, data: Mapping[str, Any]) -> None:
        concept = data["concept"]
        ref = int(data.get("Ref") or 0)
        if ref > 0:
            self._state.claim_id("values", ref)
        else:
            ref = self._state.next_id("values")
        self._state.add_cf_value(
            CfValue(
                ref,
                concept,
                int(data["owner"]),
                int(data["definition"]),
                str(data.get("value", "")),
            )
        )

    def seed_demo(self) -> None:
        self.seed(demo_seed())

    def set_clock(self, dt: datetime | str | None) -> None:
        """Freeze the clock at dt (a datetime or ISO text); None goes back to the real time."""
        with self._lock:
            if isinstance(dt, str):
                dt = datetime.fromisoformat(dt)
            self._clock = dt.replace(tzinfo=None, microsecond=0) if dt is not None else None

    def advance_clock(self, seconds: float) -> datetime:
        with self._lock:
            self._clock = self.now() + timedelta(seconds=seconds)
            return self._clock

    def delete_contact(self, ref: int) -> None:
        """Hard delete, as an INES user would: GetContact then answers per missing_object."""
        with self._lock:
            self._existing("contact", ref).deleted = True
            self._touch()

    def delete_client(self, ref: int, cascade: bool = False) -> None:
        with self._lock:
            self._existing("client", ref).deleted = True
            if cascade:
                for contact in self._state.contacts.values():
                    if contact.fields.get("CompanyRef") == ref:
                        contact.deleted = True
            self._touch()

    def edit_contact(self, ref: int, **fields: Any) -> dict[str, Any]:
        return self._edit("contact", ref, fields)

    def edit_client(self, ref: int, **fields: Any) -> dict[str, Any]:
        return self._edit("client", ref, fields)

    def _edit(self, concept: str, ref: int, fields: Mapping[str, Any]) -> dict[str, Any]:
        if "InternalRef" in fields:
            raise ValueError("InternalRef cannot be edited")
        with self._lock:
            stored = self._existing(concept, ref)
            values = _coerce_fields(concept, fields)
            stamp = _MODIFIED_STAMP[concept]
            if stamp not in values:
                values[stamp] = self.now()  # an edit in INES moves its modification date
            stored.fields.update(values)
            self._touch()
            return dict(stored.fields)

    def _existing(self, concept: str, ref: int) -> StoredObject:
        stored = self._state.store(concept).get(int(ref))
        if stored is None:
            raise KeyError(f"no {concept} {ref}")
        return stored

    def add_cf_definition(
        self,
        concept: str,
        name: str,
        type: str = "text",
        values: Iterable[str] = (),
        ines_id: int | None = None,
        exposed: bool = True,
    ) -> int:
        """A custom field definition for concept contact, client or lead; returns its InesID.
        Any type is accepted (the client must ignore types outside CF_TYPES)."""
        if concept not in CONCEPTS:
            raise ValueError(f"concept must be one of {CONCEPTS}")
        with self._lock:
            if ines_id:
                self._state.claim_id("definitions", int(ines_id))
            else:
                ines_id = self._state.next_id("definitions")
            definition = CfDefinition(
                int(ines_id), concept, name, type, [str(v) for v in values], bool(exposed)
            )
            self._state.cf_definitions[definition.ines_id] = definition
            self._touch()
            return definition.ines_id

    def set_sync_info(self, lead_ref: int | None = None, societe_type: int | None = None) -> None:
        with self._lock:
            if lead_ref is not None:
                self._state.lead_ref = int(lead_ref)
            if societe_type is not None:
                self._state.societe_type = int(societe_type)
            self._touch()

    def set_lookup(self, name: str, items: Iterable[Mapping[str, Any]]) -> None:
        """Replace a lookup list: contact_types, client_types, origins or users."""
        if name not in LOOKUP_TYPES:
            raise ValueError(f"lookup must be one of {tuple(LOOKUP_TYPES)}")
        fields = FIELDS_BY_NAME[LOOKUP_TYPES[name]]
        rows = []
        for item in items:
            unknown = set(item) - set(fields)
            if unknown:
                raise ValueError(f"unknown {name} fields: {sorted(unknown)}")
            rows.append({k: coerce_scalar(fields[k].kind, v) for k, v in item.items()})
        with self._lock:
            self._state.lookups[name] = rows
            self._touch()

    def expire_session(self, session_id: str) -> bool:
        with self._lock:
            session = self._sessions.get(str(session_id))
            if session is None:
                return False
            session.expired = True
            return True

    def expire_all_sessions(self) -> int:
        with self._lock:
            live = [s for s in self._sessions.values() if not s.expired]
            for session in live:
                session.expired = True
            return len(live)

    def session_ids(self) -> list[str]:
        """Ids of the sessions not expired by a hook (for expire_session)."""
        with self._lock:
            return [sid for sid, s in self._sessions.items() if not s.expired]

    def set_credentials(self, account: str, user: str, password: str | None) -> None:
        """Add or change a login; password None removes it. Open sessions stay valid."""
        with self._lock:
            if password is None:
                self._credentials.pop((account, user), None)
            else:
                self._credentials[(account, user)] = password

    def inject(
        self,
        service: str,
        operation: str,
        kind: str,
        times: int | None = 1,
        after_commit: bool = False,
        **params: Any,
    ) -> Injection:
        """Spoil the next `times` calls (None: all) of service.operation ("*" for any).

        Kinds and params: fault (code="Server", text), http_status (code=503, body,
        content_type), delay (seconds=1.0; the operation still runs), malformed_xml,
        truncated (real answer cut on the wire), empty_body, html_error (code=500),
        wrong_content_type (content_type="text/html; charset=utf-8"), drop_connection,
        invalid_session (mode=invalid_session option). after_commit=True runs the operation
        first, so its change is stored and only the answer is lost. operation "wsdl" targets
        `GET ?wsdl`."""
        if kind not in INJECTION_KINDS:
            raise ValueError(f"kind must be one of {INJECTION_KINDS}")
        key = "*" if service == "*" else self._service_key(service)
        if operation != "*":
            known = {WSDL_OPERATION} | {
                name for k, svc in SERVICES.items() if key in ("*", k) for name in svc.operations
            }
            if operation not in known:
                raise ValueError(f"unknown operation {operation!r} for {service}")
        if kind == "invalid_session" and operation in (WSDL_OPERATION, "authenticationWs"):
            raise ValueError("invalid_session applies to authenticated operations only")
        injection = Injection(key, operation, kind, times, after_commit, dict(params))
        with self._lock:
            self._injections.append(injection)
        return injection

    def clear_injections(self) -> None:
        with self._lock:
            self._injections.clear()

    @staticmethod
    def _service_key(service: str) -> str:
        wanted = service.lower()
        for key, svc in SERVICES.items():
            if wanted in (key.lower(), svc.path.lower(), svc.path.rsplit("/", 1)[-1].lower()):
                return key
        raise ValueError(f"unknown service {service!r}: one of {tuple(SERVICES)}")

    def calls(self, service: str | None = None, operation: str | None = None) -> list[Call]:
        """SOAP calls in arrival order. WSDL reads only show up with operation="wsdl"."""
        key = self._service_key(service) if service else None
        with self._lock:
            return [
                c
                for c in self._calls
                if (key is None or c.service == key)
                and (c.operation == operation if operation else c.operation != WSDL_OPERATION)
            ]

    def call_count(self, service: str | None = None, operation: str | None = None) -> int:
        return len(self.calls(service, operation))

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._calls_with_params.clear()
            self._raw_log.clear()

    def requests(self) -> list[dict[str, Any]]:
        """The raw HTTP log (newest request_log_size entries), passwords and session ids redacted."""
        with self._lock:
            entries = list(self._raw_log)
        return [
            {
                **entry,
                "body": _redact(entry["body"].decode("utf-8", "replace")),
                "response": _redact(entry["response"].decode("utf-8", "replace")),
            }
            for entry in entries
        ]

    # -- readers

    def get_contact(self, ref: int) -> dict[str, Any] | None:
        return self._object_view("contact", ref)

    def get_client(self, ref: int) -> dict[str, Any] | None:
        return self._object_view("client", ref)

    def get_lead(self, ref: int) -> dict[str, Any] | None:
        return self._object_view("lead", ref)

    def contacts(self) -> list[dict[str, Any]]:
        return self._all_views("contact")

    def clients(self) -> list[dict[str, Any]]:
        return self._all_views("client")

    def leads(self) -> list[dict[str, Any]]:
        return self._all_views("lead")

    def _object_view(self, concept: str, ref: int) -> dict[str, Any] | None:
        with self._lock:
            stored = self._state.store(concept).get(int(ref))
            return _view(stored) if stored is not None else None

    def _all_views(self, concept: str) -> list[dict[str, Any]]:
        with self._lock:
            return [_view(s) for s in self._state.store(concept).values()]

    def cf_values(
        self, concept: str | None = None, owner: int | None = None, definition: int | None = None
    ) -> list[dict[str, Any]]:
        """Custom field values in insertion order: Ref, concept, owner, DefinitionRef, Value,
        chvLies, chvGroupeAssoc."""
        with self._lock:
            values = list(self._state.cf_by_ref.values())
        return [
            {
                "Ref": v.ref,
                "concept": v.concept,
                "owner": v.owner,
                "DefinitionRef": v.definition,
                "Value": v.value,
                "chvLies": v.lies,
                "chvGroupeAssoc": v.groupe_assoc,
            }
            for v in values
            if (concept is None or v.concept == concept)
            and (owner is None or v.owner == owner)
            and (definition is None or v.definition == definition)
        ]

    def cf_definitions(self, concept: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                asdict(d)
                for d in self._state.cf_definitions.values()
                if concept in (None, d.concept)
            ]

    # -- snapshots (demo mode)

    def snapshot(self) -> dict[str, Any]:
        """The stored data as JSON-ready values. Credentials and sessions are left out: no
        password is ever written to disk."""
        with self._lock:
            state = self._state
            return {
                "version": 1,
                "counters": dict(state.counters),
                "sync_info": {"LeadRef": state.lead_ref, "SocieteType": state.societe_type},
                "lookups": {
                    name: [_encode_row(LOOKUP_TYPES[name], row) for row in rows]
                    for name, rows in state.lookups.items()
                },
                "cf_definitions": [asdict(d) for d in state.cf_definitions.values()],
                "cf_values": [asdict(v) for v in state.cf_by_ref.values()],
                "clients": [_encode_object("client", s) for s in state.clients.values()],
                "contacts": [_encode_object("contact", s) for s in state.contacts.values()],
                "leads": [_encode_object("lead", s) for s in state.leads.values()],
            }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the stored data with a snapshot() (sessions are dropped)."""
        state = EmulatorState()
        state.counters.update({k: int(v) for k, v in snapshot.get("counters", {}).items()})
        sync_info = snapshot.get("sync_info", {})
        state.lead_ref = int(sync_info.get("LeadRef", state.lead_ref))
        state.societe_type = int(sync_info.get("SocieteType", state.societe_type))
        for name, rows in snapshot.get("lookups", {}).items():
            fields = FIELDS_BY_NAME[LOOKUP_TYPES[name]]
            state.lookups[name] = [
                {k: coerce_scalar(fields[k].kind, v) for k, v in r.items()} for r in rows
            ]
        for d in snapshot.get("cf_definitions", []):
            state.cf_definitions[int(d["ines_id"])] = CfDefinition(**d)
        for v in snapshot.get("cf_values", []):
            state.add_cf_value(CfValue(**v))
        for concept, key in (("client", "clients"), ("contact", "contacts"), ("lead", "leads")):
            for item in snapshot.get(key, []):
                stored = _decode_object(concept, item)
                state.store(concept)[stored.ref] = stored
        with self._lock:
            self._state = state
            self._sessions.clear()
            self._touch()

    def save_state(self, path: str | os.PathLike[str]) -> None:
        target = Path(path)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(
            json.dumps(self.snapshot(), indent=1, ensure_ascii=False), encoding="utf-8"
        )
        os.replace(temporary, target)  # never leave a half-written state file behind

    def load_state(self, path: str | os.PathLike[str]) -> None:
        self.restore(json.loads(Path(path).read_text(encoding="utf-8")))

    # -- admin HTTP (admin_http=True only)

    def _admin(self, request: Request, hook: str) -> Reply:
        if hook not in _ADMIN_HOOKS:
            return _json_reply(404, {"error": f"unknown hook {hook!r}"})
        try:
            kwargs = self._admin_kwargs(request)
            result = getattr(self, hook)(**kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            return _json_reply(400, {"error": str(exc)})
        return _json_reply(200, {"result": result})

    @staticmethod
    def _admin_kwargs(request: Request) -> dict[str, Any]:
        if request.method == "POST" and request.get_data():
            data = json.loads(request.get_data())
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object of keyword arguments")
            return data
        # Query strings carry text only: numbers are numbers again.
        return {k: int(v) if re.fullmatch(r"-?\d+", v) else v for k, v in request.args.items()}


# --- helpers over the field tables -------------------------------------------------------------

_ENUM_DEFAULTS = {
    "client": {"Confidentiality": "Undefined"},
    "contact": {"Confidentiality": "Undefined", "Rang": "Principal"},
}


def _blank_fields(fields: Iterable[Field]) -> dict[str, Any]:
    """The members of a .NET `new T()`: numbers 0, false, no date, null strings."""
    blank: dict[str, Any] = {}
    for f in fields:
        if f.optional or f.kind in ("str", "dt", "obj", "list"):
            blank[f.name] = None
        elif f.kind == "bool":
            blank[f.name] = False
        elif f.kind == "num":
            blank[f.name] = Decimal(0)
        else:
            blank[f.name] = 0
    return blank


def _concept_field_map(concept: str) -> dict[str, Field]:
    return {f.name: f for f in _CONCEPT_FIELDS[concept]}


def _coerce_fields(concept: str, values: Mapping[str, Any]) -> dict[str, Any]:
    fields = _concept_field_map(concept)
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"unknown {concept} fields: {sorted(unknown)}")
    return {name: coerce_scalar(fields[name].kind, value) for name, value in values.items()}


def _view(stored: StoredObject) -> dict[str, Any]:
    """Stored fields plus lower-case meta keys, which no INES field name can clash with."""
    return {
        **stored.fields,
        "ref": stored.ref,
        "created": stored.created,
        "deleted": stored.deleted,
        "unsynced": stored.unsynced,
    }


def _cf_to_auto(definition: CfDefinition) -> dict[str, Any]:
    return {
        "InesID": definition.ines_id,
        "InesName": definition.name,
        "Type": definition.type,
        "ValueList": list(definition.values),
    }


def _encode_row(type_name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    fields = FIELDS_BY_NAME[type_name]
    return {k: encode_scalar(fields[k].kind, v, "omit") for k, v in row.items() if v is not None}


def _encode_object(concept: str, stored: StoredObject) -> dict[str, Any]:
    fields = _concept_field_map(concept)
    return {
        "ref": stored.ref,
        "deleted": stored.deleted,
        "unsynced": stored.unsynced,
        "created": stored.created.isoformat() if stored.created else None,
        "fields": {
            name: encode_scalar(fields[name].kind, value, "omit")
            for name, value in stored.fields.items()
            if name in fields and value is not None
        },
    }


def _decode_object(concept: str, item: Mapping[str, Any]) -> StoredObject:
    fields = _blank_fields(_CONCEPT_FIELDS[concept])
    fields.update(_coerce_fields(concept, item.get("fields", {})))
    created = item.get("created")
    return StoredObject(
        int(item["ref"]),
        fields,
        bool(item.get("deleted")),
        bool(item.get("unsynced")),
        datetime.fromisoformat(created) if created else None,
    )


def _json_reply(status: int, payload: Any) -> Reply:
    body = json.dumps(payload, default=_json_default, ensure_ascii=False).encode()
    return Reply(status, body, JSON_CONTENT_TYPE)


# --- demo data ---------------------------------------------------------------------------------


def demo_seed() -> dict[str, Any]:
    """The demo data of §5.3: users, types, origins, clients with contacts and one custom field
    per type and concept (plus one of an unsupported type, which clients must ignore).

    Ids are explicit so that the custom-field values below point at the right objects."""
    definitions = []
    labels = {"contact": "contact", "client": "société", "lead": "affaire"}
    first_id = {"contact": 11, "client": 41, "lead": 71}
    for concept in CONCEPTS:
        for offset, cf_type in enumerate(CF_TYPES):
            definitions.append(
                {
                    "InesID": first_id[concept] + offset,
                    "concept": concept,
                    "name": f"{cf_type.capitalize()} ({labels[concept]})",
                    "type": cf_type,
                    "values": ["Industrie", "Services", "Commerce"] if cf_type == "list" else [],
                    "exposed": concept != "lead",  # GetSyncInfo lists contact and company fields
                }
            )
    definitions.append(
        {"InesID": 30, "concept": "contact", "name": "Notes internes", "type": "memo"}
    )
    return {
        "sync_info": {"LeadRef": 3, "SocieteType": 2},
        "lookups": _demo_lookups(),
        "cf_definitions": definitions,
        "clients": _demo_clients(),
        "cf_values": [
            {"concept": "contact", "owner": 5001, "definition": 11, "value": "Client fidèle"},
            {"concept": "client", "owner": 1001, "definition": 43, "value": "Industrie"},
        ],
    }


def _demo_lookups() -> dict[str, list[dict[str, Any]]]:
    return {
        "client_types": [
            {"InternalRef": 1, "Description": "Client", "Order": 2},
            {"InternalRef": 2, "Description": "Prospect", "Order": 1},
            {"InternalRef": 3, "Description": "Partenaire", "Order": 3},
        ],
        "contact_types": [
            {"InternalRef": 1, "Description": "Décideur", "Order": 1},
            {"InternalRef": 2, "Description": "Utilisateur", "Order": 2},
            {"InternalRef": 3, "Description": "Comptabilité", "Order": 2},
        ],
        "origins": [
            {"InternalRef": 1, "Description": "Salon"},
            {"InternalRef": 2, "Description": "Site web"},
            {"InternalRef": 3, "Description": "Recommandation"},
        ],
        "users": [
            {"UserRef": 1, "RHRef": 11, "LastName": "Martin", "FirstName": "Claire"},
            {"UserRef": 2, "RHRef": 12, "LastName": "Bernard", "FirstName": "Luc"},
            {"UserRef": 3, "RHRef": 0, "LastName": "Petit", "FirstName": "Inès"},
        ],
    }


def _demo_clients() -> list[dict[str, Any]]:
    def contact(ref: int, first: str, last: str, email: str, **extra: Any) -> dict[str, Any]:
        return {
            "InternalRef": ref,
            "FirstName": first,
            "LastName": last,
            "PrimaryMailAddress": email,
            "Type": 1,
            **extra,
        }

    return [
        {
            "InternalRef": 1001,
            "CompanyName": "Durand SA",
            "Type": 1,
            "Address1": "12 rue des Lilas",
            "ZipCode": "69003",
            "City": "Lyon",
            "Country": "France",
            "Phone": "04 72 00 00 01",
            "Origin": 1,
            "Manager": 1,
            "Contacts": [
                contact(
                    5001, "Paul", "Durand", "paul@durand.example", Function="Directeur", Scoring=15
                ),
                contact(5002, "Anne", "Durand", "anne@durand.example", Type=2),
            ],
        },
        {
            "InternalRef": 1002,
            "CompanyName": "Atelier Moreau",
            "Type": 2,
            "City": "Nantes",
            "Country": "France",
            "Website": "https://moreau.example",
            "Origin": 2,
            "Contacts": [contact(5003, "Julie", "Moreau", "julie@moreau.example", Desabo=1)],
        },
        {
            "InternalRef": 1003,
            "CompanyName": "Lefèvre & Fils",
            "Type": 3,
            "City": "Lille",
            "Country": "France",
            "Contacts": [
                contact(
                    5004,
                    "Marc",
                    "Lefèvre",
                    "marc@lefevre.example",
                    DateOfBirth="1970-05-17T00:00:00",
                ),
                contact(5005, "Sophie", "Roux", "sophie@lefevre.example", NPai=1),
            ],
        },
    ]


# --- command line ------------------------------------------------------------------------------


def _parse_user(text: str) -> tuple[str, str, str]:
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError("expected ACCOUNT:USER:PASSWORD")
    return parts[0], parts[1], parts[2]


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="listbridge emulator ines",
        description="Run the INES CRM web service emulator on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument(
        "--user",
        action="append",
        type=_parse_user,
        metavar="ACCOUNT:USER:PASSWORD",
        help="a login the emulator accepts (repeatable; default DEMO:demo:demo-pass-1)",
    )
    parser.add_argument("--demo", action="store_true", help="start with demo data")
    parser.add_argument(
        "--state", type=Path, metavar="FILE", help="load the data from FILE and save it back"
    )
    parser.add_argument(
        "--admin-http", action="store_true", help="serve the test hooks under /_emulator/"
    )
    parser.add_argument(
        "--strict", action="store_true", help="lenient=false: exact namespace and SOAPAction"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`listbridge emulator ines`: serve in the foreground, print the base URL, stop on Ctrl-C."""
    args = _argument_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emulator = InesEmulator(
        port=args.port,
        users=args.user or [DEFAULT_USER],
        admin_http=args.admin_http,
        lenient=not args.strict,
    )
    if args.state is not None and args.state.exists():
        emulator.load_state(args.state)
    elif args.demo:
        emulator.seed_demo()
    try:
        emulator.start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(emulator.base_url, flush=True)
    _serve_until_interrupted(emulator, args.state)
    return 0


def _serve_until_interrupted(emulator: InesEmulator, state_file: Path | None) -> None:
    saved = -1
    try:
        while True:
            time.sleep(0.5)
            if state_file is not None and emulator.version != saved:
                saved = emulator.version
                emulator.save_state(state_file)  # saved as it changes: a kill loses little
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if state_file is not None:
            emulator.save_state(state_file)


if __name__ == "__main__":
    sys.exit(main())
