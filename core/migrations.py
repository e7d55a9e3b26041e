"""Numbered schema migrations.

Each step runs in one transaction after the SQLite file has been copied to ``backups/``. A database
whose version is above ``LATEST`` was written by a newer ListBridge and is refused: opening it could
silently drop what the newer version stored.

Steps create tables from the model classes as they are today (``safe=True``); a later step that
changes an existing table must do it with ``playhouse.migrate`` and guard against the column
already being there, so every path (fresh database or upgrade) ends with the same schema.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import peewee as pw

from core.db import DatabaseTooNew, SchemaVersion, backup_file

log = logging.getLogger("listbridge.db")

Migration = Callable[[pw.Database], None]
MIGRATIONS: dict[int, tuple[str, Migration]] = {}


def migration(number: int, label: str) -> Callable[[Migration], Migration]:
    def register(func: Migration) -> Migration:
        if number in MIGRATIONS:
            raise ValueError(f"migration {number} is defined twice")
        MIGRATIONS[number] = (label, func)
        return func

    return register


@migration(1, "store")
def _store(db: pw.Database) -> None:
    from core.models.store import STORE_MODELS, User

    db.create_tables(STORE_MODELS, safe=True)
    if not User.select().exists():
        import getpass

        name = _desk_user_name(getpass.getuser)
        User.create(username=name, display_name=name, is_default=True)


@migration(2, "sync engine")
def _sync(db: pw.Database) -> None:
    from core.models.sync import SYNC_MODELS

    db.create_tables(SYNC_MODELS, safe=True)


def _desk_user_name(getuser: Callable[[], str]) -> str:
    try:
        return getuser() or "admin"
    except Exception:  # no login name in some containers and services
        return "admin"


def _load_connector_migrations() -> None:
    """Connectors own their mirror tables; importing them registers their migrations."""
    import importlib

    for module in ("core.models.dotmailer", "core.models.ines", "core.models.cleverreach"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def latest() -> int:
    _load_connector_migrations()
    return max(MIGRATIONS)


def current_version(db: pw.Database) -> int:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else 0


def upgrade(db: pw.Database, backup_dir: Path | None = None, target: int | None = None) -> int:
    """Apply every pending migration up to ``target`` (default: the latest); return the version."""
    goal = latest() if target is None else target
    db.create_tables([SchemaVersion], safe=True)
    version = current_version(db)
    if version > latest():
        raise DatabaseTooNew(
            f"This database was written by a newer ListBridge (schema {version}; this version "
            f"knows up to {latest()}). Install the newer ListBridge to open it; nothing was changed."
        )
    pending = [n for n in sorted(MIGRATIONS) if version < n <= goal]
    if pending and version > 0 and backup_dir is not None:
        backup_file(db, backup_dir, f"v{version}")
    for number in pending:
        label, func = MIGRATIONS[number]
        with db.atomic():
            func(db)
            SchemaVersion.delete().execute()
            SchemaVersion.create(version=number)
        log.info("Database migrated to %s (%s)", number, label)
    return max(version, pending[-1]) if pending else version
