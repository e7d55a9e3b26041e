"""The shared HTTP session against a scripted werkzeug server on loopback."""

from __future__ import annotations

import base64
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from connectors.base import (
    BaseConnector,
    ConfigurationError,
    RateLimited,
    TlsError,
    TransientError,
    check_api_url,
)
from connectors.http import (
    CHECK_POLICY,
    USER_AGENT,
    HttpPolicy,
    Reauthentication,
    check_url,
    is_loopback,
    make_session,
    retry_after_seconds,
)

FAST = HttpPolicy(connect_timeout=1, read_timeout=0.3, max_retries=3, backoff_base=0.5,
                  backoff_max=4, max_inline_wait=30)


class Scripted:
    """A loopback server answering each request with the next scripted action."""

    def __init__(self) -> None:
        self.script: list[tuple[Any, ...]] = []
        self.requests: list[Request] = []
        self.headers: list[dict[str, str]] = []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(request)
        self.headers.append(dict(request.headers))
        action = self.script.pop(0) if self.script else ("status", 200, {}, "{}")
        if action[0] == "drop":
            sock = environ["werkzeug.socket"]
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            return []
        if action[0] == "sleep":
            time.sleep(action[1])
            action = ("status", 200, {}, "{}")
        if action[0] == "redirect":
            response = Response("", status=302, headers={"Location": action[1]})
        else:
            _, status, headers, body = action
            response = Response(body, status=status, headers=headers,
                                mimetype="application/json")
        return response(environ, start_response)


@pytest.fixture
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    scripted.thread.start()
    yield scripted
    scripted.server.shutdown()
    scripted.server.server_close()


@pytest.fixture
def waits() -> list[float]:
    return []


def session_for(server: Scripted, waits: list[float], **kwargs: Any):
    kwargs.setdefault("policy", FAST)
    return make_session(server.url, sleep=waits.append, rand=lambda: 0.0, **kwargs)


@pytest.fixture
def captured() -> Iterator[list[str]]:
    """Every message logged by the HTTP module, as written (before any handler's filter)."""
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("listbridge.http")
    handler = Keep()
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(previous)


# -- retries -----------------------------------------------------------------------------------------

def test_a_503_is_retried_with_exponential_backoff(server, waits):
    server.script = [("status", 503, {}, "busy"), ("status", 503, {}, "busy"),
                     ("status", 200, {}, '{"ok": true}')]
    response = session_for(server, waits).get("things")
    assert response.json() == {"ok": True}
    assert len(server.requests) == 3
    assert waits == [0.25, 0.5]  # half the nominal delay with zero jitter: 0.5 s, then 1 s
    assert server.headers[0]["User-Agent"] == USER_AGENT


def test_jitter_stays_within_the_nominal_delay(server, waits):
    server.script = [("status", 502, {}, "")] * 3 + [("status", 200, {}, "{}")]
    make_session(server.url, policy=FAST, sleep=waits.append, rand=lambda: 1.0).get("x")
    assert waits == [0.5, 1.0, 2.0]


def test_a_429_waits_as_long_as_retry_after_says(server, waits):
    server.script = [("status", 429, {"Retry-After": "7"}, ""), ("status", 200, {}, "{}")]
    assert session_for(server, waits).get("x").status_code == 200
    assert waits == [7.0]


def test_x_ratelimit_reset_is_honoured_when_there_is_no_retry_after(server, waits):
    server.script = [("status", 429, {"x-ratelimit-reset": "3", "x-ratelimit-limit": "35"}, ""),
                     ("status", 200, {}, "{}")]
    session_for(server, waits).get("x")
    assert waits == [3.0]


def test_a_429_is_retried_even_for_a_post(server, waits):
    server.script = [("status", 429, {"Retry-After": "1"}, ""), ("status", 201, {}, "{}")]
    assert session_for(server, waits).post("x", json={}).status_code == 201
    assert len(server.requests) == 2


def test_a_wait_beyond_the_inline_limit_raises_rate_limited_at_once(server, waits):
    server.script = [("status", 429, {"Retry-After": "600"}, "")]
    with pytest.raises(RateLimited) as caught:
        session_for(server, waits).get("x")
    assert caught.value.retry_after == 600
    assert waits == [] and len(server.requests) == 1
    assert "resume" in caught.value.admin_message


def test_waits_adding_up_beyond_the_inline_limit_raise_rate_limited(server, waits):
    server.script = [("status", 429, {"Retry-After": "20"}, "")] * 3
    with pytest.raises(RateLimited):
        session_for(server, waits).get("x")
    assert waits == [20.0]


def test_too_many_429s_raise_rate_limited(server, waits):
    server.script = [("status", 429, {}, "")] * 4
    with pytest.raises(RateLimited):
        session_for(server, waits).get("x")
    assert len(server.requests) == 4


def test_5xx_after_every_retry_is_a_transient_error(server, waits):
    server.script = [("status", 500, {}, "<html>oops</html>")] * 4
    with pytest.raises(TransientError) as caught:
        session_for(server, waits).get("x")
    assert "HTTP 500" in caught.value.admin_message
    assert len(server.requests) == 4


def test_a_post_is_not_retried_unless_the_caller_opts_in(server, waits):
    server.script = [("status", 503, {}, "")] * 2 + [("status", 200, {}, "{}")]
    session = session_for(server, waits)
    with pytest.raises(TransientError):
        session.post("x", json={})
    assert len(server.requests) == 1
    assert session.post("x", json={}, retry=True).status_code == 200
    assert len(server.requests) == 3


def test_a_dropped_connection_is_retried(server, waits):
    server.script = [("drop",), ("status", 200, {}, '{"ok": 1}')]
    assert session_for(server, waits).get("x").json() == {"ok": 1}
    assert len(server.requests) == 2


def test_a_dropped_post_is_a_transient_error_with_an_unknown_outcome(server, waits):
    server.script = [("drop",)]
    with pytest.raises(TransientError) as caught:
        session_for(server, waits).post("x", json={})
    assert "unknown" in caught.value.admin_message


def test_a_timeout_is_retried_then_a_transient_error(server, waits):
    server.script = [("sleep", 0.6)] * 2
    session = session_for(server, waits, policy=HttpPolicy(read_timeout=0.2, max_retries=1,
                                                           backoff_base=0.01))
    with pytest.raises(TransientError) as caught:
        session.get("slow")
    assert "did not answer in time" in caught.value.admin_message
    assert len(waits) == 1


def test_a_refused_connection_is_a_transient_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    waits: list[float] = []
    session = make_session(f"http://127.0.0.1:{port}/", policy=FAST, sleep=waits.append)
    with pytest.raises(TransientError):
        session.post("x", json={})  # never sent, so retried even though it is a POST
    assert len(waits) == 3


def test_401_is_a_configuration_error_and_connectors_can_map_it_otherwise(server, waits):
    server.script = [("status", 401, {}, '{"message": "denied"}')] * 2
    with pytest.raises(ConfigurationError) as caught:
        session_for(server, waits).get("x")
    assert "credentials" in caught.value.admin_message
    session = session_for(server, waits, error_map=lambda response: None)
    assert session.get("x").status_code == 401


def test_other_statuses_are_left_to_the_caller(server, waits):
    server.script = [("status", 404, {}, '{"message": "Not found"}')]
    assert session_for(server, waits).get("x").status_code == 404


# -- TLS and URL rules -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://example.invalid/api", "http://10.0.0.1/",
                                 "ftp://127.0.0.1/", "example.com/api", "http://127.evil.com/"])
def test_plain_http_off_this_machine_is_refused(url):
    with pytest.raises(ConfigurationError) as caught:
        check_url(url)
    assert "https" in caught.value.admin_message


@pytest.mark.parametrize("url", ["https://r1-api.dotmailer.com/v2/", "http://127.0.0.1:8080/",
                                 "http://127.1.2.3/", "http://localhost:5000/x", "http://[::1]:80/"])
def test_https_and_loopback_are_allowed(url):
    check_url(url)


def test_is_loopback():
    assert is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.9")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")


def test_a_session_refuses_a_plain_http_base_url_and_sends_nothing():
    with pytest.raises(ConfigurationError):
        make_session("http://api.example.invalid/")
    session = make_session("https://api.example.invalid/")
    with pytest.raises(ConfigurationError):
        session.get("http://api.example.invalid/other")


def test_a_redirect_to_plain_http_is_refused(server, waits):
    server.script = [("redirect", "http://example.invalid/steal")]
    with pytest.raises(ConfigurationError):
        session_for(server, waits).get("x")


def test_tls_verification_cannot_be_switched_off(server, waits):
    with pytest.raises(ConfigurationError):
        session_for(server, waits).get("x", verify=False)


def test_an_unverifiable_certificate_is_a_configuration_error():
    pytest.importorskip("cryptography")
    https = make_server("127.0.0.1", 0, lambda e, s: Response("{}")(e, s), ssl_context="adhoc")
    thread = threading.Thread(target=https.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        session = make_session(f"https://127.0.0.1:{https.server_port}/", policy=FAST,
                               sleep=lambda s: None)
        with pytest.raises(ConfigurationError) as caught:
            session.get("x")
        assert "certificate" in caught.value.admin_message
    finally:
        https.shutdown()
        https.server_close()


def test_tls_problems_are_tls_errors_so_test_connection_can_name_them(server, waits):
    """Plain http off this machine, a redirect to it, verification switched off: ``TlsError``
    (still a configuration error: the run stops and the admin is told)."""
    for url in ("http://example.invalid/api", "http://10.0.0.1/", "http://127.evil.com/"):
        with pytest.raises(TlsError):
            check_url(url)
    with pytest.raises(TlsError):
        make_session("http://api.example.invalid/")
    server.script = [("redirect", "http://example.invalid/steal")]
    with pytest.raises(TlsError):
        session_for(server, waits).get("x")
    with pytest.raises(TlsError) as caught:
        session_for(server, waits).get("x", verify=False)
    assert caught.value.kind == "configuration"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "example.com/api"])
def test_a_url_that_is_not_https_at_all_is_not_called_a_tls_problem(url):
    with pytest.raises(ConfigurationError) as caught:
        check_url(url)
    assert not isinstance(caught.value, TlsError)


def test_an_unverifiable_certificate_is_a_tls_error():
    pytest.importorskip("cryptography")
    https = make_server("127.0.0.1", 0, lambda e, s: Response("{}")(e, s), ssl_context="adhoc")
    thread = threading.Thread(target=https.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        session = make_session(f"https://127.0.0.1:{https.server_port}/", policy=FAST,
                               sleep=lambda s: None)
        with pytest.raises(TlsError):
            session.get("x")
    finally:
        https.shutdown()
        https.server_close()


# -- redaction ---------------------------------------------------------------------------------------

def test_credentials_never_appear_in_logs_or_errors(server, waits, captured):
    password = "Hunter2-Very-Secret-9911"
    token = base64.b64encode(f"apiuser@example.com:{password}".encode()).decode()
    echo = f'{{"message": "bad auth: Basic {token} / {password}"}}'
    server.script = [("status", 503, {}, echo)] * 4
    session = session_for(server, waits, auth=("apiuser@example.com", password))
    with pytest.raises(TransientError) as caught:
        session.get(f"things?apikey={password}")
    assert server.headers[0]["Authorization"] == f"Basic {token}"
    texts = [str(caught.value), caught.value.admin_message, *captured]
    assert captured  # the retries were logged
    for text in texts:
        assert password not in text and token not in text


def test_a_bearer_token_is_registered_as_a_secret(server, waits, captured):
    token = "tok-ABCDEF-0123456789-secret"
    server.script = [("status", 500, {}, f'{{"echo": "{token}"}}')] * 4
    session = session_for(server, waits)
    session.headers["Authorization"] = f"Bearer {token}"
    with pytest.raises(TransientError) as caught:
        session.get("x")
    assert token not in str(caught.value)
    assert all(token not in line for line in captured)


# -- helpers -----------------------------------------------------------------------------------------

def test_retry_after_as_an_http_date():
    response = requests.Response()
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert retry_after_seconds(response, now=1445412480.0) == 10.0
    response = requests.Response()
    response.headers["x-ratelimit-reset"] = str(1445412490)
    assert retry_after_seconds(response, now=1445412480.0) == 10.0


def test_timeouts_come_from_the_policy_and_the_settings():
    policy = HttpPolicy().with_settings({"connect_timeout": "5", "read_timeout": 90})
    assert (policy.connect_timeout, policy.read_timeout) == (5.0, 90.0)


def test_a_truncated_body_is_a_transient_error_not_a_raw_exception(waits):
    """A body cut short (Content-Length promises more) is a dropped connection: retried, then
    reported in the admin's words."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    served: list[int] = []

    def serve() -> None:
        while len(served) < 4:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"partial\":")
            conn.close()
            served.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    session = make_session(f"http://127.0.0.1:{listener.getsockname()[1]}/", policy=FAST,
                           sleep=waits.append, rand=lambda: 1.0)
    with pytest.raises(TransientError) as info:
        session.get("things")
    assert "try again later" in info.value.admin_message
    assert info.value.never_sent is False
    assert len(served) == FAST.max_retries + 1, "a GET is retried before giving up"
    listener.close()


# -- Check Connection: quick, and worded for a check ---------------------------------------------------

def test_the_check_policy_makes_one_try_with_short_timeouts():
    assert CHECK_POLICY.max_retries == 0 and CHECK_POLICY.for_check
    assert CHECK_POLICY.connect_timeout <= 5 and CHECK_POLICY.read_timeout <= 15
    assert not HttpPolicy().for_check  # a sync's session keeps its retries and its words


def test_a_check_of_a_service_that_is_down_fails_at_once_without_promising_a_sync(server, waits):
    server.script = [("status", 503, {}, "busy")] * 4
    with pytest.raises(TransientError) as caught:
        session_for(server, waits, policy=CHECK_POLICY).get("account")
    assert len(server.requests) == 1 and waits == []
    message = caught.value.admin_message
    assert "HTTP 503" in message and "sync" not in message.lower()
    server.script = [("status", 429, {"Retry-After": "30"}, "slow down")]
    with pytest.raises(RateLimited) as limited:
        session_for(server, waits, policy=CHECK_POLICY).get("account")
    assert "sync" not in limited.value.admin_message.lower() and waits == []


def test_a_check_of_an_unreachable_service_names_the_url_and_the_network():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    waits: list[float] = []
    session = make_session(f"http://127.0.0.1:{port}/", policy=CHECK_POLICY, sleep=waits.append,
                           service="The fake service")
    with pytest.raises(TransientError) as caught:
        session.get("account")
    assert waits == [], "a check never retries, even a connection that could not be opened"
    assert caught.value.admin_message == (
        "The fake service could not be reached (the connection could not be opened). Check the "
        "service URL and the network.")
    assert caught.value.never_sent


def test_a_check_that_gets_no_answer_says_how_long_it_waited(server, waits):
    from dataclasses import replace

    server.script = [("sleep", 0.6)]
    session = session_for(server, waits, policy=replace(CHECK_POLICY, read_timeout=0.2),
                          service="The fake service")
    with pytest.raises(TransientError) as caught:
        session.get("slow")
    assert caught.value.admin_message == (
        "The fake service could not be reached (no answer within 0.2 s). Check the service URL "
        "and the network.")
    assert len(server.requests) == 1


def test_a_sync_keeps_saying_that_it_tries_again(server, waits):
    server.script = [("status", 503, {}, "busy")] * 4
    with pytest.raises(TransientError) as caught:
        session_for(server, waits).get("x")
    assert "the sync will try again later" in caught.value.admin_message


# -- the Service URL field ---------------------------------------------------------------------------

@pytest.mark.parametrize("url, problem", [
    ("http://example.com/", "plain http"),
    ("example.com", "not a valid https URL"),
    ("ftp://example.com/", "not a valid https URL"),
    ("https://", "not a valid https URL"),
])
def test_the_service_url_field_refuses_what_the_session_would_refuse(url, problem):
    field = BaseConnector().api_url_field()
    message = field.check(url)
    assert message is not None and problem in message
    assert check_api_url(url) == message


@pytest.mark.parametrize("url", ["https://r1-api.example.com/v2", " https://example.com/ ",
                                 "http://127.0.0.1:8080/", "http://localhost/api", ""])
def test_the_service_url_field_accepts_https_loopback_and_nothing(url):
    assert BaseConnector().api_url_field().check(url) is None


# -- authenticate again, then repeat once (``Reauthentication``) ---------------------------------------

class TokenServer:
    """A loopback REST service that accepts only ``Bearer <current>``; a refused request is
    answered 401 after ``slow`` seconds (so that concurrent callers meet the expiry together)."""

    def __init__(self, current: str = "fresh-1", slow: float = 0.0) -> None:
        self.current = current
        self.slow = slow
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        given = request.headers.get("Authorization", "")
        with self.lock:
            self.seen.append(given)
        if given != f"Bearer {self.current}":
            time.sleep(self.slow)
            response = Response('{"error": "expired"}', status=401, mimetype="application/json")
        else:
            response = Response('{"ok": true}', status=200, mimetype="application/json")
        return response(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_expired_token_is_refreshed_and_the_request_repeated_once():
    service = TokenServer(current="fresh-1")
    saved: list[str] = []

    def refresh() -> str:
        saved.append("rotated-refresh-token")  # where a connector saves it through core.secrets
        return service.current

    try:
        reauth = Reauthentication(f"test:{id(service)}", refresh)
        session = make_session(service.url, policy=FAST, reauthenticate=reauth)
        session.headers["Authorization"] = "Bearer stale"
        response = session.get("data")
        assert response.status_code == 200 and response.json() == {"ok": True}
        assert service.seen == ["Bearer stale", "Bearer fresh-1"]  # 401 once, then 200
        assert saved == ["rotated-refresh-token"]  # saved before the request repeated
        assert session.get("data").status_code == 200  # the new token stays on the session
        assert service.seen[-1] == "Bearer fresh-1" and len(saved) == 1
    finally:
        service.close()


def test_a_refresh_that_does_not_help_is_not_repeated_again():
    service = TokenServer(current="never-given")
    calls: list[int] = []

    def refresh() -> str:
        calls.append(1)
        return "still-wrong"

    try:
        reauth = Reauthentication(f"test:{id(service)}", refresh)
        session = make_session(service.url, policy=FAST, reauthenticate=reauth)
        with pytest.raises(ConfigurationError):  # the second 401 goes to the error map
            session.get("data")
        assert len(service.seen) == 2 and calls == [1]
    finally:
        service.close()


def test_two_threads_meeting_an_expired_token_share_one_refresh():
    service = TokenServer(current="fresh-2", slow=0.2)
    refreshes: list[str] = []
    key = f"test:{id(service)}"

    def refresh() -> str:
        refreshes.append(threading.current_thread().name)
        time.sleep(0.2)  # the other caller arrives while this one is in flight
        return service.current

    results: dict[str, int] = {}
    start = threading.Barrier(2)

    def call(name: str) -> None:
        # One client per thread, as two runs of one integration's steps would have.
        session = make_session(service.url, policy=HttpPolicy(connect_timeout=2, read_timeout=5),
                               reauthenticate=Reauthentication(key, refresh))
        session.headers["Authorization"] = "Bearer stale"
        start.wait()
        results[name] = session.get("data").status_code

    try:
        threads = [threading.Thread(target=call, args=(f"caller-{n}",), name=f"caller-{n}")
                   for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert results == {"caller-0": 200, "caller-1": 200}
        assert len(refreshes) == 1  # exactly one refresh; the other caller reused its token
        assert service.seen.count("Bearer stale") == 2
        assert service.seen.count("Bearer fresh-2") == 2
    finally:
        service.close()
