"""The one interface every connector implements, its registry and the error taxonomy.

A connector declares what its integration form asks for (as data: the GUI and the command line
build themselves from it), how to check a connection, which remote lists it offers, its sync steps
in order, the features an admin can switch on and its default schedule. The engine
(``core.sync``) runs the steps; a connector never touches threads, locks or Qt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from core.models.sync import Integration, QueueItem
    from core.sync.context import SyncContext


# -- errors ----------------------------------------------------------------------------------------

class ConnectorError(Exception):
    """Base of every error a connector raises on purpose.

    ``admin_message`` is what the admin reads (no secrets, no stack traces); ``str(exc)`` is for
    the log and may carry technical detail, already redacted.
    """

    kind: ClassVar[str] = "fatal"

    def __init__(self, admin_message: str, detail: str = "") -> None:
        super().__init__(detail or admin_message)
        self.admin_message = admin_message


class ConfigurationError(ConnectorError):
    """Wrong credentials, a missing setting, a refused account: stop the run, tell the admin."""

    kind = "configuration"


class TlsError(ConfigurationError):
    """The connection is not secure: a certificate that does not verify, TLS switched off, or
    plain http to a host other than this computer. A configuration error (the run stops) that
    "Test connection" can name as a TLS problem without reading the message."""


class TransientError(ConnectorError):
    """Timeout, 5xx, 429, dropped connection: try again later (``retry_after`` seconds if known).

    Its ``admin_message`` is read after a sync (the run ends ``retrying``) and after Check
    Connection alike, so it should say what happened without promising a retry; where the
    wording differs, a session with ``connectors.http.CHECK_POLICY`` words it for the check
    ("X could not be reached (...). Check the service URL and the network.")."""

    kind = "transient"

    def __init__(self, admin_message: str, detail: str = "",
                 retry_after: float | None = None) -> None:
        super().__init__(admin_message, detail)
        self.retry_after = retry_after
        # True when the request never reached the service (the connection could not be opened):
        # a create may then be sent again without risking a duplicate.
        self.never_sent = False


class RateLimited(TransientError):
    """The service asked us to slow down for longer than a step may wait inline."""

    kind = "rate_limited"


class ItemError(ConnectorError):
    """One record was refused: queue it with this message and go on with the others."""

    kind = "item"

    def __init__(self, admin_message: str, detail: str = "", record_id: int | None = None,
                 email: str = "") -> None:
        super().__init__(admin_message, detail)
        self.record_id = record_id
        self.email = email


class FatalError(ConnectorError):
    """A bug or an answer we cannot understand: stop the run and keep the trace in the log."""

    kind = "fatal"


# -- the form --------------------------------------------------------------------------------------

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
    """Errors by field key, for the fields shown with these values (the rule lives in core, which
    saves integrations and cannot import connectors)."""
    from core.integrations import validate_values

    return validate_values(fields, values)


API_URL_FIELD_KEY = "api_url"


def check_api_url(value: Any) -> str | None:
    """The ``validate`` of a service-URL field: why ListBridge would refuse to connect to this
    address (``connectors.http.check_url``: https, or plain http to this computer only), or None.
    Checked when the integration is saved, so that a wrong URL is said at once (inline in the
    window's form, as an error of ``listbridge integration add``), not at the first sync."""
    from connectors.http import check_url  # connectors.http imports this module

    text = str(value).strip()
    if not text:
        return None
    try:
        check_url(text)
    except ConnectorError as exc:
        return exc.admin_message
    return None


@dataclass(frozen=True)
class Feature:
    """Something an admin switches on for one integration (stored in its settings)."""

    key: str
    label: str
    default: bool = False
    help: str = ""
    implies: tuple[str, ...] = ()  # ticking this ticks these too


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str  # success text (e.g. the account's name) or the service's own message
    kind: str = ""  # on failure: configuration, transient, fatal


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
    """One step of a sync run. The engine saves the step's watermark only when it finishes."""

    name: str
    label: str
    run: StepFunction
    direction: str = "import"  # import or export
    uses_watermark: bool = False


# A step of this name marks where in its steps a connector wants the engine to send the queue
# (``core.sync.queue.send_queue`` runs there, whatever the step's ``run``); without one, the
# engine sends the queue after the last step.
QUEUE_STEP_NAME = "queue"


@dataclass
class QueueOutcome:
    """What processing one queue item did: ``done``, ``skipped`` (with why) or an error raised."""

    state: str = "done"
    message: str = ""
    remote_ref: str | None = None


# -- the connector ---------------------------------------------------------------------------------

@runtime_checkable
class Connector(Protocol):
    type_name: str
    label: str
    default_api_url: str
    max_attempts: int

    @property
    def default_schedule_minutes(self) -> int | None:
        """Minutes between scheduled syncs of a new integration; None: manual only. Read-only
        here, so that a connector declaring an ``int`` (``= 10``) fits."""
        ...

    def form_fields(self) -> list[FormField]:
        """The integration form, in display order (``api_url`` included, usually advanced)."""
        ...

    def features(self) -> list[Feature]:
        ...

    def secret_keys(self) -> list[str]:
        """Names of the secrets kept in the keyring for an integration (``password``, ...)."""
        ...

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        """Try the credentials without saving anything; never raises for a refused login.

        Quick, because the admin waits for it: the HTTP session uses
        ``connectors.http.CHECK_POLICY`` (one try, 5 s to connect, 15 s to answer), whose
        messages suit a check (see ``connectors.http``)."""
        ...

    def remote_lists(self, integration: Integration, secrets: dict[str, str]) -> list[RemoteList]:
        ...

    def steps(self, integration: Integration) -> list[SyncStep]:
        ...

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        """Handle one queued record operation; raise ItemError/TransientError on failure."""
        ...

    def action_label(self, action: str) -> str:
        """A queue action in the admin's words (the journal's Action column)."""
        ...


class BaseConnector:
    """Sensible defaults so that a connector declares only what is its own."""

    type_name: str = ""
    label: str = ""
    default_api_url: str = ""
    default_schedule_minutes: int | None = None
    max_attempts: int = 3

    def form_fields(self) -> list[FormField]:
        return []

    def features(self) -> list[Feature]:
        return []

    def secret_keys(self) -> list[str]:
        return [f.key for f in self.form_fields() if f.secret]

    def api_url_field(self) -> FormField:
        """The Service URL field every connector offers (advanced); validated with
        ``check_api_url``."""
        return FormField(API_URL_FIELD_KEY, "Service URL", kind="url", default=self.default_api_url,
                         help="The service's base URL; change it only for another region or an "
                              "emulator.", advanced=True, validate=check_api_url)

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        raise NotImplementedError

    def remote_lists(self, integration: Integration, secrets: dict[str, str]) -> list[RemoteList]:
        return []

    def steps(self, integration: Integration) -> list[SyncStep]:
        return []

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        return QueueOutcome("skipped", "This integration does not process queued items.")

    def make_client(self, ctx: SyncContext) -> Any:
        """The run's client, put in ``ctx.client`` by the engine before the first step (its
        ``close()``, if any, is called when the run ends). None: the steps make their own."""
        return None

    def on_saved(self, integration: Integration) -> None:
        """Called after the integration is created or edited (e.g. to schedule a first import)."""

    def action_label(self, action: str) -> str:
        """A queue action (``QueueItem.action``) in the admin's words, for the journal; by
        default the name made readable (``dotmailer_export``: "Dotmailer export")."""
        from core.sync.queue import humanize_action

        return humanize_action(action)


# -- the registry ----------------------------------------------------------------------------------

REGISTRY: dict[str, Connector] = {}


def register(connector: Connector) -> Connector:
    REGISTRY[connector.type_name] = connector
    return connector


def unregister(type_name: str) -> Connector | None:
    """Forget the connector of this type (tests, plug-ins); the one removed, or None."""
    return REGISTRY.pop(type_name, None)


def get_connector(type_name: str) -> Connector:
    load_all()
    try:
        return REGISTRY[type_name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise ConfigurationError(
            f"Unknown integration type {type_name!r} (known: {known}).") from None


def all_connectors() -> list[Connector]:
    load_all()
    return sorted(REGISTRY.values(), key=lambda c: c.label)


_BUILT_IN = ("connectors.dotmailer", "connectors.ines", "connectors.cleverreach")


def load_all() -> None:
    """Import the built-in connectors; each registers itself when its package is imported."""
    import importlib

    for module in _BUILT_IN:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def parse_remote_date(value: Any) -> datetime | None:
    """Dates as services send them: ISO 8601 with Z/z/offset/none; .NET's minimum means none."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.startswith("0001-01-01"):
        return None
    text = re.sub(r"[zZ]$", "+00:00", text)
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    text = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    from datetime import UTC

    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
