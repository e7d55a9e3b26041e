"""The Dotmailer connector: what the engine, the GUI and the command line see of Dotmailer."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from connectors.base import (
    BaseConnector,
    CheckResult,
    ConnectorError,
    CountWords,
    FormField,
    ItemError,
    QueueOutcome,
    RemoteList,
    SyncStep,
    TransientError,
)
from connectors.dotmailer import export, forms, steps, sync
from connectors.dotmailer.client import DISCOVERY_URL, DotmailerClient, with_policy
from connectors.dotmailer.models import (
    EXPORT_DONE,
    EXPORT_QUEUED,
    IMPORT_PENDING,
    AddressBook,
    BookMember,
    DotmailerContact,
)
from connectors.http import CHECK_POLICY, HttpPolicy
from core.models.sync import HistoryEvent, Integration, QueueItem
from core.sync.context import SyncContext

log = logging.getLogger("listbridge.dotmailer")


class DotmailerConnector(BaseConnector):
    """Marketing lists to Dotmailer address books; campaigns and their statistics back."""

    type_name = "dotmailer"
    label = "Dotmailer"
    default_api_url = DISCOVERY_URL
    default_schedule_minutes: int | None = 4  # Oro's docs: every four minutes
    max_attempts = 3
    # How the steps' counts read in a run's summary ("1 book", "3 data fields").
    count_labels: Mapping[str, CountWords] = {
        "removed_remotely": "removed remotely", "to_new": "new",
        "contacts_read": ("contact read", "contacts read"),
        "datafields": ("data field", "data fields"),
        "books": ("book", "books"),
        "books_unlinked": ("book unlinked", "books unlinked"),
        "reconciled_books": ("book reconciled", "books reconciled"),
        "campaigns": ("campaign", "campaigns"),
        "summaries": ("summary", "summaries"),
        "activities": ("activity", "activities"),
        "faults": ("fault", "faults"),
    }

    def __init__(self, tuning: sync.Tuning | None = None) -> None:
        self.tuning = tuning or sync.Tuning()

    # -- the form ----------------------------------------------------------------------------------

    def form_fields(self) -> list[FormField]:
        return forms.form_fields()

    def client_for(self, settings: dict[str, Any], secrets: dict[str, str],
                   policy: HttpPolicy | None = None) -> DotmailerClient:
        return DotmailerClient(str(settings.get(forms.USERNAME) or ""),
                               secrets.get(forms.PASSWORD) or "",
                               str(settings.get(forms.API_URL) or DISCOVERY_URL),
                               sleep=self.tuning.sleep, policy=policy)

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        """Discovery plus a read on the account's own endpoint; the account's name and email, or
        the service's own message. Never raises for a refused login."""
        try:
            # One quick try: a check answers in seconds, retries are for syncs.
            client = self.client_for(settings, secrets, policy=CHECK_POLICY)
            _base, account = client.discover(force=True)
            client.probe()
        except ConnectorError as exc:
            return CheckResult.failed(exc)
        except Exception as exc:  # a bug: say so plainly, keep the trace in the log
            log.exception("Dotmailer connection check failed")
            return CheckResult(False, f"The check failed unexpectedly ({type(exc).__name__}); "
                                      "the details are in the log.", "fatal")
        who = account.name or "the Dotmailer account"
        return CheckResult(True, f"Connected to {who}" + (f" ({account.main_email})"
                                                          if account.main_email else "") + ".")

    def on_saved(self, integration: Integration) -> None:
        """Oro's rule: "After the integration has been created and its status has been set to
        Active, the list of Address Books will be automatically imported". The first save of an
        active integration (its creation, or the edit that activates it) reads the address books
        now, so that Connect to Dotmailer offers them at once, whether the integration was added
        in the window (which saves on a worker thread) or by ``listbridge integration add``
        (which waits). A scheduled sync starts right after too (``next_sync_at`` is now), but a
        manual-only integration, or a command line without a scheduler, would wait for it.

        Nothing here can undo the save: a failure (wrong password, no network) is logged and
        journalled, and the first sync reads the books (as each later save tries again)."""
        from connectors.dotmailer import service
        from core.integrations import read_secrets
        from core.secrets import NoKeyringError

        if not integration.active or service.books_read_at(integration) is not None:
            return
        client = None
        try:
            client = self.client_for(integration.settings, read_secrets(integration))
            # The admin is waiting: one try, short timeouts; the sync retries with its own.
            with_policy(client, max_retries=0, connect_timeout=5.0, read_timeout=30.0)
            books = service.refresh_books(integration, client=client)
        except Exception as exc:  # best effort: the integration is saved whatever happens here
            problem = exc.admin_message if isinstance(exc, ConnectorError) else (
                str(exc) or type(exc).__name__)
            if not isinstance(exc, ConnectorError | NoKeyringError):
                log.exception("Reading the address books of %s after saving it failed",
                              integration.name)
            log.warning("Address books of %s not imported at save: %s", integration.name,
                        problem)
            HistoryEvent.create(integration=integration, entity="list", level="warning",
                                kind="dotmailer",
                                message=f"The address books could not be imported from "
                                        f"Dotmailer yet: {problem} The first sync imports them.")
            return
        finally:
            if client is not None:
                client.close()
        HistoryEvent.create(integration=integration, entity="list", kind="dotmailer",
                            message=f"{len(books)} address books imported from Dotmailer; "
                                    "marketing lists can now be connected to them.")

    # -- remote lists ------------------------------------------------------------------------------

    def remote_lists(self, integration: Integration, secrets: dict[str, str]) -> list[RemoteList]:
        """Address books that a list may connect to: not All Contacts or Test, not connected."""
        from connectors.dotmailer import service

        client = self.client_for(integration.settings, secrets)
        service.refresh_books(integration, client=client)
        return [RemoteList(str(b.remote_id), b.name, b.contacts_count,
                           {"visibility": b.visibility})
                for b in service.connectable_books(integration)]

    # -- sync ----------------------------------------------------------------------------------------

    def steps(self, integration: Integration) -> list[SyncStep]:
        return steps.steps()

    def make_client(self, ctx: SyncContext) -> DotmailerClient:
        """Called by the engine before the steps; one client (one discovery) per run."""
        return sync.make_client(ctx.integration, ctx.secrets, sync.run_sleep(ctx))

    def process_item(self, ctx: SyncContext, item: QueueItem) -> QueueOutcome:
        """Send one contact that failed alone in an import again, in an import of its own."""
        state = sync.run_state(ctx)
        payload = item.payload
        book = AddressBook.get_or_none(AddressBook.id == payload.get("book"))
        if book is None or not book.mlist_id:
            return QueueOutcome("skipped", "The list is no longer connected to that address book.")
        email = str(payload.get("email") or item.email)
        row = (BookMember.select(BookMember, DotmailerContact).join(DotmailerContact)
               .where(BookMember.book == book, DotmailerContact.email_key == email).first())
        if row is None:
            return QueueOutcome("skipped", "Nothing to send: the contact is not on the list.")
        if row.import_id is not None and row.import_.status == IMPORT_PENDING:
            failed = export.wait_for_imports(ctx, state, [row.import_], sync.WAIT_FOR_IMPORTS,
                                           queue_failures=False)
        else:
            row.export_status = EXPORT_QUEUED
            row.save()
            batch = export.build_batch(ctx, book, [row.id])
            if batch is None:
                BookMember.update(export_status=EXPORT_DONE).where(
                    BookMember.id == row.id).execute()
                return QueueOutcome("skipped", "Nothing to send: the contact left the list.")
            imp = export.send_batch(ctx, state, batch, queue_failures=False)
            failed = export.wait_for_imports(ctx, state, [imp],
                                           max(sync.WAIT_FOR_IMPORTS, state.tuning.import_wait(
                                               ctx.trigger)), queue_failures=False)
        row = BookMember.get_by_id(row.id)
        if row.import_id is not None:
            raise TransientError("Dotmailer is still processing the import; the contact is "
                                 "checked again at the next run.", retry_after=60)
        if any(r.id == row.id for r in failed):
            raise ItemError("Dotmailer failed to import this contact.",
                            record_id=item.record_id, email=email)
        if row.export_status == EXPORT_DONE and row.in_book:
            return QueueOutcome("done", f"Sent to the address book “{book.name}”.")
        return QueueOutcome("skipped", row.last_error or "Dotmailer did not take the contact.")

