"""Schema versions: an old database is upgraded with its data; a newer one is refused."""

from __future__ import annotations

import peewee as pw
import pytest

from core import migrations
from core.db import (
    DatabaseTooNew,
    SchemaVersion,
    close_database,
    database_proxy,
    make_database,
    open_database,
)
from core.models.store import Contact


def test_old_schema_is_upgraded_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = make_database(path)
    database_proxy.initialize(db)
    db.connect()
    migrations.upgrade(db, backup_dir=tmp_path / "backups", target=1)  # the store only
    Contact.create(email="kept@example.com", email_key="kept@example.com", first_name="Kept")
    assert migrations.current_version(db) == 1
    assert not db.table_exists("integration")
    db.close()

    db = open_database(path)
    assert migrations.current_version(db) == migrations.latest()
    assert db.table_exists("integration")
    assert Contact.get().first_name == "Kept"
    backups = list((tmp_path / "backups").glob("old-v1-*.sqlite3"))
    assert len(backups) == 1, "the file is copied before migrating"
    close_database()


def test_database_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "new.sqlite3"
    open_database(path)
    SchemaVersion.update(version=migrations.latest() + 5).execute()
    close_database()
    with pytest.raises(DatabaseTooNew, match="newer ListBridge"):
        open_database(path)
    close_database()
    raw = pw.SqliteDatabase(str(path))
    assert raw.execute_sql("select version from schema_version").fetchone()[0] == \
        migrations.latest() + 5, "nothing was changed"


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "atomic.sqlite3"
    db = make_database(path)
    database_proxy.initialize(db)
    db.connect()
    migrations.upgrade(db, target=1)

    def broken(database):
        database.execute_sql("create table half_done (id integer)")
        raise RuntimeError("boom")

    monkeypatch.setitem(migrations.MIGRATIONS, 2, ("broken", broken))
    with pytest.raises(RuntimeError):
        migrations.upgrade(db, target=2)
    assert migrations.current_version(db) == 1
    assert not db.table_exists("half_done")
    db.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(profile):
    db = database_proxy.obj
    assert db.execute_sql("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("pragma foreign_keys").fetchone()[0] == 1
