"""The contract suite against the fake connector and its loopback fake service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.contract import ConnectorContract
from tests.helpers.fake_service import FakeHarness


class TestFakeConnectorContract(ConnectorContract):
    @pytest.fixture
    def harness(self, profile, memory_keyring) -> Iterator[FakeHarness]:
        harness = FakeHarness()
        harness.start()
        yield harness
        harness.stop()
