"""Every peewee model of ListBridge, importable from one place."""

from core.db import BaseModel, SchemaVersion
from core.models.store import *  # noqa: F403
from core.models.store import STORE_MODELS
from core.models.sync import *  # noqa: F403
from core.models.sync import SYNC_MODELS

__all__ = ["BaseModel", "SchemaVersion", "STORE_MODELS", "SYNC_MODELS"]
