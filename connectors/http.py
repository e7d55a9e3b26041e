"""The one HTTP session every connector uses: timeouts, retries, TLS rules and redaction.

``make_session(base_url, auth=...)`` returns a ``ServiceSession`` (a ``requests.Session``, so zeep
and other libraries can use it too) that

- sets a connect and a read timeout on every request unless the caller gives one;
- retries 429, 5xx and dropped connections with exponential backoff and jitter. Idempotent methods
  (GET, HEAD, OPTIONS, PUT, DELETE) are retried by default; a POST only when the caller passes
  ``retry=True``. Two cases are retried for every method because the service did nothing: a 429,
  and a connection that could not be opened at all;
- honours ``Retry-After`` (seconds or an HTTP date) and ``x-ratelimit-reset`` (seconds to the
  reset); a wait longer than ``max_inline_wait``, in one go or added up, raises ``RateLimited``
  so that the step ends and the next run resumes;
- verifies TLS always, refuses plain ``http://`` except to loopback hosts (127.0.0.0/8, ::1,
  localhost) with a ``TlsError`` (a ``ConfigurationError``), and follows no redirect to a
  plain-http host either;
- sends ``User-Agent: ListBridge/<version>``;
- registers every credential it sends (Basic password and token, Bearer token) with
  ``core.logs.register_secret`` and redacts URLs and bodies in its log lines and errors.

After the retries, ``error_map`` turns the last response into the error taxonomy: by default
401 is a ``ConfigurationError``, 429 ``RateLimited`` and 5xx ``TransientError``; everything else
is returned for the caller to read. Connectors pass their own map (or ``map_errors=False`` on a
call) where a service means something else. Timeouts and connection errors become
``TransientError``; a certificate that does not verify is a ``TlsError``.

A session expired is handled once, here: ``make_session(..., reauthenticate=Reauthentication(key,
refresh, expired=...))`` authenticates again when an answer is classified as expired (HTTP 401 by
default; INES: a SOAP fault on a call with a SessionID), with one refresh in flight per ``key``
(an integration), and repeats the request once (``rebuild`` where the credential is in the body).

Sleeping goes through ``sleep`` (and jitter through ``rand``) so tests never wait.

Check Connection is quick: every connector's ``check_connection`` builds its session with
``policy=CHECK_POLICY`` (one try, no retry, a 5 s connect and a 15 s read timeout; never widened
by the integration's own timeouts). A session with that policy words its failures for a check
("X could not be reached (...). Check the service URL and the network."), never "the sync will
try again later", which only a sync's session says.
"""

from __future__ import annotations

import base64
import email.utils
import ipaddress
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import requests.auth

from core import __version__
from core.logs import redact, register_secret
from core.sync.errors import (
    ConfigurationError,
    ConnectorError,
    RateLimited,
    TlsError,
    TransientError,
)

log = logging.getLogger("listbridge.http")

USER_AGENT = f"ListBridge/{__version__}"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

ErrorMap = Callable[[requests.Response], ConnectorError | None]
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retry rules; connectors adjust them per service (``replace(policy, ...)``)."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 3  # tries after the first one
    backoff_base: float = 1.0  # seconds before the first retry; doubles each time
    backoff_max: float = 60.0
    max_inline_wait: float = 120.0  # longer waits end the step as rate-limited
    retry_statuses: frozenset[int] = RETRY_STATUSES
    retry_methods: frozenset[str] = IDEMPOTENT_METHODS
    extra_headers: dict[str, str] = field(default_factory=dict)
    # True for Check Connection (``CHECK_POLICY``): failures are worded for a check the admin is
    # waiting for ("check the service URL and the network"), not for a sync that tries again.
    for_check: bool = False

    def with_settings(self, settings: dict[str, Any]) -> HttpPolicy:
        """This policy with ``connect_timeout``/``read_timeout`` taken from integration settings."""
        policy = self
        if settings.get("connect_timeout") not in (None, ""):
            policy = replace(policy, connect_timeout=float(settings["connect_timeout"]))
        if settings.get("read_timeout") not in (None, ""):
            policy = replace(policy, read_timeout=float(settings["read_timeout"]))
        return policy


# What every connector's ``check_connection`` uses (``make_session(..., policy=CHECK_POLICY)``, or
# ``replace(CHECK_POLICY, ...)`` for a service's own headers): the admin is waiting for the answer,
# so one try, short timeouts, and messages about the URL and the network rather than a later sync.
CHECK_POLICY = HttpPolicy(connect_timeout=5.0, read_timeout=15.0, max_retries=0,
                          max_inline_wait=0.0, for_check=True)


# -- URL rules ---------------------------------------------------------------------------------------

def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    name = host.strip("[]").lower().rstrip(".")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Refuse what ListBridge never sends credentials to: plain http off this machine."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https" and parts.hostname:
        return
    if scheme == "http" and is_loopback(parts.hostname):
        return
    shown = redact(f"{parts.scheme}://{parts.hostname or ''}") if parts.scheme else redact(url)
    if scheme == "http":
        raise TlsError(
            f"The service address {shown} uses plain http. ListBridge only connects over https "
            "(plain http is allowed to this computer only, for emulators). Change the service URL "
            "to start with https://.")
    raise ConfigurationError(
        f"The service address {shown!r} is not a valid https URL. Check the service URL of the "
        "integration.")


# -- waits -------------------------------------------------------------------------------------------

def retry_after_seconds(response: requests.Response, now: float | None = None) -> float | None:
    """The wait the service asks for: ``Retry-After``, else ``x-ratelimit-reset``; None if neither."""
    now = time.time() if now is None else now
    value = response.headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - now)
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            seconds = float(reset.strip())
        except ValueError:
            return None
        if seconds > 1_000_000_000:  # an epoch time rather than a number of seconds
            seconds -= now
        return max(0.0, seconds)
    return None


def backoff_delay(policy: HttpPolicy, retry: int, rand: Callable[[], float]) -> float:
    """Exponential backoff with jitter: half the nominal delay, plus up to the other half."""
    nominal = min(policy.backoff_max, policy.backoff_base * (2 ** retry))
    return nominal / 2 + rand() * nominal / 2


# -- errors ------------------------------------------------------------------------------------------

def default_error_map(response: requests.Response, service: str = "The service", *,
                      for_check: bool = False) -> ConnectorError | None:
    """401, 429 and 5xx in the error taxonomy; ``for_check``: worded for Check Connection."""
    status = response.status_code
    detail = describe_response(response)
    if status == 401:
        return ConfigurationError(
            f"{service} refused the credentials (HTTP 401). Check the user name and password (or "
            "key) of the integration.", detail)
    if status == 429:
        wait = retry_after_seconds(response)
        then = (" Check the connection again in a minute." if for_check else
                "; the sync will resume at the next run.")
        return RateLimited(f"{service} asked ListBridge to slow down (HTTP 429){then}", detail,
                           retry_after=wait)
    if status >= 500:
        then = (". Check the connection again in a few minutes." if for_check else
                "; the sync will try again later.")
        return TransientError(
            f"{service} is not available at the moment (HTTP {status}){then}", detail,
            retry_after=retry_after_seconds(response))
    return None


def describe_response(response: requests.Response, limit: int = 300) -> str:
    """One redacted line for the log: method, URL, status and the start of the body."""
    request = response.request
    try:
        body = response.text[:limit]
    except Exception:  # a streamed or undecodable body
        body = ""
    method = request.method if request is not None else "?"
    url = request.url if request is not None else response.url
    text = f"{method} {url} -> HTTP {response.status_code}"
    if body:
        text += f": {' '.join(body.split())}"
    return redact(text)


def _never_sent(exc: BaseException) -> bool:
    """True when the connection could not even be opened: the service saw nothing."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        name = type(item).__name__
        if name in ("NewConnectionError", "NameResolutionError", "ConnectionRefusedError"):
            return True
        stack.extend(getattr(item, "args", ()) if isinstance(item, BaseException) else ())
        stack.append(getattr(item, "reason", None))
        stack.append(getattr(item, "__cause__", None))
    return False


# -- authenticating again ------------------------------------------------------------------------------

Rebuild = Callable[[dict[str, Any], str], dict[str, Any]]


def is_unauthorized(response: requests.Response) -> bool:
    """REST's "session expired": HTTP 401."""
    return response.status_code == 401


def bearer(session: requests.Session, token: str) -> None:
    """Send ``token`` as ``Authorization: Bearer`` from now on (kept out of the logs)."""
    register_secret(token)
    session.headers["Authorization"] = f"Bearer {token}"


@dataclass
class _Renewal:
    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0
    token: str = ""


_renewals: dict[str, _Renewal] = {}
_renewals_lock = threading.Lock()


class Reauthentication:
    """"Authenticate again, then repeat the request once", for ``ServiceSession(reauthenticate=)``.

    - ``key`` names what the credential belongs to (``"cleverreach:7"``: one integration); every
      session with the same key shares one renewal: when several calls meet an expired session
      at once, exactly one ``refresh`` runs and the others wait for it and reuse its token.
    - ``refresh()`` authenticates again and returns the new token (an access token, a SOAP
      SessionID). It may save what the service rotated (a refresh token) through
      ``core.integrations.store_secret`` before it returns, i.e. before the request repeats.
    - ``expired(response)`` classifies an answer as "session expired" (default: HTTP 401).
    - ``apply(session, token)`` puts the token on a session (default: a Bearer header; a SOAP
      client passes a no-op and ``rebuild`` to the request instead).
    """

    def __init__(self, key: str, refresh: Callable[[], str],
                 expired: Callable[[requests.Response], bool] = is_unauthorized,
                 apply: Callable[[requests.Session, str], None] = bearer) -> None:
        self.key = key
        self.refresh = refresh
        self.expired = expired
        self.apply = apply
        with _renewals_lock:
            self._renewal = _renewals.setdefault(key, _Renewal())

    def generation(self) -> int:
        """How many renewals this key had; read before sending, passed to ``renew``."""
        return self._renewal.generation

    def renew(self, seen: int) -> str:
        """The token to repeat with: a fresh one if nobody renewed since ``seen``, else the one
        the other caller just obtained (waiting for it while it is being obtained)."""
        renewal = self._renewal
        with renewal.lock:
            if renewal.generation == seen or not renewal.token:
                renewal.token = self.refresh()
                register_secret(renewal.token)
                renewal.generation += 1
            return renewal.token


# -- the session -------------------------------------------------------------------------------------

class ServiceSession(requests.Session):
    """A ``requests.Session`` with ListBridge's rules (see the module's docstring)."""

    def __init__(self, base_url: str = "", *, policy: HttpPolicy | None = None,
                 sleep: Sleep | None = None, rand: Callable[[], float] | None = None,
                 error_map: ErrorMap | None = None, service: str = "The service",
                 reauthenticate: Reauthentication | None = None) -> None:
        super().__init__()
        self.reauthenticate = reauthenticate
        self.base_url = base_url.rstrip("/") + "/" if base_url else ""
        if base_url:
            check_url(self.base_url)
        self.policy = policy or HttpPolicy()
        self.sleep: Sleep = sleep or time.sleep
        self.rand: Callable[[], float] = rand or random.random
        self.service = service
        self.error_map: ErrorMap = error_map or (
            lambda r: default_error_map(r, self.service, for_check=self.policy.for_check))
        self.verify = True
        self.headers["User-Agent"] = USER_AGENT
        self.headers["Accept"] = "application/json"
        self.headers.update(self.policy.extra_headers)

    def url_for(self, path: str) -> str:
        if "://" in path or not self.base_url:
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    # requests calls ``send`` for the first request and for every redirect it follows.
    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        check_url(request.url or "")
        if kwargs.get("verify") is False:
            raise TlsError("TLS certificate verification cannot be switched off.")
        _register_authorization(request.headers.get("Authorization"))
        return super().send(request, **kwargs)

    def request(self, method: str | bytes, url: str | bytes, *args: Any,  # type: ignore[override]
                retry: bool | None = None, map_errors: bool = True,
                rebuild: Rebuild | None = None, reauth: bool = True,
                **kwargs: Any) -> requests.Response:
        """Send with retries; ``retry`` forces (True) or forbids (False) retrying this call.

        With ``self.reauthenticate`` set, an answer it classifies as "session expired" makes it
        authenticate again (once per integration, however many calls met the expiry) and the
        request is repeated once; ``rebuild(kwargs, token)`` gives the repeated request's
        keyword arguments where the credential is in the body (a SOAP SessionID). ``reauth=False``
        for the authentication request itself (a refused login is no expired session)."""
        verb = (method.decode() if isinstance(method, bytes) else method).upper()
        target = self.url_for(url.decode() if isinstance(url, bytes) else url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (self.policy.connect_timeout, self.policy.read_timeout)
        renewal = self.reauthenticate if reauth else None
        seen = renewal.generation() if renewal is not None else 0
        response = self._send_retrying(verb, target, args, kwargs, retry)
        if renewal is not None and renewal.expired(response):
            log.info("%s: the session expired; authenticating again", redact(f"{verb} {target}"))
            response.close()
            token = renewal.renew(seen)
            renewal.apply(self, token)
            if rebuild is not None:
                kwargs = rebuild(dict(kwargs), token)
            response = self._send_retrying(verb, target, args, kwargs, retry)
        if map_errors:
            error = self.error_map(response)
            if error is not None:
                raise error
        return response

    def _send_retrying(self, verb: str, target: str, args: tuple[Any, ...],
                       kwargs: dict[str, Any], retry: bool | None) -> requests.Response:
        _register_auth(kwargs.get("auth") or self.auth)
        may_retry = verb in self.policy.retry_methods if retry is None else retry
        retries = self.policy.max_retries if retry is not False else 0
        waited = 0.0
        attempt = 0
        while True:
            try:
                response = super().request(verb, target, *args, **kwargs)
            except requests.exceptions.SSLError as exc:
                raise TlsError(
                    f"{self.service}'s certificate could not be verified, so ListBridge did not "
                    "connect. Check the service URL; a company proxy may need its certificate "
                    "installed.", redact(f"{verb} {target}: {exc}")) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                # A truncated body is a dropped connection after the service answered.
                retryable = may_retry or _never_sent(exc)
                delay = backoff_delay(self.policy, attempt, self.rand)
                if retryable and attempt < retries and waited + delay <= self.policy.max_inline_wait:
                    self._pause(f"{verb} {target}: {type(exc).__name__}", delay, attempt)
                    waited += delay
                    attempt += 1
                    continue
                raise self._connection_error(verb, target, exc) from None
            status = response.status_code
            if status in self.policy.retry_statuses and (may_retry or status == 429):
                asked = retry_after_seconds(response)
                if asked is not None and asked > self.policy.max_inline_wait:
                    response.close()
                    raise self._slow_down(response, asked)
                delay = asked if asked is not None else backoff_delay(self.policy, attempt,
                                                                      self.rand)
                if attempt < retries:
                    if waited + delay > self.policy.max_inline_wait:
                        response.close()
                        raise self._slow_down(response, delay)
                    response.close()
                    self._pause(f"{verb} {target}: HTTP {status}", delay, attempt)
                    waited += delay
                    attempt += 1
                    continue
            return response

    def _pause(self, what: str, delay: float, attempt: int) -> None:
        log.warning("%s; retrying in %.1f s (retry %d of %d)", redact(what), delay, attempt + 1,
                    self.policy.max_retries)
        self.sleep(delay)

    def _slow_down(self, response: requests.Response, wait: float) -> RateLimited:
        then = (". Check the connection again then." if self.policy.for_check else
                "; the sync stopped here and will resume at the next run.")
        return RateLimited(
            f"{self.service} asked ListBridge to wait {wait:.0f} s before the next request{then}",
            describe_response(response), retry_after=wait)

    def _connection_error(self, verb: str, url: str, exc: Exception) -> TransientError:
        """A connection that failed, in words that fit what the admin is doing: a check (the
        policy's ``for_check``) names the URL and the network; a sync says it tries again."""
        never_sent = _never_sent(exc)
        if self.policy.for_check:
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                cause = f"no connection within {self.policy.connect_timeout:g} s"
            elif isinstance(exc, requests.exceptions.Timeout):
                cause = f"no answer within {self.policy.read_timeout:g} s"
            elif never_sent:
                cause = "the connection could not be opened"
            else:
                cause = "the connection was dropped"
            message = (f"{self.service} could not be reached ({cause}). Check the service URL "
                       "and the network.")
        else:
            if isinstance(exc, requests.exceptions.Timeout):
                what = "did not answer in time"
            else:
                what = "could not be reached (the connection failed or was dropped)"
            unknown = "" if verb in self.policy.retry_methods or never_sent else (
                " Whether it received the last request is unknown.")
            message = f"{self.service} {what}; the sync will try again later.{unknown}"
        error = TransientError(message, redact(f"{verb} {url}: {type(exc).__name__}: {exc}"))
        error.never_sent = never_sent
        return error


def _register_auth(auth: Any) -> None:
    if isinstance(auth, requests.auth.HTTPBasicAuth):
        auth = (auth.username, auth.password)
    if isinstance(auth, tuple) and len(auth) == 2:
        user, password = (x.decode() if isinstance(x, bytes) else str(x) for x in auth)
        register_secret(password)
        register_secret(base64.b64encode(f"{user}:{password}".encode()).decode())


def _register_authorization(value: str | bytes | None) -> None:
    if not value:
        return
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    scheme, _, token = text.partition(" ")
    token = token.strip() or scheme
    register_secret(token)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(token).decode("utf-8", "replace")
        except ValueError:
            return
        register_secret(decoded.partition(":")[2])


def make_session(base_url: str = "", *, auth: Any = None, secrets: Iterable[str] = (),
                 policy: HttpPolicy | None = None, sleep: Sleep | None = None,
                 rand: Callable[[], float] | None = None, error_map: ErrorMap | None = None,
                 service: str = "The service",
                 reauthenticate: Reauthentication | None = None) -> ServiceSession:
    """The shared session for one integration's client.

    ``auth`` is anything requests accepts (a (user, password) tuple for Basic); ``secrets`` are
    other values to keep out of logs and errors (tokens put in headers or bodies by the client).
    """
    session = ServiceSession(base_url, policy=policy, sleep=sleep, rand=rand,
                             error_map=error_map, service=service, reauthenticate=reauthenticate)
    if auth is not None:
        session.auth = auth
        _register_auth(auth)
    for value in secrets:
        register_secret(value)
    return session
