"""Small pure helpers of the Dotmailer emulator: dates, JSON answers, CSV cells, routes."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Response

from connectors.dotmailer.emulator.state import (
    _INVALID,
    EMAIL,
    PATH_DATE,
    _as_utc,
)

# ---------------------------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------------------------


def _as_datetime(value: datetime | str | None) -> datetime | None:
    """Hooks accept datetimes or ISO strings (the admin routes only have strings)."""
    if value is None or isinstance(value, datetime):
        return None if value is None else _as_utc(value)
    parsed = _parse_loose_date(value)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed


def _parse_loose_date(text: str) -> datetime | None:
    cleaned = text.strip().replace(" ", "T", 1)
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        return _as_utc(datetime.fromisoformat(cleaned))
    except ValueError:
        return None


def _parse_path_date(text: str) -> datetime | None:
    """The forms of §5.3: Z, z, +0000, +00:00, no zone, a bare date, ``YYYY-MM-DD HH:MM:SS``."""
    match = PATH_DATE.match(text)
    if match is None:
        return None
    day, clock, fraction, _zone = match.groups()
    stamp = f"{day}T{clock or '00:00:00'}"
    try:
        value = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    return value.replace(microsecond=micros)


def _format_date(value: datetime, style: str) -> str:
    value = _as_utc(value)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "no_zone":
        return base
    if style == "seconds":
        return base + "Z"
    return f"{base}.{value.microsecond // 1000:03d}Z"


def _canon(value: object, allowed: Sequence[str]) -> str | None:
    """Enum values bind in any case; spaces are ignored so that 'Hard Bounced' names HardBounced."""
    if not isinstance(value, str):
        return None
    key = value.replace(" ", "").lower()
    return next((item for item in allowed if item.lower() == key), None)


def _norm_reason(reason: str) -> str:
    return reason.replace(" ", "").lower()


def _valid_email(email: str) -> bool:
    return len(email) <= 254 and EMAIL.match(email) is not None


def _pascal(payload: Any) -> Any:
    if isinstance(payload, dict):
        return {k[:1].upper() + k[1:]: _pascal(v) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_pascal(item) for item in payload]
    return payload


def _with_extra(payload: Any) -> Any:
    # Clients must ignore keys they do not know (§1.4, D1).
    if isinstance(payload, dict):
        return {**{k: _with_extra(v) for k, v in payload.items()}, "zzFutureField": 1}
    if isinstance(payload, list):
        return [_with_extra(item) for item in payload]
    return payload


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _json_response(payload: Any, status: int, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    response = Response(
        body.encode("utf-8"), status=status, content_type="application/json; charset=utf-8"
    )
    response.headers.extend(dict(headers or {}))
    return response


def _error_response(status: int, message: str) -> Response:
    return _json_response({"message": message}, status)


def _empty_response(status: int = 204) -> Response:
    response = Response(b"", status=status)
    response.headers.pop("Content-Type", None)
    return response


def _typed_cell(field_type: str, raw: str) -> Any:
    """Convert an imported cell to the field's type; ``_INVALID`` when it does not fit."""
    text = raw.strip()
    if field_type == "String":
        return raw
    if field_type == "Numeric":
        return _number(text)
    if field_type == "Boolean":
        lowered = text.lower()
        if lowered in ("true", "yes", "1"):
            return True
        return False if lowered in ("false", "no", "0") else _INVALID
    parsed = _parse_loose_date(text)
    return _INVALID if parsed is None else parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _number(text: str) -> Any:
    try:
        value = float(text)
    except ValueError:
        return _INVALID
    if value != value or value in (float("inf"), float("-inf")):
        return _INVALID
    return int(value) if re.fullmatch(r"[+-]?\d+", text) else value


def _valid_default(field_type: str, value: Any) -> bool:
    if value is None:
        return True
    if field_type == "String":
        return isinstance(value, str)
    if field_type == "Numeric":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if field_type == "Boolean":
        return isinstance(value, bool)
    return isinstance(value, str) and _parse_loose_date(value) is not None


def _parse_upload(file_name: str, data: bytes) -> tuple[list[str], list[list[str]], str | None]:
    """Read an uploaded file: headers, rows, and why it cannot be imported (or None)."""
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if extension in ("xls", "xlsx"):
        return [], [], "excel"  # accepted by the service, but this emulator reads CSV only
    if extension != "csv":
        return [], [], "unsupported"
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        return [], [], "unreadable"
    if not rows or not any(h.strip().lower() == "email" for h in rows[0]):
        return (rows[0] if rows else []), rows[1:], "no_email_column"
    return rows[0], rows[1:], None


def _cell(row: Sequence[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def _raw_path(environ: Mapping[str, Any]) -> str:
    """The path as sent, still percent-encoded, so that an encoded '/' stays in its segment."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    raw = str(raw).split("?", 1)[0]
    return urlsplit(raw).path if "://" in raw else raw


# Routes: method, path under /v2/, handler suffix. Literal segments win over parameters.
_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "account-info", "account_info"),
    ("GET", "address-books", "list_books"),
    ("POST", "address-books", "create_book"),
    ("GET", "address-books/{book}", "get_book"),
    ("DELETE", "address-books/{book}", "delete_book"),
    ("GET", "address-books/{book}/contacts", "book_contacts"),
    ("GET", "address-books/{book}/contacts/modified-since/{date}", "book_contacts_modified"),
    ("GET", "address-books/{book}/contacts/unsubscribed-since/{date}", "book_unsubscribes"),
    ("GET", "contacts/suppressed-since/{date}", "suppressed_since"),
    ("POST", "address-books/{book}/contacts/delete", "remove_contacts"),
    ("DELETE", "address-books/{book}/contacts/{contact}", "remove_contact"),
    ("POST", "address-books/{book}/contacts/import", "start_import"),
    ("GET", "contacts/import/{import}", "import_status"),
    ("GET", "contacts/import/{import}/report", "import_report"),
    ("GET", "contacts/import/{import}/report-faults", "import_faults"),
    ("GET", "address-books/{book}/campaigns", "book_campaigns"),
    ("GET", "campaigns/with-activity-since/{date}", "campaigns_with_activity"),
    ("GET", "campaigns/{campaign}", "get_campaign"),
    ("GET", "campaigns/{campaign}/activities", "activities"),
    ("GET", "campaigns/{campaign}/activities/since-date/{date}", "activities_since"),
    ("GET", "campaigns/{campaign}/summary", "summary"),
    ("GET", "data-fields", "list_fields"),
    ("POST", "data-fields", "create_field"),
    ("DELETE", "data-fields/{name}", "delete_field"),
    ("GET", "contacts/{contact}", "get_contact"),
    ("GET", "server-time", "server_time"),
)


def _match_route(method: str, segments: list[str]) -> tuple[str, dict[str, str]] | str:
    """The handler and parameters, or "404"/"405" when nothing fits."""
    candidates: list[tuple[tuple[int, ...], str, str, dict[str, str]]] = []
    for route_method, pattern, name in _ROUTES:
        parts = pattern.split("/")
        if len(parts) != len(segments):
            continue
        params: dict[str, str] = {}
        rank: list[int] = []
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{"):
                params[part[1:-1]] = segment
                rank.append(1)
            elif part.lower() == segment.lower():
                rank.append(0)
            else:
                break
        else:
            candidates.append((tuple(rank), route_method, name, params))
    if not candidates:
        return "404"
    allowed = sorted((c for c in candidates if c[1] == method), key=lambda c: c[0])
    return (allowed[0][2], allowed[0][3]) if allowed else "405"
