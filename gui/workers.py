"""Running blocking work (queries, imports, recomputes) off the GUI thread.

A job is a plain function run on a shared ``QThreadPool``; its result or its error comes back as a
signal of a small ``QObject`` created in the GUI thread, so the slots run there (queued
connection). Errors are caught in the worker and emitted, never raised across threads.

peewee keeps one connection per thread: a job opens its thread's connection when it first queries
and closes it when it ends, so no connection outlives the job (nor the database it was opened on).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger("listbridge.gui")

_pool: QThreadPool | None = None
_alive: set[JobSignals] = set()


def pool() -> QThreadPool:
    """The pool every GUI job runs on (a few threads: SQLite serialises writers anyway)."""
    global _pool
    if _pool is None:
        _pool = QThreadPool()
        _pool.setMaxThreadCount(4)
        _pool.setObjectName("listbridgeWorkers")
    return _pool


def wait_for_jobs(timeout_ms: int = 30_000) -> bool:
    """Block until every job has finished (closing the window, ending a test)."""
    return pool().waitForDone(timeout_ms) if _pool is not None else True


class JobSignals(QObject):
    """What a job reports: ``done(result)``, ``failed(message, trace)``, ``progress(done, total)``."""

    done = Signal(object)
    failed = Signal(str, str)
    progress = Signal(int, int)


class Job(QRunnable):
    """One function on the pool; ``cancel_event`` is there for functions that accept it."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the Python object owns it; _alive keeps the signals
        self.func, self.args, self.kwargs = func, args, kwargs
        self.signals = JobSignals()
        self.cancel_event = threading.Event()

    def run(self) -> None:
        from core.db import database_proxy

        try:
            result = self.func(*self.args, **self.kwargs)
        except Exception as exc:  # reported to the GUI thread, which decides what the admin sees
            log.exception("A background job failed")
            self.signals.failed.emit(str(exc) or type(exc).__name__, traceback.format_exc())
        else:
            self.signals.done.emit(result)
        finally:
            db = database_proxy.obj
            if db is not None and not db.is_closed():
                db.close()


def start_job(func: Callable[..., Any], *args: Any,
              on_done: Callable[[Any], None] | None = None,
              on_failed: Callable[[str, str], None] | None = None,
              **kwargs: Any) -> Job:
    """Run ``func(*args, **kwargs)`` on the pool; ``on_done``/``on_failed`` run on the GUI thread.

    Give bound methods of QObjects as callbacks: Qt drops the call if that object is gone.
    """
    job = Job(func, *args, **kwargs)
    signals = job.signals
    _alive.add(signals)
    _jobs.add(job)

    def release(*_: Any) -> None:
        _alive.discard(signals)
        _jobs.discard(job)

    if on_done is not None:
        signals.done.connect(on_done)
    if on_failed is not None:
        signals.failed.connect(on_failed)
    signals.done.connect(release)
    signals.failed.connect(release)
    pool().start(job)
    return job


_jobs: set[Job] = set()
