"""Creating, editing and deleting integrations; their secrets go to the keyring, never the database.

Core does not import connectors: callers pass the connector object (a
``core.sync.contract.Connector``, as ``connectors.base`` registers them). The
form's fields decide what is validated, what is a secret (kept in the keyring under the
integration's ``secret_ref``, one entry per field key) and what is a setting (``settings_json``).

The names of the secrets an integration holds are listed in its settings under ``_secrets`` (the
names only), so that ``read_secrets`` and ``delete_integration`` need no connector.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from core import secrets as keyring_secrets
from core.clock import utcnow
from core.db import database_proxy
from core.logs import redact
from core.models.store import User
from core.models.sync import HistoryEvent, Integration
from core.store import default_owner
from core.sync.contract import Connector, FormField, validate_form
from core.sync.errors import ConnectorError

log = logging.getLogger("listbridge.integrations")

SECRET_NAMES_KEY = "_secrets"
API_URL_KEY = "api_url"
_KEEP = object()


class InvalidIntegration(ValueError):
    """The form's values are not acceptable; ``errors`` maps field keys to messages.

    ``name_taken``: the ``name`` error is that another integration has the name (a conflict
    with what is saved, not a mistake in the form: the command line exits 1, not 2)."""

    def __init__(self, errors: dict[str, str], name_taken: bool = False) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors
        self.name_taken = name_taken


class IntegrationBusy(RuntimeError):
    """The integration is synchronising; it cannot be deleted now."""


# -- validation --------------------------------------------------------------------------------------

def validate_values(fields: Iterable[FormField], values: dict[str, Any]) -> dict[str, str]:
    """Errors by field key for the fields shown with these values (``contract.validate_form``)."""
    return validate_form(fields, values)


def coerce(field: FormField, value: Any) -> Any:
    """A form value as stored: whole numbers as int, booleans as bool, text stripped."""
    if value is None:
        return None
    if field.kind == "int" and not isinstance(value, bool):
        return int(value) if str(value).strip() else None
    if field.kind == "bool" and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "on")
    if isinstance(value, str) and not field.secret:
        return value.strip()
    return value


def _split(fields: list[FormField], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings and secrets of the shown fields; unknown keys other than ``api_url`` are refused."""
    known = {f.key for f in fields} | {API_URL_KEY}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidIntegration({k: f"{k} is not a setting of this integration." for k in unknown})
    settings: dict[str, Any] = {}
    secret_values: dict[str, str] = {}
    for f in fields:
        if not f.is_shown(values):
            continue
        value = coerce(f, values.get(f.key, f.default))
        if f.secret:
            if value:
                secret_values[f.key] = str(value)
        elif value not in (None, ""):
            settings[f.key] = value
    if values.get(API_URL_KEY) and API_URL_KEY not in settings:
        settings[API_URL_KEY] = str(values[API_URL_KEY]).strip()
    return settings, secret_values


def _check_name(name: str, exclude_id: int | None = None) -> str:
    cleaned = (name or "").strip()
    if not cleaned:
        raise InvalidIntegration({"name": "The integration needs a name."})
    clash = Integration.select().where(Integration.name == cleaned)
    if exclude_id is not None:
        clash = clash.where(Integration.id != exclude_id)
    if clash.exists():
        raise InvalidIntegration({"name": f"An integration named {cleaned!r} already exists."},
                                 name_taken=True)
    return cleaned


# -- create, edit, delete ---------------------------------------------------------------------------

def create_integration(connector: Connector, name: str, values: dict[str, Any],
                       owner: User | None = None, active: bool = True,
                       schedule_minutes: int | None | object = _KEEP) -> Integration:
    """Validate the form's values, keep the secrets in the keyring and save the integration.

    Raises ``InvalidIntegration`` (errors by field) or ``core.secrets.NoKeyringError``; in both
    cases nothing is saved. ``owner`` defaults to the person at the desk
    (``core.store.default_owner()``), as in the window's form; ``schedule_minutes`` to the
    connector's schedule. The connector's ``on_saved(integration)`` is called
    once the integration is committed (see ``_saved``).
    """
    fields = list(connector.form_fields())
    errors = validate_values(fields, values)
    name_taken = False
    try:
        cleaned = _check_name(name)
    except InvalidIntegration as exc:
        errors.update(exc.errors)
        name_taken = exc.name_taken
    if errors:
        raise InvalidIntegration(errors, name_taken=name_taken)
    settings, secret_values = _split(fields, values)
    if secret_values:
        keyring_secrets.ensure_keyring()
    schedule = (connector.default_schedule_minutes if schedule_minutes is _KEEP
                else schedule_minutes)
    if owner is None:
        owner = default_owner()
    reference = keyring_secrets.new_reference()
    settings[SECRET_NAMES_KEY] = sorted(secret_values)
    try:
        with database_proxy.atomic():
            integration = Integration(
                type=connector.type_name, name=cleaned, active=active, owner=owner,
                schedule_minutes=schedule, secret_ref=reference,
                next_sync_at=utcnow() if schedule and active else None)
            integration.settings = settings
            integration.save()
            for key, value in secret_values.items():
                keyring_secrets.store(reference, key, value)
    except BaseException:
        keyring_secrets.delete_all(reference, tuple(secret_values))
        raise
    log.info("Integration %r (%s) created", cleaned, connector.type_name)
    _saved(connector, integration)
    return integration


def update_integration(integration: Integration, connector: Connector, *,
                       name: str | None = None, values: dict[str, Any] | None = None,
                       owner: User | None | object = _KEEP, active: bool | None = None,
                       schedule_minutes: int | None | object = _KEEP) -> Integration:
    """Change an integration. In ``values``, a secret left empty keeps the stored one."""
    integration = Integration.get_by_id(integration.id)
    fields = list(connector.form_fields())
    errors: dict[str, str] = {}
    new_name = integration.name
    name_taken = False
    if name is not None:
        try:
            new_name = _check_name(name, exclude_id=integration.id)
        except InvalidIntegration as exc:
            errors.update(exc.errors)
            name_taken = exc.name_taken
    settings = integration.settings
    stored_names = list(settings.pop(SECRET_NAMES_KEY, []))
    secret_values: dict[str, str] = {}
    if values is not None:
        form_keys = {f.key for f in fields if not f.secret} | {API_URL_KEY}
        merged = {k: v for k, v in settings.items() if k in form_keys}
        merged.update(values)
        kept = {f.key for f in fields
                if f.secret and not merged.get(f.key) and f.key in stored_names}
        # An empty secret means "keep the stored one", which was valid when it was typed.
        errors.update(validate_values([f for f in fields if f.key not in kept], merged))
        if not errors:
            form_settings, secret_values = _split(fields, merged)
            for key in form_keys:
                settings.pop(key, None)
            settings.update(form_settings)
    if errors:
        raise InvalidIntegration(errors, name_taken=name_taken)
    if secret_values:
        keyring_secrets.ensure_keyring()
    with database_proxy.atomic():
        integration.name = new_name
        if isinstance(owner, User) or owner is None:
            integration.owner = owner
        if active is not None:
            integration.active = active
        if isinstance(schedule_minutes, int) or schedule_minutes is None:
            integration.schedule_minutes = schedule_minutes
        if not integration.active or not integration.schedule_minutes:
            integration.next_sync_at = None
        elif integration.next_sync_at is None:
            integration.next_sync_at = utcnow()
        for key, value in secret_values.items():
            keyring_secrets.store(integration.secret_ref, key, value)
        settings[SECRET_NAMES_KEY] = sorted(set(stored_names) | set(secret_values))
        integration.settings = settings
        integration.save()
    _saved(connector, integration)
    return integration


def delete_integration(integration: Integration, force: bool = False) -> None:
    """Delete the integration, its runs, queue and watermarks, and its keyring entries.

    Refused with ``IntegrationBusy`` while a run holds its lock, unless ``force``.
    """
    current = Integration.get_or_none(Integration.id == integration.id)
    if current is None:
        return
    now = utcnow()
    if not force and current.lock_token and current.lock_expires_at and current.lock_expires_at > now:
        raise IntegrationBusy(
            f"{current.name} is synchronising now; delete it when the run has finished.")
    names = tuple(set(current.settings.get(SECRET_NAMES_KEY, [])) |
                  {"password", "api_key", "access_token", "refresh_token"})
    with database_proxy.atomic():
        current.delete_instance(recursive=False)
    keyring_secrets.delete_all(current.secret_ref, names)
    log.info("Integration %r deleted", current.name)


# -- secrets -----------------------------------------------------------------------------------------

def secret_names(integration: Integration) -> list[str]:
    return list(integration.settings.get(SECRET_NAMES_KEY, []))


def read_secrets(integration: Integration) -> dict[str, str]:
    """Every secret of the integration, read from the keyring (``NoKeyringError`` if there is none)."""
    values = {}
    for name in secret_names(integration):
        value = keyring_secrets.read(integration.secret_ref, name)
        if value:
            values[name] = value
    return values


def store_secret(integration: Integration, name: str, value: str) -> None:
    """Keep one more secret (an OAuth token refreshed during a run, say) for this integration."""
    keyring_secrets.store(integration.secret_ref, name, value)
    names = secret_names(integration)
    if name not in names:
        settings = integration.settings
        settings[SECRET_NAMES_KEY] = sorted({*names, name})
        integration.settings = settings
        Integration.update(settings_json=integration.settings_json).where(
            Integration.id == integration.id).execute()


def public_settings(integration: Integration) -> dict[str, Any]:
    """The settings an admin may see (bookkeeping keys left out)."""
    return {k: v for k, v in integration.settings.items() if not k.startswith("_")}


# -- lookups -----------------------------------------------------------------------------------------

def list_integrations(active_only: bool = False) -> list[Integration]:
    query = Integration.select().order_by(Integration.name)
    if active_only:
        query = query.where(Integration.active == True)  # noqa: E712
    return list(query)


def find_integration(name: str) -> Integration | None:
    return Integration.get_or_none(Integration.name == name.strip())


def schedule_next(integration: Integration, after: timedelta | None = None) -> None:
    """Set ``next_sync_at`` from the schedule (or ``after`` from now); manual-only: None."""
    if after is None:
        minutes = integration.schedule_minutes
        after = timedelta(minutes=minutes) if minutes and integration.active else None
    next_at = utcnow() + after if after is not None else None
    Integration.update(next_sync_at=next_at).where(Integration.id == integration.id).execute()
    integration.next_sync_at = next_at


def _saved(connector: Connector, integration: Integration) -> None:
    """Call the connector's ``on_saved(integration)`` once the save is committed: every path that saves an integration (the window's
    dialogs, ``listbridge integration add``, a connector's own commands) goes through
    ``create_integration``/``update_integration``, so the hook runs for each of them.

    The save stands whatever the hook does: a hook that raises is logged and noted in the
    integration's history, and the caller gets the saved integration (the connector finishes its
    set-up at a later save or run; its ``configuration_problems`` say what is missing)."""
    try:
        connector.on_saved(integration)
    except Exception as exc:
        log.exception("on_saved of %s failed for integration %r", connector.type_name,
                      integration.name)
        problem = ((exc.admin_message if isinstance(exc, ConnectorError) else "")
                   or redact(str(exc)) or type(exc).__name__)
        HistoryEvent.create(
            integration=integration.id, entity="integration", level="error", kind="integration",
            message=f"{integration.name} was saved, but finishing its set-up failed: {problem} "
                    "The details are in the log.")
