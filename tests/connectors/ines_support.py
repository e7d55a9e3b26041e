"""Fixtures and helpers for the INES connector tests: the emulator over real loopback HTTP, an
integration in a fresh profile, and small builders for contacts.

Test modules load it with ``pytest_plugins = ["tests.connectors.ines_support"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.ines.client import InesApi, forget_sessions, make_client
from connectors.ines.connector import InesConnector
from connectors.ines.emulator import InesEmulator
from connectors.ines.fullsync import RunCounts, install_change_listener, run_full_sync
from connectors.ines.mapping import ensure_local_fields, save_mapping, set_features
from connectors.ines.models import InesSyncLog
from core.integrations import create_integration, read_secrets
from core.models.store import Company, Contact
from core.models.sync import HistoryEvent, Integration
from core.store import custom_values, save_record
from tests.connectors.ines_values import ACCOUNT, PASSWORD, USER


@pytest.fixture
def emulator() -> Iterator[InesEmulator]:
    forget_sessions()
    emu = InesEmulator(users=[(ACCOUNT, USER, PASSWORD)])
    emu.start()
    yield emu
    emu.stop()
    forget_sessions()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``core.cli.main`` sets up file logging; put the ``listbridge`` logger back afterwards."""
    root = logging.getLogger("listbridge")
    level, propagate = root.level, root.propagate
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_listbridge", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    root.propagate = propagate


@dataclass
class Ines:
    """An INES integration in a fresh profile, connected to the emulator."""

    emulator: InesEmulator
    integration: Integration

    # -- settings --

    def reload(self) -> Integration:
        self.integration = Integration.get_by_id(self.integration.id)
        return self.integration

    def settings(self, **values: Any) -> None:
        settings = self.reload().settings
        settings.update(values)
        self.integration.settings = settings
        self.integration.save()

    def features(self, push_lead: bool | None = None, full_sync: bool | None = None) -> None:
        set_features(self.reload(), push_lead=push_lead, full_sync=full_sync)
        self.reload()

    def map(self, **mapping: str) -> None:
        """Add mapping rows (``contact_Function="job_title"``)."""
        from connectors.ines.mapping import MappingSettings

        current = dict(MappingSettings.of(self.reload()).fields)
        current.update(mapping)
        assert save_mapping(self.integration, current) == []
        self.reload()

    # -- records --

    def company(self, name: str = "Durand SA", **fields: Any) -> Company:
        found = Company.get_or_none(Company.name == name)
        if found is not None:
            return found
        return save_record(Company(name=name, **fields))  # type: ignore[return-value]

    def contact(self, email: str | None = "paul@durand.example", company: str | None = "Durand SA",
                custom: dict[str, Any] | None = None, **fields: Any) -> Contact:
        record = Contact(email=email, company=self.company(company) if company else None,
                         **fields)
        return save_record(record, custom=custom)  # type: ignore[return-value]

    def edit(self, contact: Contact, custom: dict[str, Any] | None = None,
             **fields: Any) -> Contact:
        fresh = Contact.get_by_id(contact.id)
        for key, value in fields.items():
            setattr(fresh, key, value)
        return save_record(fresh, custom=custom)  # type: ignore[return-value]

    def refs(self, contact: Contact) -> tuple[Any, Any]:
        values = custom_values("contact", contact.id)
        return values.get("ines_contact_ref"), values.get("ines_client_ref")

    def rows(self) -> list[InesSyncLog]:
        return list(InesSyncLog.select().where(InesSyncLog.integration == self.integration)
                    .order_by(InesSyncLog.id))

    def pending(self) -> list[InesSyncLog]:
        return [r for r in self.rows() if r.status == "PENDING"]

    def history(self, contact: Contact | int) -> list[HistoryEvent]:
        record_id = contact if isinstance(contact, int) else contact.id
        return list(HistoryEvent.select().where(HistoryEvent.record_id == record_id)
                    .order_by(HistoryEvent.id))

    # -- INES --

    def api(self) -> InesApi:
        return make_client(self.reload().settings, read_secrets(self.integration))

    def run(self, limit: int = 10) -> RunCounts:
        return run_full_sync(self.reload(), self.api(), limit)

    def ops(self, *names: str) -> list[str]:
        """The SOAP operations called, logins left out unless named."""
        calls = [c.operation for c in self.emulator.calls()]
        if names:
            return [c for c in calls if c in names]
        return [c for c in calls if c != "authenticationWs"]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [c.params or {} for c in self.emulator.calls(operation=operation)]


@pytest.fixture
def ines(profile: Any, memory_keyring: Any, emulator: InesEmulator) -> Ines:
    """Published, with the three special local fields, full sync on, the default mapping."""
    install_change_listener()
    integration = create_integration(InesConnector(), "INES", {
        "account": ACCOUNT, "username": USER, "password": PASSWORD,
        "api_url": emulator.base_url})
    ensure_local_fields()
    set_features(integration, full_sync=True)
    return Ines(emulator, Integration.get_by_id(integration.id))
