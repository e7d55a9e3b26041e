"""Benchmark: the Dotmailer sync of a 100,000-member list against the emulator.

Run from the repository root:  python tests/bench/bench_dotmailer.py [--members N]
[--activities N] [--max-active-imports N] [--stub-activities N]

Prints, next to the goals:

1. the first export: wall time (goal ≤ 30 s), API calls (≤ one import per 10,000 rows plus status
   polls), peak memory of this process (goal ≤ 400 MB);
2. the next sync, once Dotmailer has processed the imports (polls, faults, remote ids);
3. a sync with 1% of the members changed (goal ≤ 3 s, only the changes sent);
4. importing contact activities from the emulator (pages of 1,000; goal for 1,000,000:
   ≤ 90 s);
5. importing 1,000,000 activities from a minimal stub server that serves pages as fast as it can
   (the client, the parsing and the store alone, without the emulator's own cost).

The emulator runs, unmodified, in a child process so that the memory figure is ListBridge's
alone (it indexes contacts by email and keeps each list's page order, so a 100,000-row import
and 1,000,000 activities page in linear time). Runs use the scheduled trigger and the real poll
delays (5 s, 10 s, 20 s...). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

GOAL_EXPORT_S = 30.0
GOAL_MB = 400.0
GOAL_CHANGED_S = 3.0
GOAL_ACTIVITIES_S = 90.0
START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


# -- the emulator's child process ------------------------------------------------------------------

def serve(port: int, activities: int, members: int) -> None:
    """Run the emulator as it is; seed one sent campaign with ``activities`` rows (directly in
    its state: ``add_activity`` needs a contact per row, and seeding is not what is measured)."""
    from connectors.dotmailer.emulator import Activity, DotmailerEmulator

    emulator = DotmailerEmulator(base_port=0, admin_http=True, now=START)
    if activities:
        book = emulator.add_book("Activities")
        campaign = emulator.add_campaign("Bench campaign", "Sent", [book], date_sent=START)
        emulator._state.put_activities(campaign, (
            Activity(campaign, 900_000 + i, f"user{i % max(members, 1)}@example.com", START,
                     1 + i % 3, i % 2, 0, 0, 0, 0, START, START, START, "61.249.92.173")
            for i in range(activities)))
    emulator.start()
    print(f"ready {emulator.url}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    emulator.stop()


class Remote:
    """The emulator child, driven through its admin routes."""

    def __init__(self, activities: int, members: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "0", "--activities", str(activities),
             "--members", str(members)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if not line or line[0] != "ready":
            raise SystemExit(f"the emulator did not start: {line!r}")
        self.url = line[1]

    def hook(self, hook_name: str, **kwargs: Any) -> Any:
        import requests

        answer = requests.post(f"{self.url}/_emulator/{hook_name}", json=kwargs, timeout=600)
        answer.raise_for_status()
        return answer.json()["result"]

    def count(self, method: str, glob: str) -> int:
        return int(self.hook("call_count", method=method, path_glob=glob))

    def calls(self) -> dict[str, int]:
        kinds = {
            "account-info (E1)": ("GET", "account-info"), "server-time (E26)": ("GET", "server-time"),
            "address books (E2)": ("GET", "address-books"),
            "contacts (E6/E7)": ("GET", "address-books/*/contacts*"),
            "unsubscribes (E8)": ("GET", "address-books/*/contacts/unsubscribed-since/*"),
            "suppressions (E9)": ("GET", "contacts/suppressed-since/*"),
            "imports sent (E12)": ("POST", "address-books/*/contacts/import"),
            "import polls (E13)": ("GET", "contacts/import/*"),
            "removals (E10)": ("POST", "address-books/*/contacts/delete"),
            "campaigns (E16)": ("GET", "address-books/*/campaigns"),
            "activities (E19/E20)": ("GET", "campaigns/*/activities*"),
            "summaries (E21)": ("GET", "campaigns/*/summary"),
            "data fields (E22)": ("GET", "data-fields"),
        }
        counts = {label: self.count(*spec) for label, spec in kinds.items()}
        counts["contacts (E6/E7)"] -= counts["unsubscribes (E8)"]
        counts["import polls (E13)"] = sum(
            1 for e in self.hook("requests") if e["method"] == "GET"
            and e["path"].startswith("/v2/contacts/import/") and e["path"].count("/") == 4)
        counts["total"] = self.count("*", "*") - self.count("*", "/_emulator/*")
        return {k: v for k, v in counts.items() if v}

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


# -- the bench ---------------------------------------------------------------------------------------

def peak_mb() -> float:
    kilo = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilo / 1024 if platform.system() != "Darwin" else kilo / 1024 / 1024


def setup(root: Path, remote: Remote, members: int, max_active: int) -> tuple[Any, Any, Any]:
    import keyring

    from connectors.dotmailer import service
    from connectors.dotmailer.connector import DotmailerConnector
    from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER
    from core.clock import utcnow
    from core.db import database_proxy
    from core.integrations import create_integration
    from core.lists import add_members
    from core.migrations import open_database
    from core.models.store import Contact, MarketingList
    from core.paths import Profile
    from tests.helpers.keyrings import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    open_database(Profile(root).ensure().database)
    connector = DotmailerConnector()
    integration = create_integration(connector, "Bench", {
        "username": DEFAULT_USER, "password": DEFAULT_PASSWORD, "api_url": remote.url,
        "max_active_imports": max_active})
    mlist = MarketingList.create(name="Bench list", entity="contact")
    now = utcnow()
    with database_proxy.atomic():
        for start in range(0, members, 500):
            Contact.insert_many([{
                "email": f"User{i}@Example.com", "email_key": f"user{i}@example.com",
                "first_name": f"First{i}", "last_name": f"Last{i}", "created": now,
                "updated": now} for i in range(start, min(members, start + 500))]).execute()
    add_members(mlist, [c for (c,) in Contact.select(Contact.id).tuples()])
    book = remote.hook("add_book", name="Bench book")
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    return connector, integration, mlist


def timed_sync(connector: Any, integration: Any) -> tuple[float, Any]:
    from core.sync.runner import run_sync

    start = time.perf_counter()
    result = run_sync(integration, connector, trigger="scheduled")
    return time.perf_counter() - start, result


def report(label: str, seconds: float, result: Any, calls: dict[str, int],
           goal: float | None = None) -> None:
    verdict = "" if goal is None else (" ok" if seconds <= goal else " OVER")
    goal_text = "" if goal is None else f" (goal ≤ {goal:.0f} s{verdict})"
    print(f"{label}: {seconds:.1f} s{goal_text}; run {result.status}")
    for step in result.steps:
        if step.counts:
            print(f"    {step.name}: {', '.join(f'{k} {v}' for k, v in step.counts.items() if v)}")
    print("    API calls: " + ", ".join(f"{k} {v}" for k, v in calls.items()))


def bench(args: argparse.Namespace) -> None:
    from connectors.dotmailer import sync as dm_sync
    from core.models.store import Contact

    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{args.members:,} members, max_active_imports {args.max_active_imports}")
    remote = Remote(args.activities, args.members)
    try:
        with tempfile.TemporaryDirectory() as folder:
            connector, integration, mlist = setup(Path(folder), remote, args.members,
                                                  args.max_active_imports)
            remote.hook("clear_requests")
            base_mb = peak_mb()

            seconds, result = timed_sync(connector, integration)
            calls = remote.calls()
            report("1. First export", seconds, result, calls, GOAL_EXPORT_S)
            waited = sum(dm_sync.POLL_DELAYS[:2]) * ((args.members // dm_sync.BATCH_ROWS - 1)
                                                     // args.max_active_imports)
            print(f"    of which waiting for import slots (5 s + 10 s per wave): ~{waited:.0f} s")
            print(f"    imports: {calls.get('imports sent (E12)', 0)} for {args.members:,} rows "
                  f"(goal ≤ {-(-args.members // 10_000)} plus polls)")
            print(f"    peak memory: {peak_mb():.0f} MB (goal ≤ {GOAL_MB:.0f} MB; "
                  f"{base_mb:.0f} MB before the sync, after creating the list)")

            remote.hook("finish_imports")
            remote.hook("set_now", now=(START + timedelta(minutes=15)).isoformat())
            remote.hook("clear_requests")
            seconds, result = timed_sync(connector, integration)
            report("2. Next sync, imports processed (polls, faults, remote ids)", seconds, result,
                   remote.calls())

            changed = max(1, args.members // 100)
            ids = [c for (c,) in Contact.select(Contact.id).order_by(Contact.id)
                   .limit(changed).tuples()]
            Contact.update(first_name="Changed").where(Contact.id.in_(ids)).execute()
            remote.hook("set_now", now=(START + timedelta(hours=1)).isoformat())
            remote.hook("clear_requests")
            seconds, result = timed_sync(connector, integration)
            calls = remote.calls()
            report(f"3. Sync with 1% changed ({changed:,} members)", seconds, result, calls,
                   GOAL_CHANGED_S)
            sent = sum(s.counts.get("sent", 0) for s in result.steps)
            print(f"    rows sent: {sent:,} (only the changes: {'yes' if sent == changed else 'NO'})")
            print(f"    peak memory so far: {peak_mb():.0f} MB")

            if args.activities:
                activities_from_emulator(remote, integration, connector, args.activities)
    finally:
        remote.close()
    if args.stub_activities:
        activities_from_stub(args.stub_activities)


def activities_from_emulator(remote: Remote, integration: Any, connector: Any, n: int) -> None:
    from connectors.dotmailer import campaigns as dm_campaigns
    from connectors.dotmailer import service
    from connectors.dotmailer.emulator import DEFAULT_PASSWORD
    from connectors.dotmailer.models import AddressBook, ContactActivity
    from core.models.store import MarketingList
    from core.models.sync import SyncRun
    from core.sync.context import SyncContext

    service.refresh_books(integration)
    book = AddressBook.get(AddressBook.name == "Activities")
    service.connect_list(MarketingList.create(name="Activities", entity="contact"), integration,
                         book.remote_id)
    ctx = SyncContext(integration=integration, run=SyncRun.create(integration=integration,
                                                                 trigger="manual"),
                      secrets={"password": DEFAULT_PASSWORD}, connector=connector)
    ctx.client = connector.make_client(ctx)
    dm_campaigns.sync_campaigns(ctx)
    remote.hook("clear_requests")
    start = time.perf_counter()
    dm_campaigns.sync_activities(ctx)
    seconds = time.perf_counter() - start
    stored = ContactActivity.select().count()
    pages = remote.count("GET", "campaigns/*/activities*")
    print(f"4. {n:,} contact activities from the emulator: {seconds:.1f} s, {stored:,} stored, "
          f"{pages} pages (goal for 1,000,000: ≤ {GOAL_ACTIVITIES_S:.0f} s)")
    print(f"    peak memory so far: {peak_mb():.0f} MB")


def activities_from_stub(n: int) -> None:
    """The client and the store alone: a stub serves E1, E26 and E19 pages instantly."""
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    from connectors.dotmailer import campaigns as dm_campaigns
    from connectors.dotmailer.client import DotmailerClient
    from connectors.dotmailer.models import ContactActivity, EmailCampaign
    from core.migrations import open_database
    from core.models.sync import Integration

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path.endswith("/account-info"):
            body: Any = {"id": 1, "properties": [{"name": "ApiEndpoint", "value": base}]}
        elif request.path.endswith("/server-time"):
            body = "2024-05-01T10:00:00Z"
        else:
            skip, select = int(request.args["skip"]), int(request.args["select"])
            body = [{"contactId": 100000 + i, "email": f"user{i}@example.com", "numOpens": 2,
                     "numPageViews": 0, "numClicks": 1, "numForwards": 0,
                     "numEstimatedForwards": 0, "numReplies": 0,
                     "dateSent": "2024-05-01T09:00:00.000Z",
                     "dateFirstOpened": "2024-05-01T09:30:00.000Z",
                     "dateLastOpened": "2024-05-01T09:45:00.000Z",
                     "firstOpenIp": "61.249.92.173", "unsubscribed": False,
                     "softBounced": False, "hardBounced": False}
                    for i in range(skip, min(n, skip + select))]
        return Response(json.dumps(body), content_type="application/json")(environ,
                                                                             start_response)

    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as folder:
        open_database(Path(folder) / "stub.sqlite3")
        integration = Integration.create(type="dotmailer", name="Stub")
        campaign = EmailCampaign.create(integration=integration, remote_id=1, name="Stub",
                                        status="Sent")
        client = DotmailerClient("stub@example.com", "stub-pass-1", base)
        start = time.perf_counter()
        for page in client.activities(1):
            dm_campaigns.store_activities(campaign, page)
        seconds = time.perf_counter() - start
        stored = ContactActivity.select().count()
    server.shutdown()
    print(f"5. {n:,} contact activities from a stub server (client, parsing and store only): "
          f"{seconds:.1f} s, {stored:,} stored (goal ≤ {GOAL_ACTIVITIES_S:.0f} s); peak memory "
          f"{peak_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000,
                        help="activities served by the emulator (0: skip)")
    parser.add_argument("--stub-activities", type=int, default=1_000_000,
                        help="activities served by the stub (0: skip)")
    parser.add_argument("--max-active-imports", type=int, default=5)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.activities, args.members)
        return
    bench(args)


if __name__ == "__main__":
    main()
