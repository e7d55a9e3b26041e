"""Constants, settings (§5.5) and the in-memory records of the Dotmailer emulator (§5.2)."""

from __future__ import annotations

import logging
import random
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar, get_args, get_type_hints

from werkzeug.wrappers import Request

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


def _as_utc(value: datetime) -> datetime:
    # A date without a zone is UTC (§1.4).
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
