"""Credentials live in the OS keyring (Secret Service, macOS Keychain, Windows Credential Locker).

The database keeps only a reference (``secret_ref``); every password, API key and OAuth token goes
through this module. Where no secure keyring is usable, storing fails with a message the admin can
act on: there is no silent fallback to a plaintext file.
"""

from __future__ import annotations

import logging
import uuid

import keyring
import keyring.backend
import keyring.errors
from keyring.backends.chainer import ChainerBackend

from core.logs import register_secret

log = logging.getLogger("listbridge.secrets")

SERVICE = "listbridge"

# Backends that do not protect anything: refusing them is the point of this module.
_INSECURE_BACKENDS = {"Keyring"}  # keyring.backends.fail.Keyring and null.Keyring
_INSECURE_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt.file")


class NoKeyringError(RuntimeError):
    """No secure keyring is available; nothing was stored."""


def _is_secure(backend: keyring.backend.KeyringBackend) -> bool:
    module = type(backend).__module__
    if module.startswith(_INSECURE_MODULES):
        return False
    if module == "keyring.backends.chainer":
        return any(_is_secure(b) for b in getattr(backend, "backends", []))
    return True


# What the admin knows each keyring backend as, by the backend's module.
_BACKEND_NAMES = {
    "keyring.backends.SecretService": "GNOME Keyring / Secret Service",
    "keyring.backends.libsecret": "GNOME Keyring / Secret Service",
    "keyring.backends.kwallet": "KDE Wallet",
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.Windows": "Windows Credential Locker",
}


def _in_use(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    """The backend that will hold the password: a chain's first secure one (highest priority
    first, as the chain tries them)."""
    if isinstance(backend, ChainerBackend):
        return next((b for b in getattr(backend, "backends", []) if _is_secure(b)), backend)
    return backend


def backend_description() -> str:
    """Where passwords will be kept, in words the admin understands (shown in dialogs)."""
    backend = keyring.get_keyring()
    if not _is_secure(backend):
        return "No secure keyring is available"
    name = _BACKEND_NAMES.get(type(_in_use(backend)).__module__)
    return f"Passwords are kept in {name}" if name else "Passwords are kept in the system keyring"


def ensure_keyring() -> None:
    backend = keyring.get_keyring()
    if not _is_secure(backend):
        raise NoKeyringError(
            "No secure system keyring is available, so ListBridge cannot store this password. "
            "On Linux, install and unlock GNOME Keyring or KWallet (Secret Service); on macOS and "
            "Windows the system keyring is used. Nothing was saved."
        )


def new_reference(prefix: str = "integration") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def store(reference: str, name: str, value: str) -> None:
    """Keep ``value`` under ``reference``/``name`` in the keyring."""
    ensure_keyring()
    register_secret(value)
    try:
        keyring.set_password(SERVICE, f"{reference}:{name}", value)
    except keyring.errors.KeyringError as exc:
        raise NoKeyringError(f"The system keyring refused to store the secret: {exc}") from exc


def read(reference: str, name: str) -> str | None:
    ensure_keyring()
    try:
        value = keyring.get_password(SERVICE, f"{reference}:{name}")
    except keyring.errors.KeyringError as exc:
        raise NoKeyringError(f"The system keyring could not be read: {exc}") from exc
    if value:
        register_secret(value)
    return value


def delete(reference: str, name: str) -> None:
    try:
        keyring.delete_password(SERVICE, f"{reference}:{name}")
    except keyring.errors.PasswordDeleteError:
        pass  # already gone: deleting an integration twice is not an error
    except keyring.errors.KeyringError as exc:
        log.warning("Could not delete a keyring entry: %s", type(exc).__name__)


def delete_all(reference: str, names: tuple[str, ...] = ("password", "access_token",
                                                         "refresh_token", "api_key")) -> None:
    for name in names:
        delete(reference, name)
