"""Run soon, because a record changed: a debounced request per integration.

A connector that hears of a change it must send soon (INES's automatic push) calls
``request_run(integration)``; it never keeps hooks or timers of its own. The request

- makes the integration due in the database (``next_sync_at`` now, unless already due), so that
  every scheduler starts it at its next look: this process's, or ``listbridge sync --loop`` in
  another one;
- wakes the schedulers running in this process (``core.sync.scheduler.Scheduler`` once started:
  the window's, ``sync --loop``'s), which start the run once the burst is over: ``delay``
  seconds without another request, ``max_wait`` at most after the first one. A burst (an import
  of 100,000 contacts) asks for one run and writes the database once.

A run that starts answers the requests made before it (``answered``); changes made during the run
ask again, and the engine keeps that request when it sets the next sync time. Nothing here is
installed at import time: the state is a plain table, read by the schedulers that run.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

from core.clock import utcnow
from core.db import database_proxy
from core.models.sync import Integration

RUN_SOON_DELAY_S = 1.0  # quiet time after the last request before the run starts
RUN_SOON_MAX_WAIT_S = 10.0  # a long burst still starts a run this soon after its first request


@dataclass
class _Request:
    first: float  # time.monotonic() of the first request of the burst
    due: float  # when a scheduler here should start the run


_lock = threading.Lock()
_pending: dict[tuple[str, int], _Request] = {}  # (database, integration id) -> request
_wakers: weakref.WeakSet[threading.Event] = weakref.WeakSet()


def _database() -> str:
    return str(getattr(database_proxy.obj, "database", ""))


def request_run(integration: Integration | int, delay: float = RUN_SOON_DELAY_S,
                max_wait: float = RUN_SOON_MAX_WAIT_S) -> bool:
    """Ask for a run of this integration soon; quick, callable from any thread (the writer's).

    An inactive or manual-only integration (no schedule) is not started: its changes go with
    its next Synchronize. Returns True when this call opened a request (and made the
    integration due), False when it was merged into the request of the burst under way, or
    when the integration does not run by itself.
    """
    if isinstance(integration, int):
        found = Integration.get_or_none(Integration.id == integration)
        if found is None:
            return False
        integration = found
    if not integration.active or not integration.schedule_minutes:
        return False
    key = (_database(), integration.id)
    now = time.monotonic()
    with _lock:
        request = _pending.get(key)
        if request is not None and now - request.first < max_wait:
            request.due = min(request.first + max_wait, now + delay)
            opened = False
        else:
            _pending[key] = _Request(now, now + delay)
            opened = True
        wakers = list(_wakers)
    if opened:
        due = utcnow()
        (Integration.update(next_sync_at=due)
         .where(Integration.id == integration.id, Integration.active == True,  # noqa: E712
                Integration.next_sync_at.is_null() | (Integration.next_sync_at > due))
         .execute())
    for event in wakers:
        event.set()
    return opened


def answered(integration_id: int) -> None:
    """A run of this integration started: the requests made before it are answered."""
    key = (_database(), integration_id)
    with _lock:
        _pending.pop(key, None)


def is_requested(integration_id: int) -> bool:
    """True while a request of this integration waits for its run (in this process)."""
    with _lock:
        return (_database(), integration_id) in _pending


def take_due(now: float | None = None) -> list[int]:
    """The integrations (of the open database) whose burst is over; they are taken."""
    now = time.monotonic() if now is None else now
    database = _database()
    with _lock:
        ready = [key for key, request in _pending.items()
                 if key[0] == database and request.due <= now]
        for key in ready:
            del _pending[key]
    return [integration_id for _, integration_id in ready]


def next_due(now: float | None = None) -> float | None:
    """Seconds until the next request of the open database is due (0 if one is), or None."""
    now = time.monotonic() if now is None else now
    database = _database()
    with _lock:
        dues = [r.due for key, r in _pending.items() if key[0] == database]
    return max(0.0, min(dues) - now) if dues else None


def wake_me(event: threading.Event) -> None:
    """Set ``event`` at every request (a running scheduler's; held weakly)."""
    with _lock:
        _wakers.add(event)
