"""The INES CRM connector: its form, features, connection check, run step, and the actions the
window calls (mapping tab, "Push to INES", journal).

Every function here that reaches INES blocks: the GUI calls it on a worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import (
    BaseConnector,
    CheckResult,
    ConfigurationError,
    ConnectorError,
    CountWords,
    Feature,
    FormField,
    SyncStep,
)
from connectors.ines import queue
from connectors.ines.catalogue import (
    COMPANY_PREFIX,
    LOOKUPS,
    SPECIAL_LOCAL_FIELDS,
    InesConfig,
    InesField,
    cached_config,
    catalogue,
    drop_config,
    fetch_config,
    field_choices,
    store_config,
)
from connectors.ines.client import (
    DEFAULT_API_URL,
    InesApi,
    check_failure_message,
    make_check_client,
    make_client,
)
from connectors.ines.fullsync import (
    RunCounts,
    RunStopped,
    run_auto_push,
    run_full_sync,
)
from connectors.ines.mapping import (
    FULL_SYNC,
    MAPPING,
    PUSH_LEAD,
    MappingSettings,
    auto_push_mode,
    default_mapping,
    ensure_local_fields,
    full_sync_mode,
    leads_per_run,
    local_field_exists,
    local_field_options,
    save_mapping,
    settings_changed,
)
from connectors.ines.sync import FieldCheck, PushSummary, ineligible_reason, push_contacts
from connectors.ines.values import ref_value
from core.logs import redact
from core.models.store import Contact, ListMember, MarketingList
from core.models.sync import HistoryEvent, Integration
from core.store import FieldInfo

log = logging.getLogger("listbridge.ines")

STEP_NAME = "ines"
STEP_LABEL = "Send queued contacts to INES"
PUSH_LOCK_WAIT_S = 60.0


class InesConnector(BaseConnector):
    type_name = "ines"
    label = "INES CRM"
    default_api_url = DEFAULT_API_URL
    default_schedule_minutes: int | None = 5
    max_attempts = 3
    # Isolated transient failures are attempts of their rows; three in a row end the run (§3.14).
    transient_streak = 3
    # How the run's counts read in its summary ("4 updated of 5 updates due").
    count_labels: Mapping[str, CountWords] = {
        "of_updates": ("update due", "updates due"),
        "of_deletes": ("deletion due", "deletions due"),
    }

    def __init__(self, leads_per_run: int | None = None) -> None:
        self.leads_per_run = leads_per_run  # None: the integration's setting, else 10

    def form_fields(self) -> list[FormField]:
        return [
            FormField("account", "Account", required=True,
                      help="Your INES CRM account (Compte)."),
            FormField("username", "User", required=True, help="Your INES CRM user name."),
            FormField("password", "Password", kind="password", required=True, secret=True,
                      help="Kept in the system keyring, never in the database."),
            self.api_url_field(),
        ]

    def features(self) -> list[Feature]:
        return [
            Feature(PUSH_LEAD, "Push contacts to this integration",
                    help="Contacts created or changed (by hand, by an import or by another "
                         "integration) are pushed by the integration's next run, and \"Push to "
                         "INES\" on contacts and marketing lists pushes them at once."),
            Feature(FULL_SYNC, "Full sync of all contacts", implies=(PUSH_LEAD,),
                    help="Every contact with an email and a company is sent to INES, changes and "
                         "deletions included, by the scheduled sync (or `listbridge ines sync`)."),
        ]

    def not_overwritable_choices(self, integration: Integration | None = None
                                 ) -> list[tuple[str, str]]:
        """The checkboxes at the end of the Features tab: (mapping key, label), fixed fields
        left out (they are never overwritable)."""
        config = cached_config(integration) if integration is not None else None
        return [(f.mapping_key, _row_label(f)) for f in catalogue(config) if f.offers_checkbox]

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        """"Test connection" (S2): drop the cached session and log in, once, with short
        timeouts (an unreachable INES is reported in seconds, not after retries)."""
        try:
            api = make_check_client(settings, secrets)
        except ConfigurationError as exc:
            return CheckResult(False, exc.admin_message, "configuration")
        try:
            return CheckResult(True, api.check_connection())
        except ConnectorError as exc:
            return CheckResult(False, check_failure_message(exc), _check_kind(exc))
        finally:
            api.close()

    def configuration_problems(self, integration: Integration) -> list[str]:
        """Why nothing syncs (fail closed, §3.4), for the Integrations grid; [] when set up."""
        return configuration_problems(integration)

    def steps(self, integration: Integration) -> list[SyncStep]:
        return [SyncStep(STEP_NAME, STEP_LABEL, run=self._run_step)]

    def on_saved(self, integration: Integration) -> None:
        """After ``core.integrations`` created or edited the integration (the window's dialog,
        ``listbridge integration add/edit``): an integration without a saved mapping gets the
        three special contact fields (both refs, stop-sync) and the default mapping, so that it
        can sync without the mapping tab (§3.1, §3.2)."""
        drop_config(integration)  # new credentials or URL: read INES again (§3.1)
        if MAPPING not in integration.settings:
            set_up_mapping(integration)
        settings_changed()  # published or not: the record-change listener reads it again

    # -- the scheduled run (§3.14) --

    def _run_step(self, ctx: Any) -> None:
        integration = ctx.integration
        if full_sync_mode(integration):
            self._full_sync(ctx)
        elif auto_push_mode(integration):
            self._auto_push(ctx)
        # else: nothing to do, and nothing to say every few minutes

    @staticmethod
    def _api(ctx: Any) -> InesApi:
        api = ctx.client if isinstance(ctx.client, InesApi) else None
        if api is None:
            api = make_client(ctx.settings, ctx.secrets)
            ctx.client = api
        return api

    def _full_sync(self, ctx: Any) -> None:
        integration = ctx.integration
        limit = self.leads_per_run or leads_per_run(integration)
        try:
            counts = run_full_sync(integration, self._api(ctx), limit, run=ctx.run,
                                   check_cancel=ctx.check_cancel)
        except RunStopped as stopped:
            _count(ctx, stopped.counts)
            raise stopped.error from None
        _count(ctx, counts)

    def _auto_push(self, ctx: Any) -> None:
        """Push-only mode: the contacts created or changed since the last run (§3.12)."""
        integration = ctx.integration
        if not has_auto_pushes(integration):
            return
        try:
            counts = run_auto_push(integration, self._api(ctx), run=ctx.run,
                                   check_cancel=ctx.check_cancel,
                                   progress=lambda done, total: ctx.progress(
                                       done, total, "Pushing changed contacts to INES"))
        except RunStopped as stopped:
            _count_pushes(ctx, stopped.counts)
            raise stopped.error from None
        _count_pushes(ctx, counts)


def _count(ctx: Any, counts: RunCounts) -> None:
    ctx.cache["ines.counts"] = counts
    for key, value in (("updated", counts.updated), ("of_updates", counts.update_total),
                       ("created", counts.created), ("unchanged", counts.unchanged),
                       ("deleted", counts.deleted), ("of_deletes", counts.delete_total),
                       ("failed", counts.update_failed + counts.delete_failed),
                       ("enqueued", counts.enqueued)):
        if value:
            ctx.count(key, value)


def _count_pushes(ctx: Any, counts: RunCounts) -> None:
    ctx.cache["ines.counts"] = counts
    for key, value in (("created", counts.created),
                       ("updated", counts.updated - counts.created - counts.unchanged),
                       ("unchanged", counts.unchanged), ("failed", counts.update_failed)):
        if value:
            ctx.count(key, value)


def has_auto_pushes(integration: Integration) -> bool:
    """Contacts wait for an automatic push (push-only mode)."""
    return bool(queue.pending_rows(integration, "UPDATE", 1, source=queue.AUTO))


def counts_of(result: Any) -> RunCounts:
    """The run's INES counts, read back from an engine ``RunResult``."""
    numbers = result.counts.get(STEP_NAME, {})
    return RunCounts(update_total=numbers.get("of_updates", 0), updated=numbers.get("updated", 0),
                     created=numbers.get("created", 0), unchanged=numbers.get("unchanged", 0),
                     delete_total=numbers.get("of_deletes", 0),
                     deleted=numbers.get("deleted", 0), enqueued=numbers.get("enqueued", 0))


def _check_kind(exc: ConnectorError) -> str:
    return "transient" if exc.kind == "rate_limited" else exc.kind


def _row_label(ines_field: InesField) -> str:
    concept = "Contact" if ines_field.concept == "contact" else "Client"
    return f"{concept}: {ines_field.label}"


# -- the mapping tab (§3.1–§3.3) -----------------------------------------------------------------------

@dataclass(frozen=True)
class MappingRow:
    """One row of the Contact Field Mapping tab."""

    ines_field: InesField
    local_key: str  # "" when unmapped
    options: tuple[FieldInfo, ...]  # what the local field picker offers
    suggested: str  # the local field ListBridge offers to create
    choices: tuple[str, ...]  # for a suggested choice field
    editable: bool  # CompanyName is automatic


def load_configuration(integration: Integration, secrets: dict[str, str],
                       refresh: bool = False) -> InesConfig:
    """GetSyncInfo and the lookups: from the cache, else from INES (then cached). ``refresh``
    reads INES again and also creates or fixes the special local fields (§3.1)."""
    config = None if refresh else cached_config(integration)
    if config is None or any(name not in config.lookups for name in LOOKUPS):
        api = make_client(integration.settings, secrets)
        try:
            config = fetch_config(api)
        finally:
            api.close()
        store_config(integration, config)
        if refresh:
            ensure_local_fields(config=config)
    return config


def mapping_rows(integration: Integration, config: InesConfig | None = None) -> list[MappingRow]:
    """The mapping tab's rows in catalogue order (§3.2), custom fields from the cached config."""
    config = config or cached_config(integration)
    mapping = MappingSettings.of(integration)
    rows = []
    for ines_field in catalogue(config):
        rows.append(MappingRow(ines_field, mapping.local(ines_field.mapping_key),
                               tuple(local_field_options(ines_field.concept)),
                               ines_field.suggested, field_choices(ines_field, config),
                               not ines_field.automatic))
    return rows


def set_up_mapping(integration: Integration) -> list[str]:
    """Create (or fix) the three special contact fields and map them: the default mapping when
    none is saved, else the missing special rows of the saved one (rows mapped elsewhere are
    kept). Returns the keys of the local fields that did not exist before."""
    before = {key for key, _kind, _label in SPECIAL_LOCAL_FIELDS.values()
              if local_field_exists(key)}
    touched = ensure_local_fields()
    fresh = Integration.get_by_id(integration.id)
    settings = fresh.settings
    if MAPPING in settings:
        mapping = {k: v for k, v in dict(settings[MAPPING]).items() if v}
        for key, (local, _kind, _label) in SPECIAL_LOCAL_FIELDS.items():
            if not mapping.get(key) or not local_field_exists(mapping[key]):
                mapping[key] = local
    else:
        mapping = default_mapping()
    problems = save_mapping(fresh, mapping)
    if problems:  # a field of the saved mapping no longer exists: keep the rest, say so
        log.warning("[%s] mapping not saved: %s", integration.name, " ".join(problems))
    integration.settings = Integration.get_by_id(integration.id).settings
    return [f.key for f in touched if f.key not in before]


def configuration_problems(integration: Integration) -> list[str]:
    """What the integration page shows when nothing can sync (fail closed, §3.4)."""
    mapping = MappingSettings.of(integration)
    fields = FieldCheck()
    problems = []
    for key, what in ((mapping.contact_ref, "INES contact reference"),
                      (mapping.client_ref, "INES client reference"),
                      (mapping.stop_sync, "stop-sync indicator")):
        if not key or not fields.exists(key):
            problems.append(f"The {what} is not mapped to an existing local field, so no contact "
                            "is synchronised. Map it in the Contact Field Mapping tab.")
    return problems


def why_not_synced(integration: Integration, contact: Contact) -> str | None:
    """Why this contact is not synchronised with this integration, or None (for the contact view)."""
    from connectors.ines.sync import LocalContact

    view = LocalContact(contact)
    stop = MappingSettings.of(integration).stop_sync
    return ineligible_reason(view.email, view.company_name, stop,
                             view.value(stop) if stop else None, FieldCheck())


# -- the INES references on a contact ---------------------------------------------------------------------

REFERENCES_RESET_MESSAGE = (
    "INES references reset by hand: the next push or sync creates a new INES client and contact "
    "(the old ones stay in INES).")


def reference_fields() -> dict[str, str]:
    """The contact custom fields holding INES references, by key, with what they hold ("INES
    contact ID", "INES client ID"): set by the sync, never typed (the contact dialog shows them
    read-only)."""
    from core.models.store import CustomField

    wanted: dict[str, str] = {}
    for integration in Integration.select().where(Integration.type == InesConnector.type_name):
        mapping = MappingSettings.of(integration)
        for key, what in ((mapping.contact_ref, "INES contact ID"),
                          (mapping.client_ref, "INES client ID")):
            if key and not key.startswith(COMPANY_PREFIX):
                wanted.setdefault(key, what)
    if not wanted:
        return {}
    existing = {f.key for f in CustomField.select(CustomField.key).where(
        CustomField.entity == "contact", CustomField.key.in_(list(wanted)))}
    return {key: what for key, what in wanted.items() if key in existing}


def reset_references(contact_id: int) -> int:
    """"Reset INES references": both refs of the contact to 0 for every INES integration, so
    that the next push or sync creates a new INES client and contact (the admin forcing a
    re-create). Written on the contact's history; queued in full-sync mode and pushed
    automatically in push-only mode. Returns how many integrations had references."""
    from connectors.ines.fullsync import on_record_change
    from core.changes import RecordChange
    from core.db import database_proxy
    from core.store import custom_values, set_custom_values

    contact = Contact.get_or_none(Contact.id == contact_id)
    if contact is None:
        return 0
    fields = reference_fields()
    values = custom_values("contact", contact.id)
    held = {key for key in fields if ref_value(values.get(key)) != 0}
    if not held:
        return 0
    touched = []
    for integration in Integration.select().where(Integration.type == InesConnector.type_name):
        mapping = MappingSettings.of(integration)
        if {mapping.contact_ref, mapping.client_ref} & held:
            touched.append(integration)
    with database_proxy.atomic():
        set_custom_values("contact", contact.id, {key: 0 for key in held})
        for integration in touched:
            HistoryEvent.create(integration=integration, entity="contact", record_id=contact.id,
                                email=contact.email or "", level="info", kind="ines_refs_reset",
                                message=REFERENCES_RESET_MESSAGE)
    # As any change of the references: queued (full sync) or pushed automatically (push only).
    on_record_change(RecordChange("contact", contact.id, "updated", frozenset(held)))
    return len(touched)


# -- "Push to INES" (§3.12) --------------------------------------------------------------------------------

def push(integration: Integration, contacts: Iterable[Contact | int],
         secrets: dict[str, str] | None = None, activity: str = "",
         wait_timeout: float = PUSH_LOCK_WAIT_S) -> PushSummary:
    """Push contacts now, under the integration's lock (a run in progress is waited for).

    ``secrets`` None: read from the keyring. Never raises for a contact's failure: each outcome
    is in the summary, on the contact's history and in the journal. When the push cannot start
    at all (no keyring: ``core.secrets.NoKeyringError``; the lock still taken after
    ``wait_timeout``: ``core.sync.lock.AlreadyRunning``; anything else) every contact gets a
    history line saying nothing was sent (D5), then the error is raised;
    ``not_started_message`` words it.
    """
    from core.integrations import read_secrets
    from core.sync.lock import acquire

    items = list(contacts)
    try:
        if secrets is None:
            secrets = read_secrets(integration)
        lease = acquire(integration, wait=True, timeout=wait_timeout)
    except Exception as exc:  # nothing was sent: say so on every contact (D5), then raise
        try:
            record_not_sent(integration, items, not_started_message(exc))
        except Exception:  # the database itself failing: the caller still hears the cause
            log.exception("[%s] the push could not be recorded as not sent", integration.name)
        raise
    lease.keep_alive()
    try:
        try:
            api: InesApi | None = make_client(integration.settings, secrets)
            setup_error: ConnectorError | None = None
        except ConnectorError as exc:
            api, setup_error = None, exc
        try:
            return push_contacts(integration, api, items, activity=activity,
                                 setup_error=setup_error)
        finally:
            if api is not None:
                api.close()
    finally:
        lease.release()


def not_started_message(exc: BaseException) -> str:
    """Why a push sent nothing at all, in the admin's words."""
    from core.secrets import NoKeyringError
    from core.sync.lock import AlreadyRunning, describe_holder

    if isinstance(exc, NoKeyringError):
        return str(exc)
    if isinstance(exc, AlreadyRunning):
        who = f" {describe_holder(exc.holder)}" if exc.holder else ""
        return (f"The INES integration is busy with another sync or push{who}; nothing was "
                "sent. Try again in a moment.")
    admin = getattr(exc, "admin_message", "")
    return redact(admin or f"Unexpected error ({type(exc).__name__}); see the log.")


def record_not_sent(integration: Integration, contacts: Iterable[Contact | int],
                    message: str) -> int:
    """A "not sent" line on the history of each contact of a push that could not start; returns
    how many were written (contacts deleted meanwhile are skipped)."""
    ids = sorted({c.id if isinstance(c, Contact) else int(c) for c in contacts})
    text = redact(f"Push to INES: not sent. {message}")
    written = 0
    for start in range(0, len(ids), 500):
        found: Any = (Contact.select(Contact.id, Contact.email)
                      .where(Contact.id.in_(ids[start:start + 500])).tuples())
        rows = [{"integration": integration.id, "entity": "contact", "record_id": contact_id,
                 "email": email or "", "level": "error", "kind": "ines_failed", "message": text}
                for contact_id, email in found]
        if rows:
            HistoryEvent.insert_many(rows).execute()
            written += len(rows)
    return written


def list_contacts(mlist: MarketingList) -> list[int]:
    """The contacts on a marketing list (removed members left out), for a list push."""
    query = (ListMember.select(ListMember.contact).where(
        ListMember.mlist == mlist, ListMember.contact.is_null(False),
        ListMember.state != "removed").order_by(ListMember.contact))
    return [int(row.__data__["contact"]) for row in query]


def push_list(integration: Integration, mlist: MarketingList,
              secrets: dict[str, str] | None = None) -> PushSummary:
    return push(integration, list_contacts(mlist), secrets, activity=f"List {mlist.name}")


# -- the journal (§3.16) -----------------------------------------------------------------------------------

journal = queue.journal
journal_count = queue.journal_count
retry_failed = queue.retry_failed
