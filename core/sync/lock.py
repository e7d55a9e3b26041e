"""One run per integration at a time, across threads and processes: a lease on the Integration row.

Taking the lease is one atomic ``UPDATE integration SET lock_token = <new> ... WHERE id = ? AND
(lock_token IS NULL OR lock_expires_at < now)``: of two contenders exactly one changes a row, in
SQLite (writers are serialised) as in PostgreSQL (the WHERE is re-checked under the row lock).
The holder renews the lease while it runs (every third of its length, from a small thread); a
process that dies stops renewing, so its lease expires and the next run takes over. On the same
machine a lease whose holder process is gone is taken over at once, without waiting for expiry.

Only the token's owner can renew or release: both are ``UPDATE ... WHERE lock_token = <token>``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import peewee as pw

from core.clock import utcnow
from core.db import database_proxy
from core.models.sync import Integration

log = logging.getLogger("listbridge.sync")

LEASE_SECONDS = 120.0


class AlreadyRunning(RuntimeError):
    """Another run of this integration holds its lock; ``admin_message`` says which."""

    def __init__(self, name: str, holder: str, expires_at: datetime | None) -> None:
        self.integration_name = name
        self.holder = holder
        self.expires_at = expires_at
        self.admin_message = f"{name} is already synchronising ({describe_holder(holder)})."
        super().__init__(self.admin_message)


def holder_id() -> str:
    """Who holds a lease: host, process and thread, so an admin can tell where a run is."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"


def describe_holder(holder: str) -> str:
    host, _, rest = holder.partition(":")
    pid, _, thread = rest.partition(":")
    if host == socket.gethostname() and pid == str(os.getpid()):
        return "in this window" if thread else "in this process"
    if host == socket.gethostname():
        return f"by process {pid} on this computer"
    return f"on {host}" if host else "elsewhere"


@dataclass
class Lease:
    """A held lock; ``release()`` it when the run ends (``with lease:`` does)."""

    integration_id: int
    token: str
    holder: str
    ttl: float
    lost: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def renew(self) -> bool:
        """Push the expiry forward; False when the lease was lost (expired and taken)."""
        rows = (Integration.update(lock_expires_at=utcnow() + timedelta(seconds=self.ttl))
                .where(Integration.id == self.integration_id,
                       Integration.lock_token == self.token)
                .execute())
        if rows == 0:
            self.lost.set()
        return rows == 1

    def keep_alive(self, on_lost: Callable[[], None] | None = None,
                   interval: float | None = None) -> None:
        """Renew from a daemon thread until released; call ``on_lost`` if the lease is lost."""
        every = interval if interval is not None else self.ttl / 3

        def loop() -> None:
            try:
                while not self._stop.wait(every):
                    try:
                        if not self.renew():
                            log.error("The lock of integration %s was lost", self.integration_id)
                            if on_lost is not None:
                                on_lost()
                            return
                    except pw.OperationalError as exc:  # database busy: try again next time
                        log.warning("Could not renew a sync lock: %s", exc)
            finally:
                database_proxy.close()

        self._thread = threading.Thread(target=loop, name=f"lease-{self.integration_id}",
                                        daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        (Integration.update(lock_token=None, lock_holder="", lock_expires_at=None)
         .where(Integration.id == self.integration_id, Integration.lock_token == self.token)
         .execute())

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def try_acquire(integration_id: int, ttl: float = LEASE_SECONDS,
                holder: str | None = None) -> Lease | None:
    """Take the lease if it is free, expired or held by a dead process here; else None."""
    token = uuid.uuid4().hex
    who = holder or holder_id()
    now = utcnow()
    values = {"lock_token": token, "lock_holder": who[:255],
              "lock_expires_at": now + timedelta(seconds=ttl)}
    free = (Integration.lock_token.is_null() | Integration.lock_expires_at.is_null()
            | (Integration.lock_expires_at < now))
    rows = (Integration.update(**values)
            .where(Integration.id == integration_id, free).execute())
    if rows == 0:
        row = Integration.get_or_none(Integration.id == integration_id)
        if row is None or not row.lock_token or not holder_is_dead(row.lock_holder):
            return None
        rows = (Integration.update(**values)  # the same token check keeps this atomic too
                .where(Integration.id == integration_id,
                       Integration.lock_token == row.lock_token).execute())
        if rows == 0:
            return None
        log.warning("Took over the lock of %s from %s, which is no longer running", row.name,
                    row.lock_holder)
    return Lease(integration_id, token, who, ttl)


def acquire(integration: Integration, ttl: float = LEASE_SECONDS, wait: bool = False,
            timeout: float | None = None, poll: float = 0.25) -> Lease:
    """The lease, or ``AlreadyRunning``; with ``wait`` it polls until free (or ``timeout``)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        lease = try_acquire(integration.id, ttl)
        if lease is not None:
            return lease
        if not wait or (deadline is not None and time.monotonic() >= deadline):
            row = Integration.get_or_none(Integration.id == integration.id)
            holder = row.lock_holder if row else ""
            raise AlreadyRunning(integration.name, holder, row.lock_expires_at if row else None)
        time.sleep(poll)


def lock_holder(integration: Integration) -> str | None:
    """Who runs this integration now, or None when its lock is free (or expired)."""
    row = Integration.get_or_none(Integration.id == integration.id)
    if row is None or not row.lock_token or row.lock_expires_at is None:
        return None
    if row.lock_expires_at < utcnow():
        return None
    return str(row.lock_holder)


def holder_is_dead(holder: str) -> bool:
    """True only when the holder was a process on this machine that no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or os.name != "posix":
        return False  # elsewhere (or on Windows): only the expiry tells
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
