"""What every connector builds on: the contract re-exported, ``BaseConnector``'s defaults, the
registry and small helpers.

The contract itself (the ``Connector`` Protocol, the form/step/result dataclasses, the error kinds
and ``SyncContext``) lives in ``core.sync.contract`` so that the engine can be typed against it;
it is re-exported here, where connectors have always imported it. A connector declares what its
integration form asks for (as data: the GUI and the command line build themselves from it), how
to check a connection, which remote lists it offers, its sync steps in order, the features an
admin can switch on and its default schedule. The engine (``core.sync``) runs the steps; a
connector never touches threads, locks or Qt.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.http import check_url
from core.models.sync import Integration, QueueItem
from core.sync.contract import (
    FIELD_KINDS,
    QUEUE_STEP_NAME,
    CheckResult,
    Connector,
    CountWords,
    Feature,
    FormField,
    QueueOutcome,
    RemoteList,
    StepFunction,
    SyncContext,
    SyncStep,
    validate_form,
)
from core.sync.errors import (
    Cancelled,
    ConfigurationError,
    ConnectorError,
    FatalError,
    ItemError,
    RateLimited,
    TlsError,
    TransientError,
)
from core.sync.queue import humanize_action

__all__ = [
    "API_URL_FIELD_KEY", "FIELD_KINDS", "QUEUE_STEP_NAME", "BaseConnector", "Cancelled",
    "CheckResult", "ConfigurationError", "Connector", "ConnectorError", "CountWords",
    "FatalError", "Feature", "FormField", "ItemError", "QueueOutcome", "RateLimited",
    "RemoteList", "StepFunction", "SyncContext", "SyncStep", "TlsError", "TransientError",
    "all_connectors", "check_api_url", "get_connector", "load_all", "parse_remote_date",
    "register", "unregister", "validate_form",
]

API_URL_FIELD_KEY = "api_url"


def check_api_url(value: Any) -> str | None:
    """The ``validate`` of a service-URL field: why ListBridge would refuse to connect to this
    address (``connectors.http.check_url``: https, or plain http to this computer only), or None.
    Checked when the integration is saved, so that a wrong URL is said at once (inline in the
    window's form, as an error of ``listbridge integration add``), not at the first sync."""
    text = str(value).strip()
    if not text:
        return None
    try:
        check_url(text)
    except ConnectorError as exc:
        return exc.admin_message
    return None


# -- the connector ---------------------------------------------------------------------------------

class BaseConnector:
    """Every hook of ``core.sync.contract.Connector`` with a sensible default, so that a
    connector declares only what is its own."""

    type_name: str = ""
    label: str = ""
    default_api_url: str = ""
    default_schedule_minutes: int | None = None
    max_attempts: int = 3
    transient_streak: int = 1
    count_labels: Mapping[str, CountWords] = {}

    def form_fields(self) -> list[FormField]:
        return []

    def features(self) -> list[Feature]:
        return []

    def secret_keys(self) -> list[str]:
        return [f.key for f in self.form_fields() if f.secret]

    def not_overwritable_choices(self, integration: Integration | None = None
                                 ) -> list[tuple[str, str]]:
        return []

    def api_url_field(self) -> FormField:
        """The Service URL field every connector offers (advanced); validated with
        ``check_api_url``."""
        return FormField(API_URL_FIELD_KEY, "Service URL", kind="url", default=self.default_api_url,
                         help="The service's base URL; change it only for another region or an "
                              "emulator.", advanced=True, validate=check_api_url)

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        raise NotImplementedError

    def on_saved(self, integration: Integration) -> None:
        """Called after the integration is created or edited (e.g. to schedule a first import)."""

    def configuration_problems(self, integration: Integration) -> list[str]:
        return []

    def remote_lists(self, integration: Integration, secrets: dict[str, str]) -> list[RemoteList]:
        return []

    def make_client(self, ctx: SyncContext) -> Any:
        """The run's client, put in ``ctx.client`` by the engine before the first step (its
        ``close()``, if any, is called when the run ends). None: the steps make their own."""
        return None

    def steps(self, integration: Integration) -> list[SyncStep]:
        return []

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        return QueueOutcome("skipped", "This integration does not process queued items.")

    def action_label(self, action: str) -> str:
        """A queue action (``QueueItem.action``) in the admin's words, for the journal; by
        default the name made readable (``dotmailer_export``: "Dotmailer export")."""
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
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
