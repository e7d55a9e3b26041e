"""Wire model of the INES CRM web services, shared by the emulator and its WSDL.

The field tables below are the single source of truth for the emulator: requests are parsed
with them, answers are built from them and each service's WSDL is generated from them, so an
answer always validates against the WSDL the same server hands out (shared/api/ines.md §2, §5.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

DEFAULT_NAMESPACE = "http://webservice.ines.fr"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP_HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"

# .NET writes DateTime.MinValue for "no date"; ListBridge reads it as empty (§1.5).
MIN_DATE_TEXT = "0001-01-01T00:00:00"

# Scalar kinds. "flag" is Desabo/NPai: their real type is unknown, 0/1 is valid both as
# xs:boolean and xs:int, so the emulator takes either spelling and answers 0/1 (§1.5).
SCALAR_XSD: dict[str, str] = {
    "int": "int",
    "str": "string",
    "dt": "dateTime",
    "num": "decimal",
    "bool": "boolean",
    "flag": "int",
}
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class Field:
    """One element of a request or answer, in wire order.

    kind is a scalar kind (see SCALAR_XSD), "obj" (a complex type named type_name) or "list"
    (a wrapper of repeated items named item; item scalars have kind item_kind).
    """

    name: str
    kind: str
    type_name: str = ""
    item: str = ""
    item_kind: str = ""
    optional: bool = False  # 2019+ fields: stored as None and omitted until someone sets them


def _scalars(kind: str, names: str, optional: bool = False) -> tuple[Field, ...]:
    return tuple(Field(name, kind, optional=optional) for name in names.split())


def _list_of(name: str, type_name: str) -> Field:
    return Field(name, "list", type_name=type_name, item=type_name)


STRING_LIST = "string"  # ArrayOfString, as ASP.NET names a string[] member


def _string_list(name: str) -> Field:
    return Field(name, "list", item=STRING_LIST, item_kind="str")


# §2.4 Client, wire order.
CLIENT_FIELDS: tuple[Field, ...] = (
    *_scalars("str", "Confidentiality CompanyName"),
    *_scalars("int", "Type"),
    *_scalars(
        "str", "Service Address1 Address2 ZipCode City State Country Phone Fax Website Comments"
    ),
    *_scalars("int", "Manager SalesResponsable TechnicalResponsable"),
    *_scalars("dt", "CreationDate ModifiedDate"),
    *_scalars("int", "Origin CustomerNumber"),
    *_scalars("str", "CompanyTaxCode"),
    *_scalars("num", "VatTax"),
    *_scalars("str", "Bank BankAccount PaymentMethod"),
    *_scalars("int", "PaymentMethodRef"),
    *_scalars("num", "Discount HeadQuarter"),
    *_scalars("str", "Language Activity AccountingCode Scoring"),
    *_scalars("num", "Remainder MaxRemainder Moral Folder"),
    *_scalars("str", "Currency"),
    *_scalars("num", "BankReference TaxType VatTaxValue Creator Delivery Billing"),
    *_scalars("bool", "IsNew"),
    *_scalars("int", "AutomationRef InternalRef"),
    *_scalars("int", "Effectif", optional=True),
    *_scalars("num", "CA", optional=True),
)

# §2.4 Contact (ContactInfoAuto), wire order.
CONTACT_FIELDS: tuple[Field, ...] = (
    *_scalars("int", "Author"),
    *_scalars("str", "BusinessAddress BussinesTelephone City Comment"),
    *_scalars("int", "CompanyRef"),
    *_scalars("str", "Confidentiality Country"),
    *_scalars("dt", "CreationDate DateOfBirth"),
    *_scalars("str", "Fax FirstName Function Genre HomeAddress HomeTelephone"),
    *_scalars("bool", "IsNew"),
    *_scalars("str", "Language LastName MobilePhone"),
    *_scalars("dt", "ModificationDate"),
    *_scalars("str", "PrimaryMailAddress Rang SecondaryMailAddress Service"),
    *_scalars("int", "Type"),
    *_scalars("str", "State ZipCode"),
    *_scalars("flag", "Desabo NPai"),
    *_scalars("int", "InternalRef AutomationRef Scoring"),
)

# §2.4 Lead info, wire order.
LEAD_FIELDS: tuple[Field, ...] = (
    *_scalars("int", "ClRef CtRef"),
    *_scalars("str", "MailExpe DescriptionCourte ReclaDescDetail"),
    *_scalars(
        "int",
        "FileRef CriticiteRef TypeRef EtatRef OrigineRef DossierRef CampagneRef ArticleRef "
        "ReclaMere Propietaire Gestionnaire",
    ),
    *_scalars("int", "AutomationScoring", optional=True),
)

CONTACT_TYPE = "ContactInfoAuto"

# Every complex type of every service; a WSDL only carries the ones its operations reach.
TYPES: dict[str, tuple[Field, ...]] = {
    "AuthenticationRequest": (
        *_scalars("str", "compte userName password"),
        Field("url", "str", optional=True),  # sent by 2019+ clients, ignored (§1.3)
    ),
    "AuthenticationResult": _scalars("str", "codeReturn idSession"),
    CONTACT_TYPE: CONTACT_FIELDS,
    "ClientInfo": CLIENT_FIELDS,
    "ClientInfoAuto": (*CLIENT_FIELDS, _list_of("Contacts", CONTACT_TYPE)),
    "LeadInfo": LEAD_FIELDS,
    "SyncInfo": (
        *_scalars("int", "LeadRef SocieteType"),
        _list_of("CompanyCustomFields", "CustomFieldToAuto"),
        _list_of("ContactCustomFields", "CustomFieldToAuto"),
    ),
    "CustomFieldToAuto": (
        Field("InesID", "int"),
        *_scalars("str", "InesName Type"),
        _string_list("ValueList"),
    ),
    "ContactTypeInfo": (
        Field("InternalRef", "int"),
        Field("Description", "str"),
        Field("Order", "int"),
    ),
    "ClientTypeInfo": (
        Field("InternalRef", "int"),
        Field("Description", "str"),
        Field("Order", "int"),
    ),
    "OriginInfo": (Field("InternalRef", "int"), Field("Description", "str")),
    "UserInfoRH": (*_scalars("int", "UserRef RHRef"), *_scalars("str", "LastName FirstName Name")),
    "CustomFieldsInfo": (
        _list_of("Values", "CustomField"),
        _list_of("Definitions", "CustomFieldDefinition"),
        _list_of("Groups", "CustomFieldGroup"),
    ),
    "CustomField": (Field("DefinitionRef", "int"), Field("Ref", "int"), Field("Value", "str")),
    "CustomFieldDefinition": (
        Field("Ref", "int"),
        *_scalars("str", "Name Type"),
        Field("GroupRef", "int"),
        _string_list("ValueList"),
    ),
    "CustomFieldGroup": (Field("Ref", "int"), Field("Name", "str")),
}

FIELDS_BY_NAME: dict[str, dict[str, Field]] = {
    type_name: {f.name: f for f in fields} for type_name, fields in TYPES.items()
}


@dataclass(frozen=True)
class Operation:
    name: str
    params: tuple[Field, ...]
    result: Field | None  # the …Result element; None only for operations without one
    authenticated: bool = True

    @property
    def result_name(self) -> str:
        return f"{self.name}Result"


@dataclass(frozen=True)
class Service:
    key: str  # the name tests and hooks use
    path: str  # the spelling of §1.1; requests match it in any case
    operations: dict[str, Operation] = field(default_factory=dict)


def _op(name: str, params: tuple[Field, ...], result: Field | None, auth: bool = True) -> Operation:
    return Operation(name, params, result, auth)


def _obj(name: str, type_name: str) -> Field:
    return Field(name, "obj", type_name=type_name)


def _int(name: str) -> Field:
    return Field(name, "int")


def _res(op: str, kind: str, type_name: str = "") -> Field:
    """The …Result element of op: a scalar kind, "obj" of type_name or "list" of type_name."""
    if kind == "obj":
        return _obj(f"{op}Result", type_name)
    if kind == "list":
        return _list_of(f"{op}Result", type_name)
    return Field(f"{op}Result", kind)


def _cf_ops(concept_param: str, suffix: str, with_update: bool) -> list[Operation]:
    insert_params = (
        _int(concept_param),
        _int("chdefRef"),
        Field("chpValue", "str"),
        _int("chvLies"),
        _int("chvGroupeAssoc"),
    )
    update_params = (
        _int(concept_param),
        _int("chdefRef"),
        _int("chpRef"),
        Field("chpValue", "str"),
    )
    ops = [
        _op(
            f"Get{suffix}CF",
            (_int("reference"),),
            _res(f"Get{suffix}CF", "obj", "CustomFieldsInfo"),
        ),
        _op(f"Insert{suffix}CF", insert_params, _res(f"Insert{suffix}CF", "int")),
    ]
    if with_update:
        ops.append(_op(f"Update{suffix}CF", update_params, _res(f"Update{suffix}CF", "int")))
    return ops


def _service(key: str, path: str, ops: list[Operation]) -> Service:
    return Service(key, path, {op.name: op for op in ops})


LOGIN = "login"
ICM = "wsicm"
CF = "wscf"
AUTOMATION = "WSAutomationSync"

SERVICES: dict[str, Service] = {
    LOGIN: _service(
        LOGIN,
        "/wslogin/login.asmx",
        [
            _op(
                "authenticationWs",
                (_obj("request", "AuthenticationRequest"),),
                _res("authenticationWs", "obj", "AuthenticationResult"),
                auth=False,
            )
        ],
    ),
    ICM: _service(
        ICM,
        "/ws/wsicm.asmx",
        [
            _op("GetContact", (_int("reference"),), _res("GetContact", "obj", CONTACT_TYPE)),
            _op("GetClient", (_int("reference"),), _res("GetClient", "obj", "ClientInfo")),
            _op(
                "UpdateClient",
                (_obj("client", "ClientInfo"),),
                _res("UpdateClient", "obj", "ClientInfo"),
            ),
            _op(
                "AddClient", (_obj("client", "ClientInfo"),), _res("AddClient", "obj", "ClientInfo")
            ),
            _op("GetTypeContactList", (), _res("GetTypeContactList", "list", "ContactTypeInfo")),
            _op("GetTypeClientList", (), _res("GetTypeClientList", "list", "ClientTypeInfo")),
            _op("GetOriginList", (), _res("GetOriginList", "list", "OriginInfo")),
            _op("GetUserInfoFromUserRef", (), _res("GetUserInfoFromUserRef", "list", "UserInfoRH")),
            _op("GetUserInfoFromRHRef", (), _res("GetUserInfoFromRHRef", "list", "UserInfoRH")),
        ],
    ),
    CF: _service(
        CF,
        "/ws/wscf.asmx",
        [
            *_cf_ops("ctRef", "Contact", with_update=True),
            *_cf_ops("clRef", "Company", with_update=True),
            *_cf_ops("ReclaRef", "Lead", with_update=False),
        ],
    ),
    AUTOMATION: _service(
        AUTOMATION,
        "/ws/WSAutomationSync.asmx",
        [
            _op("GetSyncInfo", (), _res("GetSyncInfo", "obj", "SyncInfo")),
            _op(
                "AddClientWithContacts",
                (_obj("client", "ClientInfoAuto"),),
                _res("AddClientWithContacts", "obj", "ClientInfoAuto"),
            ),
            _op("UpdateContact", (_obj("contact", CONTACT_TYPE),), _res("UpdateContact", "int")),
            _op("AddLead", (_obj("info", "LeadInfo"),), _res("AddLead", "int")),
            _op(
                "DeleteAutomationContact",
                (_int("InesRef"),),
                _res("DeleteAutomationContact", "str"),
            ),
            _op(
                "AddContact",
                (
                    _obj("contact", CONTACT_TYPE),
                    _int("AutomationRef"),
                    _int("clientRef"),
                    _int("scoring"),
                    Field("desabo", "flag"),
                    Field("npai", "flag"),
                ),
                _res("AddContact", "obj", CONTACT_TYPE),
            ),
            _op(
                "UpdateClient",
                (_obj("client", "ClientInfoAuto"),),
                _res("UpdateClient", "obj", "ClientInfoAuto"),
            ),
        ],
    ),
}

SERVICE_BY_PATH: dict[str, str] = {svc.path.lower(): key for key, svc in SERVICES.items()}


def soap_action(namespace: str, operation: str) -> str:
    """`<ns>/<Op>` (§1.2); like ASP.NET, a namespace already ending in / gets no second one."""
    return f"{namespace}{operation}" if namespace.endswith("/") else f"{namespace}/{operation}"


# --- scalar codecs -------------------------------------------------------------------------


class WireValueError(ValueError):
    """A request value .NET's XmlSerializer would refuse (empty number, bad date, …)."""


_DT_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?\s*$"
)
_BOOL_TEXT = {"true": True, "1": True, "false": False, "0": False}


def decode_scalar(kind: str, text: str) -> Any:
    """Wire text → Python value: int, str, Decimal, bool, 0/1 or datetime (None = no date)."""
    if kind == "str":
        return text
    stripped = text.strip()
    if kind == "int":
        return _decode_int(stripped)
    if kind == "num":
        return _decode_num(stripped)
    if kind in ("bool", "flag"):
        if stripped not in _BOOL_TEXT:
            raise WireValueError(f"'{stripped}' is not a valid boolean")
        value = _BOOL_TEXT[stripped]
        return int(value) if kind == "flag" else value
    if kind == "dt":
        return _decode_dt(stripped)
    raise ValueError(f"unknown scalar kind {kind}")


def _decode_int(text: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text):
        raise WireValueError("Input string was not in a correct format.")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise WireValueError("Value was either too large or too small for an Int32.")
    return value


def _decode_num(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise WireValueError("Input string was not in a correct format.") from None
    if not value.is_finite():
        raise WireValueError("Input string was not in a correct format.")
    return value


def _decode_dt(text: str) -> datetime | None:
    match = _DT_RE.match(text)
    if not match:
        raise WireValueError(f"The string '{text}' is not a valid AllXsd value.")
    year, month, day, hour, minute, second = (int(p) for p in match.groups()[:6])
    try:
        value = datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise WireValueError(f"The string '{text}' is not a valid AllXsd value.") from None
    # Offsets are dropped on purpose: INES works in local wall time without offset (§1.5).
    return None if value == datetime(1, 1, 1) else value


def encode_scalar(kind: str, value: Any, null_dates: str = "min_value") -> str | None:
    """Python value → wire text; None means "leave the element out"."""
    if value is None:
        return MIN_DATE_TEXT if kind == "dt" and null_dates == "min_value" else None
    if kind == "str":
        return str(value)
    if kind == "bool":
        return "true" if value else "false"
    if kind == "flag":
        return "1" if value else "0"
    if kind == "dt":
        return value.strftime("%Y-%m-%dT%H:%M:%S") if value.year >= 1000 else value.isoformat()
    if kind == "num":
        return _format_decimal(Decimal(value))
    return str(int(value))


def _format_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def coerce_scalar(kind: str, value: Any) -> Any:
    """A value given by Python code (hooks, seeds, JSON) → the stored Python value."""
    if value is None or (isinstance(value, str) and kind != "str"):
        return None if value is None else decode_scalar(kind, value)
    if kind == "dt":
        if isinstance(value, datetime):
            return value.replace(tzinfo=None, microsecond=0)
        return datetime(value.year, value.month, value.day)  # a date
    if kind == "num":
        return Decimal(str(value))
    if kind == "bool":
        return bool(value)
    if kind == "flag":
        return 1 if value else 0
    if kind == "int":
        return int(value)
    return str(value)


# --- WSDL --------------------------------------------------------------------------------------

_S = f"{{{XSD_NS}}}"
_W = f"{{{WSDL_NS}}}"
_SOAP = f"{{{WSDL_SOAP_NS}}}"
SESSION_HEADER = "SessionID"


def build_wsdl(service: Service, namespace: str, location: str) -> bytes:
    """The WSDL of one service, shaped like what ASP.NET generates for an .asmx (§5.1)."""
    nsmap = {"wsdl": WSDL_NS, "soap": WSDL_SOAP_NS, "s": XSD_NS, "tns": namespace}
    root = etree.Element(_W + "definitions", nsmap=nsmap, targetNamespace=namespace)
    _add_types(root, service, namespace)
    ops = list(service.operations.values())
    for op in ops:
        _add_messages(root, op)
    port_type = etree.SubElement(root, _W + "portType", name=f"{service.key}Soap")
    for op in ops:
        pt_op = etree.SubElement(port_type, _W + "operation", name=op.name)
        etree.SubElement(pt_op, _W + "input", message=f"tns:{op.name}SoapIn")
        etree.SubElement(pt_op, _W + "output", message=f"tns:{op.name}SoapOut")
    _add_binding(root, service, namespace)
    svc = etree.SubElement(root, _W + "service", name=service.key)
    port = etree.SubElement(
        svc, _W + "port", name=f"{service.key}Soap", binding=f"tns:{service.key}Soap"
    )
    etree.SubElement(port, _SOAP + "address", location=location)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + etree.tostring(root, pretty_print=True)


def _add_types(root: etree._Element, service: Service, namespace: str) -> None:
    types = etree.SubElement(root, _W + "types")
    schema = etree.SubElement(
        types, _S + "schema", elementFormDefault="qualified", targetNamespace=namespace
    )
    for op in service.operations.values():
        _add_wrapper(schema, op.name, op.params, params=True)
        _add_wrapper(schema, f"{op.name}Response", (op.result,) if op.result else (), params=False)
    for type_name in sorted(_reachable_types(service)):
        _add_complex_type(schema, type_name, TYPES[type_name])
    for array in sorted(_reachable_arrays(service)):
        _add_array_type(schema, array)
    if any(op.authenticated for op in service.operations.values()):
        etree.SubElement(schema, _S + "element", name=SESSION_HEADER, type=f"tns:{SESSION_HEADER}")
        header = etree.SubElement(schema, _S + "complexType", name=SESSION_HEADER)
        seq = etree.SubElement(header, _S + "sequence")
        _add_element(seq, Field("ID", "str"), optional=True)
        etree.SubElement(header, _S + "anyAttribute")


def _add_wrapper(
    schema: etree._Element, name: str, fields: tuple[Field, ...], params: bool
) -> None:
    element = etree.SubElement(schema, _S + "element", name=name)
    seq = etree.SubElement(etree.SubElement(element, _S + "complexType"), _S + "sequence")
    for f in fields:
        # Value-type parameters are required as ASP.NET declares them; a …Result is optional
        # because invalid_session=empty and missing_object=absent answer without it.
        optional = not params or f.kind not in ("int", "num", "bool", "flag", "dt")
        _add_element(seq, f, optional=optional)


def _add_complex_type(schema: etree._Element, name: str, fields: tuple[Field, ...]) -> None:
    complex_type = etree.SubElement(schema, _S + "complexType", name=name)
    seq = etree.SubElement(complex_type, _S + "sequence")
    for f in fields:
        # Every member is optional: the service accepts omitted members (§1.5) and answers may
        # omit null strings, null dates (null_dates=omit) and unset 2019+ members.
        _add_element(seq, f, optional=True)


def _add_array_type(schema: etree._Element, item: str) -> None:
    complex_type = etree.SubElement(schema, _S + "complexType", name=_array_name(item))
    seq = etree.SubElement(complex_type, _S + "sequence")
    item_type = "s:string" if item == STRING_LIST else f"tns:{item}"
    attrs = {"minOccurs": "0", "maxOccurs": "unbounded", "name": item, "type": item_type}
    if item != STRING_LIST:
        attrs["nillable"] = "true"
    etree.SubElement(seq, _S + "element", attrs)


def _add_element(seq: etree._Element, f: Field, optional: bool) -> None:
    if f.kind == "obj":
        type_ref = f"tns:{f.type_name}"
    elif f.kind == "list":
        type_ref = f"tns:{_array_name(f.item)}"
    else:
        type_ref = f"s:{SCALAR_XSD[f.kind]}"
    attrs = {
        "minOccurs": "0" if optional else "1",
        "maxOccurs": "1",
        "name": f.name,
        "type": type_ref,
    }
    etree.SubElement(seq, _S + "element", attrs)


def _array_name(item: str) -> str:
    return "ArrayOfString" if item == STRING_LIST else f"ArrayOf{item}"


def _walk_fields(service: Service) -> list[Field]:
    """Every field reachable from the service's operations, nested types included."""
    seen: set[str] = set()
    found: list[Field] = []
    stack = [
        f
        for op in service.operations.values()
        for f in (*op.params, *([op.result] if op.result else []))
    ]
    while stack:
        f = stack.pop()
        found.append(f)
        nested = f.type_name if f.kind in ("obj", "list") and f.type_name else ""
        if nested and nested not in seen:
            seen.add(nested)
            stack.extend(TYPES[nested])
    return found


def _reachable_types(service: Service) -> set[str]:
    return {f.type_name for f in _walk_fields(service) if f.type_name}


def _reachable_arrays(service: Service) -> set[str]:
    return {f.item for f in _walk_fields(service) if f.kind == "list"}


def _add_messages(root: etree._Element, op: Operation) -> None:
    for suffix, element in (("SoapIn", op.name), ("SoapOut", f"{op.name}Response")):
        message = etree.SubElement(root, _W + "message", name=f"{op.name}{suffix}")
        etree.SubElement(message, _W + "part", name="parameters", element=f"tns:{element}")
    if op.authenticated:
        message = etree.SubElement(root, _W + "message", name=f"{op.name}{SESSION_HEADER}")
        etree.SubElement(message, _W + "part", name=SESSION_HEADER, element=f"tns:{SESSION_HEADER}")


def _add_binding(root: etree._Element, service: Service, namespace: str) -> None:
    binding = etree.SubElement(
        root, _W + "binding", name=f"{service.key}Soap", type=f"tns:{service.key}Soap"
    )
    etree.SubElement(binding, _SOAP + "binding", transport=SOAP_HTTP_TRANSPORT)
    for op in service.operations.values():
        b_op = etree.SubElement(binding, _W + "operation", name=op.name)
        etree.SubElement(
            b_op, _SOAP + "operation", soapAction=soap_action(namespace, op.name), style="document"
        )
        b_in = etree.SubElement(b_op, _W + "input")
        etree.SubElement(b_in, _SOAP + "body", use="literal")
        if op.authenticated:
            etree.SubElement(
                b_in,
                _SOAP + "header",
                message=f"tns:{op.name}{SESSION_HEADER}",
                part=SESSION_HEADER,
                use="literal",
            )
        b_out = etree.SubElement(b_op, _W + "output")
        etree.SubElement(b_out, _SOAP + "body", use="literal")
