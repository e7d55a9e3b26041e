"""When integrations are due, and the thread-based scheduler that runs them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from core.clock import utcnow
from core.integrations import create_integration, update_integration
from core.models.sync import Integration, SyncRun
from core.sync.context import SyncContext
from core.sync.runner import EngineOptions, RunResult
from core.sync.scheduler import Scheduler, due_integrations
from tests.helpers.fake_service import ScriptedConnector

VALUES = {"username": "admin", "password": "Passw0rd-sched"}


@pytest.fixture
def connector() -> ScriptedConnector:
    return ScriptedConnector([("contacts", lambda ctx: ctx.count("read"))])


def make(connector, name: str, **kwargs) -> Integration:
    return create_integration(connector, name, dict(VALUES), **kwargs)


def test_due_integrations(profile, memory_keyring, connector):
    now = utcnow()
    never_run = make(connector, "Never run")
    assert never_run.next_sync_at is not None and never_run.next_sync_at <= utcnow()
    late = make(connector, "Late")
    Integration.update(next_sync_at=now - timedelta(minutes=1)).where(
        Integration.id == late.id).execute()
    later = make(connector, "Later")
    Integration.update(next_sync_at=now + timedelta(minutes=1)).where(
        Integration.id == later.id).execute()
    make(connector, "Off", active=False)
    make(connector, "Manual", schedule_minutes=None)
    unscheduled = make(connector, "No time yet")
    Integration.update(next_sync_at=None).where(Integration.id == unscheduled.id).execute()
    due = [i.name for i in due_integrations(now + timedelta(seconds=1))]
    assert due == ["No time yet", "Late", "Never run"]  # never scheduled first, then by time
    assert {i.name for i in due_integrations(now + timedelta(minutes=2))} == {
        "No time yet", "Late", "Never run", "Later"}


def test_switching_an_integration_off_takes_it_out_of_the_schedule(profile, memory_keyring,
                                                                   connector):
    integration = make(connector, "Main")
    update_integration(integration, connector, active=False)
    assert due_integrations(utcnow() + timedelta(days=1)) == []
    update_integration(integration, connector, active=True)
    assert [i.name for i in due_integrations(utcnow() + timedelta(seconds=1))] == ["Main"]


def test_a_tick_runs_every_due_integration_and_reschedules_it(profile, memory_keyring,
                                                              connector):
    first, second = make(connector, "First"), make(connector, "Second")
    finished: list[RunResult] = []
    started: list[tuple[int, str]] = []
    scheduler = Scheduler(lambda integration: connector, on_finished=finished.append,
                          on_started=lambda i, t: started.append((i, t)),
                          options=EngineOptions(lease_seconds=5))
    try:
        assert sorted(scheduler.tick(utcnow() + timedelta(seconds=1))) == [first.id, second.id]
        assert scheduler.wait_idle(10)
    finally:
        scheduler.stop()
    assert sorted(r.integration_name for r in finished) == ["First", "Second"]
    assert all(r.trigger == "scheduled" and r.status == "succeeded" for r in finished)
    assert sorted(started) == [(first.id, "scheduled"), (second.id, "scheduled")]
    assert due_integrations(utcnow() + timedelta(minutes=9)) == []


def test_one_worker_per_integration_and_requests_meanwhile_are_merged(profile, memory_keyring):
    release = threading.Event()
    entered = threading.Event()

    def slow(ctx: SyncContext) -> None:
        entered.set()
        release.wait(10)

    connector = ScriptedConnector([("slow", slow)])
    integration = make(connector, "Main")
    finished: list[RunResult] = []
    scheduler = Scheduler(lambda i: connector, on_finished=finished.append,
                          options=EngineOptions(lease_seconds=5))
    try:
        assert scheduler.request_run(integration) is True
        assert entered.wait(5)
        assert scheduler.is_running(integration)
        assert scheduler.tick(utcnow() + timedelta(days=1)) == []  # already running here
        assert scheduler.request_run(integration) is False  # queued after the current run
        assert scheduler.request_run(integration.id) is False  # merged with the first
        release.set()
        deadline = threading.Event()
        for _ in range(100):
            if len(finished) == 2 and not scheduler.running_ids():
                break
            deadline.wait(0.05)
    finally:
        scheduler.stop()
    assert [r.trigger for r in finished] == ["manual", "manual"]
    assert SyncRun.select().count() == 2


def test_cancel_stops_a_run_under_way(profile, memory_keyring):
    entered = threading.Event()

    def long(ctx: SyncContext) -> None:
        entered.set()
        for _ in range(500):
            ctx.check_cancel()
            threading.Event().wait(0.01)

    connector = ScriptedConnector([("long", long)])
    integration = make(connector, "Main")
    finished: list[RunResult] = []
    scheduler = Scheduler(lambda i: connector, on_finished=finished.append,
                          options=EngineOptions(lease_seconds=5))
    try:
        scheduler.request_run(integration)
        assert entered.wait(5)
        assert scheduler.cancel(integration) is True
        assert scheduler.wait_idle(5)
    finally:
        scheduler.stop()
    assert finished[0].status == "cancelled"


def test_a_run_held_by_another_process_is_reported_for_manual_requests(profile, memory_keyring,
                                                                       connector):
    from core.sync import lock

    integration = make(connector, "Main")
    held = lock.try_acquire(integration.id, ttl=60, holder="otherhost:1:MainThread")
    assert held is not None
    failed: list[tuple[int, str]] = []
    scheduler = Scheduler(lambda i: connector, on_failed=lambda i, m: failed.append((i, m)),
                          options=EngineOptions(lease_seconds=5))
    try:
        scheduler.tick(utcnow() + timedelta(seconds=1))
        scheduler.wait_idle(5)
        assert failed == []  # a scheduled run just skips
        scheduler.request_run(integration)
        scheduler.wait_idle(5)
    finally:
        scheduler.stop()
        held.release()
    assert failed and "already synchronising" in failed[0][1] and "otherhost" in failed[0][1]


def test_an_unknown_connector_is_reported_and_not_retried_every_tick(profile, memory_keyring,
                                                                     connector):
    integration = make(connector, "Main")

    def lookup(integration: Integration) -> ScriptedConnector:
        raise LookupError("Unknown integration type 'scripted'.")

    failed: list[tuple[int, str]] = []
    scheduler = Scheduler(lookup, on_failed=lambda i, m: failed.append((i, m)))
    try:
        scheduler.tick(utcnow() + timedelta(seconds=1))
        scheduler.wait_idle(5)
    finally:
        scheduler.stop()
    assert failed == [(integration.id, "Unknown integration type 'scripted'.")]
    assert Integration.get_by_id(integration.id).next_sync_at > utcnow() + timedelta(minutes=9)


def test_the_background_loop_starts_and_stops(profile, memory_keyring, connector):
    make(connector, "Main")
    done = threading.Event()
    scheduler = Scheduler(lambda i: connector, tick_seconds=0.05,
                          on_finished=lambda result: done.set(),
                          options=EngineOptions(lease_seconds=5))
    scheduler.start()
    try:
        assert done.wait(10)
    finally:
        scheduler.stop()
