"""INES mapping settings, non-overwritable fields, the getMapping document, the local fields.

Kept in the integration's settings (``Integration.settings``), next to the form's values:

- ``mapping``: ``<concept>_<inesKey>`` → local field key, plus ``dontSyncToInes`` → the stop-sync
  field. A local key is a contact field (standard or custom: ``email``, ``ines_contact_ref``) or,
  for client fields, a field of the contact's primary company (``company.phone``,
  ``company.<custom key>``). Absent: the default mapping (the plugin's automatic ones, §3.2).
- ``not_ecrasable_fields``: mapping keys ticked non-overwritable (fixed fields are never
  overwritable and never listed).
- ``push_lead``, ``full_sync``: the features (``full_sync`` implies ``push_lead``).
- ``leads_per_run``: the most queued contacts one scheduled run sends (positive, default 10).
- ``npai_from_bounces``: the option of §3.9, ``NPai`` also set by hard bounces.

Readers take an ``Integration`` or a plain settings dict (``Settings``): the settings dialog asks
about choices it has not saved yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.ines.catalogue import (
    CLIENT,
    CLIENT_REF_KEY,
    COMPANY_NAME_KEY,
    COMPANY_PREFIX,
    CONTACT,
    CONTACT_REF_KEY,
    FIXED_KEYS,
    SPECIAL_LOCAL_FIELDS,
    STOP_SYNC_KEY,
    InesConfig,
    InesField,
    by_key,
    catalogue,
    field_choices,
)
from core.db import database_proxy
from core.models.store import CustomField, CustomValue
from core.models.sync import Integration
from core.store import STANDARD_FIELDS, FieldInfo, fields_for

MAPPING = "mapping"
NOT_ECRASABLE = "not_ecrasable_fields"
PUSH_LEAD, FULL_SYNC = "push_lead", "full_sync"
LEADS_PER_RUN = "leads_per_run"
DEFAULT_LEADS_PER_RUN = 10
NPAI_FROM_BOUNCES = "npai_from_bounces"

# An integration, or its settings as a plain dict (saved or still being edited).
Settings = Integration | dict[str, Any]


def settings_of(source: Settings) -> dict[str, Any]:
    return source if isinstance(source, dict) else source.settings


def default_mapping() -> dict[str, str]:
    """The pre-filled rows: both refs, email, last and first name, NPai, stop-sync (§3.2); a row
    whose suggested local field does not exist (yet) is left unmapped."""
    mapping = {f.mapping_key: f.prefilled for f in catalogue() if f.prefilled}
    mapping[STOP_SYNC_KEY] = SPECIAL_LOCAL_FIELDS[STOP_SYNC_KEY][0]
    return {key: local for key, local in mapping.items() if local_field_exists(local)}


@dataclass(frozen=True)
class MappingSettings:
    """The mapping of one integration, as the sync reads it."""

    fields: dict[str, str] = field(default_factory=dict)  # mapping key → local key
    not_ecrasable: frozenset[str] = frozenset()

    @classmethod
    def of(cls, source: Settings) -> MappingSettings:
        """The mapping of a saved integration, or of a settings dict (``{"mapping": …,
        "not_ecrasable_fields": …}``, e.g. the dialog's unsaved choices); a dict without
        ``mapping`` gets the default mapping, like an integration that never saved one."""
        settings = settings_of(source)
        saved = settings.get(MAPPING)
        mapping = dict(default_mapping() if saved is None else saved)
        mapping[COMPANY_NAME_KEY] = "company"  # automatic (§3.2)
        mapping = {k: str(v).strip() for k, v in mapping.items() if v and str(v).strip()}
        ticked = frozenset(str(k) for k in settings.get(NOT_ECRASABLE) or ()) - FIXED_KEYS
        return cls(mapping, ticked)

    def local(self, mapping_key: str) -> str:
        return self.fields.get(mapping_key, "")

    @property
    def stop_sync(self) -> str:
        return self.fields.get(STOP_SYNC_KEY, "")

    @property
    def contact_ref(self) -> str:
        return self.fields.get(CONTACT_REF_KEY, "")

    @property
    def client_ref(self) -> str:
        return self.fields.get(CLIENT_REF_KEY, "")

    def is_ecrasable(self, mapping_key: str) -> bool:
        return mapping_key not in FIXED_KEYS and mapping_key not in self.not_ecrasable


# -- reading and writing the settings ------------------------------------------------------------

def save_mapping(integration: Integration, mapping: dict[str, str]) -> list[str]:
    """Save the mapping tab; returns problems (unknown local fields are refused, nothing saved)."""
    problems = [f"{key}: the local field {local!r} does not exist."
                for key, local in mapping.items() if local and not local_field_exists(local)]
    if problems:
        return problems
    settings = integration.settings
    settings[MAPPING] = {k: v for k, v in mapping.items() if v and k != COMPANY_NAME_KEY}
    _write(integration, settings)
    return []


def set_not_ecrasable(integration: Integration, keys: Iterable[str]) -> None:
    settings = integration.settings
    settings[NOT_ECRASABLE] = sorted(set(keys) - FIXED_KEYS)
    _write(integration, settings)


def features(integration: Integration) -> dict[str, bool]:
    settings = integration.settings
    full = bool(settings.get(FULL_SYNC))
    return {PUSH_LEAD: bool(settings.get(PUSH_LEAD)) or full, FULL_SYNC: full}


def set_features(integration: Integration, *, push_lead: bool | None = None,
                 full_sync: bool | None = None) -> None:
    """Tick features; ticking full sync ticks push (§3.1)."""
    settings = integration.settings
    if push_lead is not None:
        settings[PUSH_LEAD] = bool(push_lead)
    if full_sync is not None:
        settings[FULL_SYNC] = bool(full_sync)
    if settings.get(FULL_SYNC):
        settings[PUSH_LEAD] = True
    _write(integration, settings)


def leads_per_run(source: Settings) -> int:
    """The most queued contacts one scheduled run sends (§3.14); 10 unless set."""
    value = settings_of(source).get(LEADS_PER_RUN)
    try:
        number = int(value) if value is not None and not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        number = 0
    return number if number > 0 else DEFAULT_LEADS_PER_RUN


def set_leads_per_run(integration: Integration, count: int) -> None:
    """Save the run size; ``ValueError`` unless ``count`` is a positive integer (a bool, a
    float or a string is refused, as ``--number-of-leads-to-process`` refuses them)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"The number of contacts per run must be a positive integer, not "
                         f"{count!r}.")
    settings = integration.settings
    if settings.get(LEADS_PER_RUN) == count:
        return
    settings[LEADS_PER_RUN] = count
    _write(integration, settings)


def npai_from_bounces(source: Settings) -> bool:
    """The §3.9 option: ``NPai`` is also set for contacts whose email hard-bounced."""
    return bool(settings_of(source).get(NPAI_FROM_BOUNCES))


def set_npai_from_bounces(integration: Integration, on: bool) -> None:
    settings = integration.settings
    if bool(settings.get(NPAI_FROM_BOUNCES)) == bool(on):
        return
    settings[NPAI_FROM_BOUNCES] = bool(on)
    _write(integration, settings)


def full_sync_mode(integration: Integration) -> bool:
    """Published (active) and ``full_sync`` ticked (§3.1)."""
    return bool(integration.active) and features(integration)[FULL_SYNC]


def auto_push_mode(integration: Integration) -> bool:
    """Published, "Push contacts to this integration" ticked and full sync off: contacts are
    pushed automatically when created or changed (§3.12), by the integration's runs."""
    ticked = features(integration)
    return bool(integration.active) and ticked[PUSH_LEAD] and not ticked[FULL_SYNC]


FULL_SYNC_OFF, NOT_PUBLISHED = "full_sync_off", "not_published"


def mode_problems(integration: Integration) -> list[str]:
    """Why full sync does not run (``FULL_SYNC_OFF``, ``NOT_PUBLISHED``, or both); [] in
    full-sync mode."""
    problems = []
    if not features(integration)[FULL_SYNC]:
        problems.append(FULL_SYNC_OFF)
    if not integration.active:
        problems.append(NOT_PUBLISHED)
    return problems


def _write(integration: Integration, settings: dict[str, Any]) -> None:
    integration.settings = settings
    Integration.update(settings_json=integration.settings_json).where(
        Integration.id == integration.id).execute()
    settings_changed()


_settings_version = 0  # bumped by ``settings_changed``; the listener's cache compares it


def settings_changed() -> None:
    """The record-change listener must read the INES settings again (connectors.ines.fullsync
    reads ``settings_version()`` before it trusts its cache)."""
    global _settings_version
    _settings_version += 1


def settings_version() -> int:
    """Changes every time this process changed INES settings (``settings_changed``)."""
    return _settings_version


# -- local fields --------------------------------------------------------------------------------

def _contact_custom() -> dict[str, CustomField]:
    return {f.key: f for f in CustomField.select().where(CustomField.entity == "contact")}


def local_field_exists(key: str) -> bool:
    if key.startswith(COMPANY_PREFIX):
        attr = key[len(COMPANY_PREFIX):]
        return any(f.key == attr for f in STANDARD_FIELDS["company"]) or CustomField.select().where(
            CustomField.entity == "company", CustomField.key == attr).exists()
    return any(f.key == key for f in STANDARD_FIELDS["contact"]) or CustomField.select().where(
        CustomField.entity == "contact", CustomField.key == key).exists()


def local_field_options(concept: str) -> list[FieldInfo]:
    """What the local field picker of an INES field offers: contact fields, and for client fields
    the primary company's fields too (keys prefixed ``company.``)."""
    options = list(fields_for("contact"))
    if concept == CLIENT:
        options += [FieldInfo(COMPANY_PREFIX + f.key, f"Company: {f.label}", f.kind, f.custom,
                              f.choices) for f in fields_for("company")]
    return options


def ensure_local_fields(extra: Iterable[str] = (), config: InesConfig | None = None
                        ) -> list[CustomField]:
    """Create (or fix) the three special contact fields and, on request, the suggested local
    fields of the INES fields named in ``extra`` (mapping keys); returns the fields touched.

    A field that exists keeps its values; its kind is fixed only while it holds none.
    """
    wanted: list[tuple[str, str, str, tuple[str, ...]]] = [
        (key, kind, label, ()) for key, kind, label in SPECIAL_LOCAL_FIELDS.values()]
    known = by_key(config)
    for mapping_key in extra:
        ines_field = known.get(mapping_key)
        if ines_field is None or ines_field.suggested in ("email", "company", "first_name",
                                                          "last_name"):
            continue
        if ines_field.mapping_key in SPECIAL_LOCAL_FIELDS:
            continue
        wanted.append(_suggestion(ines_field, config))
    existing = _contact_custom()
    position = max((f.position for f in existing.values()), default=0)
    touched = []
    with database_proxy.atomic():
        for key, kind, label, choices in wanted:
            current = existing.get(key)
            if current is None:
                position += 1
                current = CustomField(entity="contact", key=key, label=label, kind=kind,
                                      position=position)
            else:
                holds_values = CustomValue.select().where(CustomValue.field == current).exists()
                if current.kind != kind and not holds_values:
                    current.kind = kind
            if choices and kind == "choice":
                current.choices = list(choices)
            current.save()
            touched.append(current)
    settings_changed()
    return touched


def _suggestion(ines_field: InesField, config: InesConfig | None
                ) -> tuple[str, str, str, tuple[str, ...]]:
    word = {CONTACT: "contact", CLIENT: "client"}[ines_field.concept]
    label = (ines_field.label if ines_field.custom
             else f"INES {word}: {ines_field.label}")
    return (ines_field.suggested, ines_field.kind, label, field_choices(ines_field, config))


# -- getMapping (§3.3) -----------------------------------------------------------------------------

def get_mapping_document(source: Settings, config: InesConfig | None = None) -> dict[str, Any]:
    """The document the plugin served at ``GET /api/ines/getMapping``: entries of five keys in
    catalogue order, both refs first, then ``dontSyncFieldKey``.

    ``source`` is a saved integration or a settings dict (the dialog's unsaved mapping and
    non-overwritable fields, as ``MappingSettings.of`` reads them)."""
    mapping = MappingSettings.of(source)
    fields = catalogue(config)
    listed = {f.mapping_key for f in fields}
    # Mapped custom fields INES no longer lists (or not cached yet) still appear, at the end.
    for key in mapping.fields:
        concept, _, ines_key = key.partition("_")
        if key not in listed and concept in (CONTACT, CLIENT) and ines_key.isdigit():
            fields.append(InesField(concept, ines_key, ines_key, "cf", "text", custom=True))
    entries = []
    for ines_field in fields:
        key = ines_field.mapping_key
        local = mapping.local(key)
        if key in (CONTACT_REF_KEY, CLIENT_REF_KEY):
            local = local or ines_field.suggested  # required: always present
        elif not local or not local_field_exists(local):
            continue
        entries.append({
            "concept": ines_field.concept,
            "inesFieldKey": ines_field.key,
            "isCustomField": 1 if ines_field.custom else 0,
            "atmtFieldKey": local,
            "isEcrasable": 1 if mapping.is_ecrasable(key) else 0,
        })
    stop = mapping.stop_sync
    return {"mapping": entries,
            "dontSyncFieldKey": stop if stop and local_field_exists(stop) else ""}


def get_mapping_json(source: Settings, config: InesConfig | None = None) -> str:
    """``listbridge ines get-mapping`` and the tab's "Copy getMapping JSON" (``source``: an
    integration or a settings dict, see ``get_mapping_document``)."""
    return json.dumps(get_mapping_document(source, config), indent=2, ensure_ascii=False)
