"""The contract suite against the fake connector and its loopback fake service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import CheckResult
from connectors.http import CHECK_POLICY
from tests.contract.contract import ConnectorContract
from tests.helpers.fake_service import FakeConnector, FakeHarness


class QuickCheckConnector(FakeConnector):
    """The fake connector, its check made as every connector's should be: with CHECK_POLICY
    (its syncs keep the fast-retrying test policy)."""

    def check_connection(self, settings: dict[str, Any], secrets: dict[str, str]) -> CheckResult:
        return FakeConnector(policy=CHECK_POLICY).check_connection(settings, secrets)


class QuickCheckHarness(FakeHarness):
    quick_check = True

    def __init__(self) -> None:
        super().__init__()
        self.connector = QuickCheckConnector()


class TestFakeConnectorContract(ConnectorContract):
    @pytest.fixture
    def harness(self, profile, memory_keyring) -> Iterator[FakeHarness]:
        harness = QuickCheckHarness()
        harness.start()
        yield harness
        harness.stop()
