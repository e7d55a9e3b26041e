"""The connector contract: what a connector gives the engine and the window, and what it gets.

A connector (one per service, in ``connectors/<name>/``) is an object that satisfies
``Connector`` below; ``connectors.base.BaseConnector`` gives every hook a sensible default, so a
connector declares only what is its own. The engine (``core.sync``) and ``core.integrations`` are
typed against this Protocol; they never import a connector.

What a connector declares, as data: its integration form (``FormField``, the window and the
command line build themselves from it), the features an admin can switch on (``Feature``), its
sync steps in order (``SyncStep``), how its counts read (``count_labels``) and its default
schedule. What it does: check a connection (``CheckResult``), list the service's lists
(``RemoteList``), run its steps with a ``SyncContext`` and process queued record operations
(``QueueOutcome``). What it raises: the error kinds of ``core.sync.errors`` (re-exported here).

What the engine gives a step, in its ``SyncContext``: the integration and its secrets, the run's
client (``make_client``), progress and a cancellable ``sleep``, counts, the record journal,
watermarks and ``queue_failed`` for a record the service refused.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from core.clock import utcnow
from core.models.sync import HistoryEvent, Integration, QueueItem, SyncRun, Watermark
from core.sync import queue
from core.sync.errors import (
    Cancelled,
    ConfigurationError,
    ConnectorError,
    FatalError,
    ItemError,
    RateLimited,
    TlsError,
    TransientError,
    admin_message_for,
    error_kind,
)

__all__ = [
    "FIELD_KINDS", "QUEUE_STEP_NAME", "Cancelled", "CheckResult", "ConfigurationError",
    "Connector", "ConnectorError", "CountWords", "FatalError", "Feature", "FormField", "ItemError",
    "Progress", "ProgressCallback", "QueueOutcome", "RateLimited", "RemoteList", "StepFunction",
    "SyncContext", "SyncStep", "TlsError", "TransientError",
]

log = logging.getLogger("listbridge.sync")


# -- the form --------------------------------------------------------------------------------------

# What a ``FormField.kind`` may be; the window builds one editor per kind:
#   text, password (hidden, usually ``secret``), email, url, int (a whole number), bool (a check
#   box), choice (one of ``choices``), owner (a ListBridge user), and
#   oauth: "Connect with the service's sign-in page", a button with its state (not connected,
#   connected as X, reconnect needed); the tokens it obtains are secrets kept in the keyring.
FIELD_KINDS = ("text", "password", "email", "url", "int", "bool", "choice", "owner", "oauth")


@dataclass(frozen=True)
class FormField:
    """One field of an integration form.

    ``key`` is also the command-line option name (``--option key=value``). ``secret`` fields go to
    the keyring, never to the database. ``shown_when`` maps other keys to the values for which this
    field is shown (all must match); ``validate`` returns an error message or None.
    """

    key: str
    label: str
    kind: str = "text"
    required: bool = False
    secret: bool = False
    default: Any = None
    help: str = ""
    placeholder: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    pattern: str = ""  # a regular expression the whole value must match
    pattern_message: str = ""
    min_length: int = 0
    shown_when: tuple[tuple[str, Any], ...] = ()
    validate: Callable[[Any], str | None] | None = None
    advanced: bool = False

    def is_shown(self, values: dict[str, Any]) -> bool:
        return all(values.get(key) == wanted for key, wanted in self.shown_when)

    def check(self, value: Any) -> str | None:
        """An error message for this value, or None when it is acceptable."""
        empty = value is None or (isinstance(value, str) and value.strip() == "")
        if empty:
            return f"{self.label} is required." if self.required else None
        if self.kind == "int":
            try:
                int(value)
            except (TypeError, ValueError):
                return f"{self.label} must be a whole number."
        if isinstance(value, str):
            if self.min_length and len(value) < self.min_length:
                return f"{self.label} must be at least {self.min_length} characters long."
            if self.pattern and not re.fullmatch(self.pattern, value):
                return self.pattern_message or f"{self.label} is not valid."
        if self.kind == "choice" and self.choices and value not in {c[0] for c in self.choices}:
            return f"{self.label} must be one of: {', '.join(c[0] for c in self.choices)}."
        if self.validate is not None:
            return self.validate(value)
        return None


def validate_form(fields: Iterable[FormField], values: dict[str, Any]) -> dict[str, str]:
    """Errors by field key, for the fields shown with these values."""
    errors = {}
    for f in fields:
        if f.is_shown(values):
            message = f.check(values.get(f.key))
            if message:
                errors[f.key] = message
    return errors


@dataclass(frozen=True)
class Feature:
    """Something an admin switches on for one integration (stored in its settings)."""

    key: str
    label: str
    default: bool = False
    help: str = ""
    implies: tuple[str, ...] = ()  # ticking this ticks these too


# -- results ---------------------------------------------------------------------------------------

CHECK_KINDS = ("configuration", "tls", "transient", "fatal")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of Check Connection.

    ``message`` is the success text (e.g. the account's name) or what went wrong, in the admin's
    words. ``kind``, on failure: ``configuration`` (credentials or a setting), ``tls`` (the
    connection is not secure: a certificate, plain http), ``transient`` (the service could not be
    reached or is unwell, rate limits included) or ``fatal`` (an answer nobody expected).
    Build failures with ``CheckResult.failed(exc)``: one place words them and names the kind.
    """

    ok: bool
    message: str
    kind: str = ""

    @classmethod
    def failed(cls, exc: BaseException) -> CheckResult:
        """The failed check for this error (its admin message; its kind, TLS told apart)."""
        if isinstance(exc, TlsError):
            kind = "tls"
        else:
            kind = error_kind(exc)
            kind = {"rate_limited": "transient", "item": "fatal",
                    "cancelled": "transient"}.get(kind, kind)
        message = exc.admin_message if isinstance(exc, ConnectorError) else admin_message_for(exc)
        return cls(False, message, kind)

    @property
    def is_tls(self) -> bool:
        return not self.ok and self.kind == "tls"


@dataclass(frozen=True)
class RemoteList:
    """A list on the service: a Dotmailer address book, a CleverReach group."""

    remote_id: str
    name: str
    count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


StepFunction = Callable[["SyncContext"], None]


@dataclass(frozen=True)
class SyncStep:
    """One step of a sync run, in the order the connector's ``steps`` lists them.

    The engine calls ``run(ctx)`` with ``ctx.step``/``ctx.step_label`` set to this step; when it
    returns, the step's watermark (``ctx.watermark()``) becomes the run's start time; when it
    raises, the old watermark stays, so the next run reads the same changes again."""

    name: str
    label: str
    run: StepFunction


# A step of this name marks where in its steps a connector wants the engine to send the queue
# (the engine's queue sender runs there, whatever the step's ``run``); without one, the engine
# sends the queue after the last step.
QUEUE_STEP_NAME = queue.QUEUE_STEP


@dataclass
class QueueOutcome:
    """What processing one queue item did: ``done``, ``skipped`` (with why) or an error raised."""

    state: str = "done"
    message: str = ""
    remote_ref: str | None = None


# How a count reads: one form for participles ("sent", "to retry"), (singular, plural) for nouns.
CountWords = str | tuple[str, str]


# -- what a step receives --------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    integration_id: int
    run_id: int
    step: str
    step_label: str
    done: int
    total: int | None
    text: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class SyncContext:
    """What a sync step receives; one per run, used from the run's worker thread only."""

    integration: Integration
    run: SyncRun
    secrets: dict[str, str]
    run_started_at: datetime = field(default_factory=utcnow)
    on_progress: ProgressCallback | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    step: str = ""
    step_label: str = ""
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    client: Any = None  # the connector's client, made once per run (``make_client``)
    cache: dict[str, Any] = field(default_factory=dict)
    trigger: str = "manual"
    warnings: list[str] = field(default_factory=list)
    connector: Connector | None = None  # the connector running this sync
    in_doubt: set[int] = field(default_factory=set)  # queue item ids whose last send was cut off

    @property
    def settings(self) -> dict[str, Any]:
        return self.integration.settings

    # -- progress, cancel and waits -------------------------------------------------------------

    def progress(self, done: int, total: int | None = None, text: str = "") -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(self.integration.id, self.run.id, self.step, self.step_label,
                                      done, total, text))

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancel(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        """Wait inside a step (a service asked for patience, an import is being processed);
        raises ``Cancelled`` as soon as the admin presses Cancel (at once, not after the wait)."""
        if self.cancel_event.wait(max(0.0, seconds)):
            raise Cancelled()

    # -- counts and journal -----------------------------------------------------------------------

    def count(self, key: str, n: int = 1) -> None:
        step = self.counts.setdefault(self.step or "run", {})
        step[key] = step.get(key, 0) + n

    def journal(self, message: str, level: str = "info", entity: str = "contact",
                record_id: int | None = None, email: str = "", kind: str = "sync") -> None:
        """A line in the record's history (and the log); ``level`` is info, warning or error."""
        HistoryEvent.create(integration=self.integration, run=self.run, entity=entity,
                            record_id=record_id, email=email or "", level=level, kind=kind,
                            message=message)
        if level == "warning" and record_id is None:
            self.warnings.append(message)
        log.log(logging.WARNING if level != "info" else logging.INFO, "[%s] %s: %s",
                self.integration.name, self.step or "run", message)

    def queue_failed(self, error: ItemError, action: str, entity: str = "contact",
                     payload: dict[str, Any] | None = None, remote_ref: str | None = None,
                     label: str = "") -> QueueItem:
        """Queue the record an ``ItemError`` is about, as a first failed attempt, and go on.

        Later runs send it again through the connector's ``process_item`` until it succeeds or
        reaches ``max_attempts`` (then it is FAILED and waits for the admin's Retry).
        """
        item = queue.enqueue(self.integration, action, entity=entity, record_id=error.record_id,
                             email=error.email, label=label, remote_ref=remote_ref,
                             payload=payload, source="sync",
                             max_attempts=self.connector.max_attempts if self.connector else None)
        queue.record_failure(item, error.admin_message, now=utcnow(),
                             policy=self.cache.get("queue.policy", queue.DEFAULT_POLICY))
        self.count("queued")
        self.journal(error.admin_message, level="warning", entity=entity,
                     record_id=error.record_id, email=error.email, kind="queued")
        return item

    def outcome_unknown(self, item: QueueItem) -> bool:
        """True when an earlier attempt at this item was cut off (crash, kill) mid-send.

        The service may or may not have received it: ``process_item`` must check before sending
        again (look the record up, or use an idempotent upsert) so that nothing is sent twice.
        """
        return item.id in self.in_doubt

    # -- watermarks ----------------------------------------------------------------------------------

    def watermark(self, step: str | None = None) -> datetime | None:
        """Where the step's last finished run started; None the first time."""
        row = Watermark.get_or_none(Watermark.integration == self.integration,
                                    Watermark.step == (step or self.step))
        return row.value if row else None


# -- the connector ---------------------------------------------------------------------------------

@runtime_checkable
class Connector(Protocol):
    """One service. Hooks are listed in the order an integration's life meets them.

    Attributes: ``type_name`` (the integration's ``type``, stable: it is stored), ``label`` (the
    service in the admin's words), ``default_api_url``, ``max_attempts`` (how many failed
    attempts make a queued record FAILED) and ``transient_streak`` (how many transient failures
    in a row end the sending of a run early: the service is unwell).
    """

    type_name: str
    label: str
    default_api_url: str
    max_attempts: int
    transient_streak: int

    @property
    def default_schedule_minutes(self) -> int | None:
        """Minutes between scheduled syncs of a new integration; None: manual only. Read-only
        here, so that a connector declaring an ``int`` (``= 10``) fits."""
        ...

    @property
    def count_labels(self) -> Mapping[str, CountWords]:
        """How the counts its steps write (``ctx.count(key)``) read in a run's summary:
        ``{"books": ("book", "books"), "to_new": "new"}``. Keys not listed read with their
        underscores as spaces; the engine's own counts (sent, failed, retrying...) need none."""
        ...

    # -- the form (window, ``listbridge integration add``) --

    def form_fields(self) -> list[FormField]:
        """The integration form, in display order (``api_url`` included, usually advanced)."""
        ...

    def features(self) -> list[Feature]:
        """Switches the admin can turn on for one integration (stored in its settings)."""
        ...

    def secret_keys(self) -> list[str]:
        """Names of the secrets kept in the keyring for an integration (``password``, ...)."""
        ...

    def not_overwritable_choices(self, integration: Integration | None = None
                                 ) -> list[tuple[str, str]]:
        """(key, label) of the fields the admin may protect from being overwritten by a sync
        (one check box each on the Features tab); [] when the service has none."""
        ...

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        """Try the credentials without saving anything; never raises for a refused login
        (``CheckResult.failed(exc)``).

        Quick, because the admin waits for it: the HTTP session uses
        ``connectors.http.CHECK_POLICY`` (one try, 5 s to connect, 15 s to answer), whose
        messages suit a check (see ``connectors.http``)."""
        ...

    def on_saved(self, integration: Integration) -> None:
        """Called by ``core.integrations`` after the integration is created or edited, once the
        save is committed (e.g. to set up a mapping or schedule a first import). An error is
        logged and noted in the integration's history; the save stands."""
        ...

    def configuration_problems(self, integration: Integration) -> list[str]:
        """Why nothing can sync now (a missing mapping, an unpublished integration), in the
        admin's words, for the Integrations grid and ``listbridge integration list``; []: ready."""
        ...

    def remote_lists(self, integration: Integration, secrets: dict[str, str]) -> list[RemoteList]:
        """The service's lists (address books, groups) a marketing list can be connected to."""
        ...

    # -- a run (``core.sync.runner.run_sync``) --

    def make_client(self, ctx: SyncContext) -> Any:
        """The run's client, put in ``ctx.client`` by the engine before the first step (its
        ``close()``, if any, is called when the run ends). None: the steps make their own."""
        ...

    def steps(self, integration: Integration) -> list[SyncStep]:
        """The run's steps in order; a step named ``QUEUE_STEP_NAME`` places the queue."""
        ...

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        """Handle one queued record operation; raise ItemError/TransientError on failure. The
        engine charged the attempt before calling (see ``core.sync.attempts``);
        ``ctx.outcome_unknown(item)`` says an earlier attempt was cut off mid-send."""
        ...

    def action_label(self, action: str) -> str:
        """A queue action in the admin's words (the journal's Action column)."""
        ...
