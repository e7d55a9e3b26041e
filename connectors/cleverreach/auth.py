"""OAuth sign-in, tokens, refresh, "Reconnect needed", Disconnect, the connection check
(owner: the client/OAuth part of issue 9)."""

from __future__ import annotations

from typing import Any

from connectors.base import CheckResult
from core.models.sync import Integration


def check_connection(settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
    raise NotImplementedError("issue 9: the CleverReach connection check")


def configuration_problems(integration: Integration) -> list[str]:
    return []
