"""Which integrations are due, and a thread-based scheduler that runs them (no Qt).

``Scheduler`` is shared by the GUI (which bridges its callbacks to Qt signals) and by
``listbridge sync --loop``. It looks for due integrations every ``tick_seconds`` (and at once
when a connector asks for a run soon: ``core.sync.requests.request_run``) and runs them on
a small pool, never two runs of one integration at once in this process; the database lease
(``core.sync.lock``) keeps other processes out. ``request_run`` starts a run now, or, when one is
already running here, runs once more right after it (requests made meanwhile are merged).

Callbacks run on worker threads; they must be quick and must not touch widgets:

- ``on_started(integration_id, trigger)``
- ``on_progress(progress)`` with a ``core.sync.context.Progress``
- ``on_finished(result)`` with a ``core.sync.runner.RunResult`` (whatever its status)
- ``on_failed(integration_id, message)`` when no run could take place: another process runs it
  (manual requests only; scheduled ones are skipped quietly), the connector is unknown, or an
  unexpected error happened outside the run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import utcnow
from core.db import database_proxy
from core.integrations import schedule_next
from core.models.sync import Integration
from core.sync import requests
from core.sync.contract import Connector, Progress
from core.sync.errors import ConnectorError
from core.sync.lock import AlreadyRunning
from core.sync.runner import EngineOptions, RunResult, run_sync

log = logging.getLogger("listbridge.sync.scheduler")

ConnectorLookup = Callable[[Integration], Connector]


def due_integrations(now: datetime | None = None) -> list[Integration]:
    """Active, scheduled integrations whose next sync time has come (never-run ones first)."""
    now = now or utcnow()
    query = (Integration.select()
             .where(Integration.active == True,  # noqa: E712
                    Integration.schedule_minutes.is_null(False),
                    Integration.schedule_minutes > 0,
                    Integration.next_sync_at.is_null() | (Integration.next_sync_at <= now))
             .order_by(Integration.next_sync_at.is_null(False), Integration.next_sync_at,
                       Integration.id))
    return list(query)


@dataclass
class _Job:
    integration_id: int
    trigger: str
    cancel: threading.Event
    future: Future[None] | None = None
    again: str | None = None  # a trigger to run once more after this run


class Scheduler:
    def __init__(self, connector_for: ConnectorLookup, *, max_workers: int = 2,
                 tick_seconds: float = 30.0, options: EngineOptions | None = None,
                 on_started: Callable[[int, str], None] | None = None,
                 on_progress: Callable[[Progress], None] | None = None,
                 on_finished: Callable[[RunResult], None] | None = None,
                 on_failed: Callable[[int, str], None] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.connector_for = connector_for
        self.tick_seconds = tick_seconds
        self.options = options or EngineOptions()
        self.on_started = on_started
        self.on_progress = on_progress
        self.on_finished = on_finished
        self.on_failed = on_failed
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=max_workers,
                                        thread_name_prefix="listbridge-sync")
        self._jobs: dict[int, _Job] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._wake = threading.Event()  # a run was requested soon, or stop
        self._thread: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Look for due integrations now and every ``tick_seconds`` from a background thread."""
        if self._thread is not None:
            return
        requests.wake_me(self._wake)
        self._thread = threading.Thread(target=self._loop, name="listbridge-scheduler",
                                        daemon=True)
        self._thread.start()

    def stop(self, cancel_running: bool = True, wait: bool = True,
             timeout: float | None = 30.0) -> None:
        """Stop looking; cancel the runs under way (they stop at their next check) and wait."""
        self._stopping.set()
        self._wake.set()
        if cancel_running:
            with self._lock:
                for job in self._jobs.values():
                    job.again = None
                    job.cancel.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if wait:
            self.wait_idle(timeout)
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self.tick()
                except Exception:
                    log.exception("The scheduler could not look for due integrations")
                next_look = time.monotonic() + self.tick_seconds
                while not self._stopping.is_set() and time.monotonic() < next_look:
                    soon = requests.next_due()
                    wait = next_look - time.monotonic()
                    self._wake.wait(max(0.0, wait if soon is None else min(wait, soon)))
                    self._wake.clear()
                    self.run_requested()
        finally:
            database_proxy.close()

    # -- what runs -------------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[int]:
        """Start every due integration that is not already running here; their ids."""
        started = []
        for integration in due_integrations(now or self.clock()):
            if self._submit(integration.id, "scheduled"):
                started.append(integration.id)
        return started

    def run_requested(self) -> list[int]:
        """Start the integrations whose ``requests.request_run`` burst is over; their ids."""
        if self._stopping.is_set():
            return []
        ids = requests.take_due()
        for integration_id in ids:
            self.request_run(integration_id, "record_change")
        return ids

    def request_run(self, integration: Integration | int, trigger: str = "manual") -> bool:
        """Run now (True), or once more after the run under way here (False)."""
        integration_id = integration if isinstance(integration, int) else integration.id
        if self._submit(integration_id, trigger):
            return True
        with self._lock:
            job = self._jobs.get(integration_id)
            if job is not None:
                job.again = trigger
                return False
        return self._submit(integration_id, trigger)

    def cancel(self, integration: Integration | int) -> bool:
        integration_id = integration if isinstance(integration, int) else integration.id
        with self._lock:
            job = self._jobs.get(integration_id)
            if job is None:
                return False
            job.again = None
            job.cancel.set()
            return True

    def is_running(self, integration: Integration | int) -> bool:
        integration_id = integration if isinstance(integration, int) else integration.id
        with self._lock:
            return integration_id in self._jobs

    def running_ids(self) -> set[int]:
        with self._lock:
            return set(self._jobs)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no run is under way; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._jobs, timeout)

    def _submit(self, integration_id: int, trigger: str) -> bool:
        with self._lock:
            if self._stopping.is_set() or integration_id in self._jobs:
                return False
            job = _Job(integration_id, trigger, threading.Event())
            self._jobs[integration_id] = job
            job.future = self._pool.submit(self._work, job)
        return True

    def _work(self, job: _Job) -> None:
        try:
            self._run(job)
        finally:
            database_proxy.close()  # peewee keeps a connection per thread: give it back
            with self._lock:
                self._jobs.pop(job.integration_id, None)
                again = job.again
                self._idle.notify_all()
            if again and not self._stopping.is_set():
                self._submit(job.integration_id, again)

    def _run(self, job: _Job) -> None:
        integration = Integration.get_or_none(Integration.id == job.integration_id)
        if integration is None:
            return
        if job.trigger == "scheduled" and not integration.active:
            return
        try:
            connector = self.connector_for(integration)
        except Exception as exc:
            message = (exc.admin_message if isinstance(exc, ConnectorError) else "") or str(exc)
            log.error("No connector for %s: %s", integration.name, message)
            schedule_next(integration)  # do not try again at every tick
            self._emit(self.on_failed, job.integration_id, message)
            return
        self._emit(self.on_started, job.integration_id, job.trigger)
        try:
            result = run_sync(integration, connector, trigger=job.trigger,
                              on_progress=self._progress, cancel_event=job.cancel,
                              options=self.options)
        except AlreadyRunning as exc:
            log.info("%s", exc.admin_message)
            if job.trigger != "scheduled":
                self._emit(self.on_failed, job.integration_id, exc.admin_message)
            return
        except Exception as exc:
            log.exception("The sync of %s could not run", integration.name)
            self._emit(self.on_failed, job.integration_id,
                       f"The sync of {integration.name} could not run: {type(exc).__name__}.")
            return
        self._emit(self.on_finished, result)

    def _progress(self, progress: Progress) -> None:
        self._emit(self.on_progress, progress)

    @staticmethod
    def _emit(callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # a listener's bug must not kill the worker
            log.exception("A scheduler callback failed")
