"""Schema migrations, one numbered series per owner, and opening the store.

Core owns the series ``core`` (the store, then the sync engine); each connector owns a series named
after it (``dotmailer/0001``, ``ines/0001``...) and registers it when its models module is imported,
that is when the connector registry loads it. Core never imports a connector: whoever opens the
database for the app, the command line or the tests loads the connectors first
(``connectors.base.load_all()``), then calls ``open_database``. Two branches that add tables to two
connectors therefore never fight over a number.

The table ``schema_series`` holds one row per series: the last step applied. Each step runs in one
transaction (with its row); before any change the SQLite file is copied to ``backups/``. A series
recorded above the steps this code knows was written by a newer ListBridge and the database is
refused, nothing changed. A series the database records but this code does not know (a connector
that is not installed or not loaded) is left alone.

Steps create tables from the model classes as they are today (``safe=True``); a later step that
changes an existing table must do it with ``playhouse.migrate`` and guard against the column already
being there, so that every path (fresh database or upgrade) ends with the same schema. Series run in
order ``core`` first, then by name: a connector's tables may point at core's, not at another
connector's.

Before per-series numbering there was one global series in the single-row table ``schema_version``
(1 store, 2 sync engine, 3 Dotmailer, 4 INES). Such a database is adopted: its number is kept in the
row ``legacy`` of ``schema_series``, each series says which old numbers were its own steps
(``legacy=``), and ``schema_version`` is left with one row, ``REFUSED_BY_OLD_CODE``, so that a
ListBridge from before the series refuses the database instead of running its old steps on it.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw

from core.clock import utcnow
from core.db import (
    BaseModel,
    DatabaseTooNew,
    backup_dir_for,
    backup_file,
    database_proxy,
    make_database,
)
from core.models.store import STORE_MODELS, User
from core.models.sync import SYNC_MODELS

log = logging.getLogger("listbridge.db")

Step = Callable[[pw.Database], None]

CORE = "core"
LEGACY = "legacy"  # the row of schema_series keeping a pre-series database's global number
LEGACY_LATEST = 4  # the last global number the code before per-series migrations wrote
REFUSED_BY_OLD_CODE = 1000  # above any global number, so the code before the series refuses


class SchemaVersion(BaseModel):
    """One migration series and the last of its steps this database has had."""

    series = pw.CharField(max_length=64, unique=True)
    version = pw.IntegerField()
    applied_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "schema_series"


class OldSchemaVersion(BaseModel):
    """The single-row version table of the code before per-series migrations (kept as a guard)."""

    version = pw.IntegerField()
    applied_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "schema_version"


@dataclass
class Series:
    """The numbered steps of one owner's tables. ``legacy`` maps a global number of the code
    before per-series migrations to the step of this series it was."""

    name: str
    legacy: Mapping[int, int] = field(default_factory=dict)
    steps: dict[int, tuple[str, Step]] = field(default_factory=dict)

    def step(self, number: int, label: str) -> Callable[[Step], Step]:
        """Register the decorated function as step ``number`` (from 1) of this series."""
        if number < 1:
            raise ValueError(f"migration {self.name}/{number}: steps are numbered from 1")

        def register(func: Step) -> Step:
            if number in self.steps:
                raise ValueError(f"migration {self.name}/{number:04d} is defined twice")
            self.steps[number] = (label, func)
            return func

        return register

    @property
    def latest(self) -> int:
        return max(self.steps, default=0)

    def adopted(self, legacy_version: int) -> int:
        """This series' version in a pre-series database that had reached ``legacy_version``."""
        return max((mine for old, mine in self.legacy.items() if old <= legacy_version), default=0)


SERIES: dict[str, Series] = {}


def series(name: str, legacy: Mapping[int, int] | None = None) -> Series:
    """Register the migration series ``name`` (a connector's type name, or ``core``)."""
    if name == LEGACY or not name or "/" in name:
        raise ValueError(f"{name!r} cannot name a migration series")
    if name in SERIES:
        raise ValueError(f"the migration series {name!r} is registered twice")
    SERIES[name] = registered = Series(name, dict(legacy or {}))
    return registered


def ordered_series() -> list[Series]:
    """Every registered series in the order they run: core first, then by name."""
    return sorted(SERIES.values(), key=lambda s: (s.name != CORE, s.name))


def latest() -> dict[str, int]:
    """The last step of every registered series."""
    return {s.name: s.latest for s in ordered_series()}


# -- core's own series -------------------------------------------------------------------------

CORE_SERIES = series(CORE, legacy={1: 1, 2: 2})


@CORE_SERIES.step(1, "store")
def _store(db: pw.Database) -> None:
    db.create_tables(STORE_MODELS, safe=True)
    if not User.select().exists():
        name = _desk_user_name(getpass.getuser)
        User.create(username=name, display_name=name, is_default=True)


@CORE_SERIES.step(2, "sync engine")
def _sync(db: pw.Database) -> None:
    db.create_tables(SYNC_MODELS, safe=True)


def _desk_user_name(getuser: Callable[[], str]) -> str:
    try:
        return getuser() or "admin"
    except Exception:  # no login name in some containers and services
        return "admin"


# -- reading and upgrading --------------------------------------------------------------------

_VERSION_MODELS = [SchemaVersion, OldSchemaVersion]


def recorded_versions(db: pw.Database) -> dict[str, int]:
    """What the database says, series by series (``legacy``: a pre-series global number)."""
    with db.bind_ctx(_VERSION_MODELS):
        if db.table_exists(SchemaVersion._meta.table_name):
            return {row.series: row.version for row in SchemaVersion.select()}
        if db.table_exists(OldSchemaVersion._meta.table_name):
            old = OldSchemaVersion.select(pw.fn.MAX(OldSchemaVersion.version)).scalar()
            return {LEGACY: int(old)} if old else {}
    return {}


def current_versions(db: pw.Database) -> dict[str, int]:
    """The version of every registered series in this database (0: none of its steps yet)."""
    return _versions(recorded_versions(db))


def _versions(recorded: Mapping[str, int]) -> dict[str, int]:
    legacy = recorded.get(LEGACY, 0)
    return {s.name: recorded.get(s.name, s.adopted(legacy)) for s in ordered_series()}


def _refuse_if_too_new(db: pw.Database, recorded: Mapping[str, int]) -> None:
    legacy = recorded.get(LEGACY, 0)
    if legacy > LEGACY_LATEST and not db.table_exists(SchemaVersion._meta.table_name):
        raise DatabaseTooNew(
            f"This database was written by a newer ListBridge (schema {legacy}; this version "
            f"knows up to {LEGACY_LATEST} there). Install the newer ListBridge to open it; "
            f"nothing was changed.")
    for name, version in _versions(recorded).items():
        known = SERIES[name].latest
        if version > known:
            raise DatabaseTooNew(
                f"This database was written by a newer ListBridge (its {name} schema is "
                f"{name}/{version:04d}; this version knows up to {name}/{known:04d}). Install the "
                f"newer ListBridge to open it; nothing was changed.")


def upgrade(db: pw.Database, backup_dir: Path | None = None,
            targets: Mapping[str, int] | None = None) -> dict[str, int]:
    """Apply every pending step (of the series in ``targets`` up to the number given there, by
    default of every series up to its latest); return the version of every registered series."""
    unknown = set(targets or {}) - set(SERIES)
    if unknown:
        raise KeyError(f"no migration series {', '.join(sorted(unknown))}")
    goals = latest() if targets is None else dict(targets)
    with db.bind_ctx(_VERSION_MODELS):
        recorded = recorded_versions(db)
        _refuse_if_too_new(db, recorded)
        versions = _versions(recorded)
        pending = [(s.name, number) for s in ordered_series() for number in sorted(s.steps)
                   if versions[s.name] < number <= goals.get(s.name, versions[s.name])]
        adopting = not db.table_exists(SchemaVersion._meta.table_name)
        if (pending or adopting) and recorded and backup_dir is not None:
            backup_file(db, backup_dir, _backup_label(recorded))
        if adopting:
            _create_version_tables(db, recorded.get(LEGACY, 0), versions)
        for name, number in pending:
            label, func = SERIES[name].steps[number]
            with db.atomic():
                func(db)
                SchemaVersion.delete().where(SchemaVersion.series == name).execute()
                SchemaVersion.create(series=name, version=number)
            log.info("Database migrated to %s/%04d (%s)", name, number, label)
        return current_versions(db)


def _create_version_tables(db: pw.Database, legacy: int, versions: Mapping[str, int]) -> None:
    """``schema_series`` with what a pre-series database had reached, and the guard row."""
    with db.atomic():
        db.create_tables(_VERSION_MODELS, safe=True)
        OldSchemaVersion.delete().execute()
        OldSchemaVersion.create(version=REFUSED_BY_OLD_CODE)
        if legacy:
            SchemaVersion.create(series=LEGACY, version=legacy)
            for name, version in versions.items():
                if version:
                    SchemaVersion.create(series=name, version=version)
            log.info("Database version %s adopted as %s", legacy, ", ".join(
                f"{name}/{version:04d}" for name, version in versions.items() if version))


def _backup_label(recorded: Mapping[str, int]) -> str:
    """``core2-dotmailer1-ines1`` (``v4`` for a pre-series database), for the copy's file name."""
    if set(recorded) == {LEGACY}:
        return f"v{recorded[LEGACY]}"
    return "-".join(f"{name}{version}" for name, version in sorted(recorded.items())
                    if name != LEGACY)


# -- opening the store ------------------------------------------------------------------------

def open_database(target: str | Path, migrate: bool = True) -> pw.Database:
    """Open the store, bind every model to it and bring its schema up to date.

    Load the connectors first (``connectors.base.load_all()``), so that their series are known.
    """
    if "://" not in str(target):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    db = make_database(target)
    database_proxy.initialize(db)
    db.connect(reuse_if_open=True)
    if migrate:
        upgrade(db, backup_dir=backup_dir_for(target))
    return db
