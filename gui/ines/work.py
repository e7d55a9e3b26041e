"""What the INES dialogs and actions do off the GUI thread: plain functions, plain results.

Every function here may block (INES over the network, the keyring, the database) and is run with
``gui.workers.start_job``; none imports Qt. Each reaches INES only through ``connectors.ines``.
Results are frozen dataclasses of plain values, so they cross threads safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.base import CheckResult, ConnectorError
from connectors.ines.catalogue import (
    CLIENT,
    CLIENT_REF_KEY,
    CONTACT,
    CONTACT_REF_KEY,
    SPECIAL_LOCAL_FIELDS,
    STOP_SYNC_KEY,
    InesConfig,
    InesField,
    catalogue,
    drop_config,
    fetch_config,
    store_config,
)
from connectors.ines.client import (
    check_failure_message,
    make_check_client,
)
from connectors.ines.mapping import (
    DEFAULT_LEADS_PER_RUN,
    FULL_SYNC,
    MAPPING,
    NOT_ECRASABLE,
    PUSH_LEAD,
    MappingSettings,
    ensure_local_fields,
    features,
    get_mapping_json,
    local_field_exists,
    local_field_options,
    npai_from_bounces,
    save_mapping,
    set_features,
    set_leads_per_run,
    set_not_ecrasable,
    set_npai_from_bounces,
)
from core import secrets as keyring_secrets
from core.integrations import read_secrets
from core.models.sync import Integration
from core.sync.contract import CHECK_KINDS

# Failure kinds of "Check Connection": the contract's (``core.sync.contract.CHECK_KINDS``), named
# as the admin reads them.
CREDENTIALS, TLS, NETWORK, UNEXPECTED = CHECK_KINDS

# Standard contact fields suggested for INES contact fields when an integration has no saved
# mapping yet (the plugin's documentation: the admin assigns them; ListBridge pre-fills the
# obvious ones). Client fields are left unmapped: they default to the contact's first company.
SUGGESTED_CONTACT_FIELDS = {
    "contact_Genre": "salutation",
    "contact_Function": "job_title",
    "contact_BussinesTelephone": "phone",
    "contact_MobilePhone": "mobile",
    "contact_HomeAddress": "street",
    "contact_BusinessAddress": "street2",
    "contact_ZipCode": "postal_code",
    "contact_City": "city",
    "contact_State": "state",
    "contact_Country": "country",
    "contact_DateOfBirth": "birth_date",
}

# The rows the mapping tab shows apart, with the button that creates their local fields.
SPECIAL_KEYS = (CONTACT_REF_KEY, CLIENT_REF_KEY, STOP_SYNC_KEY)


# -- Test connection -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of "Test connection": on success, INES's configuration for the mapping tab."""

    generation: int
    ok: bool
    message: str
    kind: str = ""  # on failure: credentials, network, tls, unexpected
    config: InesConfig | None = None


def failure_kind(error: BaseException) -> str:
    """Which of the four kinds the admin is told a failed connection was (the contract's
    ``CheckResult.failed``: one place names them for every connector)."""
    return CheckResult.failed(error).kind


def _secrets_for(integration_id: int | None, secrets: dict[str, str]) -> dict[str, str]:
    """The secrets typed in the dialog; in an edit, those left empty come from the keyring."""
    if integration_id is None:
        return secrets
    integration = Integration.get_or_none(Integration.id == integration_id)
    if integration is None:
        return secrets
    stored = read_secrets(integration)
    return {**stored, **{k: v for k, v in secrets.items() if v}}


def try_connection(settings: dict[str, Any], secrets: dict[str, str],
                    integration_id: int | None, generation: int,
                    opening: bool = False) -> ConnectionCheck:
    """Log in afresh and read ``GetSyncInfo`` and the lookups (the mapping tab's catalogue).

    ``opening``: the settings dialog just opened, so the cached configuration is dropped first
    (ines.md §3.1). On success the configuration is cached again for the saved integration.
    """
    integration = (Integration.get_or_none(Integration.id == integration_id)
                   if integration_id is not None else None)
    if opening and integration is not None:
        drop_config(integration)
    try:
        api = make_check_client(settings, _secrets_for(integration_id, secrets))
    except keyring_secrets.NoKeyringError as exc:
        return ConnectionCheck(generation, False, str(exc), CREDENTIALS)
    except ConnectorError as exc:
        return ConnectionCheck(generation, False, exc.admin_message, failure_kind(exc))
    try:
        message = api.check_connection()
        config = fetch_config(api)
    except ConnectorError as exc:
        return ConnectionCheck(generation, False, check_failure_message(exc), failure_kind(exc))
    except Exception as exc:  # an answer no parser expected: say so, the log keeps the rest
        return ConnectionCheck(generation, False, f"{type(exc).__name__}: {exc}"[:300],
                               UNEXPECTED)
    finally:
        api.close()
    if integration is not None:
        store_config(integration, config)
    return ConnectionCheck(generation, True, message, config=config)


# -- the mapping tab -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocalOption:
    key: str
    label: str
    kind: str


@dataclass(frozen=True)
class MappingLine:
    """One INES field of the mapping tab, with the local field chosen for it."""

    ines_field: InesField
    local_key: str  # "" when unmapped


@dataclass(frozen=True)
class MappingData:
    """Everything the mapping tab shows, read in one go."""

    lines: list[MappingLine]  # catalogue order; the two ref rows included
    stop_sync: str  # the local field of the stop-sync row, "" when unmapped
    contact_options: list[LocalOption]
    client_options: list[LocalOption]  # contact fields, then the primary company's
    special_missing: list[str] = field(default_factory=list)  # local keys not created yet


def _options(concept: str) -> list[LocalOption]:
    return [LocalOption(f.key, f.label, f.kind) for f in local_field_options(concept)]


def mapping_data(settings: dict[str, Any], config: InesConfig | None) -> MappingData:
    """The rows for these settings (saved or being edited); without a saved mapping, the
    defaults plus the suggestions of ``SUGGESTED_CONTACT_FIELDS`` and of existing suggested
    local fields."""
    mapping = MappingSettings.of(settings)
    fresh = settings.get(MAPPING) is None
    lines = []
    for ines_field in catalogue(config):
        local = mapping.local(ines_field.mapping_key)
        if not local and fresh:
            local = _suggestion(ines_field)
        if local and not local_field_exists(local):
            local = ""
        lines.append(MappingLine(ines_field, local))
    stop = mapping.stop_sync if mapping.stop_sync and local_field_exists(mapping.stop_sync) else ""
    missing = [key for key, _kind, _label in SPECIAL_LOCAL_FIELDS.values()
               if not local_field_exists(key)]
    return MappingData(lines, stop, _options(CONTACT), _options(CLIENT), missing)


def _suggestion(ines_field: InesField) -> str:
    key = SUGGESTED_CONTACT_FIELDS.get(ines_field.mapping_key, "")
    if key:
        return key
    if ines_field.suggested and ines_field.mapping_key not in SPECIAL_LOCAL_FIELDS and (
            ines_field.suggested.startswith("ines_")):
        return ines_field.suggested  # an "ines_…" field the admin created for it
    return ""


def create_local_fields(settings: dict[str, Any], config: InesConfig | None) -> MappingData:
    """"Create the ListBridge fields for me": the three special contact fields (refs and
    stop-sync), created or fixed by ``ensure_local_fields``; then the tab's data again."""
    ensure_local_fields(config=config)
    return mapping_data(settings, config)


def mapping_json(mapping: dict[str, str], not_ecrasable: list[str],
                 config: InesConfig | None) -> str:
    """The getMapping document (``listbridge ines get-mapping``) for the dialog's values."""
    return get_mapping_json({MAPPING: mapping, NOT_ECRASABLE: list(not_ecrasable)}, config)


def sync_problems(mapping: dict[str, str]) -> list[str]:
    """Why nothing would synchronise with this mapping (fail closed, ines.md §3.4)."""
    problems = []
    for key, what in ((STOP_SYNC_KEY, "stop-sync indicator"),
                      (CONTACT_REF_KEY, "INES contact reference"),
                      (CLIENT_REF_KEY, "INES client reference")):
        local = mapping.get(key, "")
        if not local:
            problems.append(what)
    return problems


# -- saving the dialog ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class InesExtras:
    """What INES's tabs hold beside the generic form (saved after it by ``save_extras``)."""

    push_lead: bool
    full_sync: bool
    mapping: dict[str, str] | None  # None: the mapping tab was never shown, keep what is saved
    not_ecrasable: list[str] | None
    config: InesConfig | None
    leads_per_run: int = DEFAULT_LEADS_PER_RUN
    npai_from_bounces: bool | None = None  # None: keep what is saved (§3.9 option)


def save_extras(extras: InesExtras, integration: Integration) -> str:
    """After the integration itself is saved (``gui.integration_dialog.save_integration``): its
    configuration, mapping and features. Returns why something was refused, "" when all is
    saved."""
    if extras.config is not None:
        store_config(integration, extras.config)  # saving dropped it (new credentials maybe)
    if extras.mapping is not None:
        problems = save_mapping(integration, extras.mapping)
        if problems:
            return " ".join(problems)
    integration = Integration.get_by_id(integration.id)
    set_features(integration, push_lead=extras.push_lead, full_sync=extras.full_sync)
    if extras.not_ecrasable is not None:
        set_not_ecrasable(Integration.get_by_id(integration.id), extras.not_ecrasable)
    if extras.npai_from_bounces is not None:
        set_npai_from_bounces(Integration.get_by_id(integration.id), extras.npai_from_bounces)
    try:  # not a field of the connector's form (core would refuse it there): saved beside it
        set_leads_per_run(Integration.get_by_id(integration.id), extras.leads_per_run)
    except ValueError as exc:
        return str(exc)
    return ""


# -- what the dialog reads when it opens ---------------------------------------------------------------

@dataclass(frozen=True)
class SavedState:
    """An INES integration's saved settings, as the dialog shows them."""

    settings: dict[str, Any]
    push_lead: bool
    full_sync: bool
    not_ecrasable: frozenset[str]
    mapping: dict[str, str]
    problems: list[str]
    npai_from_bounces: bool = False


def saved_state(integration: Integration) -> SavedState:
    from connectors.ines.connector import configuration_problems

    settings = dict(integration.settings)
    ticked = features(integration)
    mapping = MappingSettings.of(integration)
    return SavedState(settings, ticked[PUSH_LEAD], ticked[FULL_SYNC], mapping.not_ecrasable,
                      dict(mapping.fields), configuration_problems(integration),
                      npai_from_bounces(integration))
