"""Record-change notifications: how a connector hears that a contact was created, edited or deleted.

Every write path of the store (dialogs, imports, other integrations) goes through ``core.store``,
which calls ``notify``. Listeners (e.g. INES "push on change", the full-sync queue) run in the
writer's thread and must be quick: they queue work, they do not call services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("listbridge.changes")


@dataclass(frozen=True)
class RecordChange:
    entity: str  # contact, lead, company
    record_id: int
    action: str  # created, updated, deleted
    changed_fields: frozenset[str] = frozenset()
    before: dict[str, Any] = field(default_factory=dict)  # deleted records: what they were
    origin: str = "user"  # user, import, integration:<name>


Listener = Callable[[RecordChange], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def notify(change: RecordChange) -> None:
    for listener in list(_listeners):
        try:
            listener(change)
        except Exception:  # one broken listener must not lose the admin's edit
            log.exception("A change listener failed for %s %s", change.entity, change.record_id)
