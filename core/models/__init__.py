"""The peewee models of core: the marketing store and the sync engine's tables.

Each connector's own tables live in its package (``connectors.dotmailer.models``...); the schema
versions are ``core.migrations.SchemaVersion``.
"""

from core.db import BaseModel
from core.models.store import *  # noqa: F403
from core.models.store import STORE_MODELS
from core.models.sync import *  # noqa: F403
from core.models.sync import SYNC_MODELS

__all__ = ["BaseModel", "STORE_MODELS", "SYNC_MODELS"]
