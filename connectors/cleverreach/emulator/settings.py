"""The emulator's settings for behaviour nobody has observed (shared/api/cleverreach.md §5.3).

Every setting has the document's default; :func:`check_setting` refuses unknown names and values
outside the alternatives the document names, so a test that mistypes a setting fails at once
instead of testing the default.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["SETTINGS_DEFAULTS", "check_setting", "default_settings"]

SETTINGS_DEFAULTS: dict[str, Any] = {
    # OAuth (§1.2)
    "access_token_ttl": 31536000,
    "refresh_token_ttl": 2592000,
    "code_ttl": 600,
    "rotate_refresh_tokens": True,
    "old_refresh_token_valid_after_use": False,
    "revoke_old_access_token_on_refresh": False,
    "refresh_token_for_client_credentials": False,
    "require_grant_basic": True,
    "redirect_uri_policy": "loopback_any_port",
    "oauth_error_status": 400,
    "auto_approve": True,
    "auto_approve_account": None,
    # Limits (§1.4, §5.1)
    "max_batch": 1000,
    "max_pagesize": 5000,
    "default_pagesize": 50,
    "pagesize_over_max": "error",
    "rate_limit": None,
    # Receivers (§2.3)
    "protect_cr_deactivated": True,
    "bounce_sets_inactive": True,
    "receiver_id_scope": "account",
    "global_attributes_shared": True,
    "upsert_status_new": "upsert success",
    "upsert_status_existing": "update success",
    "unknown_attribute_keys": "ignore",
    "blacklisted_upsert": "accept",
    "email_change_scope": "all",
    # Groups (§2.2)
    "unique_group_names": False,
    "locked_blocks_delete": True,
    # Others
    "form_send_response": "email",
    "empty_list_status": 200,
    "attribute_limit": 40,
}

_CHOICES: dict[str, tuple[Any, ...]] = {
    "redirect_uri_policy": ("loopback_any_port", "exact", "any"),
    "pagesize_over_max": ("error", "clamp"),
    "receiver_id_scope": ("account", "group"),
    "unknown_attribute_keys": ("ignore", "reject"),
    "blacklisted_upsert": ("accept", "reject"),
    "email_change_scope": ("all", "one"),
    "form_send_response": ("email", "success"),
    "empty_list_status": (200, 204),
    "oauth_error_status": (400, 401),
}
_RATE_KEYS = {"requests", "per_seconds", "retry_after"}


def default_settings() -> dict[str, Any]:
    return copy.deepcopy(SETTINGS_DEFAULTS)


def check_setting(name: str, value: Any) -> None:
    """Raise ValueError unless ``value`` is allowed for the setting ``name``."""
    if name not in SETTINGS_DEFAULTS:
        raise ValueError(f"unknown setting {name!r}")
    default = SETTINGS_DEFAULTS[name]
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ValueError(f"{name} must be one of {_CHOICES[name]}")
    elif name == "rate_limit":
        if value is not None and (not isinstance(value, Mapping)
                                  or not {"requests", "per_seconds"} <= set(value)
                                  or not set(value) <= _RATE_KEYS):
            raise ValueError("rate_limit is null or {requests, per_seconds, retry_after}")
    elif name == "auto_approve_account":
        if value is not None and not isinstance(value, str | int):
            raise ValueError("auto_approve_account is an account id or null")
    elif isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number of at least 0")
    elif isinstance(default, str) and not isinstance(value, str):
        raise ValueError(f"{name} must be text")
