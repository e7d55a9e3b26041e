"""Exporting what a list view shows to CSV: UTF-8 with BOM so Excel reads the accents, and every
cell a spreadsheet could take for a formula prefixed with a quote (see ``core.csvio.escape_cell``).

Columns are field keys (standard or custom, as ``core.store.fields_for`` lists them); the header
row carries their labels, which ``suggest_mapping`` maps back, so an export imports unchanged.
Records are read in chunks, so a list of 100,000 contacts is written in bounded memory.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import peewee as pw

from core.csvio import escape_cell
from core.db import plain_rows
from core.lists import member_column
from core.models.store import (
    ENTITY_KINDS,
    MEMBER_STATES,
    MODEL_FOR_KIND,
    Company,
    CustomField,
    CustomValue,
    ListMember,
    MarketingList,
)
from core.store import FieldInfo, fields_for

CHUNK = 500
MEMBER_HEADERS = ["Membership", "Added to list", "Membership changed"]


def export_csv(path: str | Path, entity: str, records: Iterable[int] | pw.Select,
               columns: Sequence[str] | None = None, delimiter: str = ",") -> int:
    """Write the records (ids in order, or a query of the entity's model) to ``path``;
    return how many rows were written. ``columns`` default to every field of the entity."""
    fields = _fields(entity, columns)
    ids = _ids(entity, records)
    with _CsvFile(Path(path), delimiter) as writer:
        writer.writerow([f.label for f in fields])
        written = 0
        for start in range(0, len(ids), CHUNK):
            for cells in _cells(entity, fields, ids[start:start + CHUNK]).values():
                writer.writerow(cells)
                written += 1
    return written


def export_list_members(path: str | Path, mlist: MarketingList,
                        columns: Sequence[str] | None = None,
                        states: Sequence[str] = MEMBER_STATES, delimiter: str = ",",
                        record_ids: Collection[int] | None = None) -> int:
    """Write a list's members with their membership state and dates; return the row count.

    ``record_ids``: only the members among these records (e.g. what a search shows), still with
    their membership columns; None: every member in ``states``.
    """
    fields = _fields(mlist.entity, columns)
    column = member_column(mlist.entity)
    members = list(plain_rows(
        ListMember.select(column, ListMember.state, ListMember.added_at,
                          ListMember.state_changed_at)
        .where(ListMember.mlist == mlist, ListMember.state.in_(list(states)))
        .order_by(ListMember.id).tuples()))
    if record_ids is not None:
        # Filtered here rather than in SQL: a search may match more ids than a query may carry.
        wanted = set(record_ids)
        members = [member for member in members if member[0] in wanted]
    with _CsvFile(Path(path), delimiter) as writer:
        writer.writerow([f.label for f in fields] + MEMBER_HEADERS)
        written = 0
        for start in range(0, len(members), CHUNK):
            chunk = members[start:start + CHUNK]
            rows = _cells(mlist.entity, fields, [member[0] for member in chunk])
            for record_id, state, added, changed in chunk:
                if record_id in rows:
                    writer.writerow(rows[record_id] + [state, _text(added), _text(changed)])
                    written += 1
    return written


def _fields(entity: str, columns: Sequence[str] | None) -> list[FieldInfo]:
    if entity not in ENTITY_KINDS:
        raise ValueError(f"unknown kind {entity!r}")
    known = {f.key: f for f in fields_for(entity)}
    if columns is None:
        return list(known.values())
    unknown = [key for key in columns if key not in known]
    if unknown:
        raise ValueError(f"Not a field of {entity}: {', '.join(unknown)}")
    return [known[key] for key in columns]


def _ids(entity: str, records: Iterable[int] | pw.Select) -> list[int]:
    model: Any = MODEL_FOR_KIND[entity]
    if isinstance(records, pw.Select):
        return [row[0] for row in plain_rows(records.select(model.id).tuples())]
    return list(records)


def _cells(entity: str, fields: list[FieldInfo], ids: list[int]) -> dict[int, list[str]]:
    """Each record's cells, ready to write, in the order of ``ids`` (missing ids are skipped)."""
    model: Any = MODEL_FOR_KIND[entity]
    records = {r["id"]: r for r in plain_rows(model.select().where(model.id.in_(ids)).dicts())}
    companies: dict[int, str] = {}
    if entity == "contact" and any(f.key == "company" and not f.custom for f in fields):
        company_ids = {r["company"] for r in records.values() if r["company"]}
        companies = dict(plain_rows(Company.select(Company.id, Company.name).where(
            Company.id.in_(list(company_ids))).tuples())) if company_ids else {}
    custom = _custom_values(entity, [f for f in fields if f.custom], ids)
    rows: dict[int, list[str]] = {}
    for record_id in ids:
        record = records.get(record_id)
        if record is None:
            continue
        cells = []
        for f in fields:
            if f.custom:
                value: Any = custom.get((record_id, f.key))
                if f.kind == "boolean" and value is not None:
                    value = value == "1"
            elif f.key == "company" and entity == "contact":
                value = companies.get(record["company"])
            else:
                value = record.get(f.key)
            cells.append(escape_cell(_text(value)))
        rows[record_id] = cells
    return rows


def _custom_values(entity: str, fields: list[FieldInfo],
                   ids: list[int]) -> dict[tuple[int, str], str]:
    if not fields:
        return {}
    query = (CustomValue.select(CustomValue.record_id, CustomField.key, CustomValue.value)
             .join(CustomField)
             .where(CustomField.entity == entity, CustomField.key.in_([f.key for f in fields]),
                    CustomValue.record_id.in_(ids)))
    return {(record_id, key): value for record_id, key, value in plain_rows(query.tuples())}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _CsvFile:
    """A csv writer on ``path.part``, moved over ``path`` only once everything is written."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".part")
        self.delimiter = delimiter

    def __enter__(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.partial, "w", encoding="utf-8-sig", newline="")
        return csv.writer(self.handle, delimiter=self.delimiter)

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        self.handle.close()
        if error is None:
            os.replace(self.partial, self.path)
        else:
            self.partial.unlink(missing_ok=True)
