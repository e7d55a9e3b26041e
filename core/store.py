"""Writing to the marketing store: the one path for every create, edit and delete.

Dialogs, imports and integrations all save through here, so emails are validated and normalised
the same way, custom fields are typed, and change listeners (``core.changes``) hear about it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import email_validator
import peewee as pw

from core.changes import RecordChange, notify
from core.clock import utcnow
from core.db import database_proxy
from core.models.store import (
    CHECKLIST_STATES,
    MODEL_FOR_KIND,
    ChecklistEntry,
    Company,
    Contact,
    CustomField,
    CustomValue,
    Lead,
    User,
    email_key,
)

Record = Contact | Lead | Company


class InvalidEmail(ValueError):
    """The address is not a valid email; the message says why, in the admin's words."""


class DuplicateEmail(ValueError):
    """Another record of the same kind already has this email."""


@functools.lru_cache(maxsize=65536)
def _validate(text: str) -> str:
    try:
        result = email_validator.validate_email(
            text, check_deliverability=False, allow_smtputf8=True
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return str(result.normalized)


def validate_email(text: str | None) -> str:
    """A normalised address, or ``InvalidEmail`` with the reason. No network is used."""
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidEmail("The email address is empty.")
    if len(cleaned) > 320:
        raise InvalidEmail("The email address is longer than 320 characters.")
    return _validate(cleaned)


@dataclass(frozen=True)
class FieldInfo:
    key: str
    label: str
    kind: str  # text, number, boolean, date, choice
    custom: bool = False
    choices: tuple[str, ...] = ()


_PERSON_FIELDS = [
    FieldInfo("email", "Email", "text"),
    FieldInfo("salutation", "Salutation", "text"),
    FieldInfo("first_name", "First name", "text"),
    FieldInfo("last_name", "Last name", "text"),
    FieldInfo("job_title", "Job title", "text"),
    FieldInfo("phone", "Phone", "text"),
    FieldInfo("mobile", "Mobile", "text"),
    FieldInfo("street", "Street", "text"),
    FieldInfo("street2", "Street (line 2)", "text"),
    FieldInfo("postal_code", "Postal code", "text"),
    FieldInfo("city", "City", "text"),
    FieldInfo("state", "State", "text"),
    FieldInfo("country", "Country", "text"),
    FieldInfo("active", "Active", "boolean"),
    FieldInfo("do_not_contact", "Do not contact", "boolean"),
    FieldInfo("points", "Points", "number"),
]
STANDARD_FIELDS: dict[str, list[FieldInfo]] = {
    "contact": _PERSON_FIELDS[:5] + [FieldInfo("company", "Company", "text")] + _PERSON_FIELDS[5:]
    + [FieldInfo("birth_date", "Birth date", "date")],
    "lead": _PERSON_FIELDS[:5] + [FieldInfo("company_name", "Company", "text")] + _PERSON_FIELDS[5:]
    + [FieldInfo("status", "Status", "choice", choices=("open", "qualified", "disqualified")),
       FieldInfo("source", "Source", "text")],
    "company": [
        FieldInfo("name", "Name", "text"),
        FieldInfo("email", "Email", "text"),
        FieldInfo("phone", "Phone", "text"),
        FieldInfo("fax", "Fax", "text"),
        FieldInfo("website", "Website", "text"),
        FieldInfo("street", "Street", "text"),
        FieldInfo("street2", "Street (line 2)", "text"),
        FieldInfo("postal_code", "Postal code", "text"),
        FieldInfo("city", "City", "text"),
        FieldInfo("state", "State", "text"),
        FieldInfo("country", "Country", "text"),
        FieldInfo("active", "Active", "boolean"),
        FieldInfo("do_not_contact", "Do not contact", "boolean"),
    ],
}


def fields_for(entity: str) -> list[FieldInfo]:
    """Every field of a kind, standard then custom: what mappings, filters and imports offer."""
    custom = [
        FieldInfo(f.key, f.label, f.kind, custom=True, choices=tuple(f.choices))
        for f in CustomField.select().where(CustomField.entity == entity).order_by(
            CustomField.position, CustomField.id)
    ]
    return list(STANDARD_FIELDS[entity]) + custom


def default_owner() -> User:
    owner = User.select().where(User.is_default == True).first()  # noqa: E712
    return owner or User.select().order_by(User.id).first()


# -- custom values -------------------------------------------------------------------------------

def parse_custom(kind: str, raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    if kind == "number":
        number = float(raw)
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        return raw.strip().lower() in ("1", "true", "yes", "y", "on", "oui", "ja")
    if kind == "date":
        return date.fromisoformat(raw[:10])
    return raw


def format_custom(kind: str, value: Any) -> str | None:
    """The text stored for a typed value; raises ValueError with a reason for bad input."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if kind == "number":
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if kind == "boolean":
        if isinstance(value, str):
            return "1" if parse_custom("boolean", value) else "0"
        return "1" if value else "0"
    if kind == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    return str(value)


def custom_values(entity: str, record_id: int) -> dict[str, Any]:
    query = (CustomValue.select(CustomValue.value, CustomField.key, CustomField.kind)
             .join(CustomField)
             .where(CustomField.entity == entity, CustomValue.record_id == record_id))
    return {row.field.key: parse_custom(row.field.kind, row.value) for row in query}


def set_custom_values(entity: str, record_id: int, values: dict[str, Any]) -> set[str]:
    """Store typed custom values; return the keys whose stored text changed."""
    if not values:
        return set()
    fields = {f.key: f for f in CustomField.select().where(CustomField.entity == entity,
                                                           CustomField.key.in_(list(values)))}
    unknown = set(values) - set(fields)
    if unknown:
        raise KeyError(f"Unknown custom field(s) for {entity}: {', '.join(sorted(unknown))}")
    existing = {cv.field_id: cv for cv in CustomValue.select().where(
        CustomValue.record_id == record_id, CustomValue.field.in_([f.id for f in fields.values()]))}
    changed: set[str] = set()
    for key, value in values.items():
        field = fields[key]
        text = format_custom(field.kind, value)
        current = existing.get(field.id)
        if current is None and text is None:
            continue
        if current is not None and current.value == text:
            continue
        if current is None:
            CustomValue.create(field=field, record_id=record_id, value=text)
        elif text is None:
            current.delete_instance()
        else:
            current.value = text
            current.save()
        changed.add(key)
    return changed


# -- records ---------------------------------------------------------------------------------------

def entity_of(record: Record) -> str:
    for kind, model in MODEL_FOR_KIND.items():
        if isinstance(record, model):
            return kind
    raise TypeError(f"not a store record: {record!r}")


def _snapshot(record: Record) -> dict[str, Any]:
    return {name: getattr(record, f.column_name if isinstance(f, pw.ForeignKeyField) else name)
            for name, f in record._meta.fields.items()}


def save_record(record: Record, custom: dict[str, Any] | None = None, origin: str = "user",
                quiet: bool = False) -> Record:
    """Validate and save a contact, lead or company (and its custom values); notify listeners.

    ``quiet`` saves without telling listeners: for writes a connector makes about its own sync
    (e.g. storing the remote refs), which must not queue the record again.
    """
    entity = entity_of(record)
    if record.email is not None and record.email.strip() == "":
        record.email = None
    if record.email is not None:
        record.email = validate_email(record.email)
    record.email_key = email_key(record.email)
    if isinstance(record, Company) and not (record.name or "").strip():
        raise ValueError("A company needs a name.")
    if record.email_key:
        model = type(record)
        clash = model.select(model.id).where(model.email_key == record.email_key)
        if record.id:
            clash = clash.where(model.id != record.id)
        if clash.exists():
            raise DuplicateEmail(f"Another {entity} already has the email {record.email}.")
    if getattr(record, "owner_id", None) is None and hasattr(record, "owner"):
        record.owner = default_owner()
    created = record.id is None
    before = {} if created else _snapshot(type(record).get_by_id(record.id))
    with database_proxy.atomic():
        record.save()
        changed_custom = set_custom_values(entity, record.id, custom or {})
    after = _snapshot(record)
    changed = {k for k, v in after.items() if before.get(k) != v} - {"updated", "created"}
    changed |= changed_custom
    if not quiet and (created or changed):
        notify(RecordChange(entity, record.id, "created" if created else "updated",
                            frozenset(changed), origin=origin))
    return record


def checklist(record: Record) -> dict[int, int]:
    """The record's newsletter checklist: state (0, 1, 2) by newsletter type id, answered only."""
    column = getattr(ChecklistEntry, entity_of(record))
    return {entry.newsletter_type_id: entry.state
            for entry in ChecklistEntry.select().where(column == record.id)}


def set_checklist(record: Record, states: dict[int, int], modified_by: str,
                  origin: str = "user") -> set[int]:
    """Store the record's answers (state by newsletter type id) and tell change listeners.

    Types not in ``states`` are left as they are; a type never answered and set to 0 ("not
    chosen") gets no row. Returns the ids whose state changed; listeners hear one change with
    the field ``checklist`` when there are any.
    """
    entity = entity_of(record)
    unknown = set(states.values()) - set(CHECKLIST_STATES)
    if unknown:
        raise ValueError(f"Unknown checklist state(s): {', '.join(map(str, sorted(unknown)))}")
    column = getattr(ChecklistEntry, entity)
    changed: set[int] = set()
    with database_proxy.atomic():
        existing = {e.newsletter_type_id: e for e in ChecklistEntry.select().where(
            column == record.id, ChecklistEntry.newsletter_type.in_(list(states)))}
        for type_id, state in states.items():
            entry = existing.get(type_id)
            if entry is None and state == 0 or entry is not None and entry.state == state:
                continue
            if entry is None:
                ChecklistEntry.create(newsletter_type=type_id, state=state,
                                      modified_by=modified_by, **{entity: record.id})
            else:
                entry.state, entry.modified_by, entry.modified_on = state, modified_by, utcnow()
                entry.save()
            changed.add(type_id)
    if changed:
        notify(RecordChange(entity, record.id, "updated", frozenset({"checklist"}),
                            origin=origin))
    return changed


def delete_record(record: Record, origin: str = "user") -> None:
    entity = entity_of(record)
    before = _snapshot(record)
    before["custom"] = custom_values(entity, record.id)
    company = record.company if isinstance(record, Contact) and record.company_id else None
    if company is not None:
        before["company_name"] = company.name
    if isinstance(record, Company):
        # Who loses the company: the foreign key clears their link without telling anyone.
        before["contact_ids"] = [row.id for row in Contact.select(Contact.id).where(
            Contact.company == record.id)]
    with database_proxy.atomic():
        CustomValue.delete().where(
            CustomValue.record_id == record.id,
            CustomValue.field.in_(CustomField.select(CustomField.id).where(
                CustomField.entity == entity))).execute()
        if isinstance(record, Contact):
            # The deferred key has no constraint in SQLite, so clear it by hand.
            Company.update(primary_contact=None).where(
                Company.primary_contact == record.id).execute()
        record.delete_instance()
    notify(RecordChange(entity, before["id"], "deleted", frozenset(), before, origin))


def touch(record: Record) -> None:
    record.updated = utcnow()
