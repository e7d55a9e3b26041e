"""The loopback-only HTTP server every emulator runs on (werkzeug's threaded WSGI server).

:class:`LoopbackServer` binds the socket itself (werkzeug would print and ``sys.exit()`` on a busy
port, which a library must not do) and refuses any address outside 127.0.0.0/8 and ::1, so an
emulator can never be reached from the network. Its request handler speaks HTTP/1.1 with
keep-alive, reads each body exactly, and carries out transport faults that a WSGI app asks for
with :func:`set_transport`:

- ``"reset"``: no answer; the socket is closed with a TCP reset (the client sees ECONNRESET);
- ``"drop"``: no answer; the connection is shut down (the client sees the peer close);
- ``"truncate"``: the app's status and headers, the full length announced, half the body sent,
  then the connection shut down.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = [
    "MAX_BODY",
    "TRANSPORT_KEY",
    "TRANSPORTS",
    "LoopbackServer",
    "NotLoopbackError",
    "check_loopback",
    "set_transport",
]

log = logging.getLogger("listbridge.emulator")

TRANSPORT_KEY = "listbridge.emulator.transport"
TRANSPORTS = ("reset", "drop", "truncate")
MAX_BODY = 32 * 1024 * 1024
_TEXT = "text/plain; charset=utf-8"


class NotLoopbackError(ValueError):
    """An emulator was asked to listen on an address other computers could reach."""


def check_loopback(host: str) -> str:
    """``host`` if it is a loopback address (127.0.0.0/8, ::1) or ``localhost``, else raise."""
    address = "127.0.0.1" if host == "localhost" else host
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopbackError(f"an emulator listens on loopback only, not on {host!r}")
    return address


def set_transport(environ: dict[str, Any], action: str) -> None:
    """Ask the server to end this request's connection with ``action`` (see the module text)."""
    if action not in TRANSPORTS:
        raise ValueError(f"transport must be one of {TRANSPORTS}")
    environ[TRANSPORT_KEY] = action


class _Handler(WSGIRequestHandler):
    """werkzeug's handler closes every connection; this one keeps it open (HTTP/1.1)."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle keep-alive connection gives its thread back after a minute
    disable_nagle_algorithm = True  # headers and body leave at once: no delayed-ACK stalls

    def setup(self) -> None:
        super().setup()
        _connections(self.server).add(self.connection)

    def finish(self) -> None:
        _connections(self.server).discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def handle(self) -> None:
        try:
            super().handle()
        except Exception as exc:  # a client gone mid-answer, or stop() closing the socket
            log.debug("connection ended: %s", type(exc).__name__)

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ["listbridge.handler"] = self
        return environ

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        self.environ = environ
        body = self._read_body(environ)
        if body is None:
            self._write_reply(413, [("Content-Type", _TEXT)], b"Request too large")
            self.close_connection = True
            return
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        status, headers, payload = _call_app(self.server.app, environ)
        transport = environ.get(TRANSPORT_KEY, "")
        if transport in ("drop", "reset"):
            self._drop(reset=transport == "reset")
        elif transport == "truncate":
            # The full length is announced and half the body sent: a body cut on the wire.
            self._write_reply(
                status, headers, payload, send=len(payload) // 2, length=max(len(payload), 16)
            )
            self._drop()
        else:
            self._write_reply(status, headers, payload)

    def _read_body(self, environ: dict[str, Any]) -> bytes | None:
        if environ.get("wsgi.input_terminated"):  # chunked request
            return bytes(environ["wsgi.input"].read())
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
            self.close_connection = True
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _write_reply(
        self,
        status: int,
        headers: list[tuple[str, str]],
        payload: bytes,
        send: int | None = None,
        length: int | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload) if length is None else length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload if send is None else payload[:send])
        self.wfile.flush()

    def _drop(self, reset: bool = False) -> None:
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # each emulator logs its calls itself, without werkzeug's noise

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("http: " + format, *args)


def _connections(server: Any) -> set[socket.socket]:
    return server.listbridge_connections  # type: ignore[no-any-return]


def _call_app(
    app: Callable[..., Iterable[bytes]], environ: dict[str, Any]
) -> tuple[int, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    try:
        result = app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except Exception:
        log.exception("emulator failed on a request")
        return 500, [("Content-Type", _TEXT)], b"Internal emulator error"
    return int(captured["status"].split()[0]), list(captured["headers"]), payload


def reason(status: int) -> str:
    """The standard reason phrase of an HTTP status ("Unknown" for made-up ones)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class LoopbackServer:
    """A WSGI app on ``host:port`` (loopback only; port 0 picks a free one), on its own thread.

    ``start()`` binds and serves, ``stop()`` shuts down, wakes idle keep-alive connections and
    every :meth:`wait` in progress. ``wait(seconds)`` is the cancellable sleep that fault delays
    and timeouts use, so a test's teardown never waits for them.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        port: int = 0,
        host: str = "127.0.0.1",
        name: str = "emulator",
    ) -> None:
        self._host = check_loopback(host)
        self._requested_port = port
        self._app = app
        self._name = name
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port once started, else the one asked for."""
        return self._server.port if self._server is not None else self._requested_port

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._server.port}"

    def start(self) -> LoopbackServer:
        if self._server is not None:
            return self
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name != "nt":  # on Windows SO_REUSEADDR would let two emulators share a port
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self._host, self._requested_port))
            sock.listen(128)
            server = make_server(
                self._host,
                sock.getsockname()[1],
                self._app,
                threaded=True,
                request_handler=_Handler,
                fd=sock.fileno(),
            )
        finally:
            sock.close()  # werkzeug holds its own duplicate of the descriptor
        server.listbridge_connections = set()  # type: ignore[attr-defined]
        self._stopping = threading.Event()
        self._server = server
        # stop() waits for this loop to notice: a short poll keeps test teardown quick.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=self._name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wakes injected delays
        server.shutdown()
        for connection in list(_connections(server)):
            try:
                connection.shutdown(socket.SHUT_RDWR)  # wakes threads idling in keep-alive
            except OSError:
                pass
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when stop() cut it short."""
        return self._stopping.wait(max(0.0, float(seconds)))

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
