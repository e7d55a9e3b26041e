"""Where ListBridge keeps its data, configuration and logs.

A profile is one folder holding the database and the logs. The user's own profile lives in the
platform's data folder (platformdirs); ``--data-dir`` or ``LISTBRIDGE_DATA_DIR`` picks another one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

ENV_DATA_DIR = "LISTBRIDGE_DATA_DIR"
APP_DIR_NAME = "listbridge"


@dataclass(frozen=True)
class Profile:
    """The folders of one ListBridge profile."""

    root: Path
    demo: bool = False

    @property
    def database(self) -> Path:
        return self.root / "listbridge.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def backup_dir(self) -> Path:
        return self.root / "backups"

    def ensure(self) -> Profile:
        for folder in (self.root, self.log_dir, self.backup_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def resolve_profile(data_dir: str | os.PathLike[str] | None = None, demo: bool = False) -> Profile:
    """The profile chosen by the command line, then the environment, then the platform default."""
    if data_dir:
        return Profile(Path(data_dir).expanduser().resolve(), demo=demo)
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Profile(Path(env).expanduser().resolve(), demo=demo)
    return Profile(default_data_dir(), demo=demo)


def resources_dir() -> Path:
    """The repository's ``resources/`` folder (icons, style sheet, translations, demo data)."""
    return Path(__file__).resolve().parent.parent / "resources"
