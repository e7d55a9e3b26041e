"""OAuth 2 as CleverReach runs it (§1.2): ``/oauth/authorize.php``, ``/oauth/token.php`` and the
token utilities under ``/v3`` (``debug/ttl``, ``debug/validate``, ``debug/exchange``, revoke).

- ``authorize.php`` checks ``response_type=code``, ``grant=basic`` (setting
  ``require_grant_basic``), the client and the redirect URI (``redirect_uri_policy``). With
  ``auto_approve`` it answers 302 to ``redirect_uri?code=...&state=...``; otherwise it shows a
  sign-in page to pick the account and Allow or Deny (Deny: ``error=access_denied``).
- Codes are single-use and live ``code_ttl`` seconds.
- ``token.php`` takes form or JSON bodies, client credentials as HTTP Basic or body fields, and
  the grants ``authorization_code``, ``refresh_token`` and ``client_credentials``. Refresh tokens
  rotate per the settings.
- Access tokens are JWT-shaped (``iss``, ``iat``, ``exp``, ``scopes``, ``client_id``, the account
  id, ``shard``, ``zone``, a ``jti``), HMAC-signed with a key derived from the seed, so the same
  seed and the same calls give the same tokens. Clients treat them as opaque.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from connectors.cleverreach.emulator.calls import ApiError, Call, Route
from connectors.cleverreach.emulator.state import AccessToken, App, AuthCode, RefreshToken

if TYPE_CHECKING:
    from connectors.cleverreach.emulator.core import CleverReachEmulator

__all__ = ["ROUTES", "authorize", "issue_tokens", "token_endpoint"]

ISSUER = "https://rest.cleverreach.com"
ALL_SCOPES = ["basic", "read_receivers", "write_receivers", "form", "mailing", "report"]
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


# -- tokens --------------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _key(emu: CleverReachEmulator) -> bytes:
    return hashlib.sha256(f"listbridge-cleverreach-emulator:{emu.state.seed}".encode()).digest()


def _opaque(emu: CleverReachEmulator, kind: str, length: int) -> str:
    number = emu.state.next_id("token")
    return hmac.new(_key(emu), f"{kind}:{number}".encode(), hashlib.sha256).hexdigest()[:length]


def _jwt(emu: CleverReachEmulator, claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(_key(emu), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def issue_tokens(emu: CleverReachEmulator, account: str, app: App, chain: int | None = None,
                 refresh: bool = True) -> dict[str, Any]:
    """A new access token (and refresh token) for ``account`` through ``app``: the 200 body."""
    settings, state, now = emu.settings, emu.state, emu.now_ts()
    chain = state.next_id("chain") if chain is None else chain
    ttl = settings["access_token_ttl"]
    jti = _opaque(emu, "jti", 16)
    claims = {"iss": ISSUER, "iat": now, "exp": now + ttl, "scopes": " ".join(app.scopes),
              "client_id": app.client_id, "account_id": account, "shard": "shard1",
              "zone": 1, "jti": jti}
    token = _jwt(emu, claims)
    state.access_tokens[token] = AccessToken(token=token, client_id=app.client_id,
                                             account=account, scopes=list(app.scopes),
                                             issued=now, expires=now + ttl, chain=chain)
    body: dict[str, Any] = {"access_token": token, "token_type": "bearer", "expires_in": ttl}
    if refresh:
        value = _opaque(emu, "refresh", 40)
        state.refresh_tokens[value] = RefreshToken(
            token=value, client_id=app.client_id, account=account, scopes=list(app.scopes),
            expires=now + settings["refresh_token_ttl"], chain=chain)
        body["refresh_token"] = value
    body["scope"] = " ".join(app.scopes)
    return body


# -- authorize.php -------------------------------------------------------------------------------

def _decoded(uri: str) -> str:
    for _ in range(3):  # a logeecom core encodes it twice and still works
        plain = unquote(uri)
        if plain == uri:
            break
        uri = plain
    return uri


def _redirect_ok(policy: str, app: App, uri: str) -> bool:
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    registered = [_decoded(r) for r in app.redirect_uris]
    if policy == "any" or uri in registered:
        return True
    if policy == "exact":
        return False
    if parts.hostname in _LOOPBACK_HOSTS and parts.scheme == "http":
        return True
    for other in registered:  # a registered URI on another port
        reg = urlsplit(other)
        if (reg.scheme, reg.hostname, reg.path) == (parts.scheme, parts.hostname, parts.path):
            return True
    return False


def _with_query(uri: str, params: dict[str, str]) -> str:
    separator = "&" if urlsplit(uri).query else "?"
    return uri + separator + urlencode(params)


def _check_authorize(emu: CleverReachEmulator, args: Any) -> tuple[App, str]:
    if args.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    if emu.settings["require_grant_basic"] and args.get("grant") != "basic":
        raise OAuthError("invalid_request", "grant=basic is required")
    app = emu.state.apps.get(args.get("client_id") or "")
    if app is None:
        raise OAuthError("invalid_client", "unknown client_id")
    redirect = _decoded(args.get("redirect_uri") or "")
    if not _redirect_ok(emu.settings["redirect_uri_policy"], app, redirect):
        raise OAuthError("invalid_request", "redirect_uri is not allowed for this client")
    return app, redirect


def _code_redirect(emu: CleverReachEmulator, app: App, redirect: str, account: str,
                   state: str | None) -> Response:
    code = _opaque(emu, "code", 32)
    emu.state.codes[code] = AuthCode(code=code, client_id=app.client_id, account=account,
                                     redirect_uri=redirect,
                                     expires=emu.now_ts() + emu.settings["code_ttl"])
    params = {"code": code}
    if state is not None:
        params["state"] = state
    return _redirect(_with_query(redirect, params))


def _redirect(location: str) -> Response:
    response = Response(b"", status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


def authorize(emu: CleverReachEmulator, request: Request) -> Response:
    args = request.form if request.method == "POST" else request.args
    try:
        app, redirect = _check_authorize(emu, args)
    except OAuthError as exc:
        return _page(_error_body(exc, args.get("lang")), status=400)
    state = args.get("state")
    if request.method == "POST":
        decision = request.form.get("decision")
        if decision != "allow":
            params = {"error": "access_denied",
                      "error_description": "The user denied the request"}
            if state is not None:
                params["state"] = state
            return _redirect(_with_query(redirect, params))
        account = request.form.get("account", "")
        if account not in emu.state.accounts:
            return _page(_error_body(OAuthError("invalid_request", "unknown account"),
                                     args.get("lang")), status=400)
        return _code_redirect(emu, app, redirect, account, state)
    if emu.settings["auto_approve"]:
        account = emu.settings["auto_approve_account"] or app.owner
        return _code_redirect(emu, app, redirect, str(account), state)
    return _page(_sign_in_body(emu, app, args))


_TEXT = {
    "en": {"title": "Sign in to CleverReach", "account": "Account",
           "ask": "<b>{app}</b> would like to access your CleverReach account.",
           "rights": "It will be able to:", "allow": "Allow", "deny": "Deny",
           "scopes": {"basic": "see your account details", "read_receivers":
                      "read your groups and receivers", "write_receivers":
                      "create and change groups and receivers", "form":
                      "send double opt-in mails from your forms", "mailing":
                      "manage mailings", "report": "read your mailing reports"},
           "error": "The sign-in could not start", "note":
           "This is the ListBridge CleverReach emulator: no real account is involved."},
    "de": {"title": "Bei CleverReach anmelden", "account": "Konto",
           "ask": "<b>{app}</b> möchte auf Ihr CleverReach-Konto zugreifen.",
           "rights": "Die Anwendung darf dann:", "allow": "Erlauben", "deny": "Ablehnen",
           "scopes": {"basic": "Ihre Kontodaten sehen", "read_receivers":
                      "Ihre Gruppen und Empfänger lesen", "write_receivers":
                      "Gruppen und Empfänger anlegen und ändern", "form":
                      "Double-Opt-in-Mails Ihrer Formulare senden", "mailing":
                      "Mailings verwalten", "report": "Ihre Mailing-Berichte lesen"},
           "error": "Die Anmeldung konnte nicht beginnen", "note":
           "Dies ist der CleverReach-Emulator von ListBridge: kein echtes Konto ist beteiligt."},
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;background:#f2f4f7;margin:0;color:#1d2433}"
    "main{max-width:26rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem;"
    "box-shadow:0 2px 12px rgba(0,0,0,.12)}h1{font-size:1.4rem;margin-top:0;color:#0a5bb5}"
    "label{display:block;margin:1.2rem 0 .3rem;font-weight:600}select{width:100%;padding:.5rem;"
    "font-size:1rem}.buttons{display:flex;gap:1rem;margin-top:1.5rem}button{flex:1;padding:.7rem;"
    "font-size:1rem;border-radius:4px;border:1px solid #0a5bb5;cursor:pointer}"
    ".allow{background:#0a5bb5;color:#fff}.deny{background:#fff;color:#0a5bb5}"
    ".note{color:#667;font-size:.85rem;margin-top:1.5rem}"
)


def _texts(lang: str | None) -> dict[str, Any]:
    return _TEXT["de" if (lang or "").lower().startswith("de") else "en"]


def _page(body: str, status: int = 200) -> Response:
    return Response(body.encode("utf-8"), status=status, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _document(title: str, content: str, lang: str) -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{content}</main></body></html>")


def _error_body(exc: OAuthError, lang: str | None) -> str:
    texts = _texts(lang)
    content = (f"<h1>{texts['error']}</h1><p>{html.escape(exc.error)}: "
               f"{html.escape(exc.description)}</p>")
    return _document(texts["error"], content, "de" if texts is _TEXT["de"] else "en")


def _sign_in_body(emu: CleverReachEmulator, app: App, args: Any) -> str:
    texts = _texts(args.get("lang"))
    lang = "de" if texts is _TEXT["de"] else "en"
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(args.get(name), quote=True)}">'
        for name in ("response_type", "grant", "client_id", "redirect_uri", "state", "lang")
        if args.get(name) is not None)
    options = "".join(
        f'<option value="{html.escape(a.id, quote=True)}">'
        f"{html.escape(a.profile.get('company') or a.profile.get('name') or a.id)} "
        f"({html.escape(a.profile.get('email', ''))})</option>"
        for a in emu.state.accounts.values())
    rights = "".join(f"<li>{html.escape(texts['scopes'].get(s, s))}</li>" for s in app.scopes)
    content = (
        f"<h1>{texts['title']}</h1>"
        f"<p>{texts['ask'].format(app=html.escape(app.client_id))}</p>"
        f"<p>{texts['rights']}</p><ul>{rights}</ul>"
        f'<form method="post" action="/oauth/authorize.php">{hidden}'
        f'<label for="account">{texts["account"]}</label>'
        f'<select id="account" name="account">{options}</select>'
        f'<div class="buttons"><button class="allow" type="submit" name="decision" '
        f'value="allow">{texts["allow"]}</button><button class="deny" type="submit" '
        f'name="decision" value="deny">{texts["deny"]}</button></div></form>'
        f'<p class="note">{texts["note"]}</p>')
    return _document(texts["title"], content, lang)


# -- token.php -----------------------------------------------------------------------------------

def _fields(request: Request) -> dict[str, str]:
    raw = request.get_data()
    if "json" in (request.content_type or ""):
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise OAuthError("invalid_request", "the body is not JSON") from exc
        if not isinstance(data, dict):
            raise OAuthError("invalid_request", "the body must be an object")
        return {k: str(v) for k, v in data.items() if v is not None}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _client(emu: CleverReachEmulator, request: Request, fields: dict[str, str]) -> App:
    client_id, secret = fields.get("client_id"), fields.get("client_secret")
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id, secret = auth.username, auth.password
    app = emu.state.apps.get(client_id or "")
    if app is None or not hmac.compare_digest(app.client_secret, secret or ""):
        raise OAuthError("invalid_client", "client authentication failed")
    return app


def _grant_code(emu: CleverReachEmulator, app: App, fields: dict[str, str]) -> dict[str, Any]:
    record = emu.state.codes.get(fields.get("code", ""))
    if record is None or record.used or record.client_id != app.client_id:
        raise OAuthError("invalid_grant", "the authorization code is invalid or was used")
    record.used = True
    if emu.now_ts() >= record.expires:
        raise OAuthError("invalid_grant", "the authorization code has expired")
    if _decoded(fields.get("redirect_uri", "")) != record.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri does not match the authorization")
    return issue_tokens(emu, record.account, app)


def _grant_refresh(emu: CleverReachEmulator, app: App, fields: dict[str, str]) -> dict[str, Any]:
    settings = emu.settings
    record = emu.state.refresh_tokens.get(fields.get("refresh_token", ""))
    if (record is None or record.revoked or record.client_id != app.client_id
            or emu.now_ts() >= record.expires
            or (record.used and not settings["old_refresh_token_valid_after_use"])):
        raise OAuthError("invalid_grant", "the refresh token is invalid")
    if settings["revoke_old_access_token_on_refresh"]:
        for token in emu.state.access_tokens.values():
            if token.chain == record.chain:
                token.revoked = True
    rotate = settings["rotate_refresh_tokens"]
    body = issue_tokens(emu, record.account, app, chain=record.chain, refresh=rotate)
    if rotate:
        record.used = True
    else:
        body["refresh_token"] = record.token
        body["scope"] = body.pop("scope")
    return body


def token_endpoint(emu: CleverReachEmulator, request: Request) -> Response:
    try:
        if request.method != "POST":
            raise OAuthError("invalid_request", "use POST")
        fields = _fields(request)
        app = _client(emu, request, fields)
        grant = fields.get("grant_type")
        if grant == "authorization_code":
            body = _grant_code(emu, app, fields)
        elif grant == "refresh_token":
            body = _grant_refresh(emu, app, fields)
        elif grant == "client_credentials":
            body = issue_tokens(emu, app.owner, app,
                                refresh=emu.settings["refresh_token_for_client_credentials"])
        else:
            raise OAuthError("unsupported_grant_type", f"grant_type {grant!r} is not supported")
    except OAuthError as exc:
        status = 401 if exc.error == "invalid_client" else emu.settings["oauth_error_status"]
        return _json({"error": exc.error, "error_description": exc.description}, status)
    return _json(body, 200)


def _json(payload: Any, status: int) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status=status,
                    content_type="application/json; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


# -- /v3 token utilities -------------------------------------------------------------------------

def ttl(call: Call) -> Any:
    assert call.token is not None
    left = max(0, call.token.expires - call.now)
    return {"ttl": left, "date": datetime.fromtimestamp(call.token.expires, UTC).isoformat()}


def validate(call: Call) -> Any:
    return True


def exchange(call: Call) -> Any:
    token = call.token
    assert token is not None
    app = call.emu.state.apps.get(token.client_id)
    if app is None:
        raise ApiError(401, "Unauthorized: token expired")
    token.revoked = True
    for refresh in call.emu.state.refresh_tokens.values():
        if refresh.chain == token.chain:
            refresh.revoked = True
    return issue_tokens(call.emu, token.account, app)


def revoke(call: Call) -> Any:
    token = call.token
    assert token is not None
    token.revoked = True
    for refresh in call.emu.state.refresh_tokens.values():
        if refresh.chain == token.chain:
            refresh.revoked = True
    return True


ROUTES = [
    Route("GET", "debug/ttl", ttl, None),
    Route("GET", "debug/validate", validate, None),
    Route("GET", "debug/exchange", exchange, None),
    Route("DELETE", "oauth/token", revoke, None),
]
