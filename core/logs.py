"""Logging to a rotating file in the profile's log folder, with secrets redacted.

Every secret read or stored through ``core.secrets`` is registered here, and the redacting filter
replaces it wherever it appears in a log record. Secrets the app does not hold are masked by their
known shapes: Authorization headers, Bearer tokens, ``password=`` pairs in query strings and form
bodies, ``"password": "..."`` in JSON, credential elements in SOAP, passwords in URLs, JSON Web
Tokens. A service's own sentence ("... password: Authorization has been denied ...") is left as
it was written.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading
from pathlib import Path

REDACTED = "********"
_secrets: set[str] = set()
_lock = threading.Lock()

_SECRET_KEYS = (r"(?:password|passwd|pwd|token|secret|client_secret|api_key|apikey|access_token|"
                r"refresh_token|idsession|sessionid)")
# Known shapes only, never "the word after 'password:' in a sentence" (a service's own message,
# "Authorization has been denied for this request", must read as it was written). Secrets the app
# holds are masked by value first (``register_secret``).
_PATTERNS = [
    # Authorization / Proxy-Authorization headers, in a header dump or a dict's repr
    re.compile(r"(?i)((?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:basic|bearer|digest)\s+)?"
               r"(?!has\b|was\b|is\b|failed\b|denied\b|required\b)[^\s'\",}]+"),
    # Bearer tokens anywhere
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # key=value in a query string or a form body (no space after "=")
    re.compile(rf"(?i)(\b{_SECRET_KEYS}=)[^\s'\",&}}<]+"),
    # "key": "value" in JSON, 'key': 'value' in a Python repr
    re.compile(rf"(?i)(['\"]{_SECRET_KEYS}['\"]\s*:\s*['\"])[^'\"]*"),
    # SOAP / XML elements holding credentials or a session
    re.compile(r"(?i)(<(?:[\w-]+:)?(?:password|idSession|ID|SessionID)>)[^<]*"),
    # user:password@ in a URL
    re.compile(r"(://[^/\s:@]+:)[^@/\s]+(@)"),
    # JSON Web Tokens (OAuth access tokens), whatever surrounds them
    re.compile(r"()\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret so that no log line can carry it."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED + (m.group(2) if m.lastindex and
                                                             m.lastindex >= 2 and m.group(2)
                                                             and m.group(2) == "@" else ""),
                           text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        return True


FORMAT = "%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s"


def setup_logging(log_dir: Path | None, level: int = logging.INFO, console: bool = False) -> Path | None:
    """Send ListBridge's logs to ``log_dir/listbridge.log`` (rotated) with redaction."""
    root = logging.getLogger("listbridge")
    root.setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "_listbridge", False):
            root.removeHandler(handler)
            handler.close()
    path = None
    handlers: list[logging.Handler] = []
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        path = log_dir / "listbridge.log"
        handlers.append(logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"))
    if console:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RedactingFilter())
        handler._listbridge = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.propagate = False
    return path
