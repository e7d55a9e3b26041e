"""Syncing one local contact to INES CRM, and "Push to INES" (ines.md §3.4, §3.6–§3.10, §3.12).

``ContactSync.sync`` creates (§3.6) when either ref is blank or ≤ 0, else updates (§3.7), then
adds the lead (§3.10) and the custom fields (§3.8); an ineligible contact (§3.4) is ``ignored``
without any call. ``push_contacts`` is the explicit push. The scheduled run, the initial sync
and the record-change listener are in ``connectors.ines.fullsync``.

Nothing here fails silently: each outcome is a ``HistoryEvent`` on the contact, and each push
leaves a journal row (``ines_sync_log``) with its error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import peewee as pw

from connectors.base import ConfigurationError, ConnectorError, ItemError, TransientError
from connectors.ines import queue
from connectors.ines.catalogue import (
    CLIENT,
    CLIENT_REF_KEY,
    COMPANY_PREFIX,
    CONTACT,
    CONTACT_REF_KEY,
    CustomFieldInfo,
    InesConfig,
    InesField,
    cached_config,
    custom_field,
    store_config,
)
from connectors.ines.catalogue import CLIENT_FIELDS as CLIENT_CATALOGUE
from connectors.ines.catalogue import CONTACT_FIELDS as CONTACT_CATALOGUE
from connectors.ines.client import (
    CLIENT_FIELDS,
    CONTACT_FIELDS,
    InesAnswerError,
    InesApi,
    InesObject,
    as_list,
    ines_datetime,
    ines_flag,
    ines_int,
    is_run_wide,
    text_of,
)
from connectors.ines.mapping import (
    MappingSettings,
    features,
    local_field_exists,
    npai_from_bounces,
)
from connectors.ines.values import (
    as_text,
    cf_differs,
    ines_empty,
    ines_side,
    is_blank,
    ref_value,
    to_wire,
    truthy,
    wire_now,
)
from core.bounces import bounced_in
from core.clock import utcnow
from core.db import database_proxy
from core.logs import redact
from core.models.store import Company, Contact, email_key
from core.models.sync import HistoryEvent, Integration, SyncRun
from core.store import STANDARD_FIELDS, custom_values, parse_custom, set_custom_values

log = logging.getLogger("listbridge.ines.sync")

CREATED, UPDATED, UNCHANGED, IGNORED, FAILED = "created", "updated", "unchanged", "ignored", "failed"
DEFAULT_LEAD_PREFIX = "Lead ListBridge"

TYPE_LOOKUPS = {CONTACT: "contact_types", CLIENT: "client_types"}

CONTACT_ATTRS = {f.key for f in STANDARD_FIELDS["contact"]} - {"company"}
COMPANY_ATTRS = {f.key for f in STANDARD_FIELDS["company"]}


# -- outcomes ------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What syncing one contact did; ``status`` is created, updated, unchanged, ignored or failed."""

    status: str
    message: str
    contact_id: int | None = None
    email: str = ""
    company: str = ""
    contact_ref: int | None = None
    client_ref: int | None = None
    warnings: list[str] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.status in (CREATED, UPDATED, UNCHANGED)


class LocalContact:
    """A contact's values by local field key, its primary company's under ``company.``."""

    def __init__(self, contact: Contact, company: Company | None | bool = True,
                 custom: dict[str, Any] | None = None) -> None:
        """``company`` and ``custom`` may be given when loaded in bulk (``load_contacts``)."""
        self.contact = contact
        if company is True:
            company_id = company_id_of(contact)
            company = Company.get_or_none(Company.id == company_id) if company_id else None
        self.company: Company | None = company if isinstance(company, Company) else None
        self.custom = custom if custom is not None else custom_values("contact", contact.id)
        self._company_custom: dict[str, Any] | None = None

    @property
    def email(self) -> str:
        return (self.contact.email or "").strip()

    @property
    def company_name(self) -> str:
        return (self.company.name or "").strip() if self.company is not None else ""

    def value(self, key: str) -> Any:
        if key.startswith(COMPANY_PREFIX):
            return self.company_value(key[len(COMPANY_PREFIX):])
        if key == "company":
            return self.company.name if self.company is not None else None
        if key in CONTACT_ATTRS:
            return getattr(self.contact, key)
        return self.custom.get(key)

    def company_value(self, attr: str) -> Any:
        if self.company is None:
            return None
        if attr in COMPANY_ATTRS:
            return getattr(self.company, attr)
        if self._company_custom is None:
            self._company_custom = custom_values("company", self.company.id)
        return self._company_custom.get(attr)


def load_contacts(ids: Iterable[int | None]) -> dict[int, LocalContact]:
    """Contacts with their primary company and custom values, in three queries for a batch."""
    from core.models.store import CustomField, CustomValue

    wanted = sorted({int(i) for i in ids if i})
    if not wanted:
        return {}
    contacts = list(Contact.select(Contact, Company)
                    .join(Company, pw.JOIN.LEFT_OUTER, on=(Contact.company == Company.id))
                    .where(Contact.id.in_(wanted)))
    custom: dict[int, dict[str, Any]] = {}
    query = (CustomValue.select(CustomValue.record_id, CustomValue.value, CustomField.key,
                                CustomField.kind)
             .join(CustomField)
             .where(CustomField.entity == "contact", CustomValue.record_id.in_(wanted)))
    for row in query:
        custom.setdefault(row.record_id, {})[row.field.key] = parse_custom(row.field.kind,
                                                                           row.value)
    return {c.id: LocalContact(c, c.company if company_id_of(c) else None, custom.get(c.id, {}))
            for c in contacts}


def company_id_of(contact: Contact) -> int | None:
    """The primary company's id without loading it (peewee keeps foreign keys in ``__data__``)."""
    value = contact.__data__.get("company")
    return int(value) if value else None


# -- eligibility (§3.4) ---------------------------------------------------------------------------------

class FieldCheck:
    """Caches whether local field keys exist, for the length of one run or push."""

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}

    def exists(self, key: str) -> bool:
        if key not in self._known:
            self._known[key] = bool(key) and local_field_exists(key)
        return self._known[key]


def ineligible_reason(email: str, company_name: str, stop_key: str, stop_value: Any,
                      fields: FieldCheck) -> str | None:
    """Why a contact is not synchronised, or None when it is eligible."""
    if not email.strip():
        return "The contact has no email address."
    if not company_name.strip():
        return "The contact has no company (a primary company with a name is needed)."
    if not stop_key or not fields.exists(stop_key):
        return ("The stop-sync field is not mapped in the INES integration (or was deleted), so "
                "no contact is synchronised until it is.")
    if truthy(stop_value):
        return "Stop sync INES is set on this contact."
    return None


# -- syncing one contact --------------------------------------------------------------------------------

@dataclass
class RunConfig:
    """What one run (or push) reads once: INES's sync info and the integration's settings."""

    lead_ref: int
    societe_type: int
    custom: dict[str, CustomFieldInfo]  # mapping key → definition
    lead_prefix: str = DEFAULT_LEAD_PREFIX
    birth_date_fallback: str = ""
    first_types: dict[str, int] = field(default_factory=dict)  # concept → default Type (§3.2)


def _client_defaults(now: datetime) -> InesObject:
    values: InesObject = {}
    for name, kind in CLIENT_FIELDS:
        if name in ("Effectif", "CA"):
            continue  # 2019+ members: only when mapped
        values[name] = {"str": "", "int": 0, "num": 0, "dt": now, "bool": True}[kind]
    values.update(Confidentiality="Undefined", PaymentMethodRef=1, IsNew=True, AutomationRef=0,
                  InternalRef=0)
    return values


def _contact_defaults(now: datetime) -> InesObject:
    values: InesObject = {}
    for name, kind in CONTACT_FIELDS:
        if name == "DateOfBirth":
            continue  # never invented (D4)
        values[name] = {"str": "", "int": 0, "dt": now, "bool": True, "flag": 0}[kind]
    values.update(Confidentiality="Undefined", Rang="Principal", IsNew=True, InternalRef=0)
    return values


class ContactSync:
    """Create or update contacts in INES for one integration, with one client and config."""

    def __init__(self, integration: Integration, api: InesApi | None, run: SyncRun | None = None,
                 config: RunConfig | None = None) -> None:
        self.integration = integration
        self._api = api
        self.run = run
        self.mapping = MappingSettings.of(integration)
        self.npai_from_bounces = npai_from_bounces(integration)
        self.fields = FieldCheck()
        self._config = config
        self.before_create: Callable[[], None] | None = None  # the queue marks its row

    @property
    def api(self) -> InesApi:
        if self._api is None:
            raise ConfigurationError("The INES integration has no usable client (check its "
                                     "account, user and password).")
        return self._api

    # -- configuration read once per run --

    def prepare(self) -> RunConfig:
        """Log in (or reuse the session) and read ``GetSyncInfo``: before any row is touched."""
        if self._config is None:
            self.api.session_id()
            info = self.api.get_sync_info()
            previous = cached_config(self.integration) or InesConfig()
            config = InesConfig(
                info.lead_ref, info.societe_type,
                [CustomFieldInfo(d.ines_id, d.name, d.type, d.values)
                 for d in info.contact_custom_fields],
                [CustomFieldInfo(d.ines_id, d.name, d.type, d.values)
                 for d in info.company_custom_fields],
                previous.lookups, utcnow().isoformat(timespec="seconds"))
            store_config(self.integration, config)
            custom = {f"{CONTACT}_{d.ines_id}": d for d in config.contact_custom_fields}
            custom.update({f"{CLIENT}_{d.ines_id}": d for d in config.client_custom_fields})
            settings = self.integration.settings
            self._config = RunConfig(
                config.lead_ref, config.societe_type, custom,
                str(settings.get("lead_description_prefix") or DEFAULT_LEAD_PREFIX),
                str(settings.get("birth_date_fallback") or ""))
        return self._config

    @property
    def config(self) -> RunConfig:
        return self.prepare()

    # -- eligibility --

    def configuration_problem(self) -> str | None:
        """What stops every contact from syncing (fail closed, §3.4), or None."""
        stop = self.mapping.stop_sync
        if not stop or not self.fields.exists(stop):
            return ("The stop-sync indicator is not mapped to an existing local field (Contact "
                    "Field Mapping tab), so no contact is synchronised.")
        for key, what in ((self.mapping.contact_ref, "contact"), (self.mapping.client_ref, "client")):
            if not key or not self.fields.exists(key):
                return (f"The INES {what} reference is not mapped to an existing local field "
                        "(Contact Field Mapping tab), so no contact is synchronised.")
        return None

    def ineligible(self, view: LocalContact) -> str | None:
        stop = self.mapping.stop_sync
        return ineligible_reason(view.email, view.company_name, stop,
                                 view.value(stop) if stop else None, self.fields)

    def refs(self, view: LocalContact) -> tuple[int, int]:
        return (ref_value(view.value(self.mapping.contact_ref)) if self.mapping.contact_ref else 0,
                ref_value(view.value(self.mapping.client_ref)) if self.mapping.client_ref else 0)

    def store_refs(self, contact_id: int, contact_ref: int, client_ref: int) -> None:
        """Both refs at once (one statement), without notifying listeners: this write must not
        queue the contact again (§3.6 step 4)."""
        from core.models.store import CustomValue

        values = {key: ref for key, ref in ((self.mapping.contact_ref, contact_ref),
                                            (self.mapping.client_ref, client_ref))
                  if key and not key.startswith(COMPANY_PREFIX) and key not in CONTACT_ATTRS}
        fields = self._ref_fields()
        if not values:
            return
        if set(values) - set(fields):
            with database_proxy.atomic():
                set_custom_values("contact", contact_id, values)
            return
        (CustomValue.insert_many([{"field": fields[key], "record_id": contact_id,
                                   "value": str(int(ref))} for key, ref in values.items()])
         .on_conflict(conflict_target=[CustomValue.field, CustomValue.record_id],
                      update={CustomValue.value: pw.EXCLUDED.value})
         .execute())

    def _ref_fields(self) -> dict[str, int]:
        """Ids of the number fields holding the refs (kept for the run)."""
        if not hasattr(self, "_ref_field_ids"):
            from core.models.store import CustomField

            keys = [self.mapping.contact_ref, self.mapping.client_ref]
            self._ref_field_ids = {f.key: f.id for f in CustomField.select().where(
                CustomField.entity == "contact", CustomField.key.in_(keys),
                CustomField.kind == "number")}
        return self._ref_field_ids

    # -- the sync of one contact --

    def sync(self, contact: Contact | LocalContact, explicit: bool = False,
             activity: str = "") -> Outcome:
        """Create or update one contact; an ineligible one is ``ignored`` without any call.

        Raises ``ConnectorError`` (or anything else, for a bug) when the sync failed.
        """
        view = contact if isinstance(contact, LocalContact) else LocalContact(contact)
        base = Outcome(IGNORED, "", view.contact.id, view.email, view.company_name)
        reason = self.ineligible(view)
        if reason:
            base.message = reason
            return base
        problem = self.configuration_problem()
        if problem:
            raise ConfigurationError(problem)
        self.prepare()
        contact_ref, client_ref = self.refs(view)
        if contact_ref > 0 and client_ref > 0:
            outcome = self._update(view, contact_ref, client_ref, explicit, activity, base)
            if outcome is not None:
                return outcome
            base.warnings.append("The contact or client was gone in INES: a new client and "
                                 "contact were created; the old ones were left alone.")
        return self._create(view, explicit, activity, base)

    # -- create (§3.6) --

    def _create(self, view: LocalContact, explicit: bool, activity: str, base: Outcome) -> Outcome:
        now = wire_now()
        config = self.config
        client = _client_defaults(now)
        client["CompanyName"] = view.company_name
        for ines_field in CLIENT_CATALOGUE:
            if ines_field.company_attr and not is_blank(view.company_value(ines_field.company_attr)):
                client[ines_field.key] = as_text(view.company_value(ines_field.company_attr))
        client.update(self._mapped(view, CLIENT_CATALOGUE, base.warnings))
        if not client.get("Type"):  # SocieteType, else the first client type (§3.2, §3.6)
            client["Type"] = config.societe_type if config.societe_type > 0 else (
                self.first_type(CLIENT))
        contact = _contact_defaults(now)
        contact["PrimaryMailAddress"] = view.email  # required; a mapping may replace it
        mapped = self._mapped(view, CONTACT_CATALOGUE, base.warnings)
        contact.update(mapped)
        if "Type" not in mapped:
            contact["Type"] = self.first_type(CONTACT)  # the first contact type (§3.2)
        if self._bounced(view):
            contact["NPai"] = 1
        contact.update(AutomationRef=view.contact.id, Scoring=int(view.contact.points or 0),
                       Desabo=self._desabo(view))
        if "DateOfBirth" not in contact and config.birth_date_fallback:
            contact["DateOfBirth"] = config.birth_date_fallback
        if self.before_create is not None:
            self.before_create()
        result = self.api.add_client_with_contacts(client, [contact])
        client_ref = ines_int(result.get("InternalRef")) or 0
        created = as_list(result.get("Contacts"), "ContactInfoAuto")
        contact_ref = (ines_int(created[0].get("InternalRef")) or 0
                       if created and isinstance(created[0], dict) else 0)
        if client_ref <= 0 or contact_ref <= 0:
            raise InesAnswerError(
                "INES did not return the references of the new client and contact; whether they "
                "were created is unknown (outcome unknown).",
                f"AddClientWithContacts: client {client_ref}, contact {contact_ref}",
                outcome_unknown=True)
        self.store_refs(view.contact.id, contact_ref, client_ref)
        base.contact_ref, base.client_ref = contact_ref, client_ref
        if config.lead_ref >= 0:
            self._add_lead(view, contact_ref, client_ref, view.email, explicit, activity, base)
        self._custom_fields(view, contact_ref, client_ref, created_now=True)
        base.status = CREATED
        base.message = (f"Created in INES: client {client_ref} with contact {contact_ref}.")
        return base

    def _mapped(self, view: LocalContact, fields: Iterable[InesField],
                warnings: list[str]) -> InesObject:
        """The non-blank mapped standard values of one concept, as wire values."""
        values: InesObject = {}
        for ines_field in fields:
            key = ines_field.mapping_key
            if key in (CONTACT_REF_KEY, CLIENT_REF_KEY) or ines_field.automatic:
                continue
            local = self.mapping.local(key)
            if not local or not self.fields.exists(local):
                continue
            value = view.value(local)
            if is_blank(value):
                continue
            try:
                values[ines_field.key] = to_wire(ines_field, value)
            except ValueError as exc:
                warnings.append(f"{ines_field.label} was not sent: {exc}.")
        return values

    def _desabo(self, view: LocalContact) -> int:
        return 1 if view.contact.do_not_contact else 0

    def _bounced(self, view: LocalContact) -> bool:
        """The §3.9 option is on and a mailing service (Dotmailer today) saw this email
        hard-bounce (``core.bounces``: INES does not read another connector's tables)."""
        if not self.npai_from_bounces:
            return False
        return bool(bounced_in(view.contact.email_key or email_key(view.contact.email)))

    def first_type(self, concept: str) -> int:
        """The first entry of ``GetTypeContactList`` / ``GetTypeClientList`` (sorted by order,
        then description), the default of an unmapped Type (§3.2); 0 when INES lists none.

        Read from the cached configuration, else from INES once (then cached for later runs).
        A fault gives 0 for the rest of the run; a transient error fails this contact's sync.
        """
        config = self.config
        if concept not in config.first_types:
            lookup = TYPE_LOOKUPS[concept]
            cached = cached_config(self.integration)
            items = cached.lookups.get(lookup) if cached is not None else None
            if items is None:
                try:
                    read = (self.api.contact_types() if concept == CONTACT
                            else self.api.client_types())
                except TransientError:
                    raise
                except ConnectorError as exc:
                    log.warning("[%s] %s could not be read, Type 0 is sent: %s",
                                self.integration.name, lookup, exc)
                    read = []
                else:
                    cached = cached_config(self.integration) or InesConfig()
                    cached.lookups[lookup] = [(item.key, item.label) for item in read]
                    store_config(self.integration, cached)
                items = [(item.key, item.label) for item in read]
            config.first_types[concept] = int(items[0][0]) if items else 0
        return config.first_types[concept]

    # -- update (§3.7) --

    def _update(self, view: LocalContact, contact_ref: int, client_ref: int, explicit: bool,
                activity: str, base: Outcome) -> Outcome | None:
        ines_contact = self.api.get_contact(contact_ref)
        ines_client = self.api.get_client(client_ref) if ines_contact is not None else None
        if ines_contact is None or ines_client is None:
            self.store_refs(view.contact.id, 0, 0)
            self._history(view.contact.id, view.email, "warning", "gone",
                          f"INES no longer has contact {contact_ref} or client {client_ref}: "
                          "the INES references were reset and a new INES client and contact "
                          "are created.")
            return None
        base.contact_ref, base.client_ref = contact_ref, client_ref
        changed = False
        client_changes = self._changes(view, CLIENT_CATALOGUE, ines_client, base.warnings,
                                       company_defaults=True)
        if client_changes:
            payload = _overlay(CLIENT_FIELDS, ines_client, client_changes)
            payload.update(ModifiedDate=wire_now(), InternalRef=client_ref)
            answer = self.api.update_client(payload)
            if ines_int(answer.get("InternalRef")) != client_ref:
                raise InesAnswerError("INES did not confirm the update of the client.",
                                      f"UpdateClient answered InternalRef "
                                      f"{text_of(answer.get('InternalRef'))!r}")
            changed = True
        contact_changes = self._changes(view, CONTACT_CATALOGUE, ines_contact, base.warnings)
        points = int(view.contact.points or 0)
        if points != (ines_int(ines_contact.get("Scoring")) or 0):
            contact_changes["Scoring"] = points
        desabo = self._desabo(view)
        if desabo != (ines_flag(ines_contact.get("Desabo")) or 0):
            contact_changes["Desabo"] = desabo
        if ("NPai" not in contact_changes and ines_empty("flag", ines_contact.get("NPai"))
                and self._bounced(view)):
            contact_changes["NPai"] = 1  # fixed: written only while empty in INES (§3.9)
        if contact_changes:
            payload = _overlay(CONTACT_FIELDS, ines_contact, contact_changes)
            payload.update(IsNew=False, ModificationDate=wire_now(), InternalRef=contact_ref,
                           AutomationRef=view.contact.id, Scoring=points, Desabo=desabo)
            answer_ref = self.api.update_contact(payload)
            if answer_ref != contact_ref:
                raise InesAnswerError("INES did not confirm the update of the contact.",
                                      f"UpdateContact answered {answer_ref!r}")
            changed = True
        if explicit and self.config.lead_ref >= 0:
            mail = text_of(ines_contact.get("PrimaryMailAddress")) or view.email
            self._add_lead(view, contact_ref, client_ref, mail, explicit, activity, base)
        if self._custom_fields(view, contact_ref, client_ref, created_now=False):
            changed = True
        base.status = UPDATED if changed else UNCHANGED
        base.message = (f"Updated in INES (contact {contact_ref}, client {client_ref})."
                        if changed else f"Already up to date in INES (contact {contact_ref}).")
        return base

    def _changes(self, view: LocalContact, fields: Iterable[InesField], ines: InesObject,
                 warnings: list[str], company_defaults: bool = False) -> InesObject:
        """Fields to write: local not blank, differs, and overwritable or empty in INES."""
        changes: InesObject = {}
        for ines_field in fields:
            key = ines_field.mapping_key
            if key in (CONTACT_REF_KEY, CLIENT_REF_KEY):
                continue
            local_key = self.mapping.local(key)
            if ines_field.automatic:
                value: Any = view.company_name
            elif local_key and self.fields.exists(local_key):
                value = view.value(local_key)
            elif company_defaults and ines_field.company_attr:
                value = view.company_value(ines_field.company_attr)
            else:
                continue
            if is_blank(value):
                continue
            try:
                wire = to_wire(ines_field, value)
            except ValueError as exc:
                warnings.append(f"{ines_field.label} was not sent: {exc}.")
                continue
            raw = ines.get(ines_field.key)
            if wire == ines_side(ines_field.wire, raw):
                continue
            if self.mapping.is_ecrasable(key) or ines_empty(ines_field.wire, raw):
                changes[ines_field.key] = wire
        return changes

    # -- lead (§3.10) --

    def _add_lead(self, view: LocalContact, contact_ref: int, client_ref: int, mail: str,
                  explicit: bool, activity: str, base: Outcome) -> None:
        config = self.config
        description = config.lead_prefix
        if explicit and activity.strip():
            description += f" - {activity.strip()}"
        info = {"ClRef": client_ref, "CtRef": contact_ref, "MailExpe": mail,
                "DescriptionCourte": description, "ReclaDescDetail": "",
                "FileRef": config.lead_ref, "CriticiteRef": 0, "TypeRef": 0, "EtatRef": 0,
                "OrigineRef": 0, "DossierRef": 0, "CampagneRef": 0, "ArticleRef": 0,
                "ReclaMere": 0, "Propietaire": 0, "Gestionnaire": 0,
                "AutomationScoring": int(view.contact.points or 0)}
        try:
            lead = self.api.add_lead(info)
            if not lead:
                raise InesAnswerError("INES did not return the new lead's reference.",
                                      "AddLead: no reference")
        except ConnectorError as exc:  # a failed lead never fails the sync (§3.10)
            message = f"The INES lead was not added: {exc.admin_message}"
            base.warnings.append(message)
            log.warning("[%s] AddLead for contact %s failed: %s", self.integration.name,
                        view.contact.id, exc)

    # -- custom fields (§3.8) --

    def _custom_fields(self, view: LocalContact, contact_ref: int, client_ref: int,
                       created_now: bool) -> bool:
        """Insert or update every mapped custom field with a non-blank local value."""
        wanted: dict[str, list[tuple[CustomFieldInfo, str, str]]] = {CONTACT: [], CLIENT: []}
        for key, local in self.mapping.fields.items():
            concept, _, ines_id = key.partition("_")
            if concept not in wanted or not ines_id.isdigit() or not self.fields.exists(local):
                continue
            value = view.value(local)
            if is_blank(value):
                continue
            info = self.config.custom.get(key) or CustomFieldInfo(int(ines_id), ines_id, "text")
            try:
                text = to_wire(custom_field(concept, info), value)
            except ValueError as exc:
                raise ItemError(f"The INES custom field {info.name} cannot take the value "
                                f"{value!r}: {exc}.", record_id=view.contact.id,
                                email=view.email) from None
            wanted[concept].append((info, key, str(text)))
        changed = False
        for concept, owner in ((CONTACT, contact_ref), (CLIENT, client_ref)):
            if not wanted[concept]:
                continue
            current: dict[int, tuple[int, str]] = {}
            if not created_now:
                for read in self.api.get_custom_values(concept, owner):
                    current[read.definition] = (read.ref, read.value)  # the last one counts
            for info, key, text in wanted[concept]:
                found = current.get(info.ines_id)
                if found is None:
                    self.api.insert_custom_value(concept, owner, info.ines_id, text)
                    changed = True
                elif cf_differs(info.type, text, found[1]) and (
                        self.mapping.is_ecrasable(key) or not found[1].strip()):
                    self.api.update_custom_value(concept, owner, info.ines_id, found[0], text)
                    changed = True
        return changed

    # -- history --

    def _history(self, contact_id: int | None, email: str, level: str, kind: str,
                 message: str) -> None:
        HistoryEvent.create(integration=self.integration, run=self.run, entity="contact",
                            record_id=contact_id, email=email or "", level=level,
                            kind=f"ines_{kind}", message=redact(message))

    def record(self, outcome: Outcome, push: bool = False, source: str = "") -> None:
        """The outcome on the contact's history (every failure visible, D5), in words that say
        what happened: "Push to INES failed: …", "INES sync: not sent. …".

        ``push``: an explicit push; ``source`` ``auto``: an automatic push (push-only mode)."""
        level = {FAILED: "error", IGNORED: "info"}.get(outcome.status, "info")
        what = ("Push to INES" if push else
                "Automatic push to INES" if source == queue.AUTO else "INES sync")
        self._history(outcome.contact_id, outcome.email, level, outcome.status,
                      history_text(what, outcome.status, outcome.message))
        for warning in outcome.warnings:
            self._history(outcome.contact_id, outcome.email, "warning", "warning",
                          f"{what}: {warning}")


def history_text(what: str, status: str, message: str) -> str:
    """One history line: ``what`` (INES sync, Push to INES, …), what happened, then why."""
    message = message.strip()
    if status == FAILED:
        return f"{what} failed: {message or 'no reason given (see the log).'}"
    if status == IGNORED:
        return f"{what}: not sent. {message}".rstrip()
    return f"{what}: {message}"


def _overlay(table: Iterable[tuple[str, str]], read: InesObject, changes: InesObject) -> InesObject:
    """The object INES returned (its §2.4 fields only; dates it left empty omitted, D4) with the
    changes laid over it."""
    payload: InesObject = {}
    for name, kind in table:
        if name in changes:
            payload[name] = changes[name]
        elif name in read and not isinstance(read[name], dict | list):
            raw = read[name]
            if kind == "dt" and ines_datetime(raw) is None:
                continue
            if kind != "str" and not text_of(raw).strip():
                continue  # never an empty number, date or boolean (§1.5)
            payload[name] = raw
    return payload


def failure_message(exc: BaseException) -> str:
    if isinstance(exc, ConnectorError):
        message = exc.admin_message
        if getattr(exc, "outcome_unknown", False) and "outcome unknown" not in message:
            message += " (outcome unknown)"
        return redact(message)
    text = redact(str(exc)).splitlines()[0][:200] if str(exc) else ""
    return f"Unexpected error ({type(exc).__name__}{': ' + text if text else ''}); see the log."


# -- push (§3.12) -------------------------------------------------------------------------------------------

@dataclass
class PushSummary:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> int:
        return self.count(FAILED)

    @property
    def message(self) -> str:
        if len(self.outcomes) == 1:
            return self.outcomes[0].message
        parts = [f"{self.count(s)} {s}" for s in (CREATED, UPDATED, UNCHANGED, IGNORED, FAILED)
                 if self.count(s)]
        return "Push to INES: " + (", ".join(parts) if parts else "nothing to push") + "."


def push_contacts(integration: Integration, api: InesApi | None,
                  contacts: Iterable[Contact | int], activity: str = "",
                  run: SyncRun | None = None,
                  setup_error: BaseException | None = None) -> PushSummary:
    """"Push to INES" for contacts (a contact, a marketing list's members, an automatic trigger).

    Needs the integration published with ``push_lead``; each contact must be eligible. Success
    deletes the contact's PENDING rows; a failure keeps them (D10). Every outcome goes to the
    contact's history and, for a sent push, to the journal (source ``push``). The caller holds
    the integration's lock (``connectors.ines.connector.push``).
    """
    summary = PushSummary()
    sync = ContactSync(integration, api, run)
    blocked = None
    if not integration.active:
        blocked = "The INES integration is not published (Enable/Auth tab)."
    elif not features(integration)["push_lead"]:
        blocked = "\"Push contacts to this integration\" is off for this INES integration."
    stop_error: BaseException | None = setup_error
    for item in contacts:
        contact = item if isinstance(item, Contact) else Contact.get_or_none(Contact.id == item)
        if contact is None:
            continue
        if blocked:
            outcome = Outcome(IGNORED, blocked, contact.id, contact.email or "")
            sync.record(outcome, push=True)
            summary.outcomes.append(outcome)
            continue
        outcome = _push_one(sync, contact, activity, stop_error)
        if outcome.status == FAILED and outcome.error is not None and is_run_wide(outcome.error):
            stop_error = outcome.error  # INES unreachable or login refused: no more calls
        summary.outcomes.append(outcome)
    return summary


def _push_one(sync: ContactSync, contact: Contact, activity: str,
              stop_error: BaseException | None) -> Outcome:
    view = LocalContact(contact)
    email, company = view.email, view.company_name
    reason = sync.ineligible(view)
    if reason:
        outcome = Outcome(IGNORED, reason, contact.id, email, company)
    elif stop_error is not None:  # INES unreachable or refused the login: no more calls
        outcome = Outcome(FAILED, failure_message(stop_error), contact.id, email, company,
                          error=stop_error)
    else:
        try:
            outcome = sync.sync(view, explicit=True, activity=activity)
        except Exception as exc:
            log_failure(sync, contact.id, exc)
            outcome = Outcome(FAILED, failure_message(exc), contact.id, email, company, error=exc)
    if outcome.status == IGNORED:
        sync.record(outcome, push=True)
        return outcome
    note = outcome.message if not outcome.ok else (" ".join(outcome.warnings) or None)
    with database_proxy.atomic():
        queue.record_push(sync.integration, contact.id, email, company, outcome.ok, note)
        if outcome.ok:
            queue.drop_pending_updates(sync.integration, contact.id)
    sync.record(outcome, push=True)
    return outcome

def log_failure(sync: ContactSync, contact_id: int | None, exc: BaseException) -> None:
    if isinstance(exc, ConnectorError):
        log.warning("[%s] contact %s: %s", sync.integration.name, contact_id, exc)
    else:  # a bug: keep the trace (redacted by the log filter)
        log.error("[%s] contact %s failed", sync.integration.name, contact_id, exc_info=exc)
