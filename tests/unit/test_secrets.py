"""Credentials go to the OS keyring only: never to the database file or the logs."""

from __future__ import annotations

import logging

import keyring
import pytest

from core import secrets
from core.logs import setup_logging
from core.models.sync import Integration


def test_password_lives_in_the_real_keyring_and_nowhere_else(profile, real_keyring):
    setup_logging(profile.log_dir)
    password = "Sup3r-Secret-pa55word!"
    ref = secrets.new_reference()
    integration = Integration.create(type="dotmailer", name="Main", secret_ref=ref,
                                     settings_json='{"username": "apiuser@example.com"}')
    secrets.store(ref, "password", password)
    logging.getLogger("listbridge.test").info("logging in with %s", password)
    try:
        assert secrets.read(integration.secret_ref, "password") == password
        raw = b"".join(p.read_bytes() for p in profile.root.rglob("*") if p.is_file())
        assert password.encode() not in raw
        log_text = (profile.log_dir / "listbridge.log").read_text()
        assert "logging in with ********" in log_text
    finally:
        secrets.delete_all(ref)
    assert secrets.read(ref, "password") is None


def test_no_usable_keyring_is_said_plainly_and_nothing_is_stored(profile):
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(secrets.NoKeyringError, match="No secure system keyring"):
            secrets.store("integration-x", "password", "whatever-1")
        assert "No secure keyring" in secrets.backend_description()
    finally:
        keyring.set_keyring(previous)
