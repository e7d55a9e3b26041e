"""The CleverReach REST v3 client on the shared HTTP session (owner: the client/OAuth part of
issue 9)."""

from __future__ import annotations

from typing import Any

from core.sync.context import SyncContext

DEFAULT_API_URL = "https://rest.cleverreach.com/"


def client_for_run(ctx: SyncContext) -> Any:
    raise NotImplementedError("issue 9: the CleverReach client")
