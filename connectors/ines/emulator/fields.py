"""Helpers over the field tables: blank records, coercion, views and the JSON of snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.emulation import json_default
from connectors.ines.emulator.state import (
    _CONCEPT_FIELDS,
    JSON_CONTENT_TYPE,
    CfDefinition,
    Reply,
    StoredObject,
)
from connectors.ines.emulator_wsdl import (
    FIELDS_BY_NAME,
    Field,
    coerce_scalar,
    encode_scalar,
)

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
    body = json.dumps(payload, default=json_default, ensure_ascii=False).encode()
    return Reply(status, body, JSON_CONTENT_TYPE)
