"""The example service's emulator: a loopback HTTP server (werkzeug), as every connector ships one
for its service (the shared half for real connectors is ``connectors.emulation``)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

from werkzeug.datastructures import Authorization
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

GOOD_USER = "api-user@example.com"
GOOD_PASSWORD = "Fake-Pa55word-7781"


class ExampleService:
    """The example service on 127.0.0.1 (port 0: the system picks); ``start()``, ``stop()``,
    ``base_url``. ``records``, ``writes`` (per email) and ``calls`` are what a test reads."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = dict(users or {GOOD_USER: GOOD_PASSWORD})
        self.records: dict[str, dict[str, Any]] = {}
        self.writes: Counter[str] = Counter()
        self.calls: list[tuple[str, str]] = []
        self.transient_left = 0
        self.failing: set[str] = set()
        self.delay = 0.0
        self.lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/api/"

    def start(self) -> ExampleService:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True, name="example-service")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # hooks
    def inject_transient(self, k: int) -> None:
        with self.lock:
            self.transient_left = k

    def fail_permanently(self, email: str) -> None:
        with self.lock:
            self.failing.add(email)

    # the WSGI app
    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.calls.append((request.method, request.path))
            if self.transient_left > 0:
                self.transient_left -= 1
                return _json({"message": "Service unavailable"}, 503)
        if not self._authorised(request.authorization):
            return _json({"message": "Authorization has been denied for this request."}, 401)
        parts = request.path.strip("/").split("/")
        if parts == ["api", "account"]:
            return _json({"name": "Fake account"})
        if len(parts) == 3 and parts[:2] == ["api", "records"]:
            return self._record(request, parts[2])
        return _json({"message": "Not found"}, 404)

    def _authorised(self, auth: Authorization | None) -> bool:
        return (auth is not None and auth.username in self.users
                and self.users[auth.username] == auth.password)

    def _record(self, request: Request, email: str) -> Response:
        with self.lock:
            if request.method == "GET":
                if email in self.records:
                    return _json(self.records[email])
                return _json({"message": "Not found"}, 404)
            if request.method == "PUT":
                if email in self.failing:
                    return _json({"message": f"The address {email} is refused."}, 422)
                self.records[email] = json.loads(request.get_data() or b"{}")
                self.writes[email] += 1
                return _json(self.records[email])
        return _json({"message": "Method not allowed"}, 405)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
