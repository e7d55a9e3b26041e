"""Fixtures shared by every test: a throw-away profile and database, keyrings, Qt offscreen."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

from connectors.base import load_all  # noqa: E402
from core.db import close_database  # noqa: E402
from core.migrations import open_database  # noqa: E402
from core.paths import Profile  # noqa: E402
from tests.helpers.keyrings import MemoryKeyring  # noqa: E402

load_all()  # every connector's migration series, before any fixture opens a database

SHARED = Path(os.environ.get("LISTBRIDGE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Profile]:
    """A fresh profile folder with its database open; every standard folder points inside it."""
    prof = Profile(tmp_path / "profile").ensure()
    monkeypatch.setenv("LISTBRIDGE_DATA_DIR", str(prof.root))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    open_database(prof.database)
    yield prof
    close_database()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring, for tests that are about something other than secrets."""
    import keyring

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def real_keyring() -> Iterator[None]:
    """The OS keyring (gnome-keyring under dbus-run-session in CI); skipped where there is none."""
    import keyring

    from core import secrets

    keyring.core._keyring_backend = None  # re-detect: another test may have replaced it
    backend = keyring.get_keyring()
    if not secrets._is_secure(backend):
        if os.environ.get("CI"):
            pytest.fail("CI must provide a real keyring (gnome-keyring under dbus-run-session)")
        pytest.skip("no OS keyring on this machine")
    yield
