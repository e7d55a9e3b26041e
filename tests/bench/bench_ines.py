"""Benchmark: INES full sync of 10,000 contacts against the emulator, as the scheduler runs it.

Run from the repository root:  python tests/bench/bench_ines.py [--contacts N] [--per-run N]
The contacts are in the store before full sync is switched on, so the initial sync feeds them to
the queue 100 at a time (§3.15) and each headless run (``run_sync``, with the lock, the run record
and the journal) sends up to ``--per-run`` of them over real loopback HTTP.

The emulator runs in its own process (``listbridge emulator ines``), as the real service is on
another machine; ``--in-process`` runs it in this one, sharing the interpreter (slower).

Prints contacts per second (goal ≥ 100) and SOAP calls per new contact, logins and configuration
reads included (goal ≤ 4 on average). Not collected by pytest (no test_ functions).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

GOAL_PER_SECOND = 100.0
GOAL_CALLS = 4.0
ROOT = Path(__file__).resolve().parents[2]
LOGIN = ("BENCH", "bench", "bench-password")


class Emulator:
    """The INES emulator, in another process (default) or in this one."""

    def __init__(self, in_process: bool) -> None:
        self.in_process = in_process
        self.base_url = ""
        self._emulator: Any = None
        self._process: subprocess.Popen[str] | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Emulator]:
        if self.in_process:
            from connectors.ines.emulator import InesEmulator

            self._emulator = InesEmulator(users=[LOGIN], request_log_size=10).start()
            self.base_url = self._emulator.base_url
        else:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "connectors.ines.emulator", "--port", "0", "--admin-http",
                 "--user", ":".join(LOGIN)], cwd=ROOT, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True)
            assert self._process.stdout is not None
            self.base_url = self._process.stdout.readline().strip()
        try:
            yield self
        finally:
            if self._emulator is not None:
                self._emulator.stop()
            if self._process is not None:
                self._process.terminate()
                self._process.wait(10)

    def hook(self, name: str, **params: Any) -> Any:
        if self._emulator is not None:
            return getattr(self._emulator, name)(**params)
        query = "&".join(f"{k}={v}" for k, v in params.items())
        with urllib.request.urlopen(f"{self.base_url}/_emulator/{name}?{query}") as answer:
            return json.loads(answer.read())["result"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--per-run", type=int, default=100,
                        help="--number-of-leads-to-process of each run (100)")
    parser.add_argument("--in-process", action="store_true",
                        help="run the emulator in this process")
    args = parser.parse_args(argv)

    import keyring

    from connectors.ines.connector import InesConnector
    from connectors.ines.mapping import ensure_local_fields, set_features
    from connectors.ines.models import InesSyncLog
    from core.db import close_database, database_proxy
    from core.integrations import create_integration
    from core.migrations import open_database
    from core.models.store import Company, Contact, User
    from core.paths import Profile
    from core.sync.runner import run_sync
    from tests.helpers.keyrings import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    root = Path(tempfile.mkdtemp(prefix="listbridge-bench-ines-"))
    open_database(Profile(root).ensure().database)
    owner = User.select().first()
    with database_proxy.atomic():
        companies = [Company.create(name=f"Société {n}", city="Lyon", postal_code="69001",
                                    owner=owner) for n in range(500)]
        rows = [{"email": f"contact.{n}@example{n % 50}.fr", "email_key": f"contact.{n}@example{n % 50}.fr",
                 "first_name": "Jeanne", "last_name": f"Martin {n}", "points": n % 40,
                 "company": companies[n % len(companies)].id, "owner": owner.id}
                for n in range(args.contacts)]
        for start in range(0, len(rows), 500):
            Contact.insert_many(rows[start:start + 500]).execute()

    with Emulator(args.in_process).running() as emulator:
        integration = create_integration(InesConnector(), "INES bench", {
            "account": "BENCH", "username": "bench", "password": "bench-password",
            "api_url": emulator.base_url})
        ensure_local_fields()
        set_features(integration, full_sync=True)
        connector = InesConnector(leads_per_run=args.per_run)
        runs = 0
        began = time.perf_counter()
        while True:
            result = run_sync(integration, connector, trigger="headless")
            runs += 1
            if not result.ok:
                print(f"run {runs} failed: {result.message}")
                return 1
            numbers = result.counts.get("ines", {})
            if not numbers.get("of_updates") and not numbers.get("enqueued"):
                break
        seconds = time.perf_counter() - began
        done = InesSyncLog.select().where(InesSyncLog.status == "DONE").count()
        calls = emulator.hook("call_count") + emulator.hook("call_count", operation="wsdl")
        clients = len(emulator.hook("clients"))

    close_database()
    rate = done / seconds if seconds else 0.0
    per_contact = calls / done if done else float("inf")
    where = "in this process" if args.in_process else "in its own process"
    print(f"INES full sync: {done:,} contacts in {seconds:.1f} s over {runs} runs "
          f"({args.per_run} per run), {clients:,} INES clients created; emulator {where}")
    print(f"  {rate:.0f} contacts/s (goal ≥ {GOAL_PER_SECOND:.0f})"
          f" {'OK' if rate >= GOAL_PER_SECOND else 'MISSED'}")
    print(f"  {per_contact:.2f} SOAP calls per new contact, logins and configuration reads "
          f"included (goal ≤ {GOAL_CALLS:.0f}) {'OK' if per_contact <= GOAL_CALLS else 'MISSED'}")
    print(f"  Python {platform.python_version()} on {platform.system()} {platform.machine()}")
    return 0 if rate >= GOAL_PER_SECOND and per_contact <= GOAL_CALLS else 1


if __name__ == "__main__":
    sys.exit(main())
