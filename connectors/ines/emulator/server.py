"""The INES emulator's core: the loopback server, options, state, routing, SOAP envelopes,
sessions, injections, call records, and the object and custom-field helpers of the operations."""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Self

from lxml import etree
from werkzeug.wrappers import Request

from connectors.emulation import (
    HTML_ERROR_PAGE,
    Clock,
    LoopbackServer,
    RequestLog,
    redact_headers,
    set_transport,
)
from connectors.emulation.server import reason
from connectors.ines.emulator.fields import (
    _ENUM_DEFAULTS,
    _blank_fields,
)
from connectors.ines.emulator.soap import (
    _AnswerWriter,
    _RequestReader,
    _split_tag,
)
from connectors.ines.emulator.state import (
    _ABSENT,
    _CONCEPT_COUNTER,
    _CONCEPT_FIELDS,
    _DATE_STAMPS,
    _EARLY_KINDS,
    _OPTION_CHOICES,
    _PARAM_FIELDS,
    _XML_PARSER,
    CF_GROUP,
    DEFAULT_ENUMS,
    DEFAULT_USER,
    HTML_CONTENT_TYPE,
    OPTION_DEFAULTS,
    TEXT_CONTENT_TYPE,
    WSDL_OPERATION,
    XML_CONTENT_TYPE,
    XML_DECLARATION,
    Call,
    CfDefinition,
    CfValue,
    EmulatorState,
    Injection,
    Reply,
    Session,
    SoapFault,
    StoredObject,
    _read_fault,
    _server_fault,
    log,
)
from connectors.ines.emulator_wsdl import (
    DEFAULT_NAMESPACE,
    SERVICE_BY_PATH,
    SERVICES,
    SESSION_HEADER,
    SOAP12_ENV_NS,
    SOAP_ENV_NS,
    Operation,
    Service,
    build_wsdl,
    soap_action,
)


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


def _redact_params(params: dict[str, Any]) -> dict[str, Any]:
    request = params.get("request")
    if isinstance(request, dict) and "password" in request:
        return {**params, "request": {**request, "password": "***"}}
    return params


class EmulatorCore:
    """What every part of the INES emulator shares."""

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
        self._server = LoopbackServer(self._wsgi_app, port=port, name="ines-emulator")
        # One method per operation; UpdateClient serves wsicm and WSAutomationSync alike.
        self._handlers: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
            (key, name): getattr(self, f"_op_{name}")
            for key, service in SERVICES.items()
            for name in service.operations
        }
        self.configure(**options)
        self._init_state()

    # -- lifecycle

    def start(self) -> Self:
        if self._server.running:
            return self
        self._server.start()
        log.info("INES emulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        if not self._server.running:
            return
        self._server.stop()  # wakes injected delays and idle keep-alive connections
        log.info("INES emulator stopped")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

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
        if not hasattr(self, "_raw_log"):
            self._raw_log = RequestLog(maxlen=size)
        self._raw_log.resize(size)
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
            self._clock = Clock(fixed=self._initial_now, tz=None, whole_seconds=True)
            self._injections: list[Injection] = []
            # id(injection) -> (rate, its seeded draw), for injections given a rate
            self._injection_rates: dict[int, tuple[float, random.Random]] = {}
            self._calls: list[Call] = []
            self._raw_log.clear()
            self._calls_with_params.clear()
            self._version = 0
            if self._initial_seed:
                self.seed(self._initial_seed)

    def now(self) -> datetime:
        return self._clock.now()

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
            set_transport(environ, reply.transport)
        # The reply is complete bytes already: a plain WSGI answer spares werkzeug's Response
        # machinery on a path the benchmark takes 40,000 times.
        status = f"{reply.status} {reason(reply.status)}"
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
                    rate = self._injection_rates.get(id(injection))
                    if rate is not None and rate[1].random() >= rate[0]:
                        continue
                    if injection.times is not None:
                        injection.times -= 1
                        if injection.times <= 0:
                            self._injections.remove(injection)
                            self._injection_rates.pop(id(injection), None)
                    return injection
        return None

    def _sleep(self, injection: Injection) -> None:
        self._server.wait(float(injection.params.get("seconds", 1.0)))

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
            return Reply(status, HTML_ERROR_PAGE.encode(), HTML_CONTENT_TYPE, outcome=outcome)
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
            "headers": redact_headers(request.headers.items(), mask=None),
            "body": body,
            "status": reply.status,
            "content_type": reply.content_type,
            "response": reply.body,
        }
        self._raw_log.append(entry)

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

    @staticmethod
    def _service_key(service: str) -> str:
        wanted = service.lower()
        for key, svc in SERVICES.items():
            if wanted in (key.lower(), svc.path.lower(), svc.path.rsplit("/", 1)[-1].lower()):
                return key
        raise ValueError(f"unknown service {service!r}: one of {tuple(SERVICES)}")

    # Given by the hooks (declared here so that the core can call them).

    def seed(self, data: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def _admin(self, request: Request, hook: str) -> Reply:
        raise NotImplementedError
