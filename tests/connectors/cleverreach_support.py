"""Pytest fixtures of the CleverReach emulator tests (``pytest_plugins``): a running emulator
with its hooks over HTTP, a ``requests`` session, and an :class:`Api` of the first account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connectors.cleverreach.emulator import CleverReachEmulator
from tests.connectors.cleverreach_helpers import Api


@pytest.fixture
def emu() -> Iterator[CleverReachEmulator]:
    with CleverReachEmulator(admin_http=True) as emulator:
        yield emulator


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def api(emu: CleverReachEmulator, session: requests.Session) -> Api:
    return Api(emu, session)
