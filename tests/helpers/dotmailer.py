"""Shared pieces of the Dotmailer tests: the emulator, an integration on it, lists, runs."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from connectors.dotmailer.client import forget_discoveries
from connectors.dotmailer.connector import DotmailerConnector
from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER, DotmailerEmulator
from connectors.dotmailer.sync import Tuning
from core.clock import utcnow
from core.db import database_proxy
from core.integrations import create_integration
from core.lists import add_members
from core.models.store import Contact, MarketingList
from core.models.sync import Integration, SyncRun
from core.sync.context import SyncContext
from core.sync.queue import RetryPolicy
from core.sync.runner import EngineOptions, RunResult, run_sync


class Sleeps:
    """An injected sleep: records what would have been waited, waits nothing."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    @property
    def total(self) -> float:
        return sum(self.calls)


FAST = EngineOptions(lease_seconds=5, retry_policy=RetryPolicy(base=timedelta(0)),
                     retry_later=timedelta(0))


@pytest.fixture
def emulator() -> Iterator[DotmailerEmulator]:
    forget_discoveries()
    emu = DotmailerEmulator(base_port=0).start()
    yield emu
    emu.stop()
    forget_discoveries()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def connector(sleeps: Sleeps) -> DotmailerConnector:
    return DotmailerConnector(Tuning(sleep=sleeps))


def values(emulator: DotmailerEmulator, good: bool = True, **extra: Any) -> dict[str, Any]:
    return {"username": DEFAULT_USER, "password": DEFAULT_PASSWORD if good else "wrong-pass-9",
            "api_url": emulator.url, **extra}


def new_integration(connector: DotmailerConnector, emulator: DotmailerEmulator,
                    name: str = "Dotmailer", **extra: Any) -> Integration:
    return create_integration(connector, name, values(emulator, **extra))


def new_list(name: str, n: int, start: int = 0, domain: str = "example.com") -> MarketingList:
    """A static list of ``n`` contacts: first{i}, last{i}, user{i}@domain."""
    mlist = MarketingList.create(name=name, entity="contact")
    now = utcnow()
    rows = [{"email": f"User{i}@{domain}", "email_key": f"user{i}@{domain}",
             "first_name": f"First{i}", "last_name": f"Last{i}", "created": now, "updated": now}
            for i in range(start, start + n)]
    with database_proxy.atomic():
        for begin in range(0, len(rows), 200):
            Contact.insert_many(rows[begin:begin + 200]).execute()
    ids = [c for (c,) in Contact.select(Contact.id).where(
        Contact.email_key.in_([r["email_key"] for r in rows])).tuples()]
    add_members(mlist, ids)
    return mlist


def sync(integration: Integration, connector: DotmailerConnector,
         trigger: str = "manual") -> RunResult:
    return run_sync(integration, connector, trigger=trigger, options=FAST)


def context(integration: Integration, connector: DotmailerConnector,
            trigger: str = "manual") -> SyncContext:
    """A context for calling steps directly (no engine)."""
    from core.integrations import read_secrets

    run = SyncRun.create(integration=integration, trigger=trigger)
    ctx = SyncContext(integration=integration, run=run, secrets=read_secrets(integration),
                      trigger=trigger, connector=connector)
    ctx.client = connector.make_client(ctx)
    return ctx


def run_steps(ctx: SyncContext, connector: DotmailerConnector, only: tuple[str, ...] = ()) -> None:
    for step in connector.steps(ctx.integration):
        if only and step.name not in only:
            continue
        ctx.step, ctx.step_label = step.name, step.label
        step.run(ctx)


def imported_rows(emulator: DotmailerEmulator) -> list[dict[str, str]]:
    """Every row of every import the emulator accepted (from the request log)."""
    import json

    rows = []
    for entry in emulator.requests():
        if (entry["method"] == "POST" and entry["path"].endswith("/contacts/import")
                and entry["status"] == 202):
            data = json.loads(entry["body"])
            text = base64.b64decode(data["data"]).decode("utf-8")
            rows.extend(csv.DictReader(io.StringIO(text, newline="")))
    return rows


def book_emails(emulator: DotmailerEmulator, book_id: int) -> set[str]:
    """Emails of the book's current (not unsubscribed) members, from the emulator's state."""
    state = emulator.snapshot()
    contacts = {c["id"]: c["email"] for c in state["contacts"]}
    return {contacts[m["contact"]] for m in state["memberships"]
            if m["book"] == book_id and m["unsubscribed_at"] is None}
