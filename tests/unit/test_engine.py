"""The sync engine: steps, watermarks, the error taxonomy, cancel, and the lease lock."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest

from connectors.base import (
    ConfigurationError,
    FatalError,
    ItemError,
    RateLimited,
    SyncStep,
    TransientError,
)
from connectors.dotmailer import DotmailerConnector
from connectors.ines import InesConnector
from core.clock import utcnow
from core.integrations import create_integration
from core.models.sync import HistoryEvent, Integration, QueueItem, SyncRun, Watermark
from core.sync import lock
from core.sync.context import Progress, SyncContext
from core.sync.lock import AlreadyRunning
from core.sync.queue import RetryPolicy
from core.sync.runner import EngineOptions, describe_counts, run_sync, summarize
from core.text import noun, plural
from tests.helpers.fake_service import ScriptedConnector

OPTIONS = EngineOptions(lease_seconds=5, retry_policy=RetryPolicy(base=timedelta(0)))
PASSWORD = "Passw0rd-for-engine-tests"


@pytest.fixture
def integration(profile, memory_keyring) -> Integration:
    return create_integration(ScriptedConnector(), "Main",
                              {"username": "admin", "password": PASSWORD})


def counting(key: str, n: int = 1):
    def step(ctx: SyncContext) -> None:
        ctx.count(key, n)

    return step


def raising(exc: Exception):
    def step(ctx: SyncContext) -> None:
        raise exc

    return step


def watermarks(integration: Integration) -> dict[str, object]:
    return {w.step: w.value for w in Watermark.select().where(Watermark.integration == integration)}


# -- a run -------------------------------------------------------------------------------------------

def test_steps_run_in_order_with_a_context_and_a_run_record(integration):
    seen: list[tuple[str, dict[str, str], str]] = []

    def record(name: str):
        def step(ctx: SyncContext) -> None:
            seen.append((ctx.step, ctx.secrets, ctx.trigger))
            ctx.count("read", 2)

        return (name, step)

    connector = ScriptedConnector([record("lists"), record("contacts")])
    result = run_sync(integration, connector, trigger="headless", options=OPTIONS)
    assert [s[0] for s in seen] == ["lists", "contacts"]
    assert seen[0][1] == {"password": PASSWORD} and seen[0][2] == "headless"
    assert result.status == "succeeded" and result.ok
    assert [s.name for s in result.steps] == ["lists", "contacts", "queue"]
    run = SyncRun.get_by_id(result.run_id)
    assert run.trigger == "headless" and run.status == "succeeded"
    assert run.ended_at >= run.started_at
    assert run.counts == {"lists": {"read": 2}, "contacts": {"read": 2}}
    assert result.message == "Lists: 2 read; Contacts: 2 read."  # the steps' labels
    fresh = Integration.get_by_id(integration.id)
    assert fresh.last_status == "succeeded" and fresh.last_result == result.message
    assert fresh.last_sync_at == result.ended_at
    assert fresh.next_sync_at == result.ended_at + timedelta(minutes=10)
    assert fresh.lock_token is None


def test_a_run_asked_for_during_a_run_is_not_pushed_back_to_the_schedule(integration):
    """A contact saved while a run goes on asks for a run now; the end of the run keeps that."""

    def a_record_changes(ctx: SyncContext) -> None:
        Integration.update(next_sync_at=ctx.run_started_at + timedelta(seconds=1)).where(
            Integration.id == ctx.integration.id).execute()

    result = run_sync(integration, ScriptedConnector([("work", a_record_changes)]),
                      options=OPTIONS)
    fresh = Integration.get_by_id(integration.id)
    assert fresh.next_sync_at == result.started_at + timedelta(seconds=1)
    assert fresh.next_sync_at < result.ended_at + timedelta(minutes=10)


def test_a_watermark_moves_to_the_run_start_only_when_its_step_finishes(integration):
    connector = ScriptedConnector([("first", counting("ok")), ("second", counting("ok"))])
    first = run_sync(integration, connector, options=OPTIONS)
    assert watermarks(integration) == {"first": first.started_at, "second": first.started_at,
                                       "queue": first.started_at}
    connector.step_functions = [("first", counting("ok")),
                                ("second", raising(TransientError("Service down.")))]
    second = run_sync(integration, connector, options=OPTIONS)
    marks = watermarks(integration)
    assert marks["first"] == second.started_at
    assert marks["second"] == first.started_at


def test_the_context_hands_the_last_watermark_to_a_step(integration):
    seen = []
    connector = ScriptedConnector([("contacts", lambda ctx: seen.append(ctx.watermark()))])
    first = run_sync(integration, connector, options=OPTIONS)
    run_sync(integration, connector, options=OPTIONS)
    assert seen == [None, first.started_at]


def test_progress_is_reported_per_step(integration):
    progress: list[Progress] = []

    def step(ctx: SyncContext) -> None:
        ctx.progress(1, 2, "half")

    run_sync(integration, ScriptedConnector([("contacts", step)]), on_progress=progress.append,
             options=OPTIONS)
    assert (progress[0].step, progress[0].done, progress[0].text) == ("contacts", 0, "Contacts")
    assert (progress[1].done, progress[1].total) == (1, 2)
    assert {p.step for p in progress} == {"contacts", "queue"}


# -- the error taxonomy ------------------------------------------------------------------------------

def test_a_configuration_error_stops_the_run_with_the_admin_message(integration):
    later = []
    connector = ScriptedConnector([
        ("login", raising(ConfigurationError("The password was refused.", "HTTP 401"))),
        ("contacts", lambda ctx: later.append(1))])
    result = run_sync(integration, connector, options=OPTIONS)
    assert result.status == "failed" and result.error_kind == "configuration"
    assert result.message == "The password was refused."
    assert later == []
    assert SyncRun.get_by_id(result.run_id).error == "The password was refused."
    fresh = Integration.get_by_id(integration.id)
    assert fresh.last_status == "failed" and fresh.last_result == "The password was refused."


@pytest.mark.parametrize("error", [TransientError("The service timed out."),
                                   RateLimited("Slow down.", retry_after=120)])
def test_transient_errors_end_the_run_as_retry_later(integration, error):
    result = run_sync(integration, ScriptedConnector([("contacts", raising(error))]),
                      options=OPTIONS)
    assert result.status == "retrying" and not result.ok
    assert result.message == error.admin_message
    fresh = Integration.get_by_id(integration.id)
    assert fresh.next_sync_at < result.ended_at + timedelta(minutes=10)  # sooner than scheduled
    if isinstance(error, RateLimited):
        assert fresh.next_sync_at == result.ended_at + timedelta(seconds=120)


def test_an_item_error_escaping_a_step_queues_the_record_and_the_run_goes_on(integration):
    later = []
    connector = ScriptedConnector([
        ("export", raising(ItemError("The address is refused.", record_id=7, email="a@b.example"))),
        ("import", lambda ctx: later.append(1))])
    # The default retry policy: the queued record is not due again within this run.
    result = run_sync(integration, connector, options=EngineOptions(lease_seconds=5))
    assert later == [1]
    assert result.status == "partial" and result.ok
    item = QueueItem.get(QueueItem.record_id == 7)
    assert (item.action, item.email, item.attempts, item.last_error) == (
        "export", "a@b.example", 1, "The address is refused.")
    assert "export" not in watermarks(integration)


def test_an_item_a_step_queued_waits_as_the_runs_retry_policy_says(integration):
    """The next try of a record a step queued follows the run's policy (here 10 minutes), not
    the default one (a minute): the Journal's "next try" and the runs that follow agree."""
    def export(ctx: SyncContext) -> None:
        ctx.queue_failed(ItemError("Rejected.", record_id=3, email="c@d.example"),
                         action="upsert")

    slow = EngineOptions(lease_seconds=5, retry_policy=RetryPolicy(base=timedelta(minutes=10)))
    connector = ScriptedConnector([("export", export)])
    before = utcnow()
    assert run_sync(integration, connector, options=slow).status == "partial"
    item = QueueItem.get(QueueItem.record_id == 3)
    assert (item.state, item.attempts) == ("retrying", 1)
    assert before + timedelta(minutes=10) <= item.next_attempt_at <= utcnow() + timedelta(
        minutes=10)
    assert connector.processed == []  # not due in this run's queue step


def test_a_step_can_queue_a_failed_item_itself_and_go_on(integration):
    def export(ctx: SyncContext) -> None:
        ctx.queue_failed(ItemError("Rejected.", record_id=3, email="c@d.example"), action="upsert")
        ctx.count("sent", 4)

    result = run_sync(integration, ScriptedConnector([("export", export)]), options=OPTIONS)
    assert result.status == "partial"
    assert result.counts["export"] == {"queued": 1, "sent": 4}
    assert "export" in watermarks(integration)  # the step finished: the queue has the rest
    assert HistoryEvent.get(HistoryEvent.record_id == 3).level == "warning"


def test_anything_else_is_fatal_and_its_trace_is_logged_redacted(integration, caplog):
    logging.getLogger("listbridge").propagate = True
    connector = ScriptedConnector([
        ("contacts", raising(KeyError(f"token={PASSWORD}"))), ("after", counting("x"))])
    with caplog.at_level(logging.ERROR, logger="listbridge.sync"):
        result = run_sync(integration, connector, options=OPTIONS)
    assert result.status == "failed" and result.error_kind == "fatal"
    assert "KeyError" in result.message and "log" in result.message
    assert PASSWORD not in result.message
    assert "after" not in [s.name for s in result.steps]
    assert any(r.exc_info for r in caplog.records)


def test_a_fatal_error_from_a_connector_keeps_its_message(integration):
    result = run_sync(integration, ScriptedConnector([("x", raising(FatalError("Odd answer.")))]),
                      options=OPTIONS)
    assert result.status == "failed" and result.message.startswith("Odd answer.")


def test_cancel_stops_at_the_next_check(integration):
    cancel = threading.Event()
    reached = []

    def long_step(ctx: SyncContext) -> None:
        for n in range(100):
            if n == 3:
                cancel.set()
            ctx.check_cancel()
            reached.append(n)

    result = run_sync(integration, ScriptedConnector([("contacts", long_step),
                                                      ("after", counting("x"))]),
                      cancel_event=cancel, options=OPTIONS)
    assert reached == [0, 1, 2]
    assert result.status == "cancelled" and result.error_kind == "cancelled"
    assert "contacts" not in watermarks(integration)


def test_secrets_that_cannot_be_read_fail_the_run_plainly(integration):
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    result = run_sync(integration, ScriptedConnector([("x", counting("y"))]), options=OPTIONS)
    assert result.status == "failed" and "keyring" in result.message


def test_a_client_is_made_once_and_closed(integration):
    events = []

    class Client:
        def close(self) -> None:
            events.append("closed")

    connector = ScriptedConnector([("a", lambda ctx: events.append(type(ctx.client).__name__))])
    connector.make_client = lambda ctx: Client()  # type: ignore[attr-defined]
    run_sync(integration, connector, options=OPTIONS)
    assert events == ["Client", "closed"]


def test_summarize_leaves_zero_counts_out():
    assert summarize({"contacts": {"created": 3, "updated": 0}, "queue": {"sent": 1}}) == \
        "Contacts: 3 created; Send queued changes: 1 sent."
    assert summarize({}) == ""


def test_summarize_uses_the_steps_labels_and_readable_counts():
    labels = {"address_books": "Address books", "export_prepare": "Preparing contacts",
              "export_contacts": "Exporting contacts"}
    counts = {"export_contacts": {"sent": 292, "retrying": 2},
              "export_prepare": {"to_new": 100, "to_update": 3},
              "address_books": {"books": 3}, "queue": {"sent": 1}}
    assert summarize(counts, labels, DotmailerConnector.count_labels) == (
        "Address books: 3 books; Preparing contacts: 100 new, 3 to update; "
        "Exporting contacts: 292 sent, 2 to retry; Send queued changes: 1 sent.")


def test_one_of_a_count_reads_in_the_singular():
    counts = {"campaigns": {"campaigns": 1}, "summaries": {"summaries": 1},
              "address_books": {"books": 1, "books_unlinked": 1, "datafields": 1},
              "activities": {"activities": 1, "contacts_read": 1, "of_updates": 1,
                             "of_deletes": 1, "faults": 1},
              "queue": {"sent": 1, "retrying": 1}}
    words = {**DotmailerConnector.count_labels, **InesConnector.count_labels}
    assert summarize(counts, words=words) == (
        "Campaigns: 1 campaign; Summaries: 1 summary; "
        "Address books: 1 book, 1 book unlinked, 1 data field; "
        "Activities: 1 activity, 1 contact read, 1 update due, 1 deletion due, 1 fault; "
        "Send queued changes: 1 sent, 1 to retry.")
    assert describe_counts({"campaigns": 2, "summaries": 3, "activities": 0}, words) == (
        "2 campaigns, 3 summaries")
    # Without the connector's words, a count reads as its name: the engine has no table of them.
    assert summarize({"address_books": {"books": 1}}) == "Address books: 1 books."


def test_plural_takes_the_words_it_is_given():
    assert plural(1, "campaign") == "1 campaign"
    assert plural(0, "campaign") == "0 campaigns"
    assert plural(1, "summary", "summaries") == "1 summary"
    assert plural(2, "summary", "summaries") == "2 summaries"
    assert plural(1200, "row") == "1,200 rows"
    assert plural(1200, "row", thousands=False) == "1200 rows"
    assert noun(1, "company", "companies") == "company" and noun(5, "row") == "rows"


def test_the_last_result_reads_in_the_admins_words(integration):
    def export(ctx: SyncContext) -> None:
        ctx.count("contacts_read", 12)
        ctx.count("to_new", 4)

    connector = ScriptedConnector([("export_prepare", export)])
    connector.steps = lambda integration: [  # type: ignore[method-assign]
        SyncStep("export_prepare", "Preparing contacts for export", export)]
    connector.count_labels = {"to_new": "new"}  # the connector's words, not the engine's
    result = run_sync(integration, connector, options=OPTIONS)
    assert result.message == "Preparing contacts for export: 12 contacts read, 4 new."
    assert Integration.get_by_id(integration.id).last_result == result.message
    assert SyncRun.get_by_id(result.run_id).counts == {  # machine-readable: internal names
        "export_prepare": {"contacts_read": 12, "to_new": 4}}


# -- one run at a time -------------------------------------------------------------------------------

def test_a_second_request_gets_already_running_or_waits(integration):
    started, release = threading.Event(), threading.Event()

    def slow(ctx: SyncContext) -> None:
        started.set()
        release.wait(10)

    connector = ScriptedConnector([("slow", slow)])
    worker = threading.Thread(target=run_sync, args=(integration, connector),
                              kwargs={"options": OPTIONS})
    worker.start()
    assert started.wait(5)
    with pytest.raises(AlreadyRunning) as caught:
        run_sync(integration, connector, options=OPTIONS)
    assert "already synchronising" in caught.value.admin_message
    with pytest.raises(AlreadyRunning):  # waited, but not long enough
        run_sync(integration, connector,
                 options=EngineOptions(lease_seconds=5, wait=True, wait_timeout=0.3))
    threading.Timer(0.3, release.set).start()
    quick = ScriptedConnector([("quick", counting("x"))])
    result = run_sync(integration, quick, options=OPTIONS, wait=True)
    worker.join(5)
    assert result.status == "succeeded"
    runs = list(SyncRun.select().order_by(SyncRun.started_at))
    assert runs[0].ended_at <= runs[1].started_at


def test_the_lease_is_exclusive_and_only_its_owner_releases_it(integration):
    first = lock.try_acquire(integration.id, ttl=60)
    assert first is not None
    assert lock.try_acquire(integration.id, ttl=60) is None
    assert lock.lock_holder(integration) == first.holder
    stranger = lock.Lease(integration.id, "not-the-token", "x", 60)
    stranger.release()
    assert lock.try_acquire(integration.id) is None
    assert stranger.renew() is False
    first.release()
    second = lock.try_acquire(integration.id)
    assert second is not None
    second.release()
    assert lock.lock_holder(integration) is None


def test_an_expired_lease_is_taken_over_and_its_holder_learns_it_lost(integration):
    first = lock.try_acquire(integration.id, ttl=60, holder="otherhost:1:Main")
    assert first is not None
    Integration.update(lock_expires_at=utcnow() - timedelta(seconds=1)).execute()
    second = lock.try_acquire(integration.id, ttl=60)
    assert second is not None
    assert first.renew() is False and first.lost.is_set()
    second.release()


def test_a_lease_held_by_a_dead_process_here_is_taken_over_at_once(integration):
    import socket
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = lock.try_acquire(integration.id, ttl=600,
                            holder=f"{socket.gethostname()}:{child.pid}:MainThread")
    assert dead is not None
    taken = lock.try_acquire(integration.id, ttl=600)
    assert taken is not None
    taken.release()


def test_a_lease_held_elsewhere_waits_for_its_expiry(integration):
    held = lock.try_acquire(integration.id, ttl=0.3, holder="otherhost:4242:MainThread")
    assert held is not None
    assert lock.try_acquire(integration.id) is None
    time.sleep(0.35)
    assert lock.try_acquire(integration.id) is not None


def test_a_running_lease_is_renewed_so_it_does_not_expire(integration):
    lease = lock.try_acquire(integration.id, ttl=0.6)
    assert lease is not None
    lease.keep_alive(interval=0.1)
    time.sleep(1.0)
    assert lock.try_acquire(integration.id) is None
    lease.release()
    assert lock.try_acquire(integration.id) is not None


def test_a_run_that_loses_its_lease_stops_as_interrupted(integration):
    def steal(ctx: SyncContext) -> None:
        Integration.update(lock_token="someone-else").execute()
        for _ in range(100):
            ctx.check_cancel()
            time.sleep(0.02)

    result = run_sync(integration, ScriptedConnector([("long", steal)]),
                      options=EngineOptions(lease_seconds=0.3))
    assert result.status == "interrupted"
    assert Integration.get_by_id(integration.id).lock_token == "someone-else"


def test_runs_left_running_by_a_dead_process_are_marked_interrupted(integration):
    stale = SyncRun.create(integration=integration, trigger="scheduled", status="running")
    run_sync(integration, ScriptedConnector(), options=OPTIONS)
    stale = SyncRun.get_by_id(stale.id)
    assert stale.status == "interrupted" and stale.ended_at is not None and stale.error


def test_ctx_sleep_returns_early_with_cancelled_when_cancel_is_pressed(integration):
    from core.sync.errors import Cancelled

    run = SyncRun.create(integration=integration, trigger="manual", started_at=utcnow(),
                         status="running")
    ctx = SyncContext(integration=integration, run=run, secrets={})
    started = time.monotonic()
    ctx.sleep(0.05)  # a plain wait when nobody cancels
    assert time.monotonic() - started >= 0.05
    threading.Timer(0.1, ctx.cancel_event.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        ctx.sleep(30)
    assert time.monotonic() - started < 5


def test_check_result_names_a_tls_failure_apart():
    from connectors.base import CheckResult, ConfigurationError, TlsError, TransientError

    tls = CheckResult.failed(TlsError("The certificate could not be verified."))
    assert (tls.ok, tls.kind, tls.is_tls) == (False, "tls", True)
    assert tls.message == "The certificate could not be verified."
    assert CheckResult.failed(ConfigurationError("Refused.")).kind == "configuration"
    assert CheckResult.failed(TransientError("Down.")).kind == "transient"
    assert CheckResult.failed(ValueError("odd")).kind == "fatal"
