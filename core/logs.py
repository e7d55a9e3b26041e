"""Logging to a rotating file in the profile's log folder, with secrets redacted.

Every secret read or stored through ``core.secrets`` is registered here, and the redacting filter
replaces it wherever it appears in a log record; Authorization headers, passwords in URLs and
``password=`` pairs are masked by pattern as well.
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

_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)?\s*[^\s'\",}]+"),
    re.compile(r"(?i)((?:password|passwd|pwd|token|secret|api_key|apikey|access_token|"
               r"refresh_token|idsession|sessionid)['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}<]+"),
    re.compile(r"(?i)(<(?:password|idSession|ID)>)[^<]*"),
    re.compile(r"(://[^/\s:@]+:)[^@/\s]+(@)"),
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
