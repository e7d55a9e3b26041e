"""The shared half of every service emulator (Dotmailer, INES, CleverReach next).

An emulator is a loopback HTTP service that a test or the demo talks to over real sockets. Each
one keeps its own protocol (routes, answers, settings, state records); everything else comes
from here, so that a new emulator writes only its service:

- ``server``: :class:`LoopbackServer` binds 127.0.0.0/8 or ::1 only (anything else raises
  :class:`NotLoopbackError`), serves a WSGI app on threads with HTTP/1.1 keep-alive, and carries
  out the transport faults a WSGI app cannot express (:func:`set_transport`: reset, drop,
  truncate).
- ``faults``: :class:`FaultRules`, a queue of :class:`Fault` rules matched by method and path glob,
  each for ``times`` calls or, with ``rate`` and ``seed``, for a reproducible share of calls;
  :func:`answer_with_fault` plays a fault around the emulator's own handler (status with body and
  headers, HTML error page, delay, timeout, reset, truncated, malformed, empty 200, and "lost":
  the handler runs and commits, then the connection closes without an answer).
- ``log``: :class:`RequestLog` (bounded, thread-safe) and the redaction of secrets in headers,
  JSON, form and SOAP bodies (:func:`redact_headers`, :func:`redact_text`).
- ``clock``: :class:`Clock`, frozen (tests) or real (demo), settable and advanced through hooks.
- ``state``: :func:`save_json`/:func:`load_json` (atomic state file) and :func:`json_default`.
- ``admin``: :data:`ADMIN_PREFIX` and :func:`call_hook`, the ``/_emulator/<hook>`` dispatch.
- ``cli``: ``listbridge emulator <service>`` scaffolding: :func:`add_emulator_command`,
  :func:`add_common_arguments` (``--port``, ``--admin-http``, ``--state``, ``--demo``) and
  :func:`serve_until_interrupted`.

A new emulator, in outline::

    class MyEmulator:
        def __init__(self, port=0, admin_http=False):
            self.clock = Clock(fixed=DEFAULT_NOW)
            self.faults = FaultRules()
            self.log = RequestLog(maxlen=2000)
            self._server = LoopbackServer(self._app, port=port, name="my-emulator")

        def _app(self, environ, start_response):
            request = Request(environ)
            if request.path.startswith(ADMIN_PREFIX):
                ...  # call_hook(self, HOOKS, name, kwargs) when admin_http
            fault = self.faults.take(request.method, request.path)
            response = answer_with_fault(fault, lambda: self._handle(request), environ,
                                         malformed=..., wait=self._server.wait)
            return response(environ, start_response)

No Qt and nothing from ``core`` or ``gui`` here: emulators run in tests, in the demo and as
``listbridge emulator ...`` processes.
"""

from connectors.emulation.admin import ADMIN_PREFIX, admin_kwargs, call_hook
from connectors.emulation.clock import Clock
from connectors.emulation.faults import (
    FAULT_KINDS,
    HTML_ERROR_PAGE,
    Fault,
    FaultRules,
    answer_with_fault,
)
from connectors.emulation.log import RequestLog, redact_headers, redact_text
from connectors.emulation.server import (
    LoopbackServer,
    NotLoopbackError,
    check_loopback,
    set_transport,
)
from connectors.emulation.state import json_default, load_json, save_json

__all__ = [
    "ADMIN_PREFIX",
    "FAULT_KINDS",
    "HTML_ERROR_PAGE",
    "Clock",
    "Fault",
    "FaultRules",
    "LoopbackServer",
    "NotLoopbackError",
    "RequestLog",
    "admin_kwargs",
    "answer_with_fault",
    "call_hook",
    "check_loopback",
    "json_default",
    "load_json",
    "redact_headers",
    "redact_text",
    "save_json",
    "set_transport",
]
