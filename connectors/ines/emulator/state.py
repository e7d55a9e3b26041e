"""Options (§5.4), constants and the in-memory records of the INES emulator."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from connectors.ines.emulator_wsdl import (
    CLIENT_FIELDS,
    CONTACT_FIELDS,
    LEAD_FIELDS,
    SERVICES,
    Field,
)

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

_ABSENT = object()  # a handler's way of saying "answer without …Result"
_PARAM_FIELDS: dict[tuple[str, str], dict[str, Field]] = {
    (key, op.name): {f.name: f for f in op.params}
    for key, service in SERVICES.items()
    for op in service.operations.values()
}
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


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
