"""Importing contacts, leads or companies from a CSV file: headless, and from the GUI's worker.

The file is streamed and written in batches (one transaction each): values are checked in Python,
then new records go in with one ``executemany`` and existing ones are updated column set by column
set, which is what makes 100,000 rows take seconds instead of minutes. After each batch the change
listeners hear about every created or updated record (origin ``import``), progress is reported and
the cancel flag is read; a cancelled import keeps the batches already written.

Rules, in the admin's words:

- Records are matched by email, ignoring case: within the file (a later row's non-empty values
  are merged into the earlier one) and with the store (existing records get the file's non-empty
  values; an empty cell never clears anything). Companies without an email are matched by name.
- A contact or lead without an email is kept when it has a name; an invalid email, a value of the
  wrong type, broken quoting or more values than the header has columns reject the row, with its
  line number and the reason. Everything valid is kept.
- Text longer than its column is cut to the column's length, with a warning naming the line.
- Cells are stored as text and never evaluated; ``'=…`` written by our own export comes back as
  ``=…``.
- A contact's company is linked by name, ignoring case; a missing company is created.
"""

from __future__ import annotations

import csv
import math
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import peewee as pw

from core.changes import RecordChange, notify
from core.clock import utcnow
from core.csvio import (
    BrokenRow,
    CsvInfo,
    escape_cell,
    open_text,
    read_records,
    sniff,
    suggest_mapping,
    unescape_cell,
)
from core.db import database_proxy
from core.lists import member_column
from core.models.store import (
    ENTITY_KINDS,
    MODEL_FOR_KIND,
    Company,
    CustomField,
    CustomValue,
    ListMember,
    MarketingList,
)
from core.store import FieldInfo, InvalidEmail, default_owner, fields_for, validate_email
from core.text import noun, plural

BATCH_SIZE = 1000
IN_CHUNK = 500  # values per IN (...): well under every database's parameter limit
MAX_WARNINGS = 100
MAX_WHOLE = 2**31 - 1  # integer columns are 32 bits on PostgreSQL
PLURAL = {"contact": "contacts", "lead": "leads", "company": "companies"}

Progress = Callable[[int, int], None]
Cancel = threading.Event | Callable[[], bool] | None


class ImportRefused(ValueError):
    """The import cannot start (mapping or target list); the message says what to change."""


class ListRefused(ImportRefused):
    """The target list cannot take these records (dynamic, or holding another kind)."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str
    email: str = ""


@dataclass
class ImportReport:
    """What an import did. Each kept row is counted once: created, updated, unchanged or merged."""

    entity: str
    path: Path
    encoding: str = ""
    delimiter: str = ""
    created: int = 0
    updated: int = 0  # records that existed before and got at least one new value
    unchanged: int = 0  # records that existed before and the file had nothing new for
    merged: int = 0  # rows repeating an earlier row's email (or company name)
    companies_created: int = 0  # contacts' companies created because none had that name
    rejected: list[RejectedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    rows_read: int = 0  # non-blank rows under the header that were read
    last_line: int = 0  # the last line read (and, when cancelled, the last line imported)
    list_name: str | None = None
    rejected_csv: Path | None = None  # where the rejected rows were written, if anywhere

    @property
    def kept(self) -> int:
        return self.created + self.updated + self.unchanged + self.merged


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- values ----------------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "y", "on", "x", "oui", "vrai", "ja", "wahr"}
_FALSE = {"0", "false", "no", "n", "off", "non", "faux", "nein", "falsch"}
_DOTTED = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})$")


def parse_boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"“{_short(text)}” is not yes or no")


def parse_number(text: str) -> float:
    cleaned = text.replace("\u00a0", "").replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")  # 3,5 in French and German
    try:
        number = float(cleaned)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"“{_short(text)}” is not a number")
    return number


def parse_whole(text: str) -> int:
    number = parse_number(text)
    if not number.is_integer():
        raise ValueError(f"“{_short(text)}” is not a whole number")
    if abs(number) > MAX_WHOLE:
        raise ValueError(f"“{_short(text)}” is too large")
    return int(number)


def parse_date(text: str) -> date:
    """ISO (2024-03-31), or day first as Europeans write it (31.03.2024, 31/03/2024)."""
    text = text.strip()
    try:
        match = _DOTTED.match(text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"“{_short(text)}” is not a date (use 2024-03-31 or 31.03.2024)") \
            from None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# -- the plan: which column goes where -------------------------------------------------------------

@dataclass
class _Column:
    index: int
    info: FieldInfo
    max_length: int | None = None
    parse: Callable[[str], Any] | None = None
    custom_id: int | None = None


@dataclass
class _Plan:
    entity: str
    model: Any  # a store model class (peewee's stubs do not know its fields)
    width: int
    columns: list[_Column]
    warnings: list[str]

    def email_cell(self, record: list[str]) -> str:
        for column in self.columns:
            if column.info.key == "email" and column.index < len(record):
                return record[column.index].strip()
        return ""

    @property
    def custom_ids(self) -> list[int]:
        return [c.custom_id for c in self.columns if c.custom_id is not None]


def _plan(entity: str, headers: tuple[str, ...], mapping: dict[str, str | None] | None) -> _Plan:
    model = MODEL_FOR_KIND[entity]
    fields = {info.key: info for info in fields_for(entity)}
    chosen = mapping is not None
    mapping = mapping if mapping is not None else suggest_mapping(entity, headers)
    for header, key in mapping.items():
        if header not in headers:
            raise ImportRefused(f"The file has no column “{header}”.")
        if key is not None and key not in fields:
            raise ImportRefused(f"“{key}” is not a field of {PLURAL[entity]}.")
    customs = {cf.key: cf for cf in CustomField.select().where(CustomField.entity == entity)}
    columns: list[_Column] = []
    warnings: list[str] = []
    used: dict[str, str] = {}
    for index, header in enumerate(headers):
        if not header:
            continue
        if header in headers[:index]:
            warnings.append(f"The file has two columns named “{header}”; only the first was read.")
            continue
        key = mapping.get(header)
        if key is None:
            warnings.append(f"The column “{header}” was left out." if chosen else
                            f"The column “{header}” matches no field of {PLURAL[entity]} and was "
                            "not imported.")
            continue
        if key in used:
            raise ImportRefused(f"The columns “{used[key]}” and “{header}” both go to "
                                f"{fields[key].label}; choose one.")
        used[key] = header
        columns.append(_column(model, index, fields[key], customs.get(key)))
    needed = {"company": ("name",), "contact": ("email", "first_name", "last_name"),
              "lead": ("email", "first_name", "last_name", "company_name")}[entity]
    if not set(needed) & set(used):
        labels = " or ".join(fields[key].label for key in fields if key in needed)
        raise ImportRefused(f"No column goes to {labels}, so no row could be kept. "
                            "Map one of them.")
    return _Plan(entity, model, len(headers), columns, warnings)


def _column(model: Any, index: int, info: FieldInfo,
            custom: CustomField | None) -> _Column:
    if info.custom and custom is not None:
        return _Column(index, info, parse=_custom_parser(info), custom_id=custom.get_id())
    if info.key == "email":
        return _Column(index, info)
    model_field = model._meta.fields.get(info.key)
    max_length = 255 if info.key == "company" else getattr(model_field, "max_length", None)
    parsers: dict[str, Callable[[str], Any]] = {
        "boolean": parse_boolean, "number": parse_whole, "date": parse_date,
        "choice": _choice_parser(info.choices)}
    return _Column(index, info, max_length=max_length, parse=parsers.get(info.kind))


def _choice_parser(choices: tuple[str, ...]) -> Callable[[str], str]:
    by_word = {choice.lower(): choice for choice in choices}

    def parse(text: str) -> str:
        if not by_word:
            return text
        try:
            return by_word[text.lower()]
        except KeyError:
            raise ValueError(f"“{_short(text)}” is not one of {', '.join(choices)}") from None

    return parse


def _custom_parser(info: FieldInfo) -> Callable[[str], str]:
    """Custom values are stored as text in the form ``core.store.format_custom`` writes."""
    if info.kind == "number":
        def number(text: str) -> str:
            value = parse_number(text)
            return str(int(value)) if value.is_integer() else repr(value)
        return number
    if info.kind == "boolean":
        return lambda text: "1" if parse_boolean(text) else "0"
    if info.kind == "date":
        return lambda text: parse_date(text).isoformat()
    if info.kind == "choice":
        return _choice_parser(info.choices)
    return lambda text: text


# -- rows ------------------------------------------------------------------------------------------

@dataclass
class _Row:
    line: int
    key: str  # what duplicates are found by: the email key, else "name:…" or "person:…"
    values: dict[str, Any]  # standard fields, only those the file gave a value for
    custom: dict[int, str] = field(default_factory=dict)  # custom field id -> stored text
    company: str = ""  # contacts: the name of the company to link
    repeat: bool = False  # an earlier batch had the same key


def _convert(plan: _Plan, line: int, record: list[str], warn: Callable[[str], None]) -> _Row:
    if len(record) > plan.width and any(cell.strip() for cell in record[plan.width:]):
        raise _Rejected(f"The row has {plural(len(record), 'value')} but the header has "
                        f"{plural(plan.width, 'column')}; a value holding the delimiter probably "
                        "lacks its quotes.")
    row = _Row(line, "", {})
    for column in plan.columns:
        text = unescape_cell(record[column.index].strip()).strip() \
            if column.index < len(record) else ""
        if not text:
            continue
        info = column.info
        if info.key == "email" and not info.custom:
            try:
                row.values["email"] = validate_email(text)
            except InvalidEmail as exc:
                raise _Rejected(f"Invalid email “{_short(text)}”: {exc}") from None
            continue
        if column.max_length and len(text) > column.max_length:
            warn(f"Line {line}: {info.label} was cut to {plural(column.max_length, 'character')} "
                 f"(it had {len(text):,}).")
            text = text[:column.max_length]
        try:
            value = column.parse(text) if column.parse else text
        except ValueError as exc:
            raise _Rejected(f"{info.label}: {exc}.") from None
        if column.custom_id is not None:
            row.custom[column.custom_id] = value
        elif info.key == "company" and plan.entity == "contact":
            row.company = value
        else:
            row.values[info.key] = value
    row.key = _key(plan.entity, row)
    return row


def _key(entity: str, row: _Row) -> str:
    """Emails find duplicates; without one, a company's name or a person's name and company."""
    values = row.values
    if values.get("email"):
        return str(values["email"]).lower()
    if entity == "company":
        if not values.get("name"):
            raise _Rejected("The company has no name.")
        return "name:" + values["name"].casefold()
    company = row.company or values.get("company_name", "")
    if not (values.get("first_name") or values.get("last_name") or company):
        raise _Rejected(f"No email and no name: a {entity} needs at least one of them.")
    return _person_key(values.get("first_name", ""), values.get("last_name", ""), company)


def _person_key(first: str, last: str, company: str | None) -> str:
    return "person:" + "\x1f".join(part.casefold() for part in (first, last, company or ""))


def _news(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The values of ``new`` that differ from ``old``. An email or company name that differs
    only in case is what the records were matched on, and keeps its first spelling."""
    return {k: v for k, v in new.items() if old.get(k) != v and not (
        k in ("email", "name") and str(old.get(k) or "").casefold() == v.casefold())}


def _merge(first: _Row, later: _Row) -> None:
    first.values.update(_news(first.values, later.values))
    first.custom.update(later.custom)
    first.company = later.company or first.company


# -- writing a batch -------------------------------------------------------------------------------

def _quote(name: str) -> str:
    marks = database_proxy.quote
    return f"{marks[0]}{name}{marks[-1]}"


def _execute_many(sql: str, params: list[tuple[Any, ...]]) -> None:
    if params:
        database_proxy.cursor().executemany(sql, params)


def _results(query: Any) -> list[Any]:
    """A query's ``.tuples()`` or ``.dicts()`` rows (peewee's stubs type them as model objects)."""
    return list(query)


def _chunks(items: list[Any], size: int = IN_CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _insert_rows(model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows with one prepared statement; the fields a row leaves out get their default."""
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if not isinstance(f, pw.AutoField)]
    defaults = {f.name: f.default() if callable(f.default) else f.default for f in fields}
    # Text and whole numbers are already what the database takes; the rest goes through peewee.
    converters = [(f.name, None if type(f) in _PLAIN_FIELDS else f.db_value) for f in fields]
    params = []
    for values in rows:
        row = {**defaults, **values}
        params.append(tuple(row[name] if convert is None else convert(row[name])
                            for name, convert in converters))
    _execute_many(f"INSERT INTO {_quote(model._meta.table_name)} "
                  f"({', '.join(_quote(f.column_name) for f in fields)}) "
                  f"VALUES ({', '.join([database_proxy.param] * len(fields))})", params)


_PLAIN_FIELDS = (pw.CharField, pw.TextField, pw.IntegerField)


def _update_rows(model: Any, changes: list[tuple[int, dict[str, Any]]]) -> None:
    """``UPDATE … WHERE id = ?`` once per set of changed columns, with every record of that set."""
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    meta = model._meta
    for record_id, values in changes:
        names = tuple(sorted(values))
        groups.setdefault(names, []).append(
            tuple(meta.fields[n].db_value(values[n]) for n in names) + (record_id,))
    for names, params in groups.items():
        assignments = ", ".join(f"{_quote(meta.fields[n].column_name)} = {database_proxy.param}"
                                for n in names)
        _execute_many(f"UPDATE {_quote(meta.table_name)} SET {assignments} "
                      f"WHERE {_quote('id')} = {database_proxy.param}", params)


@dataclass
class _Session:
    """What lives across batches: keys already imported, company names, the owner, the list."""

    plan: _Plan
    report: ImportReport
    list_name: str | None
    mlist: MarketingList | None = None
    owner_id: int | None = None
    seen: set[str] = field(default_factory=set)
    companies: dict[str, int] | None = None  # casefolded name -> id
    people: dict[str, int] | None = None  # "person:" key -> id, of records without an email
    suppressed: int = 0

    def warn(self, text: str) -> None:
        if len(self.report.warnings) < MAX_WARNINGS:
            self.report.warnings.append(text)
        else:
            self.suppressed += 1

    def company_ids(self) -> dict[str, int]:
        # Python's casefold, not SQL's LOWER: SQLite only lowers ASCII, and "MÜLLER" is "Müller".
        if self.companies is None:
            self.companies = {}
            for company_id, name in _results(Company.select(Company.id, Company.name).order_by(
                    Company.id.desc()).tuples()):
                self.companies[name.casefold()] = company_id
        return self.companies

    def find(self, key: str) -> int | None:
        """The record a name key (not an email) stands for."""
        if key.startswith("name:"):
            return self.company_ids().get(key[5:])
        return self.person_ids().get(key)

    def remember(self, key: str, record_id: int) -> None:
        if key.startswith("name:"):
            self.company_ids().setdefault(key[5:], record_id)
        elif key.startswith("person:"):
            self.person_ids().setdefault(key, record_id)

    def person_ids(self) -> dict[str, int]:
        if self.people is None:
            model = self.plan.model
            if self.plan.entity == "contact":
                query = (model.select(model.id, model.first_name, model.last_name, Company.name)
                         .join(Company, pw.JOIN.LEFT_OUTER))
            else:
                query = model.select(model.id, model.first_name, model.last_name,
                                     model.company_name)
            query = query.where(model.email_key.is_null()).order_by(model.id.desc())
            self.people = {_person_key(first, last, company): record_id
                           for record_id, first, last, company in _results(query.tuples())}
        return self.people


def _write_batch(session: _Session, rows: list[_Row]) -> None:
    plan, report = session.plan, session.report
    unique: dict[str, _Row] = {}
    for row in rows:
        if row.key in unique:
            _merge(unique[row.key], row)
            report.merged += 1
        else:
            row.repeat = row.key in session.seen
            report.merged += row.repeat
            unique[row.key] = row
    batch = list(unique.values())
    changes: list[RecordChange] = []
    now = utcnow()
    with database_proxy.atomic():
        if plan.entity == "contact":
            _link_companies(session, batch, changes)
        existing = _existing(session, batch)
        creates = [row for row in batch if row.key not in existing]
        updates = [(row, existing[row.key]) for row in batch if row.key in existing]
        created = _create(session, creates, changes)
        matched = _update(session, updates, now, changes)
        if session.list_name:
            _add_to_list(_target_list(session), created, matched, now)
    session.seen.update(unique)
    for change in changes:
        notify(change)


def _existing(session: _Session, rows: list[_Row]) -> dict[str, dict[str, Any]]:
    """The stored records the batch's rows match, by their key."""
    model = session.plan.model
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([row.key for row in rows if _is_email_key(row.key)]):
        for record in _results(model.select().where(model.email_key.in_(chunk)).dicts()):
            found[record["email_key"]] = record
    by_id = {}
    for row in rows:
        if not _is_email_key(row.key) and (record_id := session.find(row.key)) is not None:
            by_id[record_id] = row.key
    for chunk in _chunks(list(by_id)):
        for record in _results(model.select().where(model.id.in_(chunk)).dicts()):
            found[by_id[record["id"]]] = record
    return found


def _is_email_key(key: str) -> bool:
    return not key.startswith(("name:", "person:"))


def _link_companies(session: _Session, rows: list[_Row], changes: list[RecordChange]) -> None:
    """Turn contacts' company names into company ids, creating the companies no one has yet."""
    known = session.company_ids()
    missing: dict[str, str] = {}
    for row in rows:
        if row.company and row.company.casefold() not in known:
            missing.setdefault(row.company.casefold(), row.company)
    if missing:
        names = list(missing.values())
        _insert_rows(Company, [{"name": name, "owner": _owner(session)} for name in names])
        for chunk in _chunks(names):
            # The newest company of each exact name is the one just inserted.
            for company_id, name in _results(Company.select(Company.id, Company.name).where(
                    Company.name.in_(chunk)).order_by(Company.id).tuples()):
                known[name.casefold()] = company_id
        for folded in missing:
            changes.append(RecordChange("company", known[folded], "created",
                                        frozenset({"name", "owner"}), origin="import"))
        session.report.companies_created += len(missing)
    for row in rows:
        if row.company:
            row.values["company"] = known[row.company.casefold()]


def _owner(session: _Session) -> int | None:
    if session.owner_id is None:
        owner = default_owner()
        session.owner_id = owner.get_id() if owner else None
    return session.owner_id


def _create(session: _Session, rows: list[_Row], changes: list[RecordChange]) -> list[int]:
    plan = session.plan
    model = plan.model
    for row in rows:
        row.values["owner"] = _owner(session)
        if row.values.get("email"):
            row.values["email_key"] = row.key
    # People without an email are inserted one by one below, to learn their ids.
    bulk = [row for row in rows if not row.key.startswith("person:")]
    _insert_rows(model, [row.values for row in bulk])
    ids: dict[str, int] = {}
    for chunk in _chunks([row.key for row in bulk if _is_email_key(row.key)]):
        ids.update(_results(model.select(model.email_key, model.id).where(
            model.email_key.in_(chunk)).tuples()))
    names = [row.values["name"] for row in bulk if row.key.startswith("name:")]
    for chunk in _chunks(names):
        # The newest company of each exact name is the one just inserted.
        for company_id, name in _results(Company.select(Company.id, Company.name).where(
                Company.name.in_(chunk)).order_by(Company.id).tuples()):
            ids["name:" + name.casefold()] = company_id
    created: list[int] = []
    for row in rows:
        if row.key in ids:
            record_id = ids[row.key]
        else:
            record_id = model.insert(row.values).execute()
        if plan.entity == "company":
            session.remember("name:" + row.values["name"].casefold(), record_id)
        elif not _is_email_key(row.key):
            session.remember(row.key, record_id)
        created.append(record_id)
        changed = frozenset(row.values) | {str(k) for k in _custom_keys(plan, row.custom)}
        changes.append(RecordChange(plan.entity, record_id, "created", changed, origin="import"))
    _insert_rows(CustomValue, [
        {"field": field_id, "record_id": record_id, "value": text}
        for row, record_id in zip(rows, created, strict=True)
        for field_id, text in row.custom.items()])
    session.report.created += len(rows)
    return created


def _update(session: _Session, pairs: list[tuple[_Row, dict[str, Any]]], now: Any,
            changes: list[RecordChange]) -> list[int]:
    plan, report = session.plan, session.report
    stored = _stored_custom(plan, [record["id"] for _, record in pairs])
    new_values: list[tuple[int, dict[str, Any]]] = []
    custom_updates: list[tuple[Any, ...]] = []
    custom_inserts: list[dict[str, Any]] = []
    ids: list[int] = []
    for row, record in pairs:
        record_id = record["id"]
        ids.append(record_id)
        diff = _news(record, row.values)
        changed_custom = set()
        for field_id, text in row.custom.items():
            current = stored.get((record_id, field_id))
            if current is None:
                custom_inserts.append({"field": field_id, "record_id": record_id, "value": text})
            elif current[1] != text:
                custom_updates.append((text, current[0]))
            else:
                continue
            changed_custom.add(field_id)
        if diff:
            new_values.append((record_id, {**diff, "updated": now}))
        if diff or changed_custom:
            changed = frozenset(diff) | set(_custom_keys(plan, changed_custom))
            changes.append(RecordChange(plan.entity, record_id, "updated", changed,
                                        origin="import"))
        if not row.repeat:
            if diff or changed_custom:
                report.updated += 1
            else:
                report.unchanged += 1
    _update_rows(plan.model, new_values)
    _insert_rows(CustomValue, custom_inserts)
    _execute_many(f"UPDATE {_quote(CustomValue._meta.table_name)} SET {_quote('value')} = "
                  f"{database_proxy.param} WHERE {_quote('id')} = {database_proxy.param}",
                  custom_updates)
    return ids


def _stored_custom(plan: _Plan, record_ids: list[int]) -> dict[tuple[int, int], tuple[int, str]]:
    if not plan.custom_ids or not record_ids:
        return {}
    stored = {}
    for chunk in _chunks(record_ids):
        query = CustomValue.select(CustomValue.id, CustomValue.record_id, CustomValue.field,
                                   CustomValue.value).where(
            CustomValue.record_id.in_(chunk), CustomValue.field.in_(plan.custom_ids))
        for value_id, record_id, field_id, text in _results(query.tuples()):
            stored[(record_id, field_id)] = (value_id, text)
    return stored


def _custom_keys(plan: _Plan, field_ids: Iterable[int]) -> list[str]:
    keys = {c.custom_id: c.info.key for c in plan.columns if c.custom_id is not None}
    return [keys[field_id] for field_id in field_ids]


# -- the target list -------------------------------------------------------------------------------

def _find_list(name: str, entity: str) -> MarketingList | None:
    """The static list of that name (ignoring case) for this kind, or None if there is none yet."""
    mlist = MarketingList.get_or_none(MarketingList.name == name)
    if mlist is None:
        folded = name.casefold()
        mlist = next((m for m in MarketingList.select() if m.name.casefold() == folded), None)
    if mlist is None:
        return None
    if mlist.list_type != "static":
        raise ListRefused(f"The list “{mlist.name}” is dynamic: its filter decides who is on "
                            "it, so an import cannot add to it. Choose a static list.")
    if mlist.entity != entity:
        raise ListRefused(f"The list “{mlist.name}” holds {PLURAL[mlist.entity]}, not "
                            f"{PLURAL[entity]}.")
    return mlist


def _add_to_list(mlist: MarketingList, created: list[int], matched: list[int], now: Any) -> None:
    """``core.lists.add_members`` for a batch, with one prepared insert: records join subscribed,
    removed members come back, unsubscribed ones stay unsubscribed."""
    column = member_column(mlist.entity)
    states: dict[int, str] = {}
    for chunk in _chunks(matched):
        states.update(_results(ListMember.select(column, ListMember.state).where(
            ListMember.mlist == mlist, column.in_(chunk)).tuples()))
    _insert_rows(ListMember, [
        {"mlist": mlist.get_id(), column.name: record_id, "state": "subscribed", "added_at": now,
         "state_changed_at": now}
        for record_id in [*created, *(i for i in matched if i not in states)]])
    back = [record_id for record_id, state in states.items() if state == "removed"]
    for chunk in _chunks(back):
        ListMember.update(state="subscribed", state_changed_at=now, removed_at=None).where(
            ListMember.mlist == mlist, column.in_(chunk)).execute()


def _target_list(session: _Session) -> MarketingList:
    if session.mlist is None:
        assert session.list_name
        session.mlist = _find_list(session.list_name, session.plan.entity) or \
            MarketingList.create(name=session.list_name, entity=session.plan.entity,
                                 list_type="static", owner=_owner(session))
    return session.mlist


# -- rejected rows ---------------------------------------------------------------------------------

class _RejectedFile:
    """Rejected rows written as they come (line, reason, then the row's own cells)."""

    def __init__(self, path: Path | None, info: CsvInfo) -> None:
        self.path, self.info = path, info
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def write(self, line: int, reason: str, cells: list[str]) -> None:
        if self.path is None:
            return
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._handle, delimiter=self.info.delimiter)
            self._writer.writerow(["Line", "Reason", *self.info.headers])
        self._writer.writerow([str(line), reason, *(escape_cell(cell) for cell in cells)])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


# -- the import ------------------------------------------------------------------------------------

def import_csv(path: str | Path, entity: str, mapping: dict[str, str | None] | None = None,
               list_name: str | None = None, progress: Progress | None = None,
               cancel: Cancel = None, *, info: CsvInfo | None = None,
               rejected_csv: Path | None = None, batch_size: int = BATCH_SIZE) -> ImportReport:
    """Import a CSV file of ``entity`` records (contact, lead or company); see the module notes.

    ``mapping`` takes each header to a field key or None (default: ``suggest_mapping``); ``info``
    is ``sniff``'s result, possibly with the encoding or delimiter the admin chose. ``progress``
    is called with (rows read, estimated total) after each batch; ``cancel`` (an Event or a
    callable) is read between batches. ``rejected_csv`` receives every rejected row.
    Raises ``CsvReadError`` when the file cannot be read and ``ImportRefused`` when the mapping
    or the list cannot be used; both before anything is written.
    """
    if entity not in ENTITY_KINDS:
        raise ValueError(f"unknown kind {entity!r}")
    info = info or sniff(path)
    plan = _plan(entity, info.headers, mapping)
    list_name = (list_name or "").strip() or None
    session = _Session(plan, ImportReport(entity, Path(path), info.encoding, info.delimiter,
                                          list_name=list_name), list_name)
    report = session.report
    report.warnings.extend([*info.warnings, *plan.warnings])
    if list_name:
        session.mlist = _find_list(list_name, entity)
    total = max(info.line_count - info.header_line, 0)
    rejected = _RejectedFile(rejected_csv, info)
    pending: list[_Row] = []
    read_in_batch = 0
    try:
        with open_text(info.path, info.encoding) as handle:
            for line, record in read_records(handle, info.delimiter, plan.width):
                if line <= info.header_line:
                    continue
                if read_in_batch == 0 and _is_cancelled(cancel):
                    report.cancelled = True
                    break
                if isinstance(record, BrokenRow):
                    _reject(report, rejected, line, record.reason, "", [record.text])
                elif any(cell.strip() for cell in record):
                    try:
                        pending.append(_convert(plan, line, record, session.warn))
                    except _Rejected as exc:
                        _reject(report, rejected, line, exc.reason, plan.email_cell(record),
                                record)
                else:
                    continue  # a blank line, or a row of empty cells
                report.rows_read += 1
                report.last_line = line
                read_in_batch += 1
                if read_in_batch >= batch_size:
                    _write_batch(session, pending)
                    pending, read_in_batch = [], 0
                    if progress:
                        progress(report.rows_read, max(total, report.rows_read))
            if pending and not report.cancelled:
                _write_batch(session, pending)
    finally:
        rejected.close()
    if rejected.path is not None and report.rejected:
        report.rejected_csv = rejected.path
    if session.suppressed:
        report.warnings.append(f"…and {session.suppressed:,} more "
                               f"{noun(session.suppressed, 'warning')} like these.")
    if report.rows_read == 0 and not report.cancelled:
        report.warnings.append("The file has no rows under its header.")
    if progress and not report.cancelled:
        progress(report.rows_read, report.rows_read)
    return report


def _reject(report: ImportReport, rejected: _RejectedFile, line: int, reason: str, email: str,
            cells: list[str]) -> None:
    report.rejected.append(RejectedRow(line, reason, email))
    rejected.write(line, reason, cells)


def _is_cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())
