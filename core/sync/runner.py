"""Running one sync of one integration: the lock, the run record, the steps, the queue, the end.

``run_sync(integration, connector)`` is the only entry point; the GUI calls it on a worker thread
(through ``core.sync.scheduler.Scheduler`` or its own job), the command line in its main thread.

1. Take the integration's lease (``core.sync.lock``): ``AlreadyRunning`` is raised at once, or
   after waiting when ``wait=True``. The lease is renewed while the run lasts; losing it cancels.
2. Runs left ``running`` by a dead process become ``interrupted``; a ``SyncRun`` is opened.
3. Secrets are read from the keyring; ``connector.make_client(ctx)`` fills ``ctx.client`` (closed at the end if it has ``close()``).
4. The connector's steps run in order, then the queue step (``core.sync.attempts.send_queue``),
   unless the connector placed a step named ``queue`` itself. A step that finishes saves its
   watermark as the run's start time; a step that does not, keeps the old one.
5. What an error does depends on its kind: configuration stops the run (failed, with the admin's
   message); transient or rate-limited stops it as ``retrying`` (next run soon); an ``ItemError``
   escaping a step queues that record and the run goes on with the next step (``partial``);
   a cancel ends it ``cancelled``; anything else is a bug: the run fails and the trace is logged
   (redacted by the log filter).
6. The run and the integration (``last_sync_at``, ``next_sync_at``, ``last_status``,
   ``last_result``) are updated, the lease released, and a ``RunResult`` returned.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.clock import utcnow
from core.integrations import read_secrets
from core.models.sync import Integration, QueueItem, SyncRun, Watermark
from core.sync import queue, requests
from core.sync.attempts import send_queue
from core.sync.contract import Connector, CountWords, ProgressCallback, SyncContext, SyncStep
from core.sync.errors import ItemError, admin_message_for, error_kind, retry_after_of
from core.sync.lock import LEASE_SECONDS, AlreadyRunning, Lease, acquire
from core.text import noun

log = logging.getLogger("listbridge.sync")

__all__ = ["AlreadyRunning", "EngineOptions", "RunResult", "StepResult", "describe_counts",
           "run_sync", "step_label", "summarize"]

SUCCEEDED, PARTIAL, FAILED, RETRYING, CANCELLED, INTERRUPTED = (
    "succeeded", "partial", "failed", "retrying", "cancelled", "interrupted")
RUN_STATUS_LABELS = {
    "running": "Running", SUCCEEDED: "Succeeded", PARTIAL: "Succeeded with errors",
    FAILED: "Failed", RETRYING: "Will retry", CANCELLED: "Cancelled", INTERRUPTED: "Interrupted",
}
_STOP_STATUS = {"configuration": FAILED, "fatal": FAILED, "transient": RETRYING,
                "rate_limited": RETRYING, "cancelled": CANCELLED}


@dataclass(frozen=True)
class EngineOptions:
    """How runs behave; the defaults suit the app, tests shorten the waits."""

    lease_seconds: float = LEASE_SECONDS
    wait: bool = False  # wait for a running sync to end instead of raising AlreadyRunning
    wait_timeout: float | None = None
    retry_policy: queue.RetryPolicy = queue.DEFAULT_POLICY
    max_queue_items: int | None = None  # per run; None: every due row
    retry_later: timedelta = timedelta(minutes=5)  # next try after a transient failure
    keep_done: timedelta = timedelta(days=90)  # done and skipped queue rows older are pruned


@dataclass(frozen=True)
class StepResult:
    name: str
    label: str
    status: str  # succeeded, partial, failed, retrying, cancelled, interrupted, skipped
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""


@dataclass(frozen=True)
class RunResult:
    integration_id: int
    integration_name: str
    run_id: int
    trigger: str
    status: str
    started_at: datetime
    ended_at: datetime
    steps: tuple[StepResult, ...] = ()
    message: str = ""  # the admin's sentence: the error, or a summary of the counts
    error_kind: str = ""  # configuration, transient, rate_limited, fatal, cancelled, or ""

    @property
    def ok(self) -> bool:
        return self.status in (SUCCEEDED, PARTIAL)

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        return {s.name: dict(s.counts) for s in self.steps if s.counts}


def run_sync(integration: Integration | int, connector: Connector, *, trigger: str = "manual",
             on_progress: ProgressCallback | None = None,
             cancel_event: threading.Event | None = None,
             options: EngineOptions | None = None, wait: bool | None = None) -> RunResult:
    """Run the connector's sync for one integration under its lock; see the module's docstring.

    Raises ``AlreadyRunning`` when another run holds the lock (after ``wait_timeout`` with
    ``wait``); every other problem ends up in the returned ``RunResult``.
    """
    options = options or EngineOptions()
    if isinstance(integration, int):
        integration = Integration.get_by_id(integration)
    waiting = options.wait if wait is None else wait
    lease = acquire(integration, options.lease_seconds, wait=waiting,
                    timeout=options.wait_timeout)
    cancel = cancel_event or threading.Event()
    lease.keep_alive(on_lost=cancel.set)
    try:
        integration = Integration.get_by_id(integration.id)  # fresh, now that it is ours
        requests.answered(integration.id)  # what was asked before now, this run sends
        _close_dead_runs(integration)
        return _Run(integration, connector, trigger, on_progress, cancel, lease, options).go()
    finally:
        lease.release()


def _close_dead_runs(integration: Integration) -> None:
    """Runs still ``running`` while we hold the lock belong to a process that died."""
    (SyncRun.update(status=INTERRUPTED, ended_at=utcnow(),
                    error="The run stopped unexpectedly (the program was closed or crashed); "
                          "the next run carried on from where it stopped.")
     .where(SyncRun.integration == integration, SyncRun.status == "running").execute())


class _Run:
    def __init__(self, integration: Integration, connector: Connector, trigger: str,
                 on_progress: ProgressCallback | None, cancel: threading.Event, lease: Lease,
                 options: EngineOptions) -> None:
        self.integration = integration
        self.connector = connector
        self.lease = lease
        self.options = options
        started = utcnow()
        self.run = SyncRun.create(integration=integration, trigger=trigger, started_at=started,
                                  status="running", holder=lease.holder)
        self.ctx = SyncContext(integration=integration, run=self.run, secrets={},
                               run_started_at=started, on_progress=on_progress,
                               cancel_event=cancel, trigger=trigger, connector=connector)
        self.ctx.in_doubt = {item.id for item in queue.in_doubt(integration)}
        self.ctx.cache["queue.policy"] = options.retry_policy
        self.ctx.cache["queue.limit"] = options.max_queue_items
        self.steps: list[StepResult] = []
        self.status = SUCCEEDED
        self.message = ""
        self.kind = ""
        self.retry_after: float | None = None

    def go(self) -> RunResult:
        clock = time.monotonic()
        log.info("Sync of %s started (%s)", self.integration.name, self.run.trigger)
        try:
            self._prepare()
            for step in self._steps():
                if not self._run_step(step):
                    break
        except Exception as exc:  # reading secrets or making the client failed
            self._stop(exc, step_name="start")
        finally:
            self._close_client()
        result = self._finish()
        log.info("Sync of %s ended: %s in %.1f s. %s", self.integration.name, result.status,
                 time.monotonic() - clock, result.message)
        return result

    # -- before the steps --------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.ctx.secrets = read_secrets(self.integration)
        self.ctx.client = self.connector.make_client(self.ctx)

    def _steps(self) -> list[SyncStep]:
        steps = list(self.connector.steps(self.integration))
        if not any(step.name == queue.QUEUE_STEP for step in steps):
            steps.append(SyncStep(queue.QUEUE_STEP, queue.QUEUE_STEP_LABEL, send_queue))
        return steps

    def _close_client(self) -> None:
        close = getattr(self.ctx.client, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                log.warning("Closing the client of %s failed", self.integration.name,
                            exc_info=True)

    # -- one step ------------------------------------------------------------------------------------

    def _run_step(self, step: SyncStep) -> bool:
        """Run a step; False when the run must stop."""
        ctx = self.ctx
        ctx.step, ctx.step_label = step.name, step.label
        ctx.progress(0, None, step.label)
        try:
            ctx.check_cancel()
            run = send_queue if step.name == queue.QUEUE_STEP else step.run
            run(ctx)
        except Exception as exc:
            if isinstance(exc, ItemError):
                self._queue_escaped_item(step, exc)
                self._record_step(step, PARTIAL, admin_message_for(exc))
                self.status = PARTIAL
                return True
            status = self._stop(exc, step.name)
            self._record_step(step, status, self.message)
            return False
        self._save_watermark(step.name)
        counts = ctx.counts.get(step.name, {})
        partial = any(counts.get(k) for k in ("failed", "retrying", "queued"))
        if partial and self.status == SUCCEEDED:
            self.status = PARTIAL
        self._record_step(step, PARTIAL if partial else SUCCEEDED)
        return True

    def _queue_escaped_item(self, step: SyncStep, exc: ItemError) -> None:
        log.warning("[%s] %s: %s", self.integration.name, step.name, exc)
        self.ctx.queue_failed(exc, action=step.name)

    def _stop(self, exc: Exception, step_name: str) -> str:
        kind = error_kind(exc)
        if kind == "cancelled" and self.lease.lost.is_set():
            status = INTERRUPTED
            self.message = ("The run lost its lock (the computer may have been asleep) and "
                            "stopped; the next run carries on.")
        else:
            status = _STOP_STATUS.get(kind, FAILED)
            self.message = ("Cancelled; the next run carries on from here."
                            if kind == "cancelled" else admin_message_for(exc))
        if kind == "fatal":
            log.error("Sync of %s failed in step %s", self.integration.name, step_name,
                      exc_info=exc)
        else:
            log.warning("Sync of %s stopped in step %s (%s): %s", self.integration.name,
                        step_name, kind, exc)
        self.status, self.kind = status, kind
        self.retry_after = retry_after_of(exc)
        return status

    def _record_step(self, step: SyncStep, status: str, message: str = "") -> None:
        self.steps.append(StepResult(step.name, step.label, status,
                                     dict(self.ctx.counts.get(step.name, {})), message))

    def _save_watermark(self, step: str) -> None:
        value = self.ctx.run_started_at
        rows = (Watermark.update(value=value, updated=utcnow())
                .where(Watermark.integration == self.integration, Watermark.step == step)
                .execute())
        if rows == 0:
            Watermark.create(integration=self.integration, step=step, value=value)

    # -- the end -------------------------------------------------------------------------------------

    def _finish(self) -> RunResult:
        ended = utcnow()
        if self.status in (SUCCEEDED, PARTIAL):
            labels = {step.name: step.label for step in self.steps}
            self.message = (summarize(self.ctx.counts, labels, self.connector.count_labels)
                            or "Nothing to do.")
            if self.ctx.warnings:
                self.message += " " + " ".join(self.ctx.warnings[:3])
        SyncRun.update(status=self.status, ended_at=ended,
                       counts_json=json.dumps(self.ctx.counts, sort_keys=True),
                       error="" if self.status in (SUCCEEDED, PARTIAL) else self.message,
                       ).where(SyncRun.id == self.run.id).execute()
        Integration.update(last_sync_at=ended, next_sync_at=self._next_sync(ended),
                           last_status=self.status, last_result=self.message[:2000]
                           ).where(Integration.id == self.integration.id).execute()
        queue.prune(self.integration, self.options.keep_done)
        return RunResult(self.integration.id, self.integration.name, self.run.id,
                         self.run.trigger, self.status, self.ctx.run_started_at, ended,
                         tuple(self.steps), self.message, self.kind)

    def _next_sync(self, ended: datetime) -> datetime | None:
        current = Integration.get_by_id(self.integration.id)
        minutes = current.schedule_minutes
        if not current.active or not minutes:
            return None
        scheduled = ended + timedelta(minutes=minutes)
        if self.status == RETRYING:
            soon = timedelta(seconds=self.retry_after) if self.retry_after else \
                self.options.retry_later
            scheduled = min(scheduled, ended + max(soon, timedelta(seconds=30)))
        asked = current.next_sync_at
        if asked is not None and self.ctx.run_started_at <= asked < scheduled:
            # A record changed during the run and asked for a run soon: keep that request.
            return asked
        return scheduled


# How the engine's own counts read (the queue's, and ``queued`` by ``ctx.queue_failed``); a
# connector's counts read as its ``count_labels`` say. A name listed nowhere reads with its
# underscores as spaces, whatever the count.
COUNT_WORDS: dict[str, CountWords] = {"retrying": "to retry"}


def count_words(key: str, n: int = 2, labels: Mapping[str, CountWords] | None = None) -> str:
    """How ``n`` of ``key`` read, in the connector's words (``labels``: its ``count_labels``)
    or the engine's: with ``{"books": ("book", "books")}``, one of it is "1 book"."""
    words = (labels or {}).get(key) or COUNT_WORDS.get(key) or key.replace("_", " ")
    if isinstance(words, str):
        return words
    return noun(n, *words)


def describe_counts(numbers: dict[str, int],
                    words: Mapping[str, CountWords] | None = None) -> str:
    """``3 created, 2 sent`` (zero counts left out; "" when nothing was counted); ``words``:
    the connector's ``count_labels``."""
    return ", ".join(f"{n} {count_words(key, n, words)}" for key, n in numbers.items() if n)


def step_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The step's label when known, else its name made readable (``export_prepare``: "Export
    prepare")."""
    if labels and labels.get(name):
        return labels[name]
    if name == queue.QUEUE_STEP:
        return queue.QUEUE_STEP_LABEL
    return name.replace("_", " ").capitalize()


def summarize(counts: dict[str, dict[str, int]], labels: Mapping[str, str] | None = None,
              words: Mapping[str, CountWords] | None = None) -> str:
    """``Address books: 3 books; Exporting contacts: 292 sent.`` (zero counts left out).

    ``counts`` is keyed by step name (as stored in ``SyncRun.counts_json``); ``labels`` gives the
    steps' labels (``SyncStep.label``), the admin's words, in the order the steps run;
    ``words`` how the connector's counts read (its ``count_labels``).
    """
    order = {name: position for position, name in enumerate(labels or {})}
    parts = []
    for step in sorted(counts, key=lambda name: order.get(name, len(order))):
        shown = describe_counts(counts[step], words)
        if shown:
            parts.append(f"{step_label(step, labels)}: {shown}")
    return "; ".join(parts) + ("." if parts else "")


def pending_count(integration: Integration) -> int:
    """How many rows the next run would offer (for the GUI's badge)."""
    return int(QueueItem.select().where(
        QueueItem.integration == integration,
        QueueItem.state.in_(queue.OPEN_STATES + (queue.SENDING,))).count())
