"""What kind of error ended a step, read without importing connectors.

``connectors.base.ConnectorError`` subclasses carry ``kind`` (configuration, transient,
rate_limited, item, fatal) and ``admin_message``; the engine decides on those attributes.
"""

from __future__ import annotations

from core.logs import redact

KINDS = ("configuration", "transient", "rate_limited", "item", "fatal", "cancelled")


def error_kind(exc: BaseException) -> str:
    from core.secrets import NoKeyringError
    from core.sync.context import Cancelled

    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, NoKeyringError):
        return "configuration"
    kind = getattr(type(exc), "kind", None)
    if isinstance(kind, str) and kind in KINDS and hasattr(exc, "admin_message"):
        return kind
    return "fatal"


def admin_message_for(exc: BaseException) -> str:
    """The sentence the admin reads: the connector's own message, or a plain one for a bug."""
    message = getattr(exc, "admin_message", None)
    if isinstance(message, str) and message and error_kind(exc) != "fatal":
        return redact(message)
    if error_kind(exc) == "configuration":
        return redact(str(exc))
    if isinstance(message, str) and message:
        return redact(message) + " The details are in the log."
    detail = redact(str(exc)).splitlines()[0][:200] if str(exc) else ""
    return ("An unexpected error stopped the sync"
            + (f" ({type(exc).__name__}: {detail})" if detail else f" ({type(exc).__name__})")
            + ". The details are in the log.")
