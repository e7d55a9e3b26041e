"""The database: one proxy every model binds to, the models' base, and how a target becomes a
database object.

SQLite in WAL mode with foreign keys on (a file per profile), or a database URL such as
``postgresql://host/db`` for a team sharing one store. Opening the store and bringing its schema
up to date is ``core.migrations.open_database`` (above the models, so that this module imports
none of them).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peewee as pw

from core.clock import utcnow

log = logging.getLogger("listbridge.db")

database_proxy = pw.DatabaseProxy()


class BaseModel(pw.Model):
    """Every model's base. For type checkers, ``id`` is declared here, and a model whose foreign
    key ``xxx`` is read through its value declares ``xxx_id: int`` (peewee adds the attribute;
    peewee's own type stubs do not know it)."""

    id = pw.AutoField()  # declared so that type checkers see it (peewee adds it anyway)

    class Meta:
        database = database_proxy
        legacy_table_names = False


def plain_rows(query: Any) -> Iterator[Any]:
    """The rows of a ``.tuples()`` or ``.dicts()`` query, for type checkers: peewee's stubs type
    every row of a model query as a model instance (``.scalars()`` is typed for one column)."""
    return iter(query)


class DatabaseTooNew(RuntimeError):
    """The database was written by a newer ListBridge; opening it could lose data."""


SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": 15000,
    "cache_size": -32000,
}


def make_database(target: str | Path) -> pw.Database:
    """A database object for a file path or a URL, not yet bound."""
    text = str(target)
    if "://" in text and not text.startswith("sqlite"):
        from playhouse.db_url import connect

        return connect(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return pw.SqliteDatabase(text, pragmas=SQLITE_PRAGMAS, timeout=15)


def close_database() -> None:
    db = database_proxy.obj
    if db is not None and not db.is_closed():
        db.close()


def backup_dir_for(target: str | Path) -> Path | None:
    """Where copies of the file go before a migration (none for a database server)."""
    if "://" in str(target):
        return None
    return Path(target).parent / "backups"


def backup_file(db: pw.Database, backup_dir: Path, label: str) -> Path | None:
    """Copy the SQLite file before a migration; other databases are the admin's to back up."""
    if not isinstance(db, pw.SqliteDatabase) or db.database == ":memory:":
        return None
    source = Path(db.database)
    if not source.exists() or source.stat().st_size == 0:
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    copy = backup_dir / f"{source.stem}-{label}-{stamp}{source.suffix}"
    shutil.copy2(source, copy)
    log.info("Database copied to %s before migration %s", copy, label)
    return copy
