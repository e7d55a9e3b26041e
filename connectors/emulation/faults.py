"""Fault injection: rules that spoil chosen calls, and the playing of a fault around a handler.

A :class:`Fault` names which calls it hits (``method``, ``path_glob`` matched with fnmatch on the
path, with or without the emulator's API prefix) and how many: the next ``times`` matches
(None: every one), or with ``rate`` a share of matches drawn from ``random.Random(seed)``, so
"5 % of calls, seed 7" gives the same calls on every run. Its ``kind`` is one of
:data:`FAULT_KINDS`:

=============  ===========================================================================
``status``     answer ``status`` (default 503) with ``body`` (JSON for a dict/list, else
               text; text starting with "<" is sent as HTML) and ``headers`` (say
               ``{"Retry-After": "30"}`` with 429); the handler does not run
``html``       an ASP.NET-style HTML error page with ``status`` (default 503)
``delay``      wait ``delay`` seconds (default 1), then answer normally
``timeout``    wait ``seconds`` (default 30, cut short by stop()), then drop without answer
``reset``      no answer, the connection reset; the handler does not run
``truncated``  the real answer, cut on the wire (full length announced, half sent)
``malformed``  200 with the emulator's broken body (half a JSON object, unbalanced XML)
``empty``      200 with an empty body
``lost``       the handler runs and commits, then the connection closes without an answer
=============  ===========================================================================

``delay`` on any other kind waits first, then plays the kind (say, 2 s and then a 503).
Each emulator keeps its own hook signature (``inject(...)``) and builds :class:`Fault` rules from
it; :class:`FaultRules` keeps them, thread-safe, and :func:`answer_with_fault` plays one.
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

from connectors.emulation.server import set_transport

__all__ = ["FAULT_KINDS", "HTML_ERROR_PAGE", "Fault", "FaultRules", "answer_with_fault"]

FAULT_KINDS = (
    "status",
    "html",
    "delay",
    "timeout",
    "reset",
    "truncated",
    "malformed",
    "empty",
    "lost",
)
HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>Runtime Error</title></head><body>"
    "<h1>Server Error in '/' Application.</h1><h2><i>Runtime Error</i></h2>"
    "<p>An application error occurred on the server.</p></body></html>"
)
_JSON = "application/json; charset=utf-8"


@dataclass
class Fault:
    """One rule. ``params`` carries an emulator's own details (a SOAP fault code...)."""

    kind: str
    method: str = "*"
    path_glob: str = "*"
    times: int | None = 1
    rate: float | None = None
    seed: int = 0
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float | None = None
    seconds: float | None = None
    prefix: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        self.method = self.method.upper()
        self._rng = random.Random(self.seed)

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        paths = [path]
        if self.prefix and path.startswith(self.prefix):
            paths.append(path[len(self.prefix) :])
        return any(fnmatch.fnmatchcase(p, self.path_glob) for p in paths)

    def fires(self) -> bool:
        """Draw for one matching call (always True without a rate)."""
        return self.rate is None or self._rng.random() < self.rate


class FaultRules:
    """The emulator's queue of faults; the first live rule that matches and fires is taken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[Fault] = []  # oldest first; an emulator may edit it under its own lock

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self.rules)

    def take(
        self, method: str, path: str, match: Callable[[Fault], bool] | None = None
    ) -> Fault | None:
        """The fault for this call, if any, counting it down (``match`` replaces the method and
        path test, for emulators that target other things, such as a SOAP operation)."""
        with self._lock:
            for rule in self.rules:
                hit = match(rule) if match is not None else rule.matches(method, path)
                if rule.times is not None and rule.times <= 0:
                    continue
                if not hit or not rule.fires():
                    continue
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                return rule
        return None


def status_response(
    status: int, body: Any = None, headers: Mapping[str, str] | None = None
) -> Response:
    """An answer of ``status`` with a JSON (dict/list), HTML ("<...") or text body."""
    if isinstance(body, dict | list):
        response = Response(json.dumps(body).encode("utf-8"), status=status, content_type=_JSON)
    else:
        text = "" if body is None else str(body)
        kind = "text/html" if text.lstrip().startswith("<") else "text/plain"
        response = Response(
            text.encode("utf-8"), status=status, content_type=f"{kind}; charset=utf-8"
        )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def answer_with_fault(
    fault: Fault | None,
    run: Callable[[], Response],
    environ: dict[str, Any],
    *,
    malformed: Callable[[], Response],
    wait: Callable[[float], object],
) -> Response:
    """Play ``fault`` around ``run`` (the emulator's handler for the call).

    ``malformed`` builds the protocol's broken body; ``wait`` is the server's cancellable sleep
    (:meth:`LoopbackServer.wait`). Without a fault this is ``run()``.
    """
    if fault is None:
        return run()
    kind = fault.kind
    if kind == "delay":
        wait(1.0 if fault.delay is None else fault.delay)
        return run()
    if fault.delay:
        wait(fault.delay)
    if kind == "timeout":
        wait(30.0 if fault.seconds is None else fault.seconds)
        set_transport(environ, "drop")
        return Response(b"", status=200)
    if kind == "reset":
        set_transport(environ, "reset")
        return Response(b"", status=200)
    if kind == "status":
        return status_response(fault.status or 503, fault.body, fault.headers)
    if kind == "html":
        return status_response(fault.status or 503, HTML_ERROR_PAGE, fault.headers)
    if kind == "malformed":
        return malformed()
    if kind == "empty":
        return Response(b"", status=200, content_type=_JSON)
    response = run()
    set_transport(environ, "truncate" if kind == "truncated" else "drop")  # truncated, lost
    return response
