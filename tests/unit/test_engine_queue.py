"""The persistent queue, its processing by the engine, and the journal read from it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import ConfigurationError, ItemError, QueueOutcome, RateLimited, TransientError
from core.clock import utcnow
from core.integrations import create_integration
from core.models.sync import HistoryEvent, Integration, QueueItem
from core.sync import queue
from core.sync.journal import journal_rows, record_history, run_rows
from core.sync.queue import RetryPolicy, enqueue
from core.sync.runner import EngineOptions, run_sync
from tests.helpers.fake_service import ScriptedConnector

NOW_POLICY = RetryPolicy(base=timedelta(0))
OPTIONS = EngineOptions(lease_seconds=5, retry_policy=NOW_POLICY)


@pytest.fixture
def integration(profile, memory_keyring) -> Integration:
    return create_integration(ScriptedConnector(), "Main",
                              {"username": "admin", "password": "Passw0rd-queue"})


def fresh(item: QueueItem) -> QueueItem:
    return QueueItem.get_by_id(item.id)


# -- enqueueing --------------------------------------------------------------------------------------

def test_the_latest_action_on_a_record_replaces_its_open_row(integration):
    first = enqueue(integration, "update", record_id=1, email="a@x.example")
    enqueue(integration, "update", record_id=2, email="b@x.example")
    last = enqueue(integration, "delete", record_id=1, remote_ref="R1", email="a@x.example")
    rows = list(QueueItem.select().order_by(QueueItem.id))
    assert [(r.record_id, r.action) for r in rows] == [(2, "update"), (1, "delete")]
    assert QueueItem.get_or_none(QueueItem.id == first.id) is None
    assert last.state == "pending" and last.attempts == 0


def test_rows_no_longer_open_are_kept_when_a_record_is_queued_again(integration):
    done = enqueue(integration, "update", record_id=1)
    queue.begin_attempt(done)
    queue.finish(done)
    sending = enqueue(integration, "update", record_id=2)
    queue.begin_attempt(sending)
    enqueue(integration, "update", record_id=1)
    enqueue(integration, "update", record_id=2)
    assert fresh(done).state == "done" and fresh(sending).state == "sending"
    assert QueueItem.select().count() == 4


def test_rows_without_a_local_record_are_matched_by_remote_ref(integration):
    enqueue(integration, "delete", remote_ref="R9")
    enqueue(integration, "delete", remote_ref="R9")
    enqueue(integration, "delete", remote_ref="R10")
    assert QueueItem.select().count() == 2


def test_each_integration_has_its_own_queue(integration):
    other = create_integration(ScriptedConnector(), "Other",
                               {"username": "admin", "password": "Passw0rd-other"})
    enqueue(integration, "update", record_id=1)
    enqueue(other, "update", record_id=1)
    assert QueueItem.select().count() == 2


def test_failures_back_off_then_fail_after_max_attempts(integration):
    item = enqueue(integration, "update", record_id=1, max_attempts=3)
    now = utcnow()
    policy = RetryPolicy(base=timedelta(minutes=1), cap=timedelta(minutes=3))
    delays = []
    for _ in range(3):
        queue.begin_attempt(item)
        queue.fail_attempt(item, "Refused.", now=now, policy=policy)
        delays.append(item.next_attempt_at - now if item.next_attempt_at else None)
    assert delays == [timedelta(minutes=1), timedelta(minutes=2), None]
    assert fresh(item).state == "failed" and fresh(item).attempts == 3


def test_due_items_skip_rows_waiting_for_their_time_and_failed_rows(integration):
    now = utcnow()
    waiting = enqueue(integration, "update", record_id=1)
    queue.begin_attempt(waiting)
    queue.fail_attempt(waiting, "x", now=now, policy=RetryPolicy(base=timedelta(minutes=5)))
    failed = enqueue(integration, "update", record_id=2, max_attempts=1)
    queue.begin_attempt(failed)
    queue.fail_attempt(failed, "x")
    ready = enqueue(integration, "update", record_id=3)
    cut_off = enqueue(integration, "update", record_id=4)
    queue.begin_attempt(cut_off)
    assert [i.id for i in queue.due_items(integration, now)] == [cut_off.id, ready.id]
    later = now + timedelta(minutes=6)
    assert [i.id for i in queue.due_items(integration, later)] == [cut_off.id, waiting.id,
                                                                    ready.id]


def test_retry_brings_failed_rows_back_with_a_fresh_count(integration):
    items = [enqueue(integration, "update", record_id=n, max_attempts=1) for n in (1, 2)]
    for item in items:
        queue.begin_attempt(item)
        queue.fail_attempt(item, "Refused.")
    retried = queue.retry(items[0])
    assert (retried.state, retried.attempts, retried.last_error) == ("pending", 0, None)
    assert queue.retry_all_failed(integration) == 1
    assert queue.counts(integration) == {"pending": 2}


# -- processing in a run -----------------------------------------------------------------------------

def test_the_engine_sends_due_items_after_the_steps(integration):
    order = []
    connector = ScriptedConnector([("changes", lambda ctx: order.append("step"))],
                                  process=lambda ctx, item: order.append(item.record_id))
    for n in (1, 2, 3):
        enqueue(integration, "update", record_id=n, email=f"p{n}@x.example")
    result = run_sync(integration, connector, options=OPTIONS)
    assert order == ["step", 1, 2, 3]
    assert result.counts["queue"] == {"sent": 3}
    assert all(i.state == "done" and i.attempts == 1 for i in QueueItem.select())
    assert HistoryEvent.select().where(HistoryEvent.kind == "sent").count() == 3


def test_a_connector_can_place_the_queue_step_itself(integration):
    order = []
    connector = ScriptedConnector([("first", lambda ctx: order.append("first")),
                                   ("queue", None),
                                   ("last", lambda ctx: order.append("last"))],
                                  process=lambda ctx, item: order.append("item"))
    enqueue(integration, "update", record_id=1)
    run_sync(integration, connector, options=OPTIONS)
    assert order == ["first", "item", "last"]


def test_skipped_items_say_why(integration):
    connector = ScriptedConnector(process=lambda ctx, item: QueueOutcome("skipped", "No email."))
    item = enqueue(integration, "update", record_id=1)
    result = run_sync(integration, connector, options=OPTIONS)
    assert (fresh(item).state, fresh(item).last_error) == ("skipped", "No email.")
    assert result.counts["queue"] == {"skipped": 1}


def test_an_item_error_is_an_attempt_and_the_others_go_on(integration):
    def process(ctx, item):
        if item.record_id == 1:
            raise ItemError("The address is refused.")

    connector = ScriptedConnector(process=process)
    bad = enqueue(integration, "update", record_id=1)
    good = enqueue(integration, "update", record_id=2)
    result = run_sync(integration, connector, options=OPTIONS)
    assert result.status == "partial"
    assert (fresh(bad).state, fresh(bad).attempts, fresh(bad).last_error) == (
        "retrying", 1, "The address is refused.")
    assert fresh(good).state == "done"
    run_sync(integration, connector, options=OPTIONS)
    run_sync(integration, connector, options=OPTIONS)
    assert (fresh(bad).state, fresh(bad).attempts) == ("failed", 3)
    run_sync(integration, connector, options=OPTIONS)
    assert fresh(bad).attempts == 3 and connector.processed.count(bad.id) == 3


def test_a_transient_error_charges_the_item_and_stops_the_queue(integration):
    def process(ctx, item):
        raise TransientError("The service timed out.")

    connector = ScriptedConnector(process=process)
    first = enqueue(integration, "update", record_id=1)
    second = enqueue(integration, "update", record_id=2)
    result = run_sync(integration, connector, options=OPTIONS)
    assert result.status == "retrying"
    assert (fresh(first).state, fresh(first).attempts) == ("retrying", 1)
    assert (fresh(second).state, fresh(second).attempts) == ("pending", 0)


@pytest.mark.parametrize("error, status", [
    (RateLimited("Slow down.", retry_after=60), "retrying"),
    (ConfigurationError("The password was refused."), "failed"),
])
def test_errors_that_are_not_the_items_fault_give_the_attempt_back(integration, error, status):
    def process(ctx, item):
        raise error

    item = enqueue(integration, "update", record_id=1)
    result = run_sync(integration, ScriptedConnector(process=process), options=OPTIONS)
    assert result.status == status
    assert (fresh(item).state, fresh(item).attempts) == ("pending", 0)


def test_a_bug_on_an_item_charges_it_so_it_cannot_block_every_run(integration):
    def process(ctx, item):
        raise ValueError("bug")

    item = enqueue(integration, "update", record_id=1)
    for _ in range(3):
        result = run_sync(integration, ScriptedConnector(process=process), options=OPTIONS)
        assert result.status == "failed"
    assert fresh(item).state == "failed"
    assert run_sync(integration, ScriptedConnector(process=process), options=OPTIONS).ok


def test_cancel_gives_the_attempt_back(integration):
    def process(ctx, item):
        ctx.cancel_event.set()
        ctx.check_cancel()

    item = enqueue(integration, "update", record_id=1)
    result = run_sync(integration, ScriptedConnector(process=process), options=OPTIONS)
    assert result.status == "cancelled"
    assert (fresh(item).state, fresh(item).attempts) == ("pending", 0)


def test_an_item_cut_off_mid_send_is_offered_first_with_its_outcome_unknown(integration):
    seen = []
    cut_off = enqueue(integration, "update", record_id=1)
    queue.begin_attempt(cut_off)  # then the process died
    enqueue(integration, "update", record_id=2)
    connector = ScriptedConnector(
        process=lambda ctx, item: seen.append((item.record_id, ctx.outcome_unknown(item))))
    run_sync(integration, connector, options=OPTIONS)
    assert seen == [(1, True), (2, False)]
    assert (fresh(cut_off).state, fresh(cut_off).attempts) == ("done", 2)


def test_the_number_of_items_per_run_can_be_capped(integration):
    for n in range(5):
        enqueue(integration, "update", record_id=n)
    options = EngineOptions(lease_seconds=5, max_queue_items=2)
    result = run_sync(integration, ScriptedConnector(), options=options)
    assert result.counts["queue"] == {"sent": 2}
    assert queue.counts(integration) == {"done": 2, "pending": 3}


# -- the journal -------------------------------------------------------------------------------------

def test_the_journal_lists_the_latest_rows_per_integration_newest_first(integration):
    other = create_integration(ScriptedConnector(), "Other",
                               {"username": "admin", "password": "Passw0rd-other"})
    base = utcnow()
    for n in range(5):
        for target in (integration, other):
            item = enqueue(target, "update", record_id=n, email=f"p{n}@x.example")
            QueueItem.update(updated=base + timedelta(seconds=n)).where(
                QueueItem.id == item.id).execute()
    rows = journal_rows(limit=3)
    assert len(rows) == 6
    assert [r.updated for r in rows] == sorted((r.updated for r in rows), reverse=True)
    assert {r.integration for r in rows} == {"Main", "Other"}
    mine = journal_rows(integration, limit=200)
    assert [r.record_id for r in mine] == [4, 3, 2, 1, 0]
    assert [r.email for r in journal_rows(integration, email="P3@")] == ["p3@x.example"]
    assert journal_rows(integration, state="failed") == []
    assert mine[0].state_label == "Waiting" and mine[0].as_dict()["integration"] == "Main"
    with pytest.raises(ValueError):
        journal_rows(state="lost")


def test_the_journal_shows_errors_in_the_admins_words(integration):
    def process(ctx, item):
        raise ItemError("Dotmailer refused the address: it is suppressed.")

    enqueue(integration, "update", record_id=1, email="s@x.example")
    run_sync(integration, ScriptedConnector(process=process), options=OPTIONS)
    row = journal_rows(integration)[0]
    assert (row.state, row.attempts, row.last_error) == (
        "retrying", 1, "Dotmailer refused the address: it is suppressed.")
    runs = run_rows(integration)
    assert runs[0].status == "partial" and runs[0].status_label == "Succeeded with errors"


def test_a_records_history_gathers_events_and_queue_rows(integration):
    def process(ctx, item):
        raise ItemError("Refused.")

    enqueue(integration, "update", record_id=42, email="h@x.example", max_attempts=1)
    run_sync(integration, ScriptedConnector(process=process), options=OPTIONS)
    history = record_history("contact", 42)
    assert {h.kind for h in history} == {"failed", "queue"}
    queue_row = next(h for h in history if h.kind == "queue")
    assert queue_row.state == "failed" and "Refused." in queue_row.message
    assert "after 1 attempt." in queue_row.message  # not "1 attempt(s)"
    failed = next(h for h in history if h.kind == "failed")
    assert "Failed after 1 attempt;" in failed.message
    assert all(h.integration == "Main" for h in history)
    assert record_history("contact", 43) == []


def test_old_finished_rows_are_pruned_at_the_end_of_a_run(integration):
    old = enqueue(integration, "update", record_id=1)
    queue.finish(old)
    failed = enqueue(integration, "update", record_id=2, max_attempts=1)
    queue.begin_attempt(failed)
    queue.fail_attempt(failed, "x")
    QueueItem.update(updated=utcnow() - timedelta(days=91)).execute()
    recent = enqueue(integration, "update", record_id=3)
    run_sync(integration, ScriptedConnector(), options=OPTIONS)
    assert QueueItem.get_or_none(QueueItem.id == old.id) is None
    assert fresh(failed).state == "failed" and fresh(recent).state == "done"
