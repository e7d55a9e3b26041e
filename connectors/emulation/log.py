"""The request log of an emulator, and the redaction of secrets in what it keeps.

Tests read the log to see what a client sent; nothing in it may be a password or token, since
the log is served over the admin hooks and printed in failures. Redaction covers:

- headers: Authorization, Proxy-Authorization, Cookie, Set-Cookie (masked, or dropped);
- JSON and form bodies: values of keys such as password, client_secret, access_token,
  refresh_token, token, code (:data:`SECRET_KEYS`);
- SOAP/XML bodies: the text of password, ID (session header) and idSession elements.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["SECRET_HEADERS", "SECRET_KEYS", "RequestLog", "redact_headers", "redact_text"]

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_KEYS = ("password", "client_secret", "access_token", "refresh_token", "token", "code")
_XML_SECRET = re.compile(
    r"(<(?:[\w.-]+:)?(password|ID|idSession)(?:\s[^>]*)?>)(.*?)(</(?:[\w.-]+:)?\2\s*>)", re.DOTALL
)
_KEYS = "|".join(SECRET_KEYS)
_JSON_SECRET = re.compile(rf'("(?:{_KEYS})"\s*:\s*)"(?:[^"\\]|\\.)*"', re.IGNORECASE)
_FORM_SECRET = re.compile(rf"(^|&)((?:{_KEYS})=)[^&]*", re.IGNORECASE)


def redact_headers(
    headers: Iterable[tuple[str, str]] | Mapping[str, str], mask: str | None = "[redacted]"
) -> dict[str, str]:
    """The headers with secret ones masked (``mask=None``: left out)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    kept: dict[str, str] = {}
    for name, value in items:
        if name.lower() in SECRET_HEADERS:
            if mask is not None:
                kept[name] = mask
        else:
            kept[name] = value
    return kept


def redact_text(
    text: str, mask: str = "***", xml: bool = True, json: bool = True, form: bool = True
) -> str:
    """A request or answer body with secret values replaced by ``mask``."""
    if xml:
        text = _XML_SECRET.sub(lambda m: m.group(1) + mask + m.group(4), text)
    if json:
        text = _JSON_SECRET.sub(lambda m: m.group(1) + '"' + mask + '"', text)
    if form and "=" in text and "\n" not in text:
        text = _FORM_SECRET.sub(lambda m: m.group(1) + m.group(2) + mask, text)
    return text


class RequestLog:
    """The newest ``maxlen`` entries (None: all), one dict per request, thread-safe."""

    def __init__(self, maxlen: int | None = None) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)

    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Keep ``entry`` (the same dict: the caller may fill in its status afterwards)."""
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def count(self, where: Callable[[dict[str, Any]], bool] | None = None) -> int:
        with self._lock:
            return sum(1 for e in self._entries if where is None or where(e))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def resize(self, maxlen: int | None) -> None:
        with self._lock:
            self._entries = deque(self._entries, maxlen=maxlen)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
