"""The contract suite against the worked example connector (``connectors/example``, registered by
the tests as type ``fake``) and its loopback service: what docs/CONNECTORS.md promises a new
connector gets checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.example import ExampleConnector
from connectors.http import CHECK_POLICY
from tests.contract.contract import ConnectorContract
from tests.helpers.fake_service import FAST_POLICY, FakeConnector, FakeHarness


class QuickCheckHarness(FakeHarness):
    """The example as it ships: Check Connection with CHECK_POLICY (its syncs keep the
    fast-retrying test policy)."""

    quick_check = True

    def __init__(self) -> None:
        super().__init__()
        self.connector = FakeConnector(FAST_POLICY, CHECK_POLICY)


def test_the_fake_connector_is_the_example_as_it_ships():
    """The tests' ``fake`` type differs from the example only in its name and test policy."""
    assert isinstance(QuickCheckHarness().connector, ExampleConnector)
    assert ExampleConnector().check_policy is CHECK_POLICY
    assert [f.key for f in ExampleConnector().form_fields()] == \
        [f.key for f in FakeConnector().form_fields()]


class TestExampleConnectorContract(ConnectorContract):
    @pytest.fixture
    def harness(self, profile, memory_keyring) -> Iterator[FakeHarness]:
        harness = QuickCheckHarness()
        harness.start()
        yield harness
        harness.stop()
