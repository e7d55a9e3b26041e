"""What every resource module shares: one API call, its errors, paging and the route table.

A resource module (``groups``, ``receivers``...) lists its routes in ``ROUTES`` as
``Route(method, pattern, handler, scope)``; the pattern's segments are literals or ``{name}``
placeholders, written without ``.json`` (the emulator strips the suffix from every segment before
routing, §1.1). A handler takes a :class:`Call` and returns the JSON payload, or raises
:class:`ApiError` for the §1.3 error body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.datastructures import MultiDict

from connectors.cleverreach.emulator.state import AccessToken, Account, Group, Receiver

if TYPE_CHECKING:
    from connectors.cleverreach.emulator.core import CleverReachEmulator

__all__ = ["ApiError", "Call", "EMPTY_LIST", "Route", "match_route"]


class ApiError(Exception):
    """A non-2xx answer with the body ``{"error":{"code":status,"message":message}}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _EmptyList(list[Any]):
    """An empty listing: ``[]`` with 200, or 204 under the ``empty_list_status`` setting."""


EMPTY_LIST = _EmptyList()


@dataclass
class Call:
    emu: CleverReachEmulator
    account: Account
    method: str
    params: dict[str, str]
    query: MultiDict[str, str]
    raw_body: bytes
    now: int
    token: AccessToken | None = None
    _body: Any = field(default=None, repr=False)
    _parsed: bool = False

    @property
    def settings(self) -> dict[str, Any]:
        return self.emu.settings

    def body(self) -> Any:
        if not self._parsed:
            text = self.raw_body.decode("utf-8", "replace").strip()
            try:
                self._body = json.loads(text) if text else None
            except ValueError as exc:
                raise ApiError(400, "Bad Request: invalid JSON") from exc
            self._parsed = True
        return self._body

    def body_object(self) -> dict[str, Any]:
        body = self.body()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: a JSON object was expected")
        return body

    def body_list(self) -> list[Any]:
        body = self.body()
        if isinstance(body, dict) and isinstance(body.get("postdata"), list):
            body = body["postdata"]  # a wrapper some v2-era clients send
        if not isinstance(body, list):
            raise ApiError(400, "Bad Request: a JSON array was expected")
        return body

    def group(self, key: str = "gid") -> Group:
        group = self.account.groups.get(self.params[key])
        if group is None:
            raise ApiError(404, "Not Found: invalid group")
        return group

    def receiver(self, group: Group, key: str = "rid") -> Receiver:
        receiver = group.find(self.params[key])
        if receiver is None:
            raise ApiError(404, "Not Found: invalid receiver")
        return receiver

    def int_arg(self, name: str, default: int, source: dict[str, Any] | None = None) -> int:
        raw = (source or {}).get(name, self.query.get(name)) if source is not None \
            else self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"Bad Request: {name} must be a number") from exc

    def paging(self, source: dict[str, Any] | None = None,
               default_size: int | None = None) -> tuple[int, int]:
        """``(page, pagesize)`` per §1.4 and the ``*_pagesize`` settings."""
        settings = self.settings
        page = self.int_arg("page", 0, source)
        size = self.int_arg("pagesize", default_size or settings["default_pagesize"], source)
        if page < 0 or size < 1:
            raise ApiError(400, "Bad Request: invalid page or pagesize")
        if size > settings["max_pagesize"]:
            if settings["pagesize_over_max"] == "error":
                raise ApiError(400, f"Bad Request: pagesize exceeds {settings['max_pagesize']}")
            size = settings["max_pagesize"]
        return page, size

    def listing(self, items: Sequence[Any]) -> list[Any]:
        return list(items) if items else EMPTY_LIST


Handler = Callable[[Call], Any]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    scope: str | None = None

    @property
    def segments(self) -> list[str]:
        return self.pattern.split("/")


def match_route(routes: Sequence[Route], method: str,
                segments: list[str]) -> tuple[Route, dict[str, str]] | str:
    """The route for a call (the one with the most literal segments wins), or ``"405"`` when
    the path exists for another method, or ``"404"``."""
    best: tuple[int, Route, dict[str, str]] | None = None
    path_known = False
    for route in routes:
        pattern = route.segments
        if len(pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        literals = 0
        for want, have in zip(pattern, segments, strict=True):
            if want.startswith("{"):
                params[want[1:-1]] = have
            elif want == have.lower():
                literals += 1
            else:
                break
        else:
            path_known = True
            if route.method != method:
                continue
            if best is None or literals > best[0]:
                best = (literals, route, params)
    if best is not None:
        return best[1], best[2]
    return "405" if path_known else "404"
