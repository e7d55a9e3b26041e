"""The Dotmailer sync steps in the order a run takes them (``shared/api/dotmailer.md`` §3.2):
pending imports, the import steps (``sync``, ``campaigns``), then the export in four steps
(``export``)."""

from __future__ import annotations

from connectors.base import SyncStep
from connectors.dotmailer.campaigns import sync_activities, sync_campaigns, sync_summaries
from connectors.dotmailer.export import (
    export_contacts,
    export_member_states,
    export_prepare,
    export_removed,
    poll_pending_imports,
)
from connectors.dotmailer.sync import (
    reconcile_books,
    sync_address_books,
    sync_contacts,
    sync_data_fields,
    sync_unsubscribes,
)


def steps() -> list[SyncStep]:
    return [
        SyncStep("pending_imports", "Pending imports", poll_pending_imports),
        SyncStep("data_fields", "Data fields", sync_data_fields),
        SyncStep("address_books", "Address books", sync_address_books),
        SyncStep("campaigns", "Email campaigns", sync_campaigns),
        SyncStep("contacts", "Contacts", sync_contacts),
        SyncStep("unsubscribes", "Unsubscribed contacts", sync_unsubscribes),
        SyncStep("reconcile", "Removed contacts", reconcile_books),
        SyncStep("activities", "Contact activities", sync_activities),
        SyncStep("summaries", "Campaign summaries", sync_summaries),
        SyncStep("export_removed", "Exporting removed contacts", export_removed),
        SyncStep("export_states", "Syncing list member states", export_member_states),
        SyncStep("export_prepare", "Preparing contacts for export", export_prepare),
        SyncStep("export_contacts", "Exporting contacts", export_contacts),
    ]
