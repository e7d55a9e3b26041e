"""Bulk reads and writes for the Dotmailer mirror: one prepared statement for many rows.

peewee builds the SQL (or the model gives the table and columns); what it does per row, building
each value or object, costs more than the database itself at 10^5-10^6 rows, so these helpers
hand rows to the driver directly (``executemany``). SQLite and PostgreSQL alike: placeholders
come from the database, ``ON CONFLICT`` is in both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import peewee as pw

from core.db import database_proxy

CHUNK = 500  # values per IN list

def chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Fields whose Python values go to the driver as they are (ids for foreign keys); others, such
# as dates, pass through the field's own conversion.
AS_IS = (pw.CharField, pw.TextField, pw.IntegerField, pw.BooleanField, pw.FloatField,
          pw.ForeignKeyField)


def converter(field: pw.Field) -> Callable[[Any], Any] | None:
    return None if isinstance(field, AS_IS) else field.db_value


def convert(converters: list[Callable[[Any], Any] | None],
             values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(v if c is None else c(v) for c, v in zip(converters, values, strict=True))


def select_in(sql: str, fixed: list[Any], values: list[Any]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (ending in ``IN``) for ``values`` in chunks, without peewee's query builder
    (which costs more than the query for lists of thousands)."""
    db = database_proxy.obj
    rows: list[tuple[Any, ...]] = []
    for chunk in chunks(values):
        marks = ", ".join([db.param] * len(chunk))
        rows += db.execute_sql(f"{sql} ({marks})", [*fixed, *chunk]).fetchall()
    return rows


def fetch_rows(query: Any) -> list[tuple[Any, ...]]:
    """A query's rows as the driver returns them: peewee builds the SQL, but its per-row
    processing costs more than the query itself for 10^5 rows. Dates come back as text."""
    sql, params = query.sql()
    return list(database_proxy.obj.execute_sql(sql, params).fetchall())


def update_many(model: type[pw.Model], columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """``UPDATE model SET columns WHERE id`` for many rows in one prepared statement."""
    if not rows:
        return
    db = database_proxy.obj
    param = db.param
    fields = [model._meta.fields[c] for c in columns]
    sets = ", ".join(f"{f.column_name} = {param}" for f in fields)
    sql = f"UPDATE {model._meta.table_name} SET {sets} WHERE id = {param}"
    converters = [converter(f) for f in fields] + [None]
    db.cursor().executemany(sql, [convert(converters, row) for row in rows])


def insert_many(model: type[pw.Model], rows: list[dict[str, Any]], ignore: bool = False) -> None:
    """``INSERT`` many rows (fields left out take their Python default) in one prepared
    statement; ``ignore`` skips rows that clash with a unique index."""
    if not rows:
        return
    db = database_proxy.obj
    fields = [f for name, f in model._meta.fields.items() if name != "id"]
    given = set(rows[0])
    defaults = {f.name: (f.default() if callable(f.default) else f.default)
                for f in fields if f.name not in given}
    names = [f.column_name for f in fields]
    sql = (f"INSERT INTO {model._meta.table_name} ({', '.join(names)}) "
           f"VALUES ({', '.join([db.param] * len(names))})"
           + (" ON CONFLICT DO NOTHING" if ignore else ""))
    converters = [converter(f) for f in fields]
    converted = [convert(converters, (row[f.name] if f.name in given else defaults[f.name]
                                       for f in fields)) for row in rows]
    db.cursor().executemany(sql, converted)


def upsert_many(model: type[pw.Model], columns: list[str], conflict: list[str],
            rows: list[tuple[Any, ...]]) -> None:
    """``INSERT ... ON CONFLICT (conflict) DO UPDATE`` the other columns, in one prepared
    statement (SQLite and PostgreSQL alike); peewee's own builder is too slow for 10^6 rows."""
    if not rows:
        return
    db = database_proxy.obj
    fields = [model._meta.fields[c] for c in columns]
    names = [f.column_name for f in fields]
    keys = [model._meta.fields[c].column_name for c in conflict]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in keys)
    sql = (f"INSERT INTO {model._meta.table_name} ({', '.join(names)}) "
           f"VALUES ({', '.join([db.param] * len(names))}) "
           f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")
    converters = [converter(f) for f in fields]
    db.cursor().executemany(sql, [convert(converters, row) for row in rows])


