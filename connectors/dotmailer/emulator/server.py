"""The Dotmailer emulator's core: one loopback server per region, settings, clock, faults,
the request log, routing, authentication, rate limits and the answer helpers."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, Self, TypeVar
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from connectors.dotmailer.emulator.helpers import (
    _as_datetime,
    _as_utc,
    _canon,
    _error_response,
    _format_date,
    _json_default,
    _json_response,
    _match_route,
    _parse_path_date,
    _pascal,
    _raw_path,
    _with_extra,
)
from connectors.dotmailer.emulator.state import (
    _MESSAGES,
    ACTIVE_STATUSES,
    ADMIN_HOOKS,
    ALL_CONTACTS,
    AUTH_DENIED,
    CONTACT_STATUSES,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_FIELDS,
    DEFAULT_NOW,
    DEFAULT_PASSWORD,
    DEFAULT_SEED,
    DEFAULT_USER,
    HOST,
    LOG,
    NET_NULL_DATE,
    REGIONS,
    SETTING_CHOICES,
    SETTINGS_DEFAULTS,
    SYSTEM_BOOK_NAMES,
    SYSTEM_FIELDS,
    TEST_BOOK_LIMIT,
    Account,
    Book,
    Campaign,
    Contact,
    DataField,
    Import,
    Membership,
    P,
    R,
    T,
    User,
    _ApiError,
    _Call,
    _RateLimit,
    _State,
)
from connectors.emulation import (
    Clock,
    Fault,
    FaultRules,
    LoopbackServer,
    RequestLog,
    answer_with_fault,
    load_json,
    redact_headers,
    save_json,
)

_E = TypeVar("_E", bound="EmulatorCore")


def _locked(
    method: Callable[Concatenate[_E, P], R],
) -> Callable[Concatenate[_E, P], R]:
    """Run a hook under the emulator's lock."""

    @functools.wraps(method)
    def wrapper(self: _E, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


def _malformed_body() -> Response:
    return Response(
        b'{"id": 1, "name": "Newsl', status=200, content_type="application/json; charset=utf-8"
    )


class EmulatorCore:
    """What every part of the emulator shares: servers, settings, clock, faults, log, HTTP."""

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
        self._clock = Clock(
            fixed=_as_datetime(now) if now is not None else (None if demo else DEFAULT_NOW)
        )
        self._servers: dict[int, LoopbackServer] = {}
        self._fault_rules = FaultRules()
        self._scripts: list[dict[str, Any]] = []
        self._log = RequestLog()
        self._rate = _RateLimit()
        # Page orders of big lists, by list: (version, ordered rows); see ``_page_cached``.
        self._page_orders: dict[tuple[Any, ...], tuple[Any, list[Any]]] = {}
        self._state = _State(seed=seed)
        self._install_fresh_state()
        if demo:
            self.demo_seed()

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
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
        server = LoopbackServer(
            self._app_for(region), port=port, host=HOST, name=f"dotmailer-emulator-r{region}"
        )
        self._servers[region] = server.start()

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        LOG.info("Dotmailer emulator stopped")

    @property
    def _ports(self) -> dict[int, int]:
        return {region: server.port for region, server in self._servers.items()}

    @property
    def _faults(self) -> list[Fault]:
        """The queued faults, oldest first (edit under ``_lock``)."""
        return self._fault_rules.rules

    def __enter__(self) -> Self:
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
        self._fault_rules.clear()
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
        save_json(path, self.snapshot(), ensure_ascii=True)

    def load(self, path: str | Path) -> None:
        self.restore(load_json(path))

    @_locked
    def set_now(self, now: datetime | str) -> None:
        parsed = _as_datetime(now)
        assert parsed is not None
        self._clock.set(parsed)

    @_locked
    def advance(self, seconds: float) -> None:
        self._clock.advance(seconds)

    @_locked
    def use_real_clock(self) -> None:
        self._clock.use_real()

    def now(self) -> datetime:
        return self._clock.now()

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
        lost: bool = False,
        rate: float | None = None,
        seed: int = 0,
    ) -> None:
        """Queue a fault for the next ``times`` requests matching method and path glob.

        ``lost``: the call is carried out, then the connection closes without an answer. With
        ``rate`` (0-1) each matching request is hit with that chance, drawn from ``seed``, until
        ``times`` hits (None: no end). ``delay`` waits first, then plays the other choices."""
        if status is None and not (delay or reset or malformed or truncated or empty or lost):
            raise ValueError(
                "inject needs status, delay, reset, malformed, truncated, empty or lost"
            )
        kind = next(
            (k for k, on in (("reset", reset), ("malformed", malformed), ("empty", empty),
                             ("status", status is not None), ("lost", lost),
                             ("truncated", truncated)) if on),
            "delay",
        )  # fmt: skip
        self._fault_rules.add(
            Fault(kind, method, path_glob, times, rate=rate, seed=seed, status=status,
                  body=body, headers=dict(headers or {}), delay=delay, prefix="/v2/")
        )  # fmt: skip

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
        return self._log.entries()

    @_locked
    def clear_requests(self) -> None:
        self._log.clear()

    @_locked
    def call_count(self, method: str | None = None, path_glob: str | None = None) -> int:
        probe = Fault("empty", method or "*", path_glob or "*", prefix="/v2/")
        return self._log.count(lambda e: probe.matches(e["method"], e["path"]))

    # -- demo seed --------------------------------------------------------------------------------

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
            fault = self._fault_rules.take(request.method, unquote(path))

        def run() -> Response:
            with self._lock:
                return self._api(request, region, path)

        # Delays wait outside the lock: other requests go on.
        response = answer_with_fault(
            fault, run, request.environ, malformed=_malformed_body,
            wait=self._servers[region].wait,
        )  # fmt: skip
        if fault is not None and fault.kind == "reset":
            return response  # no answer: the status stays None
        entry["status"] = response.status_code
        LOG.debug("%s %s -> %s", request.method, unquote(path), response.status_code)
        return response

    def _record(self, request: Request, path: str, body: bytes, region: int) -> dict[str, Any]:
        headers = redact_headers(request.headers.items())
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
        return self._log.append(entry)

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

    # -- shared lookups of the endpoint families ------------------------------------------

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

    # Given by the mixins (declared here so that every part can call them).

    def demo_seed(self) -> None:
        raise NotImplementedError

    def _computed_summary(self, campaign: Campaign) -> dict[str, Any]:
        raise NotImplementedError

    def _finish_import(self, imp: Import) -> None:
        raise NotImplementedError
