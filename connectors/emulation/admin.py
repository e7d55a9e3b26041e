"""Admin hooks over HTTP: ``POST <prefix><hook>`` with JSON keyword arguments.

Each emulator's hooks are Python methods (tests call them directly); with ``admin_http=True`` the
same methods are reachable under one prefix, :data:`ADMIN_PREFIX` ("/_emulator/", as the Dotmailer
and INES documents name it; a service whose document names another, such as CleverReach's
"/__emulator__/", passes its own). Only the names an emulator lists are callable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["ADMIN_PREFIX", "admin_kwargs", "call_hook", "hook_name"]

ADMIN_PREFIX = "/_emulator/"


def hook_name(path: str, prefix: str = ADMIN_PREFIX) -> str | None:
    """The hook a path names, or None when the path is not under ``prefix``."""
    if not path.startswith(prefix):
        return None
    return path[len(prefix) :].strip("/")


def admin_kwargs(body: bytes, query: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments from a JSON object body, else from the query string (where digits
    become ints again, since a query carries text only)."""
    if body:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object of keyword arguments")
        return data
    return {k: int(v) if re.fullmatch(r"-?\d+", v) else v for k, v in (query or {}).items()}


def call_hook(target: object, hooks: Collection[str], name: str, kwargs: Mapping[str, Any]) -> Any:
    """``target.<name>(**kwargs)`` if ``name`` is one of ``hooks``; else KeyError."""
    if name not in hooks:
        raise KeyError(f"unknown hook {name!r}")
    return getattr(target, name)(**kwargs)
