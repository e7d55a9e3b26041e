"""The shared emulator half alone (connectors/emulation): a tiny WSGI service on real loopback
HTTP, seen by a real ``requests`` client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connectors.emulation import (
    ADMIN_PREFIX,
    HTML_ERROR_PAGE,
    Clock,
    Fault,
    FaultRules,
    LoopbackServer,
    NotLoopbackError,
    RequestLog,
    admin_kwargs,
    answer_with_fault,
    call_hook,
    check_loopback,
    load_json,
    redact_headers,
    redact_text,
    save_json,
)
from connectors.emulation.cli import add_emulator_command, serve_until_interrupted


class Tiny:
    """A counter service: POST /v1/count adds one and answers the total."""

    HOOKS = frozenset({"total"})

    def __init__(self) -> None:
        self.count = 0
        self.faults = FaultRules()
        self.log = RequestLog(maxlen=3)
        self.server = LoopbackServer(self.app, name="tiny")

    def total(self) -> int:
        return self.count

    def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.count += 1
        return Response(json.dumps({"count": self.count, "pad": "x" * 40}),
                        content_type="application/json")

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.startswith(ADMIN_PREFIX):
            name = request.path[len(ADMIN_PREFIX):]
            result = call_hook(self, self.HOOKS, name, admin_kwargs(request.get_data()))
            return Response(json.dumps({"result": result}))(environ, start_response)
        self.log.append({"method": request.method, "path": request.path,
                         "headers": redact_headers(request.headers.items()),
                         "body": redact_text(request.get_data().decode())})
        fault = self.faults.take(request.method, request.path)
        response = answer_with_fault(
            fault, lambda: self.handle(request), environ,
            malformed=lambda: Response(b'{"count": 1, "pa', content_type="application/json"),
            wait=self.server.wait)
        return response(environ, start_response)


@pytest.fixture()
def tiny() -> Iterator[Tiny]:
    service = Tiny()
    service.server.start()
    yield service
    service.server.stop()


def url(tiny: Tiny, path: str = "/v1/count") -> str:
    return tiny.server.url + path


# -- the server --------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org", ""])
def test_a_non_loopback_host_is_refused_before_binding(host: str) -> None:
    with pytest.raises(NotLoopbackError):
        LoopbackServer(lambda e, s: [], host=host)


def test_loopback_hosts_are_accepted() -> None:
    assert check_loopback("127.0.0.5") == "127.0.0.5"
    assert check_loopback("::1") == "::1"
    assert check_loopback("localhost") == "127.0.0.1"


def test_the_server_listens_on_loopback_keeps_connections_and_stops(tiny: Tiny) -> None:
    assert tiny.server.url.startswith("http://127.0.0.1:")
    with requests.Session() as session:
        assert session.post(url(tiny)).json()["count"] == 1
        assert session.post(url(tiny)).json()["count"] == 2
    port = tiny.server.port
    tiny.server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/v1/count", timeout=2)


def test_a_busy_port_raises_instead_of_exiting(tiny: Tiny) -> None:
    other = LoopbackServer(lambda e, s: [], port=tiny.server.port)
    with pytest.raises(OSError):
        other.start()


def test_admin_hooks_answer_only_the_names_listed(tiny: Tiny) -> None:
    requests.post(url(tiny))
    assert requests.post(url(tiny, ADMIN_PREFIX + "total")).json() == {"result": 1}
    with pytest.raises(KeyError):
        call_hook(tiny, tiny.HOOKS, "handle", {})
    assert admin_kwargs(b"", {"n": "12", "s": "x"}) == {"n": 12, "s": "x"}
    with pytest.raises(ValueError):
        admin_kwargs(b"[1]")


# -- each fault kind over real HTTP ------------------------------------------------------------

def test_status_fault_with_body_and_retry_after(tiny: Tiny) -> None:
    tiny.faults.add(Fault("status", "POST", "/v1/*", status=429, body={"message": "slow"},
                          headers={"Retry-After": "30"}))
    answer = requests.post(url(tiny))
    assert (answer.status_code, answer.headers["Retry-After"]) == (429, "30")
    assert answer.json() == {"message": "slow"}
    assert tiny.count == 0  # the handler did not run
    assert requests.post(url(tiny)).status_code == 200  # times=1 by default


def test_html_fault_is_a_503_page(tiny: Tiny) -> None:
    tiny.faults.add(Fault("html"))
    answer = requests.get(url(tiny))
    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("text/html")
    assert answer.text == HTML_ERROR_PAGE


def test_delay_then_the_real_answer(tiny: Tiny) -> None:
    tiny.faults.add(Fault("delay", delay=0.3))
    started = time.monotonic()
    assert requests.post(url(tiny)).json()["count"] == 1
    assert time.monotonic() - started >= 0.3


def test_a_delay_before_another_kind(tiny: Tiny) -> None:
    tiny.faults.add(Fault("status", status=503, delay=0.3))
    started = time.monotonic()
    assert requests.post(url(tiny)).status_code == 503
    assert time.monotonic() - started >= 0.3


def test_timeout_is_seen_as_a_read_timeout(tiny: Tiny) -> None:
    tiny.faults.add(Fault("timeout", seconds=5))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(url(tiny), timeout=0.3)
    assert tiny.count == 0


def test_stop_cuts_a_timeout_short() -> None:
    service = Tiny()
    service.server.start()
    service.faults.add(Fault("timeout", seconds=30))
    worker = threading.Thread(target=lambda: pytest.raises(
        requests.ConnectionError, requests.get, url(service), timeout=10))
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    service.server.stop()
    worker.join(10)
    assert time.monotonic() - started < 5


def test_reset_is_a_connection_error(tiny: Tiny) -> None:
    tiny.faults.add(Fault("reset"))
    with pytest.raises(requests.ConnectionError):
        requests.post(url(tiny))
    assert tiny.count == 0


def test_truncated_body_is_a_chunked_encoding_error(tiny: Tiny) -> None:
    tiny.faults.add(Fault("truncated"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.post(url(tiny))
    assert tiny.count == 1  # the real answer was cut, not replaced


def test_malformed_and_empty_bodies_are_200(tiny: Tiny) -> None:
    tiny.faults.add(Fault("malformed"))
    tiny.faults.add(Fault("empty"))
    broken = requests.get(url(tiny))
    assert broken.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        broken.json()
    empty = requests.get(url(tiny))
    assert (empty.status_code, empty.content) == (200, b"")


def test_lost_answer_after_the_service_acted(tiny: Tiny) -> None:
    tiny.faults.add(Fault("lost", "POST"))
    with pytest.raises(requests.ConnectionError):
        requests.post(url(tiny))
    assert tiny.count == 1  # committed, the answer never came
    assert requests.post(url(tiny)).json()["count"] == 2


def test_seeded_rate_hits_the_same_calls_every_run() -> None:
    def hits(seed: int) -> list[int]:
        rules = FaultRules()
        rules.add(Fault("lost", times=None, rate=0.05, seed=seed))
        return [n for n in range(1000) if rules.take("POST", "/v1/count") is not None]

    assert hits(7) == hits(7)
    assert hits(7) != hits(8)
    assert 20 <= len(hits(7)) <= 80  # about 5 % of 1,000


def test_times_method_and_glob_choose_the_calls() -> None:
    rules = FaultRules()
    rules.add(Fault("empty", "GET", "books/*", times=2, prefix="/v2/"))
    assert rules.take("POST", "/v2/books/1") is None
    assert rules.take("GET", "/v2/contacts/1") is None
    assert rules.take("get", "/v2/books/1") is not None
    assert rules.take("GET", "/v2/books/2") is not None
    assert rules.take("GET", "/v2/books/3") is None
    assert len(rules) == 0
    with pytest.raises(ValueError):
        Fault("explode")
    with pytest.raises(ValueError):
        Fault("lost", rate=1.5)


# -- the request log ---------------------------------------------------------------------------

def test_the_log_redacts_secrets_and_keeps_the_newest(tiny: Tiny) -> None:
    requests.post(url(tiny), json={"email": "a@b.c", "password": "hunter2"},
                  headers={"Authorization": "Bearer sekrit"})
    requests.post(url(tiny), data={"grant_type": "refresh_token", "refresh_token": "rt-1"})
    soap = ("<Envelope><Header><SessionID><ID>8812734</ID></SessionID></Header><Body>"
            "<authenticationWs><password>pw</password></authenticationWs></Body></Envelope>")
    requests.post(url(tiny), data=soap.encode(), headers={"Cookie": "s=1"})
    requests.get(url(tiny))
    entries = tiny.log.entries()
    assert len(entries) == 3  # maxlen
    dumped = json.dumps(entries)
    for secret in ("hunter2", "sekrit", "rt-1", "8812734", "<password>pw", "s=1"):
        assert secret not in dumped
    assert "refresh_token=***" in entries[0]["body"]
    assert "<ID>***</ID>" in entries[1]["body"] and "<password>***</password>" in entries[1]["body"]
    assert entries[1]["headers"]["Cookie"] == "[redacted]"
    assert tiny.log.count(lambda e: e["method"] == "GET") == 1
    tiny.log.clear()
    assert tiny.log.entries() == []


def test_redaction_of_json_keys_and_dropped_headers() -> None:
    text = redact_text('{"client_secret": "cs", "name": "x", "access_token":"a\\"b"}')
    assert json.loads(text) == {"client_secret": "***", "name": "x", "access_token": "***"}
    assert redact_headers({"Authorization": "Basic x", "Accept": "*/*"}, mask=None) == {
        "Accept": "*/*"}


# -- the clock ---------------------------------------------------------------------------------

def test_the_clock_is_frozen_settable_and_advances() -> None:
    start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    clock = Clock(fixed=start)
    assert clock.now() == start and clock.frozen
    time.sleep(0.01)
    assert clock.now() == start
    assert clock.advance(90) == start + timedelta(seconds=90)
    assert clock.set("2025-01-02T03:04:05Z") == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    clock.use_real()
    assert not clock.frozen
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5


def test_a_naive_local_clock_in_whole_seconds() -> None:
    clock = Clock(fixed="2024-03-01T12:00:00.750", tz=None, whole_seconds=True)
    assert clock.now() == datetime(2024, 3, 1, 12, 0, 0)
    assert Clock(tz=None, whole_seconds=True).now().microsecond == 0


# -- state file and command line ---------------------------------------------------------------

def test_state_round_trip_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    data = {"when": datetime(2024, 1, 1, tzinfo=UTC), "ids": (1, 2), "name": "Liste é"}
    save_json(target, data)
    assert load_json(target) == {"when": "2024-01-01T00:00:00+00:00", "ids": [1, 2],
                                 "name": "Liste é"}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    with pytest.raises(TypeError):
        save_json(target, {"bad": object()})
    assert load_json(target)["name"] == "Liste é"  # the old file survives a failed save


def test_the_emulator_command_group_is_shared() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_emulator_command(sub, "one", lambda p: p.add_argument("--port", type=int),
                         lambda args, profile: 0)
    add_emulator_command(sub, "two", lambda p: None, lambda args, profile: 0)
    args = parser.parse_args(["emulator", "one", "--port", "9"])
    assert (args.emulator_service, args.port) == ("one", 9)
    assert parser.parse_args(["emulator", "two"]).emulator_service == "two"


def test_serve_until_interrupted_saves_on_change_and_on_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    ticks = iter([None, None, KeyboardInterrupt()])

    def fake_sleep(seconds: float) -> None:
        tick = next(ticks)
        if tick is not None:
            raise tick

    monkeypatch.setattr(time, "sleep", fake_sleep)
    versions = iter([1, 1, 2, 2])
    serve_until_interrupted(lambda: calls.append("stop"), lambda: calls.append("save"),
                            lambda: next(versions))
    assert calls == ["save", "save", "stop", "save"]


