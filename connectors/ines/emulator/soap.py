"""SOAP 1.1 in and out: reading request elements by the field tables, writing answers and faults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

from connectors.ines.emulator.state import (
    _ABSENT,
    XML_DECLARATION,
    SoapFault,
    _read_fault,
)
from connectors.ines.emulator_wsdl import (
    FIELDS_BY_NAME,
    SOAP_ENV_NS,
    TYPES,
    XSD_NS,
    XSI_NS,
    Field,
    Operation,
    WireValueError,
    decode_scalar,
    encode_scalar,
)

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
