"""A faithful loopback emulator of the Dotmailer (dotdigital) REST API v2.

It follows ``shared/api/dotmailer.md``: the endpoints E1-E26 of §2, the behaviour of §5.3, the
test hooks of §5.4 and the settings of §5.5 (every assumed point of the service is a setting, so
that tests can run the client under each alternative). It is built on werkzeug's development
server only: no Qt, nothing from ``core`` or ``gui``.

One port per region (r1 = ``base_port``, r2 = +1, r3 = +2). State lives in memory, is
deterministic (sequential ids, seeded GUIDs, an injectable clock) and can be saved to JSON.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import csv
import fnmatch
import functools
import hashlib
import hmac
import io
import json
import logging
import random
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, get_args, get_type_hints
from urllib.parse import unquote, urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_PORT",
    "DEFAULT_USER",
    "SETTINGS_DEFAULTS",
    "DotmailerEmulator",
    "main",
]

LOG = logging.getLogger("listbridge.emulator.dotmailer")

DEFAULT_USER = "apiuser-demo@apiconnector.com"
DEFAULT_PASSWORD = "demo-pass-1"
DEFAULT_ACCOUNT_ID = 123456
DEFAULT_SEED = 1
DEFAULT_PORT = 8470
# Tests run on a fixed clock unless they say otherwise (§5.2).
DEFAULT_NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)
REGIONS = (1, 2, 3)
HOST = "127.0.0.1"

ALL_CONTACTS = "All Contacts"
TEST_BOOK = "Test"
SYSTEM_BOOK_NAMES = (ALL_CONTACTS, TEST_BOOK)
BOOK_NAME_MAX = 128
TEST_BOOK_LIMIT = 200

AUTH_DENIED = "Authorization has been denied for this request."
INVALID_EMAIL = "Email is not a valid email address. ERROR_PARAMETER_INVALID"
FILE_INVALID = "file must be valid"
_MESSAGES = {
    "ERROR_ADDRESSBOOK_NOTWRITABLE": (
        "Address book cannot be written to via the API. ERROR_ADDRESSBOOK_NOTWRITABLE"
    ),
    "ERROR_CONTACT_SUPPRESSED": "Contact is suppressed. ERROR_CONTACT_SUPPRESSED",
    "ERROR_IMPORT_REPORT_NOT_FOUND": (
        "Import is not processed yet or completed with error. ERROR_IMPORT_REPORT_NOT_FOUND"
    ),
    "ERROR_NON_UNIQUE_DATAFIELD": "Field already exists. ERROR_NON_UNIQUE_DATAFIELD",
    "ERROR_APIUSAGE_EXCEEDED": (
        "Your account has generated excess API activity and is being temporarily capped. "
        "Please contact support. ERROR_APIUSAGE_EXCEEDED"
    ),
}

CONTACT_STATUSES = (
    "Subscribed", "Unsubscribed", "SoftBounced", "HardBounced", "IspComplained", "MailBlocked",
    "PendingOptIn", "DirectComplaint", "Deleted", "SharedSuppression", "Suppressed",
    "NotAllowed", "DomainSuppression", "NoMxRecord",
)  # fmt: skip
# Statuses that still receive mail: such a contact is not "account-suppressed".
ACTIVE_STATUSES = frozenset({"Subscribed", "SoftBounced", "PendingOptIn"})
SUPPRESSION_REASONS = tuple(
    s for s in CONTACT_STATUSES
    if s not in ("Subscribed", "PendingOptIn", "Deleted", "SharedSuppression")
)  # fmt: skip
OPT_IN_TYPES = ("Unknown", "Single", "Double", "VerifiedDouble")
EMAIL_TYPES = ("PlainText", "Html")
VISIBILITIES = ("Private", "Public")
FIELD_TYPES = ("String", "Numeric", "Date", "Boolean")
REPLY_ACTIONS = ("Unset", "WebMailForward", "Webmail", "Delete")
CAMPAIGN_STATUSES = (
    "Unsent", "Sending", "Sent", "Paused", "Cancelled", "RequiresSystemApproval",
    "RequiresSMSApproval", "RequiresWorkflowApproval", "Triggered",
)  # fmt: skip
IMPORT_FINAL_STATUSES = (
    "Finished", "RejectedByWatchdog", "InvalidFileFormat", "Failed",
    "ExceedsAllowedContactLimit", "Unknown", "NotAvailableInThisVersion",
)  # fmt: skip
DEPENDENCY_TYPES = (
    "Campaign", "Survey", "MicrositePage", "DynamicContent", "ContactLabel", "SurveyQuestion",
    "AddressBook", "DynamicContentRule", "CampaignLink", "CampaignTemplate",
)  # fmt: skip
DEFAULT_FIELDS = (
    ("FIRSTNAME", "String"), ("LASTNAME", "String"), ("FULLNAME", "String"),
    ("GENDER", "String"), ("POSTCODE", "String"), ("LASTSUBSCRIBED", "Date"),
)  # fmt: skip
# dotdigital maintains LASTSUBSCRIBED itself, so it is the one default field that cannot go.
SYSTEM_FIELDS = frozenset({"LASTSUBSCRIBED"})
FIELD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
# Local part without spaces or specials, then a dotted domain of letters, digits and hyphens.
EMAIL = re.compile(
    r"^[^@\s\"(),:;<>\[\]\\]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
PATH_DATE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d{1,7})?(Z|z|\+0000|\+00:00)?)?$"
)
NET_NULL_DATE = "0001-01-01T00:00:00"

REPORT_KEYS = (
    "newContacts", "updatedContacts", "globallySuppressed", "invalidEntries", "duplicateEmails",
    "blocked", "unsubscribed", "hardBounced", "softBounced", "ispComplaints", "mailBlocked",
    "domainSuppressed", "pendingDoubleOptin", "failures", "suppressedContacts",
)  # fmt: skip
# Fault reason (compared without case or spaces) -> the E14 counter it adds to.
REASON_COUNTERS = {
    "globallysuppressed": "globallySuppressed", "blocked": "blocked",
    "unsubscribed": "unsubscribed", "hardbounced": "hardBounced", "softbounced": "softBounced",
    "ispcomplaints": "ispComplaints", "domainsuppressed": "domainSuppressed",
    "failures": "failures", "invalidentries": "invalidEntries", "mailblocked": "mailBlocked",
    "suppressedbyyou": "suppressedContacts",
}  # fmt: skip
SUMMARY_TRIPLES = (
    "Opens", "Clicks", "EstimatedForwards", "Replies", "HardBounces", "SoftBounces",
    "Unsubscribes", "IspComplaints", "MailBlocks", "Sent", "Delivered",
)  # fmt: skip

SETTINGS_DEFAULTS: dict[str, Any] = {
    "response_casing": "camel",
    "extra_fields": False,
    "not_found_status": 404,
    "error_status": 400,
    "usage_exceeded_status": 400,
    "select_default": 1000,
    "select_max": 1000,
    "page_order": "id",
    "system_books_listed": True,
    "datafields_when_not_full": "null",
    "datafields_include_unset": True,
    "null_date_style": "null",
    "date_style": "milliseconds",
    "region_enforced": True,
    "unsubscribed_members_listed": False,
    "book_unsubscribes_include_account": False,
    "suppressed_contact_status": "account",
    "delete_unknown_ids": "ignore",
    "datafield_create_body": "field",
    "datafield_name_case": "upper",
    "summary_unsent_error": (400, "Error: ERROR_CAMPAIGN_INVALID"),
    "import_polls_until_done": 1,
    "import_seconds_until_done": None,
    "max_active_imports_server": 25,
    "no_email_column": "status",
    "blank_cells": "clear",
    "unknown_import_response": "unknown",
    "faults_csv_bom": True,
    "faults_csv_newline": "LF",
    "faults_content_type": "text/csv; charset=utf-8",
    "server_time_auth": False,
}
SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "response_casing": ("camel", "pascal"),
    "page_order": ("id", "reverse", "shuffle"),
    "datafields_when_not_full": ("null", "omitted", "empty"),
    "null_date_style": ("null", NET_NULL_DATE),
    "date_style": ("milliseconds", "seconds", "no_zone"),
    "suppressed_contact_status": ("account", "reason"),
    "delete_unknown_ids": ("ignore", "404"),
    "datafield_create_body": ("field", "empty"),
    "datafield_name_case": ("upper", "as_given"),
    "no_email_column": ("status", "error"),
    "blank_cells": ("clear", "keep"),
    "unknown_import_response": ("unknown", "404"),
    "faults_csv_newline": ("LF", "CRLF"),
}
# Hooks reachable under /_emulator/<hook> when admin_http is on.
ADMIN_HOOKS = frozenset({
    "reset", "snapshot", "restore", "save", "load", "set_now", "advance", "set_config",
    "add_user", "set_region", "add_book", "delete_book", "add_contact", "update_contact",
    "add_to_book", "unsubscribe_from_book", "suppress", "remove_from_book", "add_campaign",
    "set_campaign_status", "add_activity", "set_summary", "add_datafield",
    "mark_datafield_in_use", "script_imports", "finish_imports", "inject", "set_rate_limit",
    "requests", "clear_requests", "call_count", "demo_seed",
})  # fmt: skip

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")
_INVALID = object()  # a cell value of the wrong type: the import ignores it


# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------


@dataclass
class Account:
    id: int
    name: str
    main_email: str
    region: int = 1
    locale: str = "en-GB"


@dataclass
class User:
    username: str
    password: str
    account: int


@dataclass
class Book:
    id: int
    account: int
    name: str
    visibility: str = "Private"
    system: bool = False


@dataclass(slots=True)
class Contact:
    id: int
    account: int
    email: str
    modified: datetime
    status: str = "Subscribed"
    opt_in_type: str = "Single"
    email_type: str = "Html"
    fields: dict[str, Any] = field(default_factory=dict)
    suppressed_at: datetime | None = None


@dataclass(slots=True)
class Membership:
    book: int
    contact: int
    added: datetime
    modified: datetime
    unsubscribed_at: datetime | None = None


@dataclass
class DataField:
    account: int
    name: str
    type: str = "String"
    visibility: str = "Private"
    default_value: Any = None
    system: bool = False
    dependencies: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Campaign:
    id: int
    account: int
    name: str
    subject: str
    from_name: str
    from_address_id: int
    from_email: str
    status: str = "Sent"
    books: list[int] = field(default_factory=list)
    date_sent: datetime | None = None
    reply_action: str = "Webmail"
    reply_to: str = ""
    is_split_test: bool = False
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Activity:
    campaign: int
    contact: int
    email: str
    last_activity_at: datetime
    opens: int = 0
    clicks: int = 0
    page_views: int = 0
    forwards: int = 0
    estimated_forwards: int = 0
    replies: int = 0
    date_sent: datetime | None = None
    first_opened: datetime | None = None
    last_opened: datetime | None = None
    first_open_ip: str | None = None
    unsubscribed: bool = False
    soft_bounced: bool = False
    hard_bounced: bool = False


@dataclass
class Import:
    id: str
    account: int
    book: int
    file_name: str
    created: datetime
    headers: list[str]
    rows: list[list[str]]
    problem: str | None = None
    polls: int = 0
    polls_needed: int = 1
    seconds_needed: float | None = None
    outcome: str = "Finished"
    scripted_faults: list[list[str]] = field(default_factory=list)
    scripted_report: dict[str, int] = field(default_factory=dict)
    status: str = "NotFinished"
    report: dict[str, int] | None = None
    faults: list[list[str]] = field(default_factory=list)


@dataclass
class _State:
    """The service's data. Contacts, memberships and activities are written through the methods
    below, which keep their indexes (by email, by book, by campaign) and change counters up to
    date, so that a look-up by email is O(1) and a page of a big list costs the page, not the
    list (an import of n rows is O(n), a read of n activities in pages is O(n))."""

    seed: int
    accounts: dict[int, Account] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    books: dict[int, Book] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    memberships: dict[tuple[int, int], Membership] = field(default_factory=dict)
    datafields: list[DataField] = field(default_factory=list)
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    # By campaign, then by contact id.
    activities: dict[int, dict[int, Activity]] = field(default_factory=dict)
    imports: dict[str, Import] = field(default_factory=dict)
    next_ids: dict[str, int] = field(
        default_factory=lambda: {"book": 1000, "contact": 100000, "campaign": 5000}
    )
    guids_issued: int = 0
    # Indexes, rebuilt on load, never saved.
    emails: dict[tuple[int, str], Contact] = field(default_factory=dict)
    book_members: dict[int, dict[int, Membership]] = field(default_factory=dict)
    # Bumped whenever a book's members or a campaign's activities change: cached page orders
    # (``DotmailerEmulator._page_cached``) are valid while their counter is unchanged.
    changes: dict[tuple[str, int], int] = field(default_factory=dict)

    def changed(self, kind: str, key: int) -> None:
        self.changes[(kind, key)] = self.changes.get((kind, key), 0) + 1

    def version(self, kind: str, key: int) -> int:
        return self.changes.get((kind, key), 0)

    # -- contacts (indexed by account and email) --

    def add_contact(self, contact: Contact) -> None:
        self.contacts[contact.id] = contact
        self.emails[(contact.account, contact.email)] = contact
        self.changed("contacts", contact.account)

    def contact_by_email(self, account: int, email: str) -> Contact | None:
        return self.emails.get((account, email))

    def rename_contact(self, contact: Contact, email: str) -> None:
        if email == contact.email:
            return
        if (contact.account, email) in self.emails:
            raise ValueError(f"contact {email} exists")
        del self.emails[(contact.account, contact.email)]
        contact.email = email
        self.emails[(contact.account, email)] = contact

    # -- memberships (indexed by book) --

    def add_membership(self, member: Membership) -> None:
        self.memberships[(member.book, member.contact)] = member
        self.book_members.setdefault(member.book, {})[member.contact] = member
        self.changed("book", member.book)

    def drop_membership(self, book: int, contact: int) -> Membership | None:
        member = self.memberships.pop((book, contact), None)
        if member is not None:
            self.book_members.get(book, {}).pop(contact, None)
            self.changed("book", book)
        return member

    def drop_book_members(self, book: int) -> None:
        for contact in self.book_members.pop(book, {}):
            del self.memberships[(book, contact)]
        self.changed("book", book)

    def members_of(self, book: int) -> Iterable[Membership]:
        return self.book_members.get(book, {}).values()

    # -- activities (by campaign, then contact) --

    def put_activity(self, activity: Activity) -> None:
        self.activities.setdefault(activity.campaign, {})[activity.contact] = activity
        self.changed("campaign", activity.campaign)

    def put_activities(self, campaign: int, activities: Iterable[Activity]) -> None:
        """Many activities of one campaign at once (one change for the page caches)."""
        rows = self.activities.setdefault(campaign, {})
        for activity in activities:
            rows[activity.contact] = activity
        self.changed("campaign", campaign)

    def activities_of(self, campaign: int) -> dict[int, Activity]:
        return self.activities.get(campaign, {})

    def reindex(self) -> None:
        self.emails = {(c.account, c.email): c for c in self.contacts.values()}
        self.book_members = {}
        for member in self.memberships.values():
            self.book_members.setdefault(member.book, {})[member.contact] = member
        self.changes.clear()

    def next_id(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def next_guid(self) -> str:
        # Seeded per (seed, n) so that a saved state resumes the same sequence.
        rng = random.Random(f"{self.seed}:guid:{self.guids_issued}")
        self.guids_issued += 1
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def to_json(self) -> dict[str, Any]:
        dump = _dump_record
        return {
            "format": "listbridge-dotmailer-emulator/1",
            "seed": self.seed,
            "next_ids": dict(self.next_ids),
            "guids_issued": self.guids_issued,
            "accounts": [dump(a) for a in self.accounts.values()],
            "users": [dump(u) for u in self.users.values()],
            "books": [dump(b) for b in self.books.values()],
            "contacts": [dump(c) for c in self.contacts.values()],
            "memberships": [dump(m) for m in self.memberships.values()],
            "datafields": [dump(f) for f in self.datafields],
            "campaigns": [dump(c) for c in self.campaigns.values()],
            "activities": [dump(a) for acts in self.activities.values() for a in acts.values()],
            "imports": [dump(i) for i in self.imports.values()],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _State:
        load = _load_record
        state = cls(seed=int(data["seed"]), next_ids=dict(data["next_ids"]))
        state.guids_issued = int(data["guids_issued"])
        state.accounts = {a.id: a for a in (load(Account, r) for r in data["accounts"])}
        state.users = {u.username.lower(): u for u in (load(User, r) for r in data["users"])}
        state.books = {b.id: b for b in (load(Book, r) for r in data["books"])}
        state.contacts = {c.id: c for c in (load(Contact, r) for r in data["contacts"])}
        members = (load(Membership, r) for r in data["memberships"])
        state.memberships = {(m.book, m.contact): m for m in members}
        state.datafields = [load(DataField, r) for r in data["datafields"]]
        state.campaigns = {c.id: c for c in (load(Campaign, r) for r in data["campaigns"])}
        for activity in (load(Activity, r) for r in data["activities"]):
            state.activities.setdefault(activity.campaign, {})[activity.contact] = activity
        state.imports = {i.id: i for i in (load(Import, r) for r in data["imports"])}
        state.reindex()
        return state


def _dump_record(record: Any) -> dict[str, Any]:
    out = asdict(record)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


def _load_record(cls: type[T], row: Mapping[str, Any]) -> T:
    hints = get_type_hints(cls)
    values = dict(row)
    for name, hint in hints.items():
        is_date = hint is datetime or datetime in get_args(hint)
        if is_date and isinstance(values.get(name), str):
            values[name] = _as_utc(datetime.fromisoformat(values[name]))
    return cls(**values)


@dataclass
class _Fault:
    method: str
    path_glob: str
    times: int
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None
    reset: bool = False
    malformed: bool = False
    truncated: bool = False
    empty: bool = False

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        relative = path[len("/v2/") :] if path.startswith("/v2/") else path
        return any(fnmatch.fnmatchcase(p, self.path_glob) for p in (path, relative))


@dataclass
class _RateLimit:
    scheme: str = "off"
    per_hour: int = 2000
    per_minute: int = 35
    scope: str = "Low"
    windows: dict[str, tuple[datetime, int]] = field(default_factory=dict)


@dataclass
class _Call:
    """One API request after routing and authentication."""

    request: Request
    region: int
    user: User | None
    params: dict[str, str]
    query: dict[str, str]

    @property
    def account(self) -> int:
        assert self.user is not None, "only authenticated routes use the account"
        return self.user.account


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------------------------


def _as_utc(value: datetime) -> datetime:
    # A date without a zone is UTC (§1.4).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def _drop_connection(environ: Mapping[str, Any]) -> None:
    """Close the client's socket with a reset instead of answering."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler = environ.get("listbridge.handler")
    if handler is not None:
        handler.close_connection = True  # otherwise it would wait for another request
    raise ConnectionResetError("injected reset")


def _truncated(response: Response) -> Response:
    body = response.get_data()
    cut = Response(body[: len(body) // 2], status=response.status_code)
    cut.headers.clear()
    kept = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    cut.headers.extend(kept)
    # The promised length is never delivered; the server then closes the connection.
    cut.headers["Content-Length"] = str(max(len(body), 16))
    return cut


def _locked(
    method: Callable[Concatenate[DotmailerEmulator, P], R],
) -> Callable[Concatenate[DotmailerEmulator, P], R]:
    @functools.wraps(method)
    def wrapper(self: DotmailerEmulator, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class _Handler(WSGIRequestHandler):
    """Sends werkzeug's access log to our logger and lets the app reach the connection."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ["listbridge.handler"] = self
        return environ

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        LOG.debug("http %s: " + message.rstrip(), type, *args)


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


# ---------------------------------------------------------------------------------------------
# The emulator
# ---------------------------------------------------------------------------------------------


class DotmailerEmulator:
    """The Dotmailer v2 API on three loopback ports (r1, r2, r3), with test hooks (§5.4)."""

    def __init__(
        self,
        base_port: int = 0,
        users: Mapping[str, str] | Iterable[Sequence[Any]] | None = None,
        seed: int = DEFAULT_SEED,
        now: datetime | str | None = None,
        demo: bool = False,
        admin_http: bool = False,
        **settings: Any,
    ) -> None:
        self._lock = threading.RLock()
        self._base_port = base_port
        self._initial_users = self._user_specs(users)
        self._seed = seed
        self._demo = demo
        self._admin_http = admin_http
        self._settings: dict[str, Any] = dict(SETTINGS_DEFAULTS)
        if demo and "import_seconds_until_done" not in settings:
            settings["import_seconds_until_done"] = 5  # demo users do not count polls
        self.set_config(**settings)
        # Fixed in tests, real in demo mode (§5.2).
        self._fixed_now: datetime | None = (
            _as_datetime(now) if now is not None else (None if demo else DEFAULT_NOW)
        )
        self._offset = timedelta()
        self._servers: dict[int, BaseWSGIServer] = {}
        self._threads: list[threading.Thread] = []
        self._ports: dict[int, int] = {}
        self._faults: list[_Fault] = []
        self._scripts: list[dict[str, Any]] = []
        self._log: list[dict[str, Any]] = []
        self._rate = _RateLimit()
        # Page orders of big lists, by list: (version, ordered rows); see ``_page_cached``.
        self._page_orders: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}
        self._state = _State(seed=seed)
        self._install_fresh_state()
        if demo:
            self.demo_seed()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> DotmailerEmulator:
        if self._servers:
            return self
        try:
            for region in REGIONS:
                self._start_region(region)
        except OSError:
            self.stop()
            raise
        LOG.info(
            "Dotmailer emulator listening on %s",
            ", ".join(f"r{r} {u}" for r, u in self.region_urls.items()),
        )
        return self

    def _start_region(self, region: int) -> None:
        port = 0 if self._base_port == 0 else self._base_port + region - 1
        # werkzeug exits the process when its own bind fails; binding here raises OSError.
        with _listening_socket(port) as sock:
            server = make_server(
                HOST,
                sock.getsockname()[1],
                self._app_for(region),
                threaded=True,
                request_handler=_Handler,
                fd=sock.fileno(),
            )
        # A short poll interval keeps stop() fast; the cost is a few idle wake-ups.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"dotmailer-emulator-r{region}",
            daemon=True,
        )
        thread.start()
        self._servers[region] = server
        self._threads.append(thread)
        self._ports[region] = server.port

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        self._ports.clear()
        LOG.info("Dotmailer emulator stopped")

    def __enter__(self) -> DotmailerEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The r1 base URL, without /v2 (the discovery host)."""
        return self.region_urls[1]

    @property
    def region_urls(self) -> dict[int, str]:
        if not self._ports:
            raise RuntimeError("the emulator is not started")
        return {region: f"http://{HOST}:{port}" for region, port in self._ports.items()}

    @property
    def config(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._settings)

    # -- state hooks ----------------------------------------------------------------------------

    @_locked
    def set_config(self, **settings: Any) -> None:
        for name, value in settings.items():
            self._check_setting(name, value)
        self._settings.update(settings)

    @staticmethod
    def _check_setting(name: str, value: Any) -> None:
        if name not in SETTINGS_DEFAULTS:
            raise ValueError(f"unknown setting {name!r}")
        default = SETTINGS_DEFAULTS[name]
        if name in SETTING_CHOICES and value not in SETTING_CHOICES[name]:
            raise ValueError(f"{name} must be one of {SETTING_CHOICES[name]}")
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        if (
            isinstance(default, int)
            and not isinstance(default, bool)
            and (not isinstance(value, int) or isinstance(value, bool))
        ):
            raise ValueError(f"{name} must be an int")
        if name == "summary_unsent_error" and not (
            isinstance(value, list | tuple)
            and len(value) == 2
            and isinstance(value[0], int)
            and isinstance(value[1], str)
        ):
            raise ValueError("summary_unsent_error must be (status, message)")
        if (
            name == "import_seconds_until_done"
            and value is not None
            and (not isinstance(value, int | float) or isinstance(value, bool))
        ):
            raise ValueError("import_seconds_until_done must be seconds or None")

    @_locked
    def reset(self, seed: int | None = None) -> None:
        """Fresh data (settings are kept); clears faults, scripts, the log and rate limits."""
        if seed is not None:
            self._seed = seed
        self._install_fresh_state()
        self._faults.clear()
        self._scripts.clear()
        self._log.clear()
        self._rate = _RateLimit()
        if self._demo:
            self.demo_seed()

    @_locked
    def snapshot(self) -> dict[str, Any]:
        text = json.dumps(self._state.to_json(), default=_json_default)
        result: dict[str, Any] = json.loads(text)
        return result

    @_locked
    def restore(self, snapshot: Mapping[str, Any]) -> None:
        self._state = _State.from_json(snapshot)
        self._seed = self._state.seed
        self._page_orders.clear()

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.snapshot(), indent=1), encoding="utf-8")

    def load(self, path: str | Path) -> None:
        self.restore(json.loads(Path(path).read_text(encoding="utf-8")))

    @_locked
    def set_now(self, now: datetime | str) -> None:
        self._fixed_now = _as_datetime(now)
        self._offset = timedelta()

    @_locked
    def advance(self, seconds: float) -> None:
        self._offset += timedelta(seconds=seconds)

    @_locked
    def use_real_clock(self) -> None:
        self._fixed_now = None
        self._offset = timedelta()

    def now(self) -> datetime:
        with self._lock:
            base = self._fixed_now if self._fixed_now is not None else datetime.now(UTC)
            return base + self._offset

    @_locked
    def add_user(
        self, username: str, password: str, account: int | None = None, region: int | None = None
    ) -> int:
        account_id = self._ensure_account(
            account if account is not None else self._default_account()
        )
        if region is not None:
            self.set_region(account_id, region)
        self._state.users[username.lower()] = User(username, password, account_id)
        return account_id

    @_locked
    def set_region(self, account: int | None, region: int) -> None:
        if region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}")
        self._account(account).region = region

    # -- remote edits ---------------------------------------------------------------------------

    @_locked
    def add_book(self, name: str, visibility: str = "Private", account: int | None = None) -> int:
        account_id = self._account(account).id
        if self._book_named(account_id, name) is not None:
            raise ValueError(f"an address book named {name!r} exists")
        return self._new_book(account_id, name, _canon(visibility, VISIBILITIES) or "Private").id

    @_locked
    def delete_book(self, book: int | str, account: int | None = None) -> None:
        target = self._book_ref(book, account)
        if target.system:
            raise ValueError("system address books cannot be deleted")
        self._drop_book(target)

    @_locked
    def add_contact(
        self,
        email: str,
        fields: Mapping[str, Any] | None = None,
        status: str = "Subscribed",
        books: Iterable[int | str] = (),
        opt_in_type: str = "Single",
        email_type: str = "Html",
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> int:
        account_id = self._account(account).id
        address = email.strip().lower()
        if self._contact_by_email(account_id, address) is not None:
            raise ValueError(f"contact {address} exists")
        when = _as_datetime(at) or self.now()
        targets = [self._book_ref(book, account_id) for book in books]
        contact = Contact(
            0,
            account_id,
            address,
            when,
            opt_in_type=self._enum(opt_in_type, OPT_IN_TYPES),
            email_type=self._enum(email_type, EMAIL_TYPES),
        )
        self._set_fields(contact, fields or {})
        self._set_status(contact, status, when)
        # Validated in full above: only now does the contact take an id and exist.
        contact.id = self._state.next_id("contact")
        self._state.add_contact(contact)
        for book in targets:
            self._join(book, contact, when)
        return contact.id

    @_locked
    def update_contact(
        self,
        contact: int | str,
        fields: Mapping[str, Any] | None = None,
        status: str | None = None,
        email: str | None = None,
        opt_in_type: str | None = None,
        email_type: str | None = None,
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> None:
        target = self._contact_ref(contact, account)
        when = _as_datetime(at) or self.now()
        if email is not None:
            self._state.rename_contact(target, email.strip().lower())
        if opt_in_type is not None:
            target.opt_in_type = self._enum(opt_in_type, OPT_IN_TYPES)
        if email_type is not None:
            target.email_type = self._enum(email_type, EMAIL_TYPES)
        self._set_fields(target, fields or {})
        if status is not None:
            self._set_status(target, status, when)
        target.modified = when
        self._state.changed("contacts", target.account)

    @_locked
    def add_to_book(
        self,
        book: int | str,
        email: str,
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> None:
        target = self._contact_ref(email, account)
        self._join(self._book_ref(book, target.account), target, _as_datetime(at) or self.now())

    @_locked
    def unsubscribe_from_book(
        self,
        book: int | str,
        email: str,
        at: datetime | str | None = None,
        account: int | None = None,
    ) -> None:
        """A book-level unsubscribe: E8 reports it; the account-wide status stays."""
        member = self._membership(book, email, account)
        when = _as_datetime(at) or self.now()
        member.unsubscribed_at = when
        member.modified = when
        self._state.changed("book", member.book)

    @_locked
    def suppress(
        self, email: str, reason: str, at: datetime | str | None = None, account: int | None = None
    ) -> None:
        """An account-wide suppression: E9 reports it and the contact takes the reason as status."""
        canonical = _canon(reason, SUPPRESSION_REASONS)
        if canonical is None:
            raise ValueError(f"reason must be one of {SUPPRESSION_REASONS}")
        target = self._contact_ref(email, account)
        when = _as_datetime(at) or self.now()
        target.status = canonical
        target.suppressed_at = when
        target.modified = when
        self._state.changed("contacts", target.account)

    @_locked
    def remove_from_book(self, book: int | str, email: str, account: int | None = None) -> None:
        """A silent removal: the contact leaves E6 and never shows in E8."""
        member = self._membership(book, email, account)
        self._state.drop_membership(member.book, member.contact)

    @_locked
    def add_campaign(
        self,
        name: str,
        status: str = "Sent",
        books: Iterable[int | str] = (),
        date_sent: datetime | str | None = None,
        subject: str | None = None,
        from_name: str = "ListBridge Demo",
        reply_action: str = "Webmail",
        account: int | None = None,
    ) -> int:
        account_id = self._account(account).id
        canonical = self._enum(status, CAMPAIGN_STATUSES)
        sent = _as_datetime(date_sent) or (self.now() if canonical == "Sent" else None)
        campaign_id = self._state.next_id("campaign")
        campaign = Campaign(
            campaign_id,
            account_id,
            name,
            subject or name,
            from_name,
            from_address_id=6141,
            from_email="news@listbridge-demo.example",
            status=canonical,
            books=[self._book_ref(b, account_id).id for b in books],
            date_sent=sent,
            reply_action=self._enum(reply_action, REPLY_ACTIONS),
        )
        self._state.campaigns[campaign_id] = campaign
        return campaign_id

    @_locked
    def set_campaign_status(
        self, campaign: int | str, status: str, date_sent: datetime | str | None = None
    ) -> None:
        target = self._campaign_ref(campaign)
        target.status = self._enum(status, CAMPAIGN_STATUSES)
        if date_sent is not None or (target.status == "Sent" and target.date_sent is None):
            target.date_sent = _as_datetime(date_sent) or self.now()

    @_locked
    def add_activity(
        self,
        campaign: int | str,
        email: str,
        opens: int = 0,
        clicks: int = 0,
        first_opened: datetime | str | None = None,
        last_opened: datetime | str | None = None,
        page_views: int = 0,
        forwards: int = 0,
        estimated_forwards: int = 0,
        replies: int = 0,
        unsubscribed: bool = False,
        soft_bounced: bool = False,
        hard_bounced: bool = False,
        first_open_ip: str | None = None,
        date_sent: datetime | str | None = None,
        at: datetime | str | None = None,
    ) -> None:
        """Set a contact's activity on a campaign; ``at`` (default now) is its last activity."""
        target = self._campaign_ref(campaign)
        contact = self._contact_ref(email, target.account)
        first = _as_datetime(first_opened)
        self._state.put_activity(
            Activity(
                target.id,
                contact.id,
                contact.email,
                _as_datetime(at) or self.now(),
                opens,
                clicks,
                page_views,
                forwards,
                estimated_forwards,
                replies,
                _as_datetime(date_sent),
                first,
                _as_datetime(last_opened) or first,
                first_open_ip or ("61.249.92.173" if opens else None),
                unsubscribed,
                soft_bounced,
                hard_bounced,
            )
        )

    @_locked
    def set_summary(self, campaign: int | str, **fields: Any) -> None:
        """Override summary fields; the rest stays computed from the activities."""
        target = self._campaign_ref(campaign)
        known = {k.lower(): k for k in self._computed_summary(target)}
        for name, value in fields.items():
            target.summary[known.get(name.lower(), name)] = value

    @_locked
    def add_datafield(
        self,
        name: str,
        type: str = "String",  # noqa: A002
        visibility: str = "Private",
        default_value: Any = None,
        account: int | None = None,
    ) -> None:
        account_id = self._account(account).id
        if self._field_named(account_id, name) is not None:
            raise ValueError(f"data field {name} exists")
        self._state.datafields.append(
            DataField(
                account_id,
                self._field_name(name),
                self._enum(type, FIELD_TYPES),
                self._enum(visibility, VISIBILITIES),
                default_value,
            )
        )

    @_locked
    def mark_datafield_in_use(
        self,
        name: str,
        dependencies: Iterable[Mapping[str, Any] | Sequence[Any]] | None = None,
        account: int | None = None,
    ) -> None:
        target = self._field_named(self._account(account).id, name)
        if target is None:
            raise ValueError(f"no data field {name}")
        deps = list(dependencies) if dependencies is not None else [("Campaign", 15662)]
        target.dependencies = [self._dependency(d) for d in deps]

    @staticmethod
    def _dependency(dep: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
        if isinstance(dep, Mapping):
            lowered = {str(k).lower(): v for k, v in dep.items()}
            kind, object_id = lowered.get("type"), lowered.get("objectid")
        else:
            kind, object_id = dep[0], dep[1]
        if object_id is None:
            raise ValueError("a dependency needs an object id")
        return {"type": _canon(kind, DEPENDENCY_TYPES) or str(kind), "objectId": int(object_id)}

    # -- imports, faults, limits, log -----------------------------------------------------------

    @_locked
    def script_imports(self, outcomes: Iterable[Mapping[str, Any]]) -> None:
        """Queue outcomes (first in, first out) for the next imports: status, polls, seconds,
        faults [(email, reason)], report {counter: n}."""
        for outcome in outcomes:
            lowered = {str(k).lower(): v for k, v in outcome.items()}
            status = _canon(lowered.get("status", "Finished"), IMPORT_FINAL_STATUSES)
            if status is None:
                raise ValueError(f"import status must be one of {IMPORT_FINAL_STATUSES}")
            lowered["status"] = status
            self._scripts.append(lowered)

    @_locked
    def finish_imports(self) -> int:
        pending = [i for i in self._state.imports.values() if i.status == "NotFinished"]
        for imp in pending:
            self._finish_import(imp)
        return len(pending)

    @_locked
    def inject(
        self,
        method: str,
        path_glob: str,
        times: int = 1,
        status: int | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float | None = None,
        reset: bool = False,
        malformed: bool = False,
        truncated: bool = False,
        empty: bool = False,
    ) -> None:
        """Queue a fault for the next ``times`` requests matching method and path glob."""
        if status is None and not (delay or reset or malformed or truncated or empty):
            raise ValueError("inject needs status, delay, reset, malformed, truncated or empty")
        self._faults.append(
            _Fault(
                method.upper(),
                path_glob,
                times,
                status,
                body,
                dict(headers or {}),
                delay,
                reset,
                malformed,
                truncated,
                empty,
            )
        )

    @_locked
    def set_rate_limit(
        self, scheme: str, per_hour: int = 2000, per_minute: int = 35, scope: str = "Low"
    ) -> None:
        if scheme not in ("flat", "tiered", "off"):
            raise ValueError("scheme must be flat, tiered or off")
        self._rate = _RateLimit(scheme, per_hour, per_minute, scope)

    @_locked
    def requests(self) -> list[dict[str, Any]]:
        """The request log: method, path, query, body, headers (Authorization redacted)."""
        return [dict(entry) for entry in self._log]

    @_locked
    def clear_requests(self) -> None:
        self._log.clear()

    @_locked
    def call_count(self, method: str | None = None, path_glob: str | None = None) -> int:
        probe = _Fault(method.upper() if method else "*", path_glob or "*", 0)
        return sum(1 for e in self._log if probe.matches(e["method"], e["path"]))

    # -- demo seed --------------------------------------------------------------------------------

    @_locked
    def demo_seed(self) -> None:
        """One r1 account, three books, ~300 contacts, three sent campaigns and one unsent."""
        rng = random.Random(f"{self._seed}:demo")
        now = self.now()
        books = [
            self.add_book(n, v)
            for n, v in (("Newsletter", "Public"), ("Customers", "Private"), ("Events", "Private"))
        ]
        emails = [self._demo_contact(rng, i, books, now) for i in range(300)]
        for email in emails[:3]:
            self.add_to_book(TEST_BOOK, email, at=now - timedelta(days=60))
        self._demo_unsubscribes(rng, books, emails, now)
        for offset, (name, book) in enumerate(
            (("Spring news", 0), ("Customer offers", 1), ("Event invitation", 2))
        ):
            sent = now - timedelta(days=20 - 6 * offset)
            campaign = self.add_campaign(name, "Sent", [books[book]], date_sent=sent)
            self._demo_activity(rng, campaign, books[book], sent)
        self.add_campaign("Summer news (draft)", "Unsent", [books[0]])

    def _demo_contact(self, rng: random.Random, index: int, books: list[int], now: datetime) -> str:
        first = rng.choice(_DEMO_FIRST)
        last = rng.choice(_DEMO_LAST)
        email = f"{first}.{last}.{index}@example.com".lower()
        joined = now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 1439))
        member_of = [b for b in books if rng.random() < 0.5] or [books[index % len(books)]]
        fields = {
            "FIRSTNAME": first,
            "LASTNAME": last,
            "FULLNAME": f"{first} {last}",
            "GENDER": rng.choice(("female", "male", "")) or None,
            "POSTCODE": f"{rng.randint(10000, 99999)}",
            "LASTSUBSCRIBED": joined.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        self.add_contact(email, fields, books=member_of, at=joined)
        return email

    def _demo_unsubscribes(
        self, rng: random.Random, books: list[int], emails: list[str], now: datetime
    ) -> None:
        for email in rng.sample(emails, 15):
            member = next(
                m
                for m in self._state.memberships.values()
                if m.contact == self._contact_ref(email, None).id and m.book in books
            )
            when = now - timedelta(days=rng.randint(1, 30))
            self.unsubscribe_from_book(member.book, email, at=when)
        reasons = ("HardBounced", "Unsubscribed", "Suppressed", "IspComplained")
        for index, email in enumerate(rng.sample(emails, 12)):
            self.suppress(
                email, reasons[index % len(reasons)], at=now - timedelta(days=rng.randint(1, 30))
            )

    def _demo_activity(self, rng: random.Random, campaign: int, book: int, sent: datetime) -> None:
        members = [m for m in self._state.memberships.values() if m.book == book]
        for member in members[:60]:
            contact = self._state.contacts[member.contact]
            opened = sent + timedelta(hours=rng.randint(1, 72))
            opens = rng.choice((0, 1, 1, 2, 3))
            self.add_activity(
                campaign,
                contact.email,
                opens=opens,
                clicks=rng.choice((0, 0, 1, 2)) if opens else 0,
                first_opened=opened if opens else None,
                date_sent=sent,
                at=opened if opens else sent,
            )

    # -- internal state helpers -------------------------------------------------------------------

    @staticmethod
    def _user_specs(
        users: Mapping[str, str] | Iterable[Sequence[Any]] | None,
    ) -> list[tuple[str, str, int]]:
        if users is None:
            return [(DEFAULT_USER, DEFAULT_PASSWORD, DEFAULT_ACCOUNT_ID)]
        if isinstance(users, Mapping):
            return [(u, p, DEFAULT_ACCOUNT_ID) for u, p in users.items()]
        specs = [
            (str(s[0]), str(s[1]), int(s[2]) if len(s) > 2 else DEFAULT_ACCOUNT_ID) for s in users
        ]
        return specs or [(DEFAULT_USER, DEFAULT_PASSWORD, DEFAULT_ACCOUNT_ID)]

    def _install_fresh_state(self) -> None:
        self._state = _State(seed=self._seed)
        self._page_orders.clear()
        for username, password, account in self._initial_users:
            self._ensure_account(account)
            self._state.users[username.lower()] = User(username, password, account)

    def _ensure_account(self, account_id: int) -> int:
        if account_id in self._state.accounts:
            return account_id
        first = not self._state.accounts
        self._state.accounts[account_id] = Account(
            account_id,
            "ListBridge Demo Ltd" if first else f"Account {account_id}",
            "owner@listbridge-demo.example" if first else f"owner{account_id}@example.com",
        )
        for name in SYSTEM_BOOK_NAMES:
            self._new_book(account_id, name, "Private", system=True)
        for name, kind in DEFAULT_FIELDS:
            self._state.datafields.append(
                DataField(account_id, name, kind, "Private", None, system=name in SYSTEM_FIELDS)
            )
        return account_id

    def _default_account(self) -> int:
        return next(iter(self._state.accounts))

    def _account(self, account: int | None) -> Account:
        account_id = self._default_account() if account is None else account
        if account_id not in self._state.accounts:
            raise ValueError(f"no account {account_id}")
        return self._state.accounts[account_id]

    @staticmethod
    def _enum(value: str, allowed: Sequence[str]) -> str:
        canonical = _canon(value, allowed)
        if canonical is None:
            raise ValueError(f"{value!r} is not one of {tuple(allowed)}")
        return canonical

    def _new_book(self, account: int, name: str, visibility: str, system: bool = False) -> Book:
        book = Book(self._state.next_id("book"), account, name, visibility, system)
        self._state.books[book.id] = book
        return book

    def _drop_book(self, book: Book) -> None:
        del self._state.books[book.id]
        self._state.drop_book_members(book.id)
        for campaign in self._state.campaigns.values():
            if book.id in campaign.books:
                campaign.books.remove(book.id)

    def _book_named(self, account: int, name: str) -> Book | None:
        wanted = name.strip().lower()
        return next(
            (
                b
                for b in self._state.books.values()
                if b.account == account and b.name.strip().lower() == wanted
            ),
            None,
        )

    def _book_ref(self, book: int | str, account: int | None) -> Book:
        account_id = self._account(account).id
        if isinstance(book, int) or (isinstance(book, str) and book.isdigit()):
            found = self._state.books.get(int(book))
            found = found if found is not None and found.account == account_id else None
        else:
            found = self._book_named(account_id, book)
        if found is None:
            raise ValueError(f"no address book {book!r}")
        return found

    def _contact_by_email(self, account: int, email: str) -> Contact | None:
        return self._state.contact_by_email(account, email.strip().lower())

    def _contact_ref(self, contact: int | str, account: int | None) -> Contact:
        account_id = self._account(account).id
        if isinstance(contact, int):
            found = self._state.contacts.get(contact)
            found = found if found is not None and found.account == account_id else None
        else:
            found = self._contact_by_email(account_id, contact)
        if found is None:
            raise ValueError(f"no contact {contact!r}")
        return found

    def _campaign_ref(self, campaign: int | str) -> Campaign:
        if isinstance(campaign, int) or campaign.isdigit():
            found = self._state.campaigns.get(int(campaign))
        else:
            found = next((c for c in self._state.campaigns.values() if c.name == campaign), None)
        if found is None:
            raise ValueError(f"no campaign {campaign!r}")
        return found

    def _membership(self, book: int | str, email: str, account: int | None) -> Membership:
        contact = self._contact_ref(email, account)
        target = self._book_ref(book, contact.account)
        member = self._state.memberships.get((target.id, contact.id))
        if member is None:
            raise ValueError(f"{contact.email} is not in {target.name}")
        return member

    def _join(self, book: Book, contact: Contact, when: datetime) -> None:
        if book.name == ALL_CONTACTS and book.system:
            return  # every contact is in All Contacts already
        key = (book.id, contact.id)
        if key in self._state.memberships:
            return
        if book.system and len(self._members(book)) >= TEST_BOOK_LIMIT:
            raise ValueError(f"{book.name} holds at most {TEST_BOOK_LIMIT} contacts")
        self._state.add_membership(Membership(book.id, contact.id, when, when))

    def _field_named(self, account: int, name: str) -> DataField | None:
        wanted = name.strip().lower()
        return next(
            (
                f
                for f in self._state.datafields
                if f.account == account and f.name.lower() == wanted
            ),
            None,
        )

    def _field_name(self, name: str) -> str:
        return name.upper() if self._settings["datafield_name_case"] == "upper" else name

    def _account_fields(self, account: int) -> list[DataField]:
        return [f for f in self._state.datafields if f.account == account]

    def _set_fields(self, contact: Contact, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            target = self._field_named(contact.account, name)
            if target is None:
                raise ValueError(f"no data field {name}")
            if isinstance(value, datetime):
                value = _as_utc(value).strftime("%Y-%m-%dT%H:%M:%S")
            contact.fields[target.name] = value

    def _set_status(self, contact: Contact, status: str, when: datetime) -> None:
        previous, contact.status = contact.status, self._enum(status, CONTACT_STATUSES)
        if contact.status in ACTIVE_STATUSES:
            contact.suppressed_at = None
        elif contact.status != previous or contact.suppressed_at is None:
            contact.suppressed_at = when

    # -- HTTP plumbing ----------------------------------------------------------------------------

    def _app_for(self, region: int) -> Any:
        def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            request = Request(environ)
            try:
                response = self._handle(request, region)
            finally:
                request.close()  # closes the temporary files of multipart uploads
            return response(environ, start_response)

        return app

    def _handle(self, request: Request, region: int) -> Response:
        path = _raw_path(request.environ)
        if path.startswith("/_emulator/"):
            return self._admin(request, path) if self._admin_http else self._no_route(request)
        body = request.get_data(cache=True)
        with self._lock:
            entry = self._record(request, unquote(path), body, region)
            fault = self._take_fault(request.method, unquote(path))
        if fault is not None and fault.delay:
            time.sleep(fault.delay)  # outside the lock: other requests go on
        if fault is not None and fault.reset:
            entry["status"] = None
            _drop_connection(request.environ)
        response = self._fault_response(fault) if fault is not None else None
        if response is None:
            with self._lock:
                response = self._api(request, region, path)
            if fault is not None and fault.truncated:
                response = _truncated(response)
        entry["status"] = response.status_code
        LOG.debug("%s %s -> %s", request.method, unquote(path), response.status_code)
        return response

    def _record(self, request: Request, path: str, body: bytes, region: int) -> dict[str, Any]:
        headers = {
            k: ("[redacted]" if k.lower() in ("authorization", "proxy-authorization") else v)
            for k, v in request.headers.items()
        }
        auth = request.authorization
        entry: dict[str, Any] = {
            "time": self.now().isoformat(),
            "region": region,
            "method": request.method,
            "path": path,
            "query": request.query_string.decode("latin-1"),
            "body": body.decode("utf-8", errors="replace"),
            "headers": headers,
            "user": auth.username if auth is not None and auth.type == "basic" else None,
            "status": None,
        }
        self._log.append(entry)
        return entry

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.times > 0 and fault.matches(method, path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> Response | None:
        if fault.malformed:
            return Response(
                b'{"id": 1, "name": "Newsl',
                status=200,
                content_type="application/json; charset=utf-8",
            )
        if fault.empty:
            return Response(b"", status=200, content_type="application/json; charset=utf-8")
        if fault.status is None:
            return None
        if isinstance(fault.body, dict | list):
            response = _json_response(fault.body, fault.status)
        else:
            text = "" if fault.body is None else str(fault.body)
            kind = "text/html" if text.lstrip().startswith("<") else "text/plain"
            response = Response(
                text.encode("utf-8"), status=fault.status, content_type=f"{kind}; charset=utf-8"
            )
        for name, value in fault.headers.items():
            response.headers[name] = value
        return response

    @staticmethod
    def _no_route(request: Request) -> Response:
        return _error_response(
            404, f"No HTTP resource was found that matches the request URI '{request.url}'."
        )

    def _api(self, request: Request, region: int, path: str) -> Response:
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if not segments or segments[0].lower() != "v2":
            return self._no_route(request)
        matched = _match_route(request.method, segments[1:])
        if matched == "404":
            return self._no_route(request)
        if matched == "405":
            return _error_response(
                405, f"The requested resource does not support http method '{request.method}'."
            )
        assert isinstance(matched, tuple)
        name, params = matched
        try:
            return self._dispatch(request, region, name, params)
        except _ApiError as error:
            return _error_response(error.status, error.message)

    def _dispatch(
        self, request: Request, region: int, name: str, params: dict[str, str]
    ) -> Response:
        open_call = name == "server_time" and not self._settings["server_time_auth"]
        user = None if open_call else self._authenticate(request)
        if user is None and not open_call:
            return _error_response(401, AUTH_DENIED)
        if user is not None:
            refusal = self._rate_limited(user)
            if refusal is not None:
                return refusal
            account = self._state.accounts[user.account]
            if (
                name != "account_info"
                and self._settings["region_enforced"]
                and account.region != region
            ):
                return _error_response(403, "Forbidden")
        query = {k.lower(): v for k, v in request.args.items()}
        call = _Call(request, region, user, params, query)
        handler: Callable[[_Call], Response] = getattr(self, f"_e_{name}")
        return handler(call)

    def _authenticate(self, request: Request) -> User | None:
        auth = request.authorization
        if auth is None or auth.type != "basic" or not auth.username:
            return None
        user = self._state.users.get(auth.username.lower())
        if user is None or not hmac.compare_digest(
            user.password.encode(), (auth.password or "").encode()
        ):
            return None
        return user

    def _rate_limited(self, user: User) -> Response | None:
        rate = self._rate
        if rate.scheme == "off":
            return None
        span, limit = (3600, rate.per_hour) if rate.scheme == "flat" else (60, rate.per_minute)
        now = self.now()
        start, count = rate.windows.get(user.username.lower(), (now, 0))
        if (now - start).total_seconds() >= span:
            start, count = now, 0
        if count >= limit:
            if rate.scheme == "flat":
                return _error_response(
                    int(self._settings["usage_exceeded_status"]),
                    _MESSAGES["ERROR_APIUSAGE_EXCEEDED"],
                )
            reset = max(1, int(span - (now - start).total_seconds()))
            return _json_response(
                {"message": "Too many requests."},
                429,
                {
                    "x-ratelimit-scope": rate.scope,
                    "x-ratelimit-limit": str(limit),
                    "x-ratelimit-reset": str(reset),
                },
            )
        rate.windows[user.username.lower()] = (start, count + 1)
        return None

    def _admin(self, request: Request, path: str) -> Response:
        name = path[len("/_emulator/") :].strip("/")
        if name not in ADMIN_HOOKS:
            return self._no_route(request)
        if request.method != "POST":
            return _error_response(405, "Use POST with JSON keyword arguments.")
        try:
            kwargs = json.loads(request.get_data() or b"{}")
            if not isinstance(kwargs, dict):
                raise ValueError("the body must be a JSON object of keyword arguments")
            result = getattr(self, name)(**kwargs)
        except (TypeError, ValueError, KeyError, OSError) as error:
            return _error_response(400, str(error))
        return _json_response({"result": result}, 200)

    # -- response building ------------------------------------------------------------------------

    def _json(self, payload: Any, status: int = 200) -> Response:
        if self._settings["extra_fields"]:
            payload = _with_extra(payload)
        if self._settings["response_casing"] == "pascal":
            payload = _pascal(payload)
        return _json_response(payload, status)

    def _error(self, code: str) -> _ApiError:
        status = "not_found_status" if code.endswith("_NOT_FOUND") else "error_status"
        return _ApiError(int(self._settings[status]), _MESSAGES.get(code, f"Error: {code}"))

    def _date(self, value: datetime | None) -> str | None:
        if value is None:
            return None if self._settings["null_date_style"] == "null" else NET_NULL_DATE
        return _format_date(value, self._settings["date_style"])

    def _body_object(self, call: _Call) -> dict[str, Any]:
        """A JSON object body, its keys lower-cased: keys bind in any case (§1.4)."""
        data = self._body_json(call)
        if not isinstance(data, dict):
            raise self._error("ERROR_PARAMETER_INVALID")
        return {str(k).lower(): v for k, v in data.items()}

    def _body_json(self, call: _Call) -> Any:
        try:
            return json.loads(call.request.get_data() or b"null")
        except ValueError:
            raise self._error("ERROR_PARAMETER_INVALID") from None

    def _int_param(self, call: _Call, name: str) -> int:
        value = call.params[name]
        if not value.isdigit():
            raise self._error("ERROR_PARAMETER_INVALID")
        return int(value)

    def _date_param(self, call: _Call) -> datetime:
        value = _parse_path_date(call.params["date"])
        if value is None:
            raise self._error("ERROR_PARAMETER_INVALID")
        return value

    def _bool_query(self, call: _Call, name: str) -> bool:
        value = call.query.get(name)
        if value is None or value == "":
            return False
        if value.lower() not in ("true", "false"):
            raise self._error("ERROR_PARAMETER_INVALID")
        return value.lower() == "true"

    def _int_query(self, call: _Call, name: str, default: int) -> int:
        value = call.query.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise self._error("ERROR_PARAMETER_INVALID") from None

    def _select_skip(self, call: _Call) -> tuple[int, int]:
        select = self._int_query(call, "select", int(self._settings["select_default"]))
        skip = self._int_query(call, "skip", 0)
        if not 1 <= select <= int(self._settings["select_max"]) or skip < 0:
            raise self._error("ERROR_PARAMETER_INVALID")
        return select, skip

    def _page(self, items: Sequence[T], call: _Call, key: Callable[[T], int]) -> list[T]:
        select, skip = self._select_skip(call)
        return self._ordered(items, key)[skip : skip + select]

    def _page_cached(
        self,
        call: _Call,
        list_key: tuple[Any, ...],
        version: Any,
        rows: Callable[[], Sequence[T]],
        key: Callable[[T], int],
    ) -> list[T]:
        """``_page`` for the lists that grow big (a book's contacts, a campaign's activities):
        the list is filtered and ordered once and kept while ``version`` (the state's change
        counters it depends on) stays the same, so each further page costs only its rows."""
        select, skip = self._select_skip(call)
        cache_key = (*list_key, self._settings["page_order"])
        cached = self._page_orders.get(cache_key)
        if cached is None or cached[0] != version:
            if len(self._page_orders) >= 32:
                self._page_orders.pop(next(iter(self._page_orders)))
            cached = (version, self._ordered(rows(), key))
            self._page_orders[cache_key] = cached
        return cached[1][skip : skip + select]

    def _ordered(self, items: Sequence[T], key: Callable[[T], int]) -> list[T]:
        order = self._settings["page_order"]
        if order == "shuffle":
            # A stable pseudo-random rank per id: an insert shifts rows, it does not reshuffle.
            seed = self._state.seed
            return sorted(items, key=lambda i: hashlib.sha256(f"{seed}:{key(i)}".encode()).digest())
        return sorted(items, key=key, reverse=order == "reverse")

    # -- books -----------------------------------------------------------------------------------

    def _books(self, account: int) -> list[Book]:
        return [b for b in self._state.books.values() if b.account == account]

    def _book_for(self, call: _Call, writable: bool = False) -> Book:
        book = self._state.books.get(self._int_param(call, "book"))
        if book is None or book.account != call.account:
            raise self._error("ERROR_ADDRESSBOOK_NOT_FOUND")
        if writable and book.system:
            raise self._error("ERROR_ADDRESSBOOK_NOTWRITABLE")
        return book

    def _members(self, book: Book) -> list[tuple[Contact, Membership | None]]:
        if book.system and book.name == ALL_CONTACTS:
            return [(c, None) for c in self._state.contacts.values() if c.account == book.account]
        listed = self._settings["unsubscribed_members_listed"]
        contacts = self._state.contacts
        return [
            (contacts[m.contact], m)
            for m in self._state.members_of(book.id)
            if listed or m.unsubscribed_at is None
        ]

    def _book_json(self, book: Book) -> dict[str, Any]:
        return {
            "id": book.id,
            "name": book.name,
            "visibility": book.visibility,
            "contacts": len(self._members(book)),
        }

    def _e_list_books(self, call: _Call) -> Response:
        listed = self._settings["system_books_listed"]
        books = [b for b in self._books(call.account) if listed or not b.system]
        return self._json([self._book_json(b) for b in self._page(books, call, lambda b: b.id)])

    def _e_create_book(self, call: _Call) -> Response:
        body = self._body_object(call)
        name = body.get("name")
        visibility = _canon(body.get("visibility") or "Private", VISIBILITIES)
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > BOOK_NAME_MAX:
            raise self._error("ERROR_PARAMETER_INVALID")
        if visibility is None:
            raise self._error("ERROR_PARAMETER_INVALID")
        if self._book_named(call.account, name) is not None:
            raise self._error("ERROR_ADDRESSBOOK_DUPLICATE")  # includes Test and All Contacts
        book = self._new_book(call.account, name.strip(), visibility)
        return self._json(self._book_json(book), 201)

    def _e_get_book(self, call: _Call) -> Response:
        return self._json(self._book_json(self._book_for(call)))

    def _e_delete_book(self, call: _Call) -> Response:
        self._drop_book(self._book_for(call, writable=True))
        return _empty_response()

    # -- contacts --------------------------------------------------------------------------------

    def _contact_json(self, contact: Contact, full: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": contact.id,
            "email": contact.email,
            "optInType": contact.opt_in_type,
            "emailType": contact.email_type,
        }
        mode = self._settings["datafields_when_not_full"]
        if full:
            out["dataFields"] = self._data_fields_json(contact)
        elif mode != "omitted":
            out["dataFields"] = [] if mode == "empty" else None
        out["status"] = contact.status
        return out

    def _data_fields_json(self, contact: Contact) -> list[dict[str, Any]]:
        include_unset = self._settings["datafields_include_unset"]
        return [
            {"key": f.name, "value": contact.fields.get(f.name)}
            for f in self._account_fields(contact.account)
            if include_unset or contact.fields.get(f.name) is not None
        ]

    def _contacts_page(
        self, call: _Call, book: Book, rows: Callable[[], list[Contact]], since: datetime | None
    ) -> Response:
        full = self._bool_query(call, "withfulldata")
        if book.system:  # All Contacts lists every contact: not worth keeping in order
            page = self._page(rows(), call, lambda c: c.id)
        else:
            listed = self._settings["unsubscribed_members_listed"]
            state = self._state
            version: Any = state.version("book", book.id)
            if since is not None:
                version = (version, state.version("contacts", book.account))
            page = self._page_cached(
                call, ("contacts", book.id, since, listed), version, rows, lambda c: c.id
            )
        return self._json([self._contact_json(c, full) for c in page])

    def _e_book_contacts(self, call: _Call) -> Response:
        book = self._book_for(call)
        return self._contacts_page(call, book, lambda: [c for c, _m in self._members(book)], None)

    def _e_book_contacts_modified(self, call: _Call) -> Response:
        book = self._book_for(call)
        since = self._date_param(call)

        def rows() -> list[Contact]:
            return [
                c
                for c, m in self._members(book)
                if c.modified > since or (m is not None and m.modified > since)
            ]

        return self._contacts_page(call, book, rows, since)

    def _suppression_json(
        self, contact: Contact, when: datetime | None, reason: str
    ) -> dict[str, Any]:
        same = self._settings["suppressed_contact_status"] == "reason"
        inner = {
            "id": contact.id,
            "email": contact.email,
            "optInType": contact.opt_in_type,
            "emailType": contact.email_type,
            "dataFields": [],
            "status": reason if same else contact.status,
        }
        return {"suppressedContact": inner, "dateRemoved": self._date(when), "reason": reason}

    def _e_book_unsubscribes(self, call: _Call) -> Response:
        book = self._book_for(call)
        since = self._date_param(call)
        rows: list[tuple[Contact, datetime | None, str]] = [
            (self._state.contacts[m.contact], m.unsubscribed_at, "Unsubscribed")
            for m in self._state.members_of(book.id)
            if m.unsubscribed_at is not None and m.unsubscribed_at > since
        ]
        if self._settings["book_unsubscribes_include_account"]:
            seen = {r[0].id for r in rows}
            rows += [
                (c, c.suppressed_at, c.status)
                for c, _m in self._members(book)
                if c.id not in seen and c.suppressed_at is not None and c.suppressed_at > since
            ]
        page = self._page(rows, call, lambda r: r[0].id)
        return self._json([self._suppression_json(*r) for r in page])

    def _e_suppressed_since(self, call: _Call) -> Response:
        since = self._date_param(call)
        rows = [
            c
            for c in self._state.contacts.values()
            if c.account == call.account and c.suppressed_at is not None and c.suppressed_at > since
        ]
        page = self._page(rows, call, lambda c: c.id)
        return self._json([self._suppression_json(c, c.suppressed_at, c.status) for c in page])

    def _remove_members(self, call: _Call, book: Book, ids: list[int]) -> Response:
        keys = [(book.id, i) for i in ids]
        if self._settings["delete_unknown_ids"] == "404" and any(
            k not in self._state.memberships for k in keys
        ):
            raise self._error("ERROR_CONTACT_NOT_FOUND")
        for book_id, contact_id in keys:
            self._state.drop_membership(book_id, contact_id)  # a removal, not an unsubscribe
        return _empty_response()

    def _e_remove_contacts(self, call: _Call) -> Response:
        book = self._book_for(call, writable=True)
        ids = self._body_json(call)
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise self._error("ERROR_PARAMETER_INVALID")
        return self._remove_members(call, book, ids)

    def _e_remove_contact(self, call: _Call) -> Response:
        book = self._book_for(call, writable=True)
        return self._remove_members(call, book, [self._int_param(call, "contact")])

    def _e_get_contact(self, call: _Call) -> Response:
        key = call.params["contact"].strip()
        if key.isdigit():
            found = self._state.contacts.get(int(key))
            contact = found if found is not None and found.account == call.account else None
        elif "@" in key and _valid_email(key.lower()):
            contact = self._contact_by_email(call.account, key)
        else:
            raise _ApiError(int(self._settings["error_status"]), INVALID_EMAIL)
        if contact is None:
            raise self._error("ERROR_CONTACT_NOT_FOUND")
        return self._json(self._contact_json(contact, full=True))

    # -- imports ---------------------------------------------------------------------------------

    def _active_imports(self, account: int) -> int:
        pending = [
            i
            for i in self._state.imports.values()
            if i.account == account and i.status == "NotFinished"
        ]
        for imp in pending:
            self._finish_if_due(imp)
        return sum(1 for i in pending if i.status == "NotFinished")

    def _e_start_import(self, call: _Call) -> Response:
        book = self._book_for(call, writable=True)
        if self._active_imports(call.account) >= int(self._settings["max_active_imports_server"]):
            raise self._error("ERROR_IMPORT_TOOMANYACTIVEIMPORTS")
        file_name, data = self._upload(call)
        headers, rows, problem = _parse_upload(file_name, data)
        if problem == "unsupported":
            raise self._error("ERROR_IMPORT_UNSUPPORTED_FORMAT")
        if problem == "no_email_column" and self._settings["no_email_column"] == "error":
            raise self._error("ERROR_NO_EMAIL_COLUMN")
        imp = Import(
            self._state.next_guid(),
            call.account,
            book.id,
            file_name,
            self.now(),
            headers,
            rows,
            problem,
        )
        self._apply_script(imp)
        self._state.imports[imp.id] = imp
        return self._json({"id": imp.id, "status": imp.status}, 202)

    def _upload(self, call: _Call) -> tuple[str, bytes]:
        request = call.request
        if request.mimetype == "multipart/form-data":
            upload = next(iter(request.files.values()), None)
            if upload is None or not upload.filename:
                raise _ApiError(int(self._settings["error_status"]), FILE_INVALID)
            return upload.filename, upload.read()
        body = self._body_object(call)
        name, data = body.get("filename"), body.get("data")
        if not isinstance(name, str) or not name.strip() or not isinstance(data, str):
            raise _ApiError(int(self._settings["error_status"]), FILE_INVALID)
        try:
            return name.strip(), base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise _ApiError(int(self._settings["error_status"]), FILE_INVALID) from None

    def _apply_script(self, imp: Import) -> None:
        script = self._scripts.pop(0) if self._scripts else {}
        imp.outcome = script.get("status", "Finished")
        imp.polls_needed = int(script.get("polls", self._settings["import_polls_until_done"]))
        seconds = script.get("seconds", self._settings["import_seconds_until_done"])
        imp.seconds_needed = None if seconds is None else float(seconds)
        faults = script.get("faults", [])
        imp.scripted_faults = [[str(e).strip().lower(), str(r)] for e, r in faults]
        imp.scripted_report = {str(k): int(v) for k, v in script.get("report", {}).items()}

    def _import_for(self, call: _Call) -> Import | None:
        try:
            key = str(uuid.UUID(call.params["import"]))
        except ValueError:
            raise self._error("ERROR_PARAMETER_INVALID") from None
        imp = self._state.imports.get(key)
        return imp if imp is not None and imp.account == call.account else None

    def _finish_if_due(self, imp: Import) -> None:
        if imp.status != "NotFinished" or imp.seconds_needed is None:
            return
        if (self.now() - imp.created).total_seconds() >= imp.seconds_needed:
            self._finish_import(imp)

    def _e_import_status(self, call: _Call) -> Response:
        imp = self._import_for(call)
        if imp is None:
            if self._settings["unknown_import_response"] == "404":
                raise self._error("ERROR_IMPORT_NOT_FOUND")
            return self._json({"id": call.params["import"], "status": "Unknown"})
        if imp.status == "NotFinished" and imp.seconds_needed is None:
            imp.polls += 1
            if imp.polls > imp.polls_needed:
                self._finish_import(imp)
        self._finish_if_due(imp)
        return self._json({"id": imp.id, "status": imp.status})

    def _final_import(self, call: _Call) -> Import:
        imp = self._import_for(call)
        if imp is None:
            raise self._error("ERROR_IMPORT_NOT_FOUND")
        self._finish_if_due(imp)
        if imp.status == "NotFinished":
            raise self._error("ERROR_IMPORT_REPORT_NOT_FOUND")
        return imp

    def _e_import_report(self, call: _Call) -> Response:
        report = self._final_import(call).report or {}
        return self._json({k: int(report.get(k, 0)) for k in (*REPORT_KEYS, *report)})

    def _e_import_faults(self, call: _Call) -> Response:
        imp = self._final_import(call)
        newline = "\r\n" if self._settings["faults_csv_newline"] == "CRLF" else "\n"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=newline)
        writer.writerow(["Reason", *imp.headers])
        writer.writerows(imp.faults)
        text = ("\ufeff" if self._settings["faults_csv_bom"] else "") + buffer.getvalue()
        return Response(
            text.encode("utf-8"), status=200, content_type=self._settings["faults_content_type"]
        )

    def _finish_import(self, imp: Import) -> None:
        status = imp.outcome
        if imp.problem is not None:
            status = "InvalidFileFormat"
        elif imp.book not in self._state.books:
            status = "Failed"
        report = dict.fromkeys(REPORT_KEYS, 0)
        if status == "Finished":
            faults = self._apply_import(imp, report)
        else:
            faults = [self._fault_row(imp, email, reason) for email, reason in imp.scripted_faults]
        report.update(imp.scripted_report)
        imp.status, imp.report, imp.faults = status, report, faults
        LOG.debug("import %s finished as %s", imp.id, status)

    def _fault_row(self, imp: Import, email: str, reason: str) -> list[str]:
        column = self._email_column(imp)
        row = next((r for r in imp.rows if _cell(r, column).strip().lower() == email), None)
        if row is None:
            row = ["" for _ in imp.headers] or [""]
            row[min(column, len(row) - 1)] = email
        return [reason, *row]

    @staticmethod
    def _email_column(imp: Import) -> int:
        return next((i for i, h in enumerate(imp.headers) if h.strip().lower() == "email"), 0)

    def _apply_import(self, imp: Import, report: dict[str, int]) -> list[list[str]]:
        column = self._email_column(imp)
        faults: list[list[str]] = []
        latest: dict[str, list[str]] = {}
        for row in imp.rows:
            if not any(cell.strip() for cell in row):
                continue
            email = _cell(row, column).strip().lower()
            if not _valid_email(email):
                faults.append(["Invalid Entries", *row])
                report["invalidEntries"] += 1
                continue
            if email in latest:
                report["duplicateEmails"] += 1  # the last row wins
            latest[email] = row
        scripted = dict((e, r) for e, r in imp.scripted_faults)
        for email, row in latest.items():
            reason = scripted.get(email) or self._refusal(imp, email)
            if reason is not None:
                faults.append([reason, *row])
                report[REASON_COUNTERS.get(_norm_reason(reason), "failures")] += 1
                continue
            created = self._import_row(imp, email, row)
            report["newContacts" if created else "updatedContacts"] += 1
        return faults

    def _refusal(self, imp: Import, email: str) -> str | None:
        contact = self._contact_by_email(imp.account, email)
        if contact is None:
            return None
        if contact.status not in ACTIVE_STATUSES:
            return {
                "HardBounced": "Hard Bounced",
                "Unsubscribed": "Unsubscribed",
                "Suppressed": "Suppressed by you",
            }.get(contact.status, "Globally Suppressed")
        member = self._state.memberships.get((imp.book, contact.id))
        return "Unsubscribed" if member is not None and member.unsubscribed_at else None

    def _import_row(self, imp: Import, email: str, row: list[str]) -> bool:
        now = self.now()
        contact = self._contact_by_email(imp.account, email)
        created = contact is None
        if contact is None:
            contact = Contact(
                self._state.next_id("contact"), imp.account, email, now, opt_in_type="Unknown"
            )
            self._state.add_contact(contact)
        for index, header in enumerate(imp.headers):
            self._import_cell(contact, header.strip().lower(), _cell(row, index))
        contact.modified = now
        member = self._state.memberships.get((imp.book, contact.id))
        if member is None:
            self._join(self._state.books[imp.book], contact, now)
        else:
            member.modified = now
        self._state.changed("contacts", contact.account)
        return created

    def _import_cell(self, contact: Contact, header: str, value: str) -> None:
        if header in ("email", "id"):
            return
        if header in ("optintype", "emailtype"):
            allowed = OPT_IN_TYPES if header == "optintype" else EMAIL_TYPES
            canonical = _canon(value.strip(), allowed)
            if canonical is not None:
                setattr(
                    contact, "opt_in_type" if header == "optintype" else "email_type", canonical
                )
            return
        target = self._field_named(contact.account, header)
        if target is None:
            return  # unknown columns are ignored
        if not value.strip():
            if self._settings["blank_cells"] == "clear":
                contact.fields[target.name] = None
            return
        typed = _typed_cell(target.type, value)
        if typed is not _INVALID:
            contact.fields[target.name] = typed

    # -- campaigns -------------------------------------------------------------------------------

    def _campaign_for(self, call: _Call) -> Campaign:
        campaign = self._state.campaigns.get(self._int_param(call, "campaign"))
        if campaign is None or campaign.account != call.account:
            raise self._error("ERROR_CAMPAIGN_NOT_FOUND")
        return campaign

    def _campaign_json(self, campaign: Campaign) -> dict[str, Any]:
        return {
            "id": campaign.id,
            "name": campaign.name,
            "subject": campaign.subject,
            "fromName": campaign.from_name,
            "fromAddress": {"id": campaign.from_address_id, "email": campaign.from_email},
            "htmlContent": None,
            "plainTextContent": None,
            "replyAction": campaign.reply_action,
            "replyToAddress": campaign.reply_to,
            "isSplitTest": campaign.is_split_test,
            "status": campaign.status,
        }

    def _activities(self, campaign: Campaign) -> list[Activity]:
        return list(self._state.activities_of(campaign.id).values())

    def _activity_json(self, campaign: Campaign, act: Activity) -> dict[str, Any]:
        return {
            "contactId": act.contact,
            "email": act.email,
            "numOpens": act.opens,
            "numPageViews": act.page_views,
            "numClicks": act.clicks,
            "numForwards": act.forwards,
            "numEstimatedForwards": act.estimated_forwards,
            "numReplies": act.replies,
            "dateSent": self._date(act.date_sent or campaign.date_sent),
            "dateFirstOpened": self._date(act.first_opened),
            "dateLastOpened": self._date(act.last_opened),
            "firstOpenIp": act.first_open_ip,
            "unsubscribed": act.unsubscribed,
            "softBounced": act.soft_bounced,
            "hardBounced": act.hard_bounced,
        }

    def _e_book_campaigns(self, call: _Call) -> Response:
        book = self._book_for(call)
        rows = [c for c in self._state.campaigns.values() if book.id in c.books]
        return self._json([self._campaign_json(c) for c in self._page(rows, call, lambda c: c.id)])

    def _e_campaigns_with_activity(self, call: _Call) -> Response:
        since = self._date_param(call)
        rows = [
            c
            for c in self._state.campaigns.values()
            if c.account == call.account
            and c.status == "Sent"
            and any(a.last_activity_at > since for a in self._activities(c))
        ]
        return self._json([self._campaign_json(c) for c in self._page(rows, call, lambda c: c.id)])

    def _e_get_campaign(self, call: _Call) -> Response:
        return self._json(self._campaign_json(self._campaign_for(call)))

    def _activities_page(
        self,
        call: _Call,
        campaign: Campaign,
        since: datetime | None,
        rows: Callable[[], list[Activity]],
    ) -> Response:
        version = self._state.version("campaign", campaign.id)
        page = self._page_cached(
            call, ("activities", campaign.id, since), version, rows, lambda a: a.contact
        )
        return self._json([self._activity_json(campaign, a) for a in page])

    def _e_activities(self, call: _Call) -> Response:
        campaign = self._campaign_for(call)
        return self._activities_page(call, campaign, None, lambda: self._activities(campaign))

    def _e_activities_since(self, call: _Call) -> Response:
        campaign = self._campaign_for(call)
        since = self._date_param(call)

        def rows() -> list[Activity]:
            return [a for a in self._activities(campaign) if a.last_activity_at > since]

        return self._activities_page(call, campaign, since, rows)

    def _e_summary(self, call: _Call) -> Response:
        campaign = self._campaign_for(call)
        if campaign.status != "Sent":
            status, message = self._settings["summary_unsent_error"]
            raise _ApiError(int(status), str(message))
        summary = self._computed_summary(campaign)
        for key, value in campaign.summary.items():
            summary[key] = self._date(_as_datetime(value)) if key == "dateSent" else value
        return self._json(summary)

    def _computed_summary(self, campaign: Campaign) -> dict[str, Any]:
        acts = self._activities(campaign)
        sent = len(acts)
        hard = sum(a.hard_bounced for a in acts)
        soft = sum(a.soft_bounced for a in acts)
        delivered = sent - hard - soft
        unique = sum(1 for a in acts if a.opens > 0)
        clickers = sum(1 for a in acts if a.clicks > 0)
        totals = {
            "Opens": sum(a.opens for a in acts),
            "Clicks": sum(a.clicks for a in acts),
            "EstimatedForwards": sum(a.estimated_forwards for a in acts),
            "Replies": sum(a.replies for a in acts),
            "HardBounces": hard,
            "SoftBounces": soft,
            "Unsubscribes": sum(a.unsubscribed for a in acts),
            "IspComplaints": 0,
            "MailBlocks": 0,
            "Sent": sent,
            "Delivered": delivered,
        }
        views = sum(a.page_views for a in acts)
        forwards = sum(a.forwards for a in acts)
        summary: dict[str, Any] = {
            "dateSent": self._date(campaign.date_sent),
            "numUniqueOpens": unique,
            "numUniqueTextOpens": 0,
            "numTotalUniqueOpens": unique,
        }
        for base in SUMMARY_TRIPLES:
            summary.update(
                {f"num{base}": totals[base], f"numText{base}": 0, f"numTotal{base}": totals[base]}
            )
        summary.update(
            numPageViews=views,
            numTotalPageViews=views,
            numTextPageViews=0,
            numForwards=forwards,
            numTextForwards=0,
            numRecipientsClicked=clickers,
        )
        summary.update(self._percentages(totals, unique, clickers))
        summary.update(
            revenue="$0.00",
            conversionRate=0.0,
            assistedRevenue="$0.00",
            numOrders=0,
            numAssistedOrders=0,
        )
        return summary

    @staticmethod
    def _percentages(totals: dict[str, int], unique: int, clickers: int) -> dict[str, float]:
        def pct(part: int, whole: int) -> float:
            return round(100.0 * part / whole, 2) if whole else 0.0

        sent, delivered = totals["Sent"], totals["Delivered"]
        return {
            "percentageDelivered": pct(delivered, sent),
            "percentageUniqueOpens": pct(unique, delivered),
            "percentageOpens": pct(totals["Opens"], delivered),
            "percentageUnsubscribes": pct(totals["Unsubscribes"], delivered),
            "percentageReplies": pct(totals["Replies"], delivered),
            "percentageHardBounces": pct(totals["HardBounces"], sent),
            "percentageSoftBounces": pct(totals["SoftBounces"], sent),
            "percentageUsersClicked": pct(clickers, delivered),
            "percentageClicksToOpens": pct(clickers, unique),
        }

    # -- data fields, account, server time --------------------------------------------------------

    def _field_json(self, datafield: DataField) -> dict[str, Any]:
        return {
            "name": datafield.name,
            "type": datafield.type,
            "visibility": datafield.visibility,
            "defaultValue": datafield.default_value,
        }

    def _e_list_fields(self, call: _Call) -> Response:
        # Not paged (§1.5): select and skip are ignored.
        return self._json([self._field_json(f) for f in self._account_fields(call.account)])

    def _e_create_field(self, call: _Call) -> Response:
        body = self._body_object(call)
        name, default = body.get("name"), body.get("defaultvalue")
        kind = _canon(body.get("type"), FIELD_TYPES)
        visibility = _canon(body.get("visibility") or "Private", VISIBILITIES)
        if (
            not isinstance(name, str)
            or FIELD_NAME.match(name) is None
            or kind is None
            or visibility is None
            or not _valid_default(kind, default)
        ):
            raise self._error("ERROR_DATAFIELD_INVALID")
        if self._field_named(call.account, name) is not None:
            raise self._error("ERROR_NON_UNIQUE_DATAFIELD")
        if kind == "Date" and default is not None:
            parsed = _parse_loose_date(default)
            default = parsed.strftime("%Y-%m-%dT%H:%M:%S") if parsed else None
        created = DataField(call.account, self._field_name(name), kind, visibility, default)
        self._state.datafields.append(created)
        if self._settings["datafield_create_body"] == "empty":
            return _empty_response(201)
        return self._json(self._field_json(created), 201)

    def _e_delete_field(self, call: _Call) -> Response:
        target = self._field_named(call.account, call.params["name"])
        if target is None:
            raise self._error("ERROR_DATAFIELD_NOTFOUND")
        if target.system or target.dependencies:
            return self._json({"dependencies": list(target.dependencies), "result": False}, 409)
        self._state.datafields.remove(target)
        for contact in self._state.contacts.values():
            if contact.account == call.account:
                contact.fields.pop(target.name, None)
        return self._json({"dependencies": [], "result": True})

    def _e_account_info(self, call: _Call) -> Response:
        account = self._state.accounts[call.account]
        endpoint = f"http://{HOST}:{self._ports[account.region]}"
        properties = (
            ("Name", account.name),
            ("MainEmail", account.main_email),
            ("ApiEndpoint", endpoint),
            ("APILocale", account.locale),
        )
        return self._json(
            {
                "id": account.id,
                "properties": [{"name": n, "type": "String", "value": v} for n, v in properties],
            }
        )

    def _e_server_time(self, call: _Call) -> Response:
        return self._json(self._date(self.now()))


_DEMO_FIRST = (
    "Alex",
    "Sam",
    "Charlie",
    "Robin",
    "Jamie",
    "Morgan",
    "Taylor",
    "Casey",
    "Jordan",
    "Avery",
    "Emma",
    "Louis",
    "Chloe",
    "Hugo",
    "Lena",
    "Jonas",
    "Mia",
    "Noah",
)
_DEMO_LAST = (
    "Case",
    "Martin",
    "Bernard",
    "Dubois",
    "Muller",
    "Schmidt",
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Moreau",
    "Fischer",
    "Weber",
    "Garcia",
    "Rossi",
)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parse_user(text: str) -> tuple[str, str]:
    email, sep, password = text.partition(":")
    if not sep or not email or not password:
        raise argparse.ArgumentTypeError("expected EMAIL:PASSWORD")
    return email, password


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="listbridge emulator dotmailer",
        description="Run the Dotmailer REST API v2 emulator on loopback until Ctrl-C.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="base port: r1 on PORT, r2 on PORT+1, r3 on PORT+2 (0: random)",
    )
    parser.add_argument(
        "--user",
        type=_parse_user,
        action="append",
        default=[],
        metavar="EMAIL:PASSWORD",
        help="an API user (repeatable)",
    )
    parser.add_argument("--demo", action="store_true", help="seed demo data")
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="load state from FILE if it exists; save it there on exit",
    )
    parser.add_argument(
        "--admin-http", action="store_true", help="serve the test hooks under /_emulator/"
    )
    return parser.parse_args(argv)


def _wait_for_interrupt() -> None:
    while True:
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground until Ctrl-C."""
    args = _arguments(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    users = args.user or [(DEFAULT_USER, DEFAULT_PASSWORD)]
    emulator = DotmailerEmulator(
        base_port=args.port, users=users, demo=args.demo, admin_http=args.admin_http
    )
    emulator.use_real_clock()
    if args.state is not None and args.state.exists():
        emulator.load(args.state)
    emulator.start()
    try:
        for region, url in emulator.region_urls.items():
            print(f"Dotmailer emulator r{region}: {url}/v2", flush=True)
        print("API users: " + ", ".join(u for u, _p in users), flush=True)
        _wait_for_interrupt()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if args.state is not None:
            emulator.save(args.state)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
