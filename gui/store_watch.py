"""The bridge from ``core.changes`` to Qt: pages hear that contacts, leads or companies changed.

Listeners run in the writer's thread (an import, a sync); emitting a signal of an object that lives
in the GUI thread queues the slot there, which is all a listener may do: be quick. An import tells
about every one of its records, so the bridge sends one signal per kind until the GUI took it.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from core import changes


class StoreWatcher(QObject):
    changed = Signal(str)  # the entity: contact, lead, company

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._relay.connect(self._deliver)
        self._unsubscribe = changes.subscribe(self._heard)

    _relay = Signal(str)

    def _heard(self, change: changes.RecordChange) -> None:
        with self._lock:
            if change.entity in self._pending:
                return  # the GUI has not taken the last one yet: it will reload anyway
            self._pending.add(change.entity)
        try:
            self._relay.emit(change.entity)
        except RuntimeError:  # the window is gone; stop() unsubscribes
            pass

    def _deliver(self, entity: str) -> None:
        with self._lock:
            self._pending.discard(entity)
        self.changed.emit(entity)

    def stop(self) -> None:
        self._unsubscribe()
