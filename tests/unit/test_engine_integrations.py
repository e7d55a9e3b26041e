"""Creating, editing and deleting integrations, with their secrets in the keyring only."""

from __future__ import annotations

import logging

import keyring
import pytest

from core import secrets
from core.integrations import (
    IntegrationBusy,
    InvalidIntegration,
    create_integration,
    delete_integration,
    public_settings,
    read_secrets,
    store_secret,
    update_integration,
)
from core.models.store import User
from core.models.sync import Integration, QueueItem
from core.sync import lock
from core.sync.queue import enqueue
from core.sync.runner import EngineOptions, run_sync
from tests.helpers.fake_service import FakeConnector, FakeService, ScriptedConnector

PASSWORD = "Sup3r-Secret-pa55word!"


@pytest.fixture
def connector() -> ScriptedConnector:
    return ScriptedConnector()


def test_create_keeps_settings_in_the_database_and_the_password_in_the_keyring(
        profile, memory_keyring, connector):
    owner = User.select().first()
    integration = create_integration(
        connector, " Dotmailer EU ",
        {"username": " apiuser@example.com ", "password": PASSWORD, "batch_size": "250",
         "api_url": "https://r1-api.example.com/v2"}, owner=owner)
    assert integration.name == "Dotmailer EU" and integration.type == "scripted"
    assert integration.schedule_minutes == 10 and integration.active
    assert integration.owner == owner
    assert public_settings(integration) == {"username": "apiuser@example.com", "batch_size": 250,
                                            "api_url": "https://r1-api.example.com/v2"}
    assert PASSWORD not in integration.settings_json
    assert memory_keyring.entries == {("listbridge", f"{integration.secret_ref}:password"):
                                      PASSWORD}
    assert read_secrets(Integration.get_by_id(integration.id)) == {"password": PASSWORD}


def test_the_form_validates_the_values_and_nothing_is_saved_on_error(profile, memory_keyring,
                                                                     connector):
    with pytest.raises(InvalidIntegration) as caught:
        create_integration(connector, "", {"password": "short", "batch_size": "many"})
    assert set(caught.value.errors) == {"name", "username", "password", "batch_size"}
    assert "at least 8" in caught.value.errors["password"]
    with pytest.raises(InvalidIntegration) as caught:
        create_integration(connector, "X", {"username": "u", "password": PASSWORD, "colour": "red"})
    assert set(caught.value.errors) == {"colour"}
    assert Integration.select().count() == 0 and memory_keyring.entries == {}


def test_names_are_unique(profile, memory_keyring, connector):
    values = {"username": "u", "password": PASSWORD}
    create_integration(connector, "Main", values)
    with pytest.raises(InvalidIntegration) as caught:
        create_integration(connector, "Main", values)
    assert "already exists" in caught.value.errors["name"]
    assert caught.value.name_taken  # a conflict with what is saved, not a bad form
    other = create_integration(connector, "Other", values)
    with pytest.raises(InvalidIntegration) as caught:
        update_integration(other, connector, name=" Main ")
    assert caught.value.name_taken
    with pytest.raises(InvalidIntegration) as caught:
        create_integration(connector, " ", values)
    assert not caught.value.name_taken


def test_the_owner_defaults_to_the_person_at_the_desk(profile, memory_keyring, connector):
    """As the window's form does (``core.store.default_owner``), whoever saves it."""
    from core.store import default_owner

    desk = User.create(username="desk", is_default=True)
    User.update(is_default=False).where(User.id != desk.id).execute()
    assert default_owner() == desk
    integration = create_integration(connector, "Main", {"username": "u", "password": PASSWORD})
    assert Integration.get_by_id(integration.id).owner == desk
    chosen = User.create(username="chosen")
    named = create_integration(connector, "Named", {"username": "u", "password": PASSWORD},
                               owner=chosen)
    assert Integration.get_by_id(named.id).owner == chosen
    update_integration(integration, connector, name="Renamed")  # an edit keeps the owner
    assert Integration.get_by_id(integration.id).owner == desk


@pytest.mark.parametrize("url, problem", [("http://example.com/", "plain http"),
                                          ("example.com/api", "not a valid https URL")])
def test_the_service_url_is_checked_when_saving_not_at_the_first_sync(
        profile, memory_keyring, connector, url, problem):
    values = {"username": "u", "password": PASSWORD, "api_url": url}
    with pytest.raises(InvalidIntegration) as caught:
        create_integration(connector, "Main", values)
    assert problem in caught.value.errors["api_url"]
    assert Integration.select().count() == 0 and memory_keyring.entries == {}
    integration = create_integration(connector, "Main", {**values, "api_url": "https://x.test/"})
    with pytest.raises(InvalidIntegration) as caught:
        update_integration(integration, connector, values={"api_url": url})
    assert problem in caught.value.errors["api_url"]
    assert Integration.get_by_id(integration.id).settings["api_url"] == "https://x.test/"
    update_integration(integration, connector, values={"api_url": "http://127.0.0.1:8080/"})
    assert Integration.get_by_id(integration.id).settings["api_url"] == "http://127.0.0.1:8080/"


class HookedConnector(ScriptedConnector):
    """Records each ``on_saved`` call: the integration as saved, and whether it was committed."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.saved: list[tuple[str, bool]] = []

    def on_saved(self, integration: Integration) -> None:
        from core.db import database_proxy

        committed = not database_proxy.in_transaction()
        self.saved.append((Integration.get_by_id(integration.id).name, committed))
        if self.fail:
            raise RuntimeError("the service said no")


def test_on_saved_is_called_after_each_create_and_update(profile, memory_keyring):
    hooked = HookedConnector()
    integration = create_integration(hooked, "Main", {"username": "u", "password": PASSWORD})
    assert hooked.saved == [("Main", True)]
    update_integration(integration, hooked, name="Renamed")
    assert hooked.saved == [("Main", True), ("Renamed", True)]
    with pytest.raises(InvalidIntegration):
        update_integration(integration, hooked, values={"password": "short"})
    assert len(hooked.saved) == 2, "nothing saved, nothing to tell"


def test_a_failing_on_saved_does_not_undo_the_save(profile, memory_keyring, caplog):
    from core.models.sync import HistoryEvent

    hooked = HookedConnector(fail=True)
    with caplog.at_level(logging.ERROR, logger="listbridge.integrations"):
        integration = create_integration(hooked, "Main", {"username": "u", "password": PASSWORD})
    assert Integration.get_by_id(integration.id).name == "Main"
    assert read_secrets(integration) == {"password": PASSWORD}
    assert "on_saved of scripted failed" in caplog.text
    event = HistoryEvent.get(HistoryEvent.integration == integration.id)
    assert event.level == "error" and "the service said no" in event.message
    assert "Main was saved, but finishing its set-up failed" in event.message


def test_without_a_keyring_nothing_is_saved(profile, connector):
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(secrets.NoKeyringError):
            create_integration(connector, "Main", {"username": "u", "password": PASSWORD})
    finally:
        keyring.set_keyring(previous)
    assert Integration.select().count() == 0


def test_an_empty_password_on_edit_keeps_the_stored_one(profile, memory_keyring, connector):
    integration = create_integration(connector, "Main", {"username": "u", "password": PASSWORD})
    settings = integration.settings
    settings["linked_books"] = {"1": "42"}  # written by the connector: not a form field
    integration.settings = settings
    integration.save()
    update_integration(integration, connector, name="Renamed",
                       values={"username": "v", "password": ""}, schedule_minutes=30)
    fresh = Integration.get_by_id(integration.id)
    assert fresh.name == "Renamed" and fresh.schedule_minutes == 30
    assert public_settings(fresh) == {"username": "v", "batch_size": 100,
                                      "linked_books": {"1": "42"}}
    assert read_secrets(fresh) == {"password": PASSWORD}
    update_integration(fresh, connector, values={"password": "An0ther-passw0rd"})
    assert read_secrets(fresh) == {"password": "An0ther-passw0rd"}
    with pytest.raises(InvalidIntegration):
        update_integration(fresh, connector, values={"password": "short"})


def test_delete_removes_the_keyring_entries_and_the_queue(profile, memory_keyring, connector):
    integration = create_integration(connector, "Main", {"username": "u", "password": PASSWORD})
    store_secret(integration, "refresh_token", "refresh-token-value-123")
    assert read_secrets(Integration.get_by_id(integration.id)) == {
        "password": PASSWORD, "refresh_token": "refresh-token-value-123"}
    enqueue(integration, "update", record_id=1)
    delete_integration(integration)
    assert Integration.select().count() == 0 and QueueItem.select().count() == 0
    assert memory_keyring.entries == {}
    delete_integration(integration)  # twice is fine


def test_an_integration_cannot_be_deleted_while_it_runs(profile, memory_keyring, connector):
    integration = create_integration(connector, "Main", {"username": "u", "password": PASSWORD})
    lease = lock.try_acquire(integration.id)
    assert lease is not None
    with pytest.raises(IntegrationBusy):
        delete_integration(integration)
    lease.release()
    delete_integration(integration)


def test_the_password_lives_in_the_real_keyring_and_nowhere_else(profile, real_keyring):
    """Through the app's own path: create, sync (with a refused attempt), then read raw bytes."""
    from core.logs import setup_logging

    log_path = setup_logging(profile.log_dir, logging.DEBUG)
    service = FakeService(users={"apiuser@example.com": PASSWORD}).start()
    connector = FakeConnector()
    integration = create_integration(
        connector, "Main", {"username": "apiuser@example.com", "password": PASSWORD,
                            "api_url": service.base_url})
    wrong = create_integration(
        connector, "Wrong", {"username": "apiuser@example.com", "password": PASSWORD + "-x",
                             "api_url": service.base_url})
    try:
        assert run_sync(integration, connector, options=EngineOptions(lease_seconds=5)).ok
        assert run_sync(wrong, connector,
                        options=EngineOptions(lease_seconds=5)).status == "failed"
        assert keyring.get_password("listbridge", f"{integration.secret_ref}:password") == PASSWORD
        logging.getLogger("listbridge.test").info("sent with %s", PASSWORD)
        files = [p for p in profile.root.rglob("*") if p.is_file()]
        assert any(p.name.endswith("-wal") for p in files)
        raw = b"".join(p.read_bytes() for p in files)
        assert PASSWORD.encode() not in raw
        assert "sent with ********" in log_path.read_text()
    finally:
        service.stop()
        delete_integration(integration)
        delete_integration(wrong)
        root = logging.getLogger("listbridge")
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        root.propagate = True
    assert keyring.get_password("listbridge", f"{integration.secret_ref}:password") is None
