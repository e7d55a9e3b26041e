"""Schema versions: one series per owner; an old database is upgraded with its data; a newer one
is refused; a database written before per-series migrations is adopted with nothing lost."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import peewee as pw
import pytest

from connectors.dotmailer.models import DOTMAILER_MODELS, AddressBook, BookMember, DotmailerContact
from connectors.ines.models import INES_MODELS, InesConfigCache, InesSyncLog
from core import migrations
from core.db import DatabaseTooNew, close_database, database_proxy, make_database
from core.migrations import SchemaVersion, open_database
from core.models.store import STORE_MODELS, Contact, MarketingList
from core.models.sync import SYNC_MODELS, HistoryEvent, Integration, QueueItem, SyncRun

BEFORE_ISSUE_8 = Path(__file__).resolve().parents[1] / "data" / "store-before-issue-8.sql"


def _bare(path: Path) -> pw.Database:
    db = make_database(path)
    database_proxy.initialize(db)
    db.connect()
    return db


def test_each_connector_has_its_own_series_after_core():
    names = [s.name for s in migrations.ordered_series()]
    assert names[0] == "core"
    assert {"dotmailer", "ines"} <= set(names)
    assert migrations.latest()["dotmailer"] >= 1 and migrations.latest()["ines"] >= 1


def test_a_series_cannot_be_registered_twice_nor_a_step_defined_twice(monkeypatch):
    monkeypatch.setattr(migrations, "SERIES", dict(migrations.SERIES))
    with pytest.raises(ValueError, match="registered twice"):
        migrations.series("dotmailer")
    with pytest.raises(ValueError, match="cannot name"):
        migrations.series("legacy")
    extra = migrations.series("extra")
    extra.step(1, "one")(lambda db: None)
    with pytest.raises(ValueError, match="extra/0001 is defined twice"):
        extra.step(1, "again")(lambda db: None)


def test_old_schema_is_upgraded_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = _bare(path)
    migrations.upgrade(db, backup_dir=tmp_path / "backups", targets={"core": 1})  # the store only
    Contact.create(email="kept@example.com", email_key="kept@example.com", first_name="Kept")
    assert migrations.current_versions(db)["core"] == 1
    assert migrations.current_versions(db)["dotmailer"] == 0
    assert not db.table_exists("integration")
    db.close()

    db = open_database(path)
    assert migrations.current_versions(db) == migrations.latest()
    assert db.table_exists("integration") and db.table_exists("dotmailer_contact")
    assert Contact.get().first_name == "Kept"
    backups = list((tmp_path / "backups").glob("old-core1-*.sqlite3"))
    assert len(backups) == 1, "the file is copied before migrating"
    close_database()


def test_a_connector_series_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    open_database(path)
    known = migrations.latest()["ines"]
    SchemaVersion.update(version=known + 5).where(SchemaVersion.series == "ines").execute()
    close_database()
    with pytest.raises(DatabaseTooNew, match=r"newer ListBridge.*ines/"):
        open_database(path)
    close_database()
    raw = pw.SqliteDatabase(str(path))
    assert raw.execute_sql("select version from schema_series where series = 'ines'").fetchone()[0] \
        == known + 5, "nothing was changed"


def test_a_series_the_code_does_not_know_is_left_alone(tmp_path):
    path = tmp_path / "other.sqlite3"
    open_database(path)
    SchemaVersion.create(series="cleverreach", version=7)
    close_database()
    db = open_database(path)
    assert migrations.recorded_versions(db)["cleverreach"] == 7
    close_database()


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    db = _bare(tmp_path / "atomic.sqlite3")
    migrations.upgrade(db, targets={"core": 1})

    def broken(database):
        database.execute_sql("create table half_done (id integer)")
        raise RuntimeError("boom")

    monkeypatch.setitem(migrations.CORE_SERIES.steps, 2, ("broken", broken))
    with pytest.raises(RuntimeError):
        migrations.upgrade(db, targets={"core": 2})
    assert migrations.current_versions(db)["core"] == 1
    assert not db.table_exists("half_done")
    db.close()


def _load_dump(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(BEFORE_ISSUE_8.read_text(encoding="utf-8"))
    con.close()


def _row_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    names = [n for (n,) in con.execute(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")]
    counts = {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    con.close()
    return counts


def test_a_database_from_before_per_series_migrations_opens_with_nothing_lost(tmp_path):
    path = tmp_path / "listbridge.sqlite3"
    _load_dump(path)
    before = _row_counts(path)
    assert before["schema_version"] == 1 and "schema_series" not in before

    db = open_database(path)
    after = _row_counts(path)
    for table, count in before.items():
        if table != "schema_version":
            assert after[table] == count, f"rows of {table} were lost or added"
    every_model = STORE_MODELS + SYNC_MODELS + DOTMAILER_MODELS + INES_MODELS
    assert {m._meta.table_name for m in every_model} <= set(before), "the dump covers every table"
    assert min(before[m._meta.table_name] for m in (
        Contact, Integration, SyncRun, QueueItem, HistoryEvent, AddressBook, DotmailerContact,
        BookMember, InesSyncLog, InesConfigCache)) > 0, "the dump has rows where it matters"

    # The version table in the new shape; the old one keeps a row that old code refuses.
    assert migrations.recorded_versions(db) == {"legacy": 4, "core": 2, "dotmailer": 1, "ines": 1}
    assert db.execute_sql("select version from schema_version").fetchall() == [
        (migrations.REFUSED_BY_OLD_CODE,)]
    assert len(list((tmp_path / "backups").glob("listbridge-v4-*.sqlite3"))) == 1

    # The models read the rows, joins and all.
    dotmailer = Integration.get(Integration.type == "dotmailer")
    book = AddressBook.get(AddressBook.integration == dotmailer, AddressBook.mlist.is_null(False))
    assert MarketingList.get_by_id(book.mlist_id).name == "Newsletter subscribers"
    members = BookMember.select().where(BookMember.book == book).join(DotmailerContact)
    assert members.count() > 0 and all("@" in m.contact.email for m in members)
    ines = Integration.get(Integration.type == "ines")
    assert InesSyncLog.select().where(InesSyncLog.integration == ines).count() \
        == before["ines_sync_log"]
    assert InesConfigCache.get(InesConfigCache.integration == ines).data
    assert {q.state for q in QueueItem.select()} >= {"pending", "done"}
    assert QueueItem.get(QueueItem.state == "done").payload == {"book": 1}
    # ...and new rows can be written.
    InesSyncLog.create(integration=ines, action="UPDATE", contact_id=Contact.get().id)
    close_database()

    # Re-opening migrates nothing twice and copies nothing.
    stamps = dict(pw.SqliteDatabase(str(path)).execute_sql(
        "select series, applied_at from schema_series").fetchall())
    db = open_database(path)
    assert dict(db.execute_sql("select series, applied_at from schema_series").fetchall()) == stamps
    assert len(list((tmp_path / "backups").iterdir())) == 1
    close_database()


def test_code_from_before_the_series_would_refuse_the_upgraded_database(tmp_path):
    """What the code before issue 8 checked: ``max(schema_version.version) > 4`` is refused."""
    path = tmp_path / "listbridge.sqlite3"
    open_database(path)
    close_database()
    raw = pw.SqliteDatabase(str(path))
    assert raw.execute_sql("select max(version) from schema_version").fetchone()[0] > 4


def test_sqlite_runs_in_wal_mode_with_foreign_keys(profile):
    db = database_proxy.obj
    assert db.execute_sql("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("pragma foreign_keys").fetchone()[0] == 1
