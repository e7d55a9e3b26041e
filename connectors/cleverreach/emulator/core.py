"""The CleverReach REST v3 + OAuth emulator: server, authentication, routing and errors.

Built on the shared half (:mod:`connectors.emulation`): the loopback server, fault rules, the
redacted request log and the clock come from there; this module adds CleverReach's protocol:

- ``/oauth/authorize.php`` and ``/oauth/token.php`` (:mod:`.oauth`);
- ``/v3/...`` with ``Authorization: Bearer`` or ``?token=``; ``.json`` is stripped from every
  path segment before routing; errors are ``{"error":{"code":status,"message":...}}``;
- the test hooks under ``/__emulator__/`` (with ``admin_http``), also Python methods
  (:mod:`.hooks`).

Usage in a test::

    with CleverReachEmulator() as emu:
        token = emu.issue_token()["access_token"]
        requests.get(emu.url + "/v3/groups.json", headers={"Authorization": f"Bearer {token}"})
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from connectors.cleverreach.emulator import (
    attributes,
    forms,
    groups,
    oauth,
    receivers,
    reports,
)
from connectors.cleverreach.emulator.calls import EMPTY_LIST, ApiError, Call, Route, match_route
from connectors.cleverreach.emulator.hooks import Hooks
from connectors.cleverreach.emulator.settings import default_settings
from connectors.cleverreach.emulator.state import AccessToken, State
from connectors.emulation import (
    Clock,
    FaultRules,
    LoopbackServer,
    RequestLog,
    answer_with_fault,
    redact_text,
)

__all__ = ["ADMIN_PREFIX", "DEFAULT_CLIENT", "DEFAULT_NOW", "CleverReachEmulator", "ROUTES"]

log = logging.getLogger("listbridge.emulator.cleverreach")

ADMIN_PREFIX = "/__emulator__/"
DEFAULT_NOW = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
DEFAULT_CLIENT = ("listbridge-demo", "listbridge-demo-secret")
ROUTES: list[Route] = [*groups.ROUTES, *receivers.ROUTES, *attributes.ROUTES, *reports.ROUTES,
                       *forms.ROUTES, *oauth.ROUTES]
_JSON = "application/json; charset=utf-8"
_LOWER_VERSION = re.compile(r"^/v[12](/|$)")


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(_json_bytes({"error": {"code": status, "message": message}}),
                        status=status, content_type=_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class CleverReachEmulator(Hooks):
    """A loopback CleverReach: several accounts, OAuth apps, a frozen clock by default.

    ``clients`` are the OAuth apps ``(client_id, client_secret)`` of the first account (default:
    :data:`DEFAULT_CLIENT`); ``accounts`` the number of accounts made at reset (at least 1).
    ``auto_approve`` answers ``authorize.php`` with a 302 (tests); without it the sign-in page is
    shown (demo). ``admin_http`` serves the hooks under ``/__emulator__/``.
    """

    def __init__(self, port: int = 0, seed: int = 0,
                 clients: Sequence[tuple[str, str]] | None = None, accounts: int = 2,
                 auto_approve: bool = True, admin_http: bool = False, demo: bool = False,
                 now: datetime | str | None = DEFAULT_NOW) -> None:
        self._lock = threading.RLock()
        self.clock = Clock(fixed=now, whole_seconds=True) if now is not None else Clock(
            whole_seconds=True)
        self.faults = FaultRules()
        self.log = RequestLog(maxlen=5000)
        self.admin_http = admin_http
        self._clients = list(clients or [DEFAULT_CLIENT])
        self._account_count = max(1, accounts)
        self._auto_approve = auto_approve
        self._demo = demo
        self._rate_window: dict[str, tuple[int, int]] = {}
        self._server = LoopbackServer(self._app, port=port, name="cleverreach-emulator")
        self.settings: dict[str, Any] = default_settings()
        self.state = State(seed=seed)
        self.reset(seed)

    # -- life cycle ------------------------------------------------------------------------------
    def start(self) -> CleverReachEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> CleverReachEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL (``apiurl``), without a trailing slash."""
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    def now_ts(self) -> int:
        return int(self.clock.now().timestamp())

    def save(self, path: str | Path) -> None:
        from connectors.emulation import save_json

        with self._lock:
            save_json(path, {"state": self.state.to_json(), "settings": self.settings})

    def load(self, path: str | Path) -> None:
        from connectors.emulation import load_json

        data = load_json(path)
        with self._lock:
            self.state = State.from_json(data["state"])
            self.settings = default_settings()
            self.settings.update(data.get("settings", {}))

    # -- WSGI ------------------------------------------------------------------------------------
    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        raw_path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.path
        path = unquote(raw_path.split("?", 1)[0])
        body = request.get_data(cache=True)
        if path.startswith(ADMIN_PREFIX):
            response = self._admin(request, path[len(ADMIN_PREFIX):].strip("/"), body)
            return response(environ, start_response)
        entry = self.log.append({
            "method": request.method, "path": path,
            "query": redact_text(request.query_string.decode("latin-1"), json=False, xml=False),
            "body": redact_text(body[:4000].decode("utf-8", "replace")), "status": None})
        fault = self.faults.take(request.method, path)
        response = answer_with_fault(fault, lambda: self._handle(request, path, body), environ,
                                     malformed=self._malformed, wait=self._server.wait)
        entry["status"] = response.status_code
        return response(environ, start_response)

    @staticmethod
    def _malformed() -> Response:
        return Response(b'{"id":"1000001","name":"trunc', status=200, content_type=_JSON)

    def _handle(self, request: Request, path: str, body: bytes) -> Response:
        with self._lock:
            try:
                if path in ("/oauth/authorize.php", "/oauth/authorize"):
                    return oauth.authorize(self, request)
                if path in ("/oauth/token.php", "/oauth/token"):
                    return oauth.token_endpoint(self, request)
                if path.startswith("/v3/") or path == "/v3":
                    return self._api(request, path[4:], body)
                if _LOWER_VERSION.match(path):
                    raise ApiError(403, "Forbidden: v3 token on lower version")
                raise ApiError(404, "Not Found")
            except ApiError as exc:
                return error_response(exc.status, exc.message, exc.headers)
            finally:
                self.state.version += 1

    def _token(self, request: Request) -> AccessToken:
        header = request.headers.get("Authorization", "")
        value = header[7:].strip() if header[:7].lower() == "bearer " else ""
        value = value or request.args.get("token", "")
        record = self.state.access_tokens.get(value)
        if record is None or record.revoked or self.now_ts() >= record.expires:
            raise ApiError(401, "Unauthorized: token expired")
        return record

    def _rate_limited(self, account: str) -> None:
        limit = self.settings["rate_limit"]
        if not limit:
            return
        now = self.now_ts()
        start, count = self._rate_window.get(account, (now, 0))
        if now - start >= int(limit["per_seconds"]):
            start, count = now, 0
        count += 1
        self._rate_window[account] = (start, count)
        if count > int(limit["requests"]):
            retry = int(limit.get("retry_after") or max(1, start + int(limit["per_seconds"])
                                                       - now))
            raise ApiError(429, "Too Many Requests", {"Retry-After": str(retry)})

    def _api(self, request: Request, rest: str, body: bytes) -> Response:
        segments = [s[:-5] if s.lower().endswith(".json") else s
                    for s in rest.strip("/").split("/")]
        segments = [s for s in segments if s != ""] or [""]
        token = self._token(request)
        account = self.state.accounts.get(token.account)
        if account is None:
            raise ApiError(401, "Unauthorized: token expired")
        self._rate_limited(account.id)
        found = match_route(ROUTES, request.method, segments)
        if found == "405":
            raise ApiError(405, "Method Not Allowed")
        if isinstance(found, str):
            raise ApiError(404, "Not Found")
        route, params = found
        if route.scope is not None and route.scope not in token.scopes:
            raise ApiError(403, f"Forbidden: the token lacks the scope {route.scope}")
        call = Call(emu=self, account=account, method=request.method, params=params,
                    query=request.args, raw_body=body, now=self.now_ts(), token=token)
        payload = route.handler(call)
        if payload is EMPTY_LIST:
            if self.settings["empty_list_status"] == 204:
                return Response(b"", status=204)
            return Response(b"[]", status=200, content_type=_JSON)
        return Response(_json_bytes(payload), status=200, content_type=_JSON)

    # -- admin over HTTP -------------------------------------------------------------------------
    def _admin(self, request: Request, name: str, body: bytes) -> Response:
        if not self.admin_http:
            return error_response(404, "Not Found")
        try:
            kwargs: dict[str, Any] = json.loads(body) if body.strip() else {}
            if not isinstance(kwargs, dict):
                raise ValueError("the body must be a JSON object")
            if request.method == "GET":
                kwargs.update(request.args.to_dict())
            handler = self.admin_hooks().get((request.method, name))
            if handler is None:
                return error_response(404, f"Not Found: no hook {request.method} {name}")
            result = handler(**kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            return error_response(400, f"Bad Request: {exc}")
        return Response(_json_bytes(result), status=200, content_type=_JSON)
