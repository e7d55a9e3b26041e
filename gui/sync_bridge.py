"""The bridge from the sync engine's scheduler to Qt: runs happen on worker threads, the window hears
about them through signals emitted on the GUI thread.

``SyncBridge`` owns one ``core.sync.scheduler.Scheduler``. ``start()`` (when the window opens) lets
due integrations run while the window is open; ``request_run`` is the Synchronize and Schedule sync
buttons; ``cancel`` stops a run at its next safe point; ``stop()`` (when the window closes) cancels
what runs and waits for it.

The scheduler calls back on its worker threads. Each callback only hands its value to a private
signal connected with a queued connection, so the public signals (``started``, ``progress``,
``finished``, ``failed``) are always emitted on the GUI thread and no widget is touched elsewhere.
Progress is coalesced: a run may report thousands of items a second, the window needs the latest
one per integration, so at most one delivery waits in the event queue at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from core.models.sync import Integration
from core.sync.context import Progress
from core.sync.runner import EngineOptions, RunResult
from core.sync.scheduler import Scheduler

log = logging.getLogger("listbridge.gui.sync")

TICK_SECONDS = 30.0  # how often the window looks for due integrations
STOP_TIMEOUT = 20.0  # closing the window waits this long for cancelled runs to stop


def connector_for(integration: Integration) -> Any:
    from connectors.base import get_connector

    return get_connector(integration.type)


class SyncBridge(QObject):
    """Runs syncs in the background and reports them as Qt signals (GUI thread only)."""

    started = Signal(int, str)  # integration id, trigger
    progress = Signal(object)  # core.sync.context.Progress
    finished = Signal(object)  # core.sync.runner.RunResult, whatever its status
    failed = Signal(int, str)  # integration id, the admin's message: no run could take place
    running_changed = Signal()  # an integration started or stopped running here

    # Emitted from worker threads only; connected with queued connections below.
    _started_in = Signal(int, str)
    _progress_in = Signal()
    _finished_in = Signal(object)
    _failed_in = Signal(int, str)

    def __init__(self, parent: QObject | None = None, *,
                 connector_lookup: Callable[[Integration], Any] = connector_for,
                 options: EngineOptions | None = None, tick_seconds: float = TICK_SECONDS,
                 max_workers: int = 2) -> None:
        super().__init__(parent)
        self.setObjectName("syncBridge")
        queued = Qt.ConnectionType.QueuedConnection
        self._started_in.connect(self._deliver_started, queued)
        self._progress_in.connect(self._deliver_progress, queued)
        self._finished_in.connect(self._deliver_finished, queued)
        self._failed_in.connect(self._deliver_failed, queued)
        self._pending: dict[int, Progress] = {}  # latest progress per run, not yet delivered
        self._pending_lock = threading.Lock()
        self._delivery_queued = False
        self._running: dict[int, Progress | None] = {}  # GUI thread's view of what runs
        self._stopped = False
        self._started_loop = False
        self.scheduler = Scheduler(
            connector_lookup, max_workers=max_workers, tick_seconds=tick_seconds,
            options=options, on_started=self._heard_started, on_progress=self._heard_progress,
            on_finished=self._heard_finished, on_failed=self._heard_failed)

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Look for due integrations now and every ``tick_seconds`` while the window is open."""
        if not self._stopped and not self._started_loop:
            self._started_loop = True
            self.scheduler.start()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Cancel the runs under way and wait for them (they stop at their next check)."""
        if self._stopped:
            return
        self._stopped = True
        self.scheduler.stop(cancel_running=True, wait=True, timeout=timeout)

    def is_stopped(self) -> bool:
        return self._stopped

    # -- the admin's requests (GUI thread) ----------------------------------------------------

    def request_run(self, integration_id: int, trigger: str = "manual") -> bool:
        """Run now (True) or once more right after the run under way (False)."""
        if self._stopped:
            return False
        return self.scheduler.request_run(integration_id, trigger)

    def cancel(self, integration_id: int) -> bool:
        return self.scheduler.cancel(integration_id)

    def look_for_due(self) -> None:
        """Start due integrations now rather than at the next tick (after a save, say)."""
        if self._stopped:
            return
        from gui.workers import start_job

        start_job(self.scheduler.tick)

    def is_running(self, integration_id: int) -> bool:
        return integration_id in self._running

    def running_ids(self) -> set[int]:
        return set(self._running)

    def last_progress(self, integration_id: int) -> Progress | None:
        return self._running.get(integration_id)

    # -- callbacks from the scheduler's threads: hand over, nothing else --------------------

    def _heard_started(self, integration_id: int, trigger: str) -> None:
        self._emit_safely(self._started_in, integration_id, trigger)

    def _heard_progress(self, progress: Progress) -> None:
        with self._pending_lock:
            self._pending[progress.integration_id] = progress
            if self._delivery_queued:
                return  # the delivery under way will carry this one
            self._delivery_queued = True
        self._emit_safely(self._progress_in)

    def _heard_finished(self, result: RunResult) -> None:
        self._emit_safely(self._finished_in, result)

    def _heard_failed(self, integration_id: int, message: str) -> None:
        self._emit_safely(self._failed_in, integration_id, message)

    @staticmethod
    def _emit_safely(signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the bridge was deleted with the window: nobody is listening
            pass

    # -- deliveries on the GUI thread ---------------------------------------------------------

    def _take_pending(self, integration_id: int | None = None) -> list[Progress]:
        with self._pending_lock:
            if integration_id is None:
                taken = list(self._pending.values())
                self._pending.clear()
                self._delivery_queued = False
            else:
                one = self._pending.pop(integration_id, None)
                taken = [one] if one is not None else []
        return taken

    def _deliver_started(self, integration_id: int, trigger: str) -> None:
        self._running.setdefault(integration_id, None)
        self.running_changed.emit()
        self.started.emit(integration_id, trigger)

    def _deliver_progress(self) -> None:
        for progress in self._take_pending():
            if progress.integration_id in self._running:
                self._running[progress.integration_id] = progress
                self.progress.emit(progress)

    def _deliver_finished(self, result: RunResult) -> None:
        self._take_pending(result.integration_id)  # stale by now
        self._running.pop(result.integration_id, None)
        self.running_changed.emit()
        self.finished.emit(result)

    def _deliver_failed(self, integration_id: int, message: str) -> None:
        if integration_id in self._running:  # it started, then could not run (locked elsewhere)
            del self._running[integration_id]
            self.running_changed.emit()
        self.failed.emit(integration_id, message)
