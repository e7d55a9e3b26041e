"""The engine's one attempt rule, and the queue step that applies it to ``QueueItem`` rows.

Every connector's record operations follow the same rule, whatever table keeps them (the
engine's ``QueueItem`` queue here; INES's ``ines_sync_log`` applies the same ``AttemptRule``):

- An attempt is charged *before* anything is sent, in a committed write (the row is marked as
  being sent), so that a crash can never make a row free to retry forever.
- A row found still marked as being sent when a run starts was cut off mid-send: it is *in
  doubt* (the service may or may not have it), and the connector checks before sending again.
- After the attempt, the error decides (``AttemptRule.judge``):
  * not the item's fault, so the attempt is given back and the sending stops: a cancel, a
    configuration error, a rate limit, a transient failure of a request that never reached the
    service (``TransientError.never_sent``), or what the connector calls run-wide;
  * an item error: charged, the run goes on;
  * a transient failure: charged; ``transient_streak`` of them in a row end the sending early
    (1, the default: at the first; INES: 3), before the service's bad moment burns the attempts
    of every row;
  * anything else (a bug): charged, so a record that trips a bug cannot block every run
    forever; the run stops unless the connector said otherwise (``bug_stops_run``).
- A row is FAILED once its charged attempts reach ``max_attempts`` (``AttemptRule.exhausted``);
  it then waits for the admin's Retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.models.sync import HistoryEvent, QueueItem
from core.sync import queue
from core.sync.contract import Connector, SyncContext
from core.sync.errors import (
    Cancelled,
    TransientError,
    admin_message_for,
    error_kind,
    retry_after_of,
)
from core.text import plural

DEFAULT_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Verdict:
    """What one failed attempt means for its row and for the run."""

    kind: str  # the error's kind (core.sync.errors.KINDS)
    message: str  # the admin's sentence
    give_back: bool  # True: the attempt is not the row's (its charge is undone)
    stop: bool  # True: stop sending in this run (re-raise the error)
    retry_after: float | None = None


class AttemptRule:
    """The rule for one run's sending; keeps the run's streak of transient failures."""

    def __init__(self, max_attempts: int = DEFAULT_MAX_ATTEMPTS, transient_streak: int = 1,
                 bug_stops_run: bool = True,
                 run_wide: Callable[[BaseException], bool] | None = None) -> None:
        self.max_attempts = max_attempts
        self.transient_streak = max(1, transient_streak)
        self.bug_stops_run = bug_stops_run
        self.run_wide = run_wide
        self.streak = 0

    @classmethod
    def of(cls, connector: Connector | None) -> AttemptRule:
        if connector is None:
            return cls()
        return cls(connector.max_attempts, connector.transient_streak)

    def exhausted(self, attempts: int, max_attempts: int | None = None) -> bool:
        """True when a row with this many charged attempts is FAILED."""
        return attempts >= (max_attempts if max_attempts is not None else self.max_attempts)

    def succeeded(self) -> None:
        """An attempt went through: the streak of transient failures is broken."""
        self.streak = 0

    def judge(self, exc: BaseException) -> Verdict:
        """What this failed attempt means (see the module's docstring)."""
        kind = error_kind(exc)
        message = admin_message_for(exc)
        wait = retry_after_of(exc)
        never_sent = isinstance(exc, TransientError) and exc.never_sent
        if (kind in ("cancelled", "configuration", "rate_limited") or never_sent
                or (self.run_wide is not None and self.run_wide(exc))):
            self.streak = 0
            return Verdict(kind, message, give_back=True, stop=True, retry_after=wait)
        if kind == "transient":
            self.streak += 1
            return Verdict(kind, message, give_back=False,
                           stop=self.streak >= self.transient_streak, retry_after=wait)
        self.streak = 0
        if kind == "item":
            return Verdict(kind, message, give_back=False, stop=False)
        return Verdict(kind, message, give_back=False, stop=self.bug_stops_run)


def action_label(connector: Connector | None, action: str) -> str:
    """The action in the admin's words: the connector's ``action_label``, else made readable."""
    return connector.action_label(action) if connector is not None else \
        queue.humanize_action(action)


# -- the queue step ----------------------------------------------------------------------------------

def send_queue(ctx: SyncContext) -> None:
    """The engine's queue step: each due row through ``connector.process_item``."""
    connector = ctx.connector
    if connector is None:
        return
    rule = AttemptRule.of(connector)
    policy: queue.RetryPolicy = ctx.cache.get("queue.policy", queue.DEFAULT_POLICY)
    items = queue.due_items(ctx.integration, limit=ctx.cache.get("queue.limit"))
    ctx.progress(0, len(items), f"{len(items)} queued")
    for position, item in enumerate(items, start=1):
        ctx.check_cancel()
        previous = item.state
        queue.begin_attempt(item)
        try:
            outcome = connector.process_item(ctx, item)
        except Cancelled:
            queue.give_back(item, previous)
            raise
        except Exception as exc:
            _failed(ctx, item, previous, exc, rule, policy)
        else:
            rule.succeeded()
            outcome_state = outcome.state if outcome is not None else queue.DONE
            message = outcome.message if outcome is not None else ""
            queue.finish(item, outcome_state, message,
                         outcome.remote_ref if outcome is not None else None)
            sent = item.state == queue.DONE
            ctx.count("sent" if sent else "skipped")
            _history(ctx, item, "info", message or f"{action_label(connector, item.action)}: "
                     f"{'sent' if sent else 'nothing to send'}", "sent" if sent else "skipped")
        ctx.progress(position, len(items))


def _failed(ctx: SyncContext, item: QueueItem, previous: str, exc: Exception,
            rule: AttemptRule, policy: queue.RetryPolicy) -> None:
    verdict = rule.judge(exc)
    if verdict.give_back:
        queue.give_back(item, previous)
        raise exc
    queue.fail_attempt(item, verdict.message, policy=policy, retry_after=verdict.retry_after)
    failed = item.state == queue.FAILED
    ctx.count("failed" if failed else "retrying")
    suffix = (f" Failed after {plural(item.attempts, 'attempt')}; use Retry once the cause is fixed."
              if failed else "")
    _history(ctx, item, "error" if failed else "warning", verdict.message + suffix,
             "failed" if failed else "retrying")
    if verdict.stop:
        raise exc  # transient: the service is unwell, stop here; a bug: stop the run


def _history(ctx: SyncContext, item: QueueItem, level: str, message: str, kind: str) -> None:
    HistoryEvent.create(integration=ctx.integration, run=ctx.run, entity=item.entity,
                        record_id=item.record_id, email=item.email, level=level, kind=kind,
                        message=message)
