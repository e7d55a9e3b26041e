"""The error kinds a connector raises, and what the engine reads from an error.

Every error a connector raises on purpose is a ``ConnectorError``; its class says what the engine
does (``kind``): a ``ConfigurationError`` stops the run and asks the admin to fix a setting, a
``TransientError`` (or ``RateLimited``) ends the run as ``retrying`` and the next one carries on,
an ``ItemError`` concerns one record (queued, the run goes on), a ``FatalError`` (or any other
exception: a bug) fails the run with the trace in the log. ``Cancelled`` is the admin's Cancel.

This is the lowest module of the engine (``core.sync.contract`` re-exports the classes for
connectors, ``connectors.base`` too); it imports nothing of ``core.sync``.
"""

from __future__ import annotations

from typing import ClassVar

from core.logs import redact
from core.secrets import NoKeyringError

KINDS = ("configuration", "transient", "rate_limited", "item", "fatal", "cancelled")


class Cancelled(Exception):
    """The admin pressed Cancel; the step stops at a safe point and keeps its watermark."""


class ConnectorError(Exception):
    """Base of every error a connector raises on purpose.

    ``admin_message`` is what the admin reads (no secrets, no stack traces); ``str(exc)`` is for
    the log and may carry technical detail, already redacted.
    """

    kind: ClassVar[str] = "fatal"

    def __init__(self, admin_message: str, detail: str = "") -> None:
        super().__init__(detail or admin_message)
        self.admin_message = admin_message


class ConfigurationError(ConnectorError):
    """Wrong credentials, a missing setting, a refused account: stop the run, tell the admin."""

    kind = "configuration"


class TlsError(ConfigurationError):
    """The connection is not secure: a certificate that does not verify, TLS switched off, or
    plain http to a host other than this computer. A configuration error (the run stops) that
    Check Connection reports with ``CheckResult.kind == "tls"`` (see ``check_result_for``)."""


class TransientError(ConnectorError):
    """Timeout, 5xx, 429, dropped connection: try again later (``retry_after`` seconds if known).

    Its ``admin_message`` is read after a sync (the run ends ``retrying``) and after Check
    Connection alike, so it should say what happened without promising a retry; where the
    wording differs, a session with ``connectors.http.CHECK_POLICY`` words it for the check
    ("X could not be reached (...). Check the service URL and the network.")."""

    kind = "transient"

    def __init__(self, admin_message: str, detail: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(admin_message, detail)
        self.retry_after = retry_after
        # True when the request never reached the service (the connection could not be opened):
        # a create may then be sent again without risking a duplicate, and the attempt is given
        # back (``core.sync.attempts``).
        self.never_sent = False


class RateLimited(TransientError):
    """The service asked us to slow down for longer than a step may wait inline."""

    kind = "rate_limited"


class ItemError(ConnectorError):
    """One record was refused: queue it with this message and go on with the others."""

    kind = "item"

    def __init__(self, admin_message: str, detail: str = "", record_id: int | None = None,
                 email: str = "") -> None:
        super().__init__(admin_message, detail)
        self.record_id = record_id
        self.email = email


class FatalError(ConnectorError):
    """A bug or an answer we cannot understand: stop the run and keep the trace in the log."""

    kind = "fatal"


def error_kind(exc: BaseException) -> str:
    """One of ``KINDS``: what the engine does with this error."""
    if isinstance(exc, Cancelled):
        return "cancelled"
    if isinstance(exc, NoKeyringError):
        return "configuration"
    if isinstance(exc, ConnectorError):
        return exc.kind if exc.kind in KINDS else "fatal"
    return "fatal"


def retry_after_of(exc: BaseException) -> float | None:
    """The wait a transient error asks for (seconds), or None."""
    return exc.retry_after if isinstance(exc, TransientError) else None


def admin_message_for(exc: BaseException) -> str:
    """The sentence the admin reads: the connector's own message, or a plain one for a bug."""
    kind = error_kind(exc)
    message = exc.admin_message if isinstance(exc, ConnectorError) else ""
    if message and kind != "fatal":
        return redact(message)
    if kind == "configuration":
        return redact(str(exc))
    if message:
        return redact(message) + " The details are in the log."
    detail = redact(str(exc)).splitlines()[0][:200] if str(exc) else ""
    return ("An unexpected error stopped the sync"
            + (f" ({type(exc).__name__}: {detail})" if detail else f" ({type(exc).__name__})")
            + ". The details are in the log.")
