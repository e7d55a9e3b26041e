"""What the window, the command line and the change triggers ask of CleverReach (owner: the sync
part of issue 9; the signatures below are the agreed interface between the parts).

Record kinds: ``"campaign"``, ``"activity"`` (a campaign activity), ``"list"`` (a marketing list).
People: ``"contact"``, ``"lead"``, ``"company"`` (through its primary contact).

Nothing here calls CleverReach on the caller's thread except where it says it blocks; changes are
recorded durably and queued (``core.sync.queue``), then a run is requested
(``core.sync.requests.request_run``), so the window never waits for the service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from core.models.sync import Integration

RECORD_KINDS = ("campaign", "activity", "list")
# Changes made by the CleverReach polls carry an origin starting with this; triggers ignore them
# (no echo back to CleverReach).
ORIGIN_PREFIX = "cleverreach"


@dataclass
class ChecklistItem:
    """One newsletter type on a record's checklist, the seed's JSON shape
    ``{"id", "state", "description", "modifiedby", "modifiedon", "position"}``."""

    type_id: int  # core NewsletterType.code (the JSON's "id")
    state: int  # 0 not chosen, 1 accepted, 2 declined
    description: str = ""
    modified_by: str = ""
    modified_on: datetime | None = None
    position: int = 0


@dataclass
class RecordSync:
    """A campaign's, activity's or list's "Sync with CleverReach" for one integration."""

    integration_id: int
    kind: str
    record_id: int
    enabled: bool = False
    checklist: list[ChecklistItem] = field(default_factory=list)
    group_id: str | None = None
    group_name: str = ""
    last_synced: datetime | None = None
    last_error: str = ""
    members: int = 0


def record_sync(integration: Integration, kind: str, record_id: int) -> RecordSync:
    raise NotImplementedError("issue 9")


def set_record_sync(integration: Integration, kind: str, record_id: int, *, enabled: bool,
                    checklist: dict[int, int] | None = None, modified_by: str = "") -> RecordSync:
    """Switch "Sync with CleverReach" and/or set the record's checklist (state by type code);
    queues what the seed's triggers do (ensure group + reconcile, or stop/delete)."""
    raise NotImplementedError("issue 9")


def resync(integration: Integration, kind: str, record_id: int) -> None:
    """"Update synchronisation with CleverReach": queue a full reconcile of the record."""
    raise NotImplementedError("issue 9")


def retroactive(integration: Integration, list_id: int, checklist: dict[int, int] | None = None,
                *, progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None, modified_by: str = "") -> int:
    """Retroactive sync (seed §10): overwrite every member's checklist with ``checklist`` (or the
    list's own), in local transactions of ``sublist_count``; then one reconcile is queued. Blocks
    (call it on a worker); returns how many people were changed."""
    raise NotImplementedError("issue 9")


# -- what the change triggers call (they run in the writer's thread: quick, no HTTP) -----------

def record_changed(kind: str, record_id: int, *, reconcile: bool = False,
                   origin: str = "user") -> None:
    """A campaign, activity or list was created or changed (name, subject, description, active,
    members, query, links): for every CleverReach integration that syncs it, mark it and queue it.
    ``reconcile`` asks for the full member reconcile (members or query changed)."""
    raise NotImplementedError("issue 9")


def record_deleted(kind: str, record_id: int, *, origin: str = "user") -> None:
    """A campaign, activity or list was deleted: its group follows the deletion rules."""
    raise NotImplementedError("issue 9")


def person_changed(entity: str, record_id: int, *, old_email: str | None = None,
                   origin: str = "user") -> None:
    """A contact, lead or company changed (names, salutation, company, email, status, checklist,
    primary contact): queue a push of that person into, and out of, their groups."""
    raise NotImplementedError("issue 9")


def person_deleted(entity: str, record_id: int, email: str | None, *,
                   origin: str = "user") -> None:
    """A contact, lead or company was deleted: remove it from every mapped group."""
    raise NotImplementedError("issue 9")
