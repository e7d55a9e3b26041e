"""The Dotmailer (dotdigital) REST API v2, protocol only (``shared/api/dotmailer.md`` §1-§2).

What this module knows: discovery of the account's regional endpoint (once per process and
credential set, again once after a 403), Basic authentication, lenient JSON reading (keys in any
case, unknown keys ignored, missing ones defaulted), paging with overlap and de-duplication, the
error map from status and ``ERROR_*`` code to the error taxonomy, rate limits, path quoting and
path dates. What it does not know: the store, the sync, what a result means for a marketing list.

Nothing is cached except the discovered endpoint: list reads and import polls always go to the
service (D3).
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import io
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from connectors.base import (
    ConfigurationError,
    ConnectorError,
    FatalError,
    ItemError,
    RateLimited,
    TransientError,
    parse_remote_date,
)
from connectors.http import (
    HttpPolicy,
    ServiceSession,
    check_url,
    describe_response,
    make_session,
    retry_after_seconds,
)
from connectors.paging import OverlapPager
from core.logs import redact

log = logging.getLogger("listbridge.dotmailer")

DISCOVERY_URL = "https://r1-api.dotdigital.com"
SERVICE = "Dotmailer"
PAGE_SIZE = 1000  # 1-1000; Oro uses 100 for books, ListBridge 1000 everywhere (§1.5)
PAGE_OVERLAP = 100  # rows re-read at each page boundary (Oro's OverlapIterator)
IMPORT_TIMEOUT = 300.0
MAX_INLINE_WAIT = 120.0
FIRST_DATE = datetime(1971, 1, 1)  # the constant first-run date (D10)

JsonObject = dict[str, Any]
Sleep = Callable[[float], None]

_CODE = re.compile(r"\bERROR_[A-Z0-9_]+")


# -- errors ----------------------------------------------------------------------------------------

class DotmailerProblem:
    """Mixed into every error this client raises about an answer: the code and the status."""

    code: str = ""
    status: int = 0
    server_message: str = ""


class RemoteGone(ItemError, DotmailerProblem):
    """The book, campaign or import no longer exists remotely (``*_NOT_FOUND``)."""


class RefusedItem(ItemError, DotmailerProblem):
    """One contact was refused: not found, suppressed, an invalid email."""


class DuplicateName(ItemError, DotmailerProblem):
    """``ERROR_ADDRESSBOOK_DUPLICATE``: the name is taken, or is Test or All Contacts."""


class FieldExists(ItemError, DotmailerProblem):
    """``ERROR_NON_UNIQUE_DATAFIELD``: refresh the data fields."""


class FieldInUse(ItemError, DotmailerProblem):
    """409 on a data-field deletion: the field is used; ``dependencies`` say where (D4)."""

    dependencies: list[JsonObject]


class RetryLater(TransientError, DotmailerProblem):
    """The service is busy with this (a report not ready, a book in use): try again later."""


class TooManyImports(RetryLater):
    """``ERROR_IMPORT_TOOMANYACTIVEIMPORTS``: re-queue the batch (D8)."""


class UsageExceeded(RateLimited, DotmailerProblem):
    """``ERROR_APIUSAGE_EXCEEDED``, whatever its status: a rate limit (D2)."""


class WrongRegion(ConfigurationError, DotmailerProblem):
    """403: the call went to another region's endpoint; discover again once."""


class ServiceConfigurationError(ConfigurationError, DotmailerProblem):
    """Credentials refused, book not writable, account limits: stop and tell the admin."""


class ServiceFatalError(FatalError, DotmailerProblem):
    """An answer that means ListBridge sent something wrong (our bug)."""


class ServiceTransientError(TransientError, DotmailerProblem):
    """A 5xx or an unreadable answer: retry later."""


class UnreadableAnswer(ServiceTransientError):
    """A 200 whose body is not the JSON it should be (cut off, empty, garbled): read again."""


CONFIGURATION_CODES = frozenset({
    "ERROR_APIUSER_INVALID", "ERROR_INVALID_LOGIN", "ERROR_ADDRESSBOOK_NOTWRITABLE",
    "ERROR_ADDRESSBOOK_LIMITEXCEEDED", "ERROR_ADDRESSBOOK_TOOMANY", "ERROR_CONTACT_TOOMANY",
    "ERROR_DATAFIELD_INVALID", "ERROR_DATAFIELD_LIMITEXCEEDED", "ERROR_DATAFIELD_NOTFOUND",
})
GONE_CODES = frozenset({"ERROR_ADDRESSBOOK_NOT_FOUND", "ERROR_CAMPAIGN_NOT_FOUND",
                        "ERROR_IMPORT_NOT_FOUND"})
ITEM_CODES = frozenset({"ERROR_CONTACT_NOT_FOUND", "ERROR_CONTACT_SUPPRESSED"})
RETRY_CODES = frozenset({"ERROR_IMPORT_REPORT_NOT_FOUND", "ERROR_ADDRESSBOOK_IN_USE",
                         "ERROR_SYSTEM_SERVICETEMPORARILYUNAVAILABLE"})
FATAL_CODES = frozenset({"ERROR_IMPORT_UNSUPPORTED_FORMAT", "ERROR_NO_EMAIL_COLUMN"})


def _tag(exc: Any, code: str, status: int, message: str) -> Any:
    exc.code, exc.status, exc.server_message = code, status, message
    return exc


def server_message(response: requests.Response) -> str:
    """The service's own message: ``{"message": ...}`` in any key case, else the body's text."""
    try:
        text = response.text
    except Exception:  # an undecodable body
        return ""
    try:
        data = loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return redact(data["message"].strip())
    # A proxy's HTML page or plain text: the first bit of visible text.
    plain = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return redact(plain[:200])


def error_code(message: str) -> str:
    match = _CODE.search(message or "")
    return match.group(0) if match else ""


def map_error(response: requests.Response, for_check: bool = False) -> ConnectorError | None:
    """The one place that decides what an answer means (§1.6); None for a success.

    ``for_check``: the admin is waiting for Check Connection (a session with
    ``connectors.http.CHECK_POLICY``), so a passing failure says what to do now, not that "the
    sync will try again", which only a sync's session says."""

    def then(for_sync: str, for_a_check: str) -> str:
        return for_a_check if for_check else for_sync

    status = response.status_code
    if status < 400:
        return None
    message = server_message(response)
    code = error_code(message)
    detail = describe_response(response)
    shown = message or f"HTTP {status}"
    if code == "ERROR_APIUSAGE_EXCEEDED":
        return _tag(UsageExceeded(
            f"Dotmailer capped this account's API use: {shown}. "
            + then("The sync will resume later.", "Check the connection again later."),
            detail, retry_after=retry_after_seconds(response)), code, status, message)
    if status == 401:
        return _tag(ServiceConfigurationError(
            f"Dotmailer refused the user name or password: {shown} Check the API user's email "
            "address and password.", detail), code, status, message)
    if status == 403:
        return _tag(WrongRegion(
            "Dotmailer refused the call on this region's endpoint (HTTP 403 Forbidden). Check "
            "the service URL of the integration.", detail), code, status, message)
    if status == 429:
        return _tag(RateLimited(
            "Dotmailer asked ListBridge to slow down (HTTP 429)"
            + then("; the sync will resume at the next run.",
                   ". Check the connection again in a minute."), detail, retry_after=retry_after_seconds(response)), code, status, message)
    if status == 409:
        error = FieldInUse(f"Dotmailer refused: the data field is in use ({shown}).", detail)
        error.dependencies = _dependencies(response)
        return _tag(error, code or "HTTP_409", status, message)
    if code in CONFIGURATION_CODES:
        return _tag(ServiceConfigurationError(f"Dotmailer refused: {shown}", detail),
                    code, status, message)
    if code in GONE_CODES:
        return _tag(RemoteGone(f"Not found in Dotmailer: {shown}", detail), code, status, message)
    if code in ITEM_CODES or (code == "ERROR_PARAMETER_INVALID"
                              and "not a valid email" in message.lower()):
        return _tag(RefusedItem(f"Dotmailer refused the contact: {shown}", detail),
                    code, status, message)
    if code == "ERROR_ADDRESSBOOK_DUPLICATE":
        return _tag(DuplicateName(
            "An address book with this name already exists in Dotmailer (Test and All Contacts "
            "are reserved).", detail), code, status, message)
    if code == "ERROR_NON_UNIQUE_DATAFIELD":
        return _tag(FieldExists(f"Dotmailer: {shown}", detail), code, status, message)
    if code == "ERROR_IMPORT_TOOMANYACTIVEIMPORTS":
        return _tag(TooManyImports(
            "Dotmailer has too many imports running for this account"
            + then("; the batch waits for the next run.", "."), detail), code, status, message)
    if code in RETRY_CODES:
        return _tag(RetryLater(f"Dotmailer is busy: {shown}", detail), code, status, message)
    if status >= 500:
        return _tag(ServiceTransientError(
            f"Dotmailer is not available at the moment (HTTP {status})"
            + then("; the sync will try again later.",
                   ". Try again in a moment; if it persists, check the service URL and the "
                   "network."), detail), code, status, message)
    return _tag(ServiceFatalError(
        f"Dotmailer did not accept a request from ListBridge: {shown}", detail),
        code, status, message)


def _dependencies(response: requests.Response) -> list[JsonObject]:
    try:
        data = loads(response.text)
    except ValueError:
        return []
    found = data.get("dependencies") if isinstance(data, dict) else None
    return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []


# -- lenient JSON ----------------------------------------------------------------------------------

def _lower_keys(pairs: list[tuple[str, Any]]) -> JsonObject:
    return {key.lower(): value for key, value in pairs}


def loads(text: str | bytes) -> Any:
    """JSON with every object's keys lower-cased: the service's casing is not ours to rely on."""
    return json.loads(text, object_pairs_hook=_lower_keys)


def as_int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def as_float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def as_date(value: Any) -> datetime | None:
    """A naive UTC datetime; None for null, empty, .NET's minimum or anything unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _date_text(value)
    try:
        return parse_remote_date(value)
    except (TypeError, ValueError):
        return None


@functools.lru_cache(maxsize=8192)
def _date_text(text: str) -> datetime | None:
    # Most dates are ``…Z`` or have no zone: Python reads those directly; the rest (``z``,
    # ``+0000``, a space) go through the general parser.
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            return parse_remote_date(text)
        except (TypeError, ValueError):
            return None
    if parsed.year == 1:
        return None  # .NET's minimum: no date
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def enum_value(value: Any) -> str:
    """Enum values in PascalCase whatever the casing sent; unknown ones as given."""
    return as_text(value).strip()


def datafields_of(contact: JsonObject) -> dict[str, Any] | None:
    """``dataFields`` as {NAME: value}; None when the answer carried none (not full data)."""
    raw = contact.get("datafields")
    if not isinstance(raw, list):
        return None
    out: dict[str, Any] = {}
    for item in raw:
        if isinstance(item, dict) and item.get("key") is not None:
            out[str(item["key"])] = item.get("value")
    return out


# -- path values -----------------------------------------------------------------------------------

def path_value(value: Any) -> str:
    """A path segment: ``+`` stays a literal plus, ``@`` and ``:`` stay readable (§1.3)."""
    return quote(str(value), safe="@+:")


def path_date(value: datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SS+00:00``, as dotdigital's own connector sends."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"


# -- paging ----------------------------------------------------------------------------------------

# Dotmailer pages by ``select``/``skip`` with overlap; the defaults are ``PAGE_SIZE`` and
# ``PAGE_OVERLAP`` (``connectors.paging.OverlapPager``).
Pager = OverlapPager


def contact_key(item: JsonObject) -> Any:
    return item.get("id") if item.get("id") is not None else as_text(item.get("email")).lower()


def suppression_key(item: JsonObject) -> Any:
    inner = item.get("suppressedcontact")
    return contact_key(inner) if isinstance(inner, dict) else None


def activity_key(item: JsonObject) -> Any:
    if item.get("contactid") is not None:
        return item.get("contactid")
    return as_text(item.get("email")).lower() or None


def id_key(item: JsonObject) -> Any:
    return item.get("id")


# -- shapes ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountInfo:
    id: int
    name: str
    main_email: str
    api_endpoint: str
    locale: str
    properties: dict[str, Any]

    @classmethod
    def parse(cls, data: Any) -> AccountInfo:
        props: dict[str, Any] = {}
        if isinstance(data, dict) and isinstance(data.get("properties"), list):
            for prop in data["properties"]:
                if isinstance(prop, dict) and prop.get("name") is not None:
                    props[str(prop["name"]).lower()] = prop.get("value")
        return cls(as_int(data.get("id")) if isinstance(data, dict) else 0,
                   as_text(props.get("name")), as_text(props.get("mainemail")),
                   as_text(props.get("apiendpoint")), as_text(props.get("apilocale")), props)


@dataclass(frozen=True)
class ImportFault:
    reason: str
    email: str
    row: dict[str, str]


def parse_faults(content: bytes | str) -> list[ImportFault]:
    """E15: ``Reason`` then the uploaded headers; a BOM, LF or CRLF are all fine (§2.1)."""
    text = content.decode("utf-8-sig", errors="replace") if isinstance(content, bytes) else content
    text = text.lstrip("\ufeff")
    if text.lstrip().startswith(("{", "[")):
        raise ServiceFatalError("Dotmailer answered the import faults with JSON, not CSV.",
                                redact(text[:300]))
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        return []
    lowered = [h.strip().lower() for h in header]
    reason_at = lowered.index("reason") if "reason" in lowered else 0
    email_at = lowered.index("email") if "email" in lowered else (1 if len(header) > 1 else 0)
    faults = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = dict(zip(header, row, strict=False))
        reason = row[reason_at].strip() if reason_at < len(row) else ""
        email = row[email_at].strip().lower() if email_at < len(row) else ""
        faults.append(ImportFault(reason, email, cells))
    return faults


# -- discovery -------------------------------------------------------------------------------------

_discovered: dict[tuple[str, str, str], tuple[str, AccountInfo]] = {}
_discovery_lock = threading.Lock()


def _credential_key(discovery_url: str, username: str, password: str) -> tuple[str, str, str]:
    digest = hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()
    return discovery_url.rstrip("/").lower(), username.strip().lower(), digest


def forget_discoveries() -> None:
    """Forget every discovered endpoint (tests; a changed password makes a new key anyway)."""
    with _discovery_lock:
        _discovered.clear()


def base_from_endpoint(endpoint: str) -> str:
    """``ApiEndpoint`` as Oro uses it: strip a trailing ``/``, append ``/v2`` if missing."""
    base = endpoint.strip().rstrip("/")
    if not base.lower().endswith("/v2"):
        base += "/v2"
    return base


# -- the client ------------------------------------------------------------------------------------

def default_policy() -> HttpPolicy:
    # Back off 5 s, doubling up to 120 s (§1.7); waits beyond 120 s end the step.
    return HttpPolicy(connect_timeout=10.0, read_timeout=60.0, max_retries=3, backoff_base=5.0,
                      backoff_max=120.0, max_inline_wait=MAX_INLINE_WAIT)


class DotmailerClient:
    """One API user's view of the service. Thread-compatible, not thread-safe: one per run."""

    def __init__(self, username: str, password: str, discovery_url: str = DISCOVERY_URL, *,
                 policy: HttpPolicy | None = None, sleep: Sleep | None = None,
                 rand: Callable[[], float] | None = None, page_size: int = PAGE_SIZE,
                 overlap: int = PAGE_OVERLAP, import_timeout: float = IMPORT_TIMEOUT) -> None:
        if not username or not password:
            raise ConfigurationError("The Dotmailer integration needs a user name and a password.")
        self.username = username
        self._password = password
        self.discovery_url = (discovery_url or DISCOVERY_URL).strip().rstrip("/")
        check_url(self.discovery_url + "/")
        self.policy = policy or default_policy()
        self.page_size = page_size
        self.overlap = overlap
        self.import_timeout = import_timeout
        self.session: ServiceSession = make_session(
            auth=(username, password), policy=self.policy, sleep=sleep, rand=rand,
            error_map=functools.partial(map_error, for_check=self.policy.for_check),
            service=SERVICE)
        self.session.headers["Cache-Control"] = "no-cache"  # never a cached list or poll (D3)
        self.sleep: Sleep = self.session.sleep
        self.calls = 0

    # -- discovery ---------------------------------------------------------------------------------

    @property
    def _key(self) -> tuple[str, str, str]:
        return _credential_key(self.discovery_url, self.username, self._password)

    def discover(self, force: bool = False) -> tuple[str, AccountInfo]:
        """The account's API base URL (``…/v2``) and its account info; one E1 per process (D16)."""
        with _discovery_lock:
            known = None if force else _discovered.get(self._key)
        if known is not None:
            return known
        info = AccountInfo.parse(self._get_json(self.discovery_url + "/v2/account-info"))
        if info.api_endpoint:
            base = base_from_endpoint(info.api_endpoint)
        else:
            log.warning("Dotmailer's account-info named no ApiEndpoint; using %s",
                        self.discovery_url)
            base = self.discovery_url + "/v2"
        check_url(base + "/")
        with _discovery_lock:
            _discovered[self._key] = (base, info)
        log.info("Dotmailer account %r uses %s", info.name, base)
        return base, info

    @property
    def base_url(self) -> str:
        return self.discover()[0]

    def account(self) -> AccountInfo:
        return self.discover()[1]

    # -- transport ---------------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: Any = None, timeout: float | None = None) -> requests.Response:
        """One call with the region, usage-cap and unreadable-answer rules around the session."""
        rediscovered = False
        waited = 0.0
        capped = 0
        while True:
            url = path if "://" in path else f"{self.base_url}/{path}"
            try:
                self.calls += 1
                return self.session.request(
                    method, url, params=params, json=body,
                    timeout=None if timeout is None else (self.policy.connect_timeout, timeout))
            except WrongRegion:
                if rediscovered or "://" in path:
                    raise
                rediscovered = True
                self.discover(force=True)
            except UsageExceeded as exc:
                wait = exc.retry_after
                if wait is None:
                    wait = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** capped)
                if waited + wait > self.policy.max_inline_wait:
                    raise
                log.warning("Dotmailer usage cap; waiting %.0f s", wait)
                self.sleep(wait)
                waited += wait
                capped += 1
            except (requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                raise UnreadableAnswer(
                    "Dotmailer's answer was cut off" + self._then_words(),
                    redact(f"{method} {url}: {type(exc).__name__}")) from None

    def _then_words(self) -> str:
        """How a passing failure ends: "the sync will try again" for a sync, what to do now for
        Check Connection."""
        if self.policy.for_check:
            return ". Try again in a moment; if it persists, check the service URL and the network."
        return "; the sync will try again later."

    def _call_json(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                   body: Any = None, timeout: float | None = None, empty_ok: bool = False) -> Any:
        """A call whose answer is JSON; an unreadable answer to a GET is read again."""
        attempts = 0
        while True:
            try:
                response = self._send(method, path, params=params, body=body, timeout=timeout)
                if response.status_code == 204 or (empty_ok and not response.content.strip()):
                    return None
                try:
                    return loads(response.content)
                except ValueError:
                    raise UnreadableAnswer(
                        "Dotmailer sent an answer ListBridge could not read"
                        + self._then_words(), describe_response(response)) from None
            except UnreadableAnswer:
                if method != "GET" or attempts >= self.policy.max_retries:
                    raise
                delay = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** attempts)
                log.warning("Unreadable answer from Dotmailer for %s; reading again in %.0f s",
                            redact(path), delay)
                self.sleep(delay)
                attempts += 1

    def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call_json("GET", path, params=params)

    def _list(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        data = self._get_json(path, params)
        if data is None:
            return []
        if not isinstance(data, list):
            raise ServiceFatalError("Dotmailer answered a list request with something else.",
                                    redact(f"GET {path}: {str(data)[:200]}"))
        return data

    def pages(self, path: str, key: Callable[[Any], Any],
              params: dict[str, Any] | None = None) -> OverlapPager:
        """A paged read of ``path``; iterate it for lists of new rows (§1.5)."""
        extra = dict(params or {})

        def fetch(select: int, skip: int) -> list[Any]:
            return self._list(path, {**extra, "select": select, "skip": skip})

        return Pager(fetch, key, select=self.page_size, overlap=self.overlap)

    # -- account -----------------------------------------------------------------------------------

    def probe(self) -> None:
        """One small authenticated read on the account's endpoint (E2, one row)."""
        self._list("address-books", {"select": 1, "skip": 0})

    def close(self) -> None:
        self.session.close()

    def account_info(self) -> AccountInfo:
        """E1 on the account's own endpoint."""
        return AccountInfo.parse(self._get_json("account-info"))

    def server_time(self) -> datetime | None:
        """E26, the service's clock; None if it cannot be read."""
        try:
            return as_date(self._get_json("server-time"))
        except (TransientError, FatalError) as exc:
            log.info("Dotmailer server time unavailable (%s); using the local clock", exc)
            return None

    # -- address books -----------------------------------------------------------------------------

    def address_books(self) -> OverlapPager:
        return self.pages("address-books", id_key)

    def address_book(self, book_id: int) -> JsonObject:
        data = self._get_json(f"address-books/{path_value(book_id)}")
        return data if isinstance(data, dict) else {}

    def book_contacts(self, book_id: int, full: bool = True) -> OverlapPager:
        return self.pages(f"address-books/{path_value(book_id)}/contacts", contact_key,
                          {"withfulldata": "true" if full else "false"})

    def book_contacts_modified(self, book_id: int, since: datetime, full: bool = True) -> OverlapPager:
        return self.pages(
            f"address-books/{path_value(book_id)}/contacts/modified-since/{path_date(since)}",
            contact_key, {"withfulldata": "true" if full else "false"})

    def book_unsubscribes(self, book_id: int, since: datetime) -> OverlapPager:
        return self.pages(
            f"address-books/{path_value(book_id)}/contacts/unsubscribed-since/{path_date(since)}",
            suppression_key)

    def suppressed_since(self, since: datetime) -> OverlapPager:
        return self.pages(f"contacts/suppressed-since/{path_date(since)}", suppression_key)

    def remove_contacts(self, book_id: int, contact_ids: list[int]) -> None:
        """E10: take these contacts out of the book (not an unsubscribe)."""
        self._call_json("POST", f"address-books/{path_value(book_id)}/contacts/delete",
                        body=[int(i) for i in contact_ids], empty_ok=True)

    def contact(self, email_or_id: str | int) -> JsonObject:
        data = self._get_json(f"contacts/{path_value(email_or_id)}")
        return data if isinstance(data, dict) else {}

    # -- imports -----------------------------------------------------------------------------------

    def start_import(self, book_id: int, file_name: str, csv_bytes: bytes) -> tuple[str, str]:
        """E12 with the file as base64 JSON; (import GUID, status)."""
        body = {"fileName": file_name, "data": base64.b64encode(csv_bytes).decode("ascii")}
        data = self._call_json("POST", f"address-books/{path_value(book_id)}/contacts/import",
                               body=body, timeout=self.import_timeout)
        if not isinstance(data, dict) or not data.get("id"):
            raise ServiceFatalError("Dotmailer accepted an import without giving its id.",
                                    redact(str(data)[:200]))
        return as_text(data["id"]), enum_value(data.get("status")) or "NotFinished"

    def import_status(self, import_id: str) -> str:
        """E13, never cached (D3)."""
        data = self._get_json(f"contacts/import/{path_value(import_id)}")
        return enum_value(data.get("status")) if isinstance(data, dict) else "Unknown"

    def import_report(self, import_id: str) -> dict[str, int]:
        data = self._get_json(f"contacts/import/{path_value(import_id)}/report")
        if not isinstance(data, dict):
            return {}
        return {k: as_int(v) for k, v in data.items() if not isinstance(v, dict | list)}

    def import_faults(self, import_id: str) -> list[ImportFault]:
        response = self._send("GET", f"contacts/import/{path_value(import_id)}/report-faults")
        return parse_faults(response.content)

    # -- campaigns ---------------------------------------------------------------------------------

    def book_campaigns(self, book_id: int) -> OverlapPager:
        return self.pages(f"address-books/{path_value(book_id)}/campaigns", id_key)

    def campaigns_with_activity(self, since: datetime) -> OverlapPager:
        """E17: sent campaigns (account-wide) with activity after ``since``."""
        return self.pages(f"campaigns/with-activity-since/{path_date(since)}", id_key)

    def campaign(self, campaign_id: int) -> JsonObject:
        data = self._get_json(f"campaigns/{path_value(campaign_id)}")
        return data if isinstance(data, dict) else {}

    def activities(self, campaign_id: int) -> OverlapPager:
        return self.pages(f"campaigns/{path_value(campaign_id)}/activities", activity_key)

    def activities_since(self, campaign_id: int, since: datetime) -> OverlapPager:
        return self.pages(
            f"campaigns/{path_value(campaign_id)}/activities/since-date/{path_date(since)}",
            activity_key)

    def summary(self, campaign_id: int) -> JsonObject:
        data = self._get_json(f"campaigns/{path_value(campaign_id)}/summary")
        return data if isinstance(data, dict) else {}

    # -- data fields -------------------------------------------------------------------------------

    def data_fields(self) -> list[JsonObject]:
        """E22: one call, never paged (D5)."""
        return [f for f in self._list("data-fields") if isinstance(f, dict)]

    def create_data_field(self, name: str, type_: str = "String", visibility: str = "Private",
                          default: Any = None) -> JsonObject | None:
        body = {"name": name, "type": type_, "visibility": visibility, "defaultValue": default}
        data = self._call_json("POST", "data-fields", body=body, empty_ok=True)
        return data if isinstance(data, dict) else None

    def delete_data_field(self, name: str) -> None:
        """E24; a field in use raises ``FieldInUse`` with its dependencies (D4)."""
        data = self._call_json("DELETE", f"data-fields/{path_value(name)}", empty_ok=True)
        if isinstance(data, dict) and data.get("result") is False:
            error = FieldInUse(f"Dotmailer did not delete the data field {name}: it is in use.")
            deps = data.get("dependencies")
            error.dependencies = [d for d in deps if isinstance(d, dict)] if isinstance(
                deps, list) else []
            raise _tag(error, "", 200, "")


def with_policy(client: DotmailerClient, **changes: Any) -> DotmailerClient:
    """The same client with some policy values changed (tests shorten waits with it)."""
    client.policy = replace(client.policy, **changes)
    client.session.policy = client.policy
    return client
