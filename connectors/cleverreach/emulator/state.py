"""The emulator's data: accounts, OAuth apps and tokens, groups, receivers, attributes, blacklist,
bounces, forms and reports, with their JSON shapes (shared/api/cleverreach.md §2).

Plain Python, no HTTP. One :class:`State` holds everything behind the emulator's lock. Receivers
are kept per group in dicts keyed by the lower-cased email (and an id index), so an upsert of a
batch costs one dict look-up per item. ``to_json``/``from_json`` give the state file and the
demo snapshot.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Account", "AccessToken", "App", "Attribute", "AuthCode", "Group", "Receiver",
    "RefreshToken", "State", "active", "iso_utc", "norm_email", "valid_email",
]

_EMAIL = re.compile(r"^[^@\s'\"<>(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
MAX_EVENTS = 250
PROFILE_KEYS = ("id", "name", "firstname", "salutation", "street", "company", "zip", "city",
                "phone", "fax", "email", "country", "login_domain", "lang", "whitelabel_id")


def norm_email(email: str) -> str:
    return email.strip().lower()


def valid_email(email: object) -> bool:
    return isinstance(email, str) and len(email) <= 254 and bool(_EMAIL.match(email.strip()))


def iso_utc(stamp: int) -> str:
    """``1668083102`` -> ``"2022-11-10T12:25:02+00:00"`` (the bounces' ``*_gmt`` form)."""
    return datetime.fromtimestamp(stamp, UTC).isoformat()


@dataclass
class App:
    """An OAuth app: created by ``owner`` (whose account client_credentials gives)."""

    client_id: str
    client_secret: str
    owner: str
    scopes: list[str]
    redirect_uris: list[str] = field(default_factory=list)


@dataclass
class AuthCode:
    code: str
    client_id: str
    account: str
    redirect_uri: str
    expires: int
    used: bool = False


@dataclass
class AccessToken:
    token: str
    client_id: str
    account: str
    scopes: list[str]
    issued: int
    expires: int
    chain: int  # one sign-in's chain of refreshes
    revoked: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    account: str
    scopes: list[str]
    expires: int
    chain: int
    used: bool = False
    revoked: bool = False


@dataclass
class Attribute:
    id: int
    groups_id: int
    name: str
    description: str
    preview_value: str
    value: Any
    type: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "groups_id": self.groups_id, "name": self.name,
                "description": self.description, "preview_value": self.preview_value,
                "value": self.value, "type": self.type, "tag": "{" + self.name.upper() + "}"}


@dataclass
class Receiver:
    id: str
    email: str
    group_id: str
    registered: int
    activated: int
    deactivated: int = 0
    bounced: int = 0
    imported: int = 0
    last_changed: int = 0
    source: str = ""
    last_ip: str = ""
    last_location: str = ""
    last_client: str = ""
    points: int = 0
    stars: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    global_attributes: dict[str, Any] = field(default_factory=dict)  # unshared values only
    tags: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    cr_deactivated: bool = False  # CleverReach itself deactivated it (an unsubscribe)
    doi_pending: bool = False

    def add_event(self, stamp: int, kind: str, type_id: str, value: str = "",
                  mailing_id: str = "0", groups_id: str | None = None) -> None:
        self.events.insert(0, {"stamp": stamp, "type": kind, "type_id": type_id, "value": value,
                               "mailing_id": mailing_id,
                               "groups_id": self.group_id if groups_id is None else groups_id})
        del self.events[MAX_EVENTS:]


def active(receiver: Receiver, bounce_sets_inactive: bool) -> bool:
    if receiver.activated <= 0 or receiver.deactivated != 0:
        return False
    return not (bounce_sets_inactive and receiver.bounced > 0)


@dataclass
class Group:
    id: str
    name: str
    locked: bool
    backup: bool
    receiver_info: str
    stamp: int
    last_mailing: int
    last_changed: int
    receivers: dict[str, Receiver] = field(default_factory=dict)  # by lower-cased email
    attributes: dict[int, Attribute] = field(default_factory=dict)
    filters: list[dict[str, Any]] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict, repr=False)  # receiver id -> email key

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "locked": self.locked, "backup": self.backup,
                "receiver_info": self.receiver_info, "stamp": self.stamp,
                "last_mailing": self.last_mailing, "last_changed": self.last_changed}

    def put(self, receiver: Receiver) -> None:
        self.receivers[norm_email(receiver.email)] = receiver
        self.ids[receiver.id] = norm_email(receiver.email)

    def drop(self, receiver: Receiver) -> None:
        self.receivers.pop(norm_email(receiver.email), None)
        self.ids.pop(receiver.id, None)

    def find(self, ref: str) -> Receiver | None:
        """A receiver by id or by email (case-insensitive)."""
        if "@" in ref:
            return self.receivers.get(norm_email(ref))
        key = self.ids.get(ref)
        return self.receivers.get(key) if key is not None else None


@dataclass
class Account:
    id: str
    profile: dict[str, str]
    groups: dict[str, Group] = field(default_factory=dict)
    attributes: dict[int, Attribute] = field(default_factory=dict)  # global ones
    global_values: dict[str, dict[str, Any]] = field(default_factory=dict)  # email key -> values
    receiver_ids: dict[str, str] = field(default_factory=dict)  # email key -> id (account scope)
    blacklist: dict[str, dict[str, Any]] = field(default_factory=dict)
    bounces: dict[str, dict[str, Any]] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    doi_mails: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: {
        "group": 1000000, "receiver": 0, "attribute": 100000, "form": 50000, "report": 8000000,
        "filter": 500000})

    def next_id(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    def whoami(self) -> dict[str, str]:
        return {key: str(self.profile.get(key, "")) for key in PROFILE_KEYS}


@dataclass
class State:
    seed: int
    accounts: dict[str, Account] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=lambda: {"account": 300000, "token": 0,
                                                              "chain": 0})
    version: int = 0

    def next_id(self, kind: str) -> int:
        self.counters[kind] += 1
        return self.counters[kind]

    # -- state file -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "counters": dict(self.counters),
            "apps": [dataclasses.asdict(a) for a in self.apps.values()],
            "codes": [dataclasses.asdict(c) for c in self.codes.values()],
            "access_tokens": [dataclasses.asdict(t) for t in self.access_tokens.values()],
            "refresh_tokens": [dataclasses.asdict(t) for t in self.refresh_tokens.values()],
            "accounts": [_account_json(a) for a in self.accounts.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        state = cls(seed=int(data.get("seed", 0)))
        state.counters.update(data.get("counters", {}))
        state.apps = {a["client_id"]: App(**a) for a in data.get("apps", [])}
        state.codes = {c["code"]: AuthCode(**c) for c in data.get("codes", [])}
        state.access_tokens = {t["token"]: AccessToken(**t)
                               for t in data.get("access_tokens", [])}
        state.refresh_tokens = {t["token"]: RefreshToken(**t)
                                for t in data.get("refresh_tokens", [])}
        for raw in data.get("accounts", []):
            account = _account_from(raw)
            state.accounts[account.id] = account
        return state


def _account_json(account: Account) -> dict[str, Any]:
    out = {k: v for k, v in dataclasses.asdict(account).items() if k not in ("groups",)}
    out["attributes"] = [dataclasses.asdict(a) for a in account.attributes.values()]
    out["groups"] = []
    for group in account.groups.values():
        raw = dataclasses.asdict(group)
        raw.pop("ids")
        raw["receivers"] = list(raw["receivers"].values())
        raw["attributes"] = list(raw["attributes"].values())
        out["groups"].append(raw)
    return out


def _account_from(raw: dict[str, Any]) -> Account:
    raw = dict(raw)
    groups = raw.pop("groups", [])
    attributes = raw.pop("attributes", [])
    account = Account(**raw)
    account.attributes = {a["id"]: Attribute(**a) for a in attributes}
    for graw in groups:
        graw = dict(graw)
        receivers = graw.pop("receivers", [])
        gattrs = graw.pop("attributes", [])
        group = Group(**graw)
        group.attributes = {a["id"]: Attribute(**a) for a in gattrs}
        for rraw in receivers:
            group.put(Receiver(**rraw))
        account.groups[group.id] = group
    return account
