"""What a sync step receives (``SyncContext``); defined with the rest of the connector contract
in ``core.sync.contract`` and re-exported here, where steps have always imported it."""

from __future__ import annotations

from core.sync.contract import Progress, ProgressCallback, SyncContext
from core.sync.errors import Cancelled

__all__ = ["Cancelled", "Progress", "ProgressCallback", "SyncContext"]
