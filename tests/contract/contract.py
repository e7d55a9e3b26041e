"""The contract every connector passes, whatever its service.

How to run it for a connector: write ``tests/contract/test_<name>.py`` with

    class TestDotmailerContract(ConnectorContract):
        @pytest.fixture
        def harness(self, profile, memory_keyring):
            harness = DotmailerHarness()  # implements ContractHarness
            harness.start()
            yield harness
            harness.stop()

``profile`` and ``memory_keyring`` come from ``tests/conftest.py``. The suite creates its
integrations through ``core.integrations.create_integration`` (the app's code path) and runs
syncs through ``core.sync.runner.run_sync``; two tests run syncs in other processes with
``python -m tests.contract.contract``, which rebuilds the connector from ``connector_ref`` and gives
it the secrets through an in-memory keyring.

The contract points:

1. Bad credentials: the run fails with the connector's admin message, nothing is sent.
2. Records are sent once; a second sync with nothing changed sends nothing.
3. Transient faults are retried: inline (a few faults) or at the next run (many faults; the run
   ends ``retrying``, not ``failed``); nothing is lost or sent twice.
4. An item that always fails is FAILED at its third failure; later runs ignore it until the admin
   retries it.
5. A sync killed with SIGKILL in the middle resumes at the next run: nothing lost, nothing sent
   twice (the next run does not wait for the dead process's lock to expire).
6. Secrets reach neither the database files (including -wal) nor the log file.
7. Two runs of one integration never overlap: two threads, and two processes.
8. Check Connection is quick (``connectors.http.CHECK_POLICY``): a transient fault fails the
   check at its first try, in words about the service URL and the network, never "the sync will
   try again". Opt-in while the connectors adopt the policy: a harness declares
   ``quick_check = True``; without it the point is skipped, saying so.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest

from core.integrations import create_integration
from core.models.sync import Integration, QueueItem, SyncRun
from core.sync.lock import AlreadyRunning
from core.sync.queue import FAILED, RetryPolicy, retry_all_failed
from core.sync.runner import EngineOptions, RunResult, run_sync

REPO_ROOT = Path(__file__).resolve().parents[2]
KEYRING_ENV = "LISTBRIDGE_TEST_KEYRING"


class ContractHarness(Protocol):
    """What a connector's tests provide so that the contract can drive it.

    Records are named by a key the service knows them by (their email address): the suite finds
    a record's queue row by ``QueueItem.email == key``.
    """

    connector: Any  # the connector under test, built for tests (short HTTP backoff)
    connector_ref: str  # "module:callable" returning the same connector, for subprocesses

    def start(self) -> None:
        """Start the emulator or fake service (the fixture calls it)."""

    def stop(self) -> None:
        """Stop it."""

    def values(self, good: bool = True) -> dict[str, Any]:
        """Integration form values (secrets included, ``api_url`` pointing at the emulator),
        with good or with refused credentials."""

    def create_records(self, integration: Integration, n: int) -> list[str]:
        """Create ``n`` local records that the next sync of ``integration`` must send; their
        keys."""

    def received(self, key: str) -> int:
        """How many times the service accepted a write of this record."""

    def received_total(self) -> int:
        """How many record writes the service accepted in all."""

    def present(self, key: str) -> bool:
        """Whether the service holds this record."""

    def inject_transient(self, k: int) -> None:
        """The next ``k`` calls to the service fail transiently (503, reset...); 0 clears."""

    def fail_permanently(self, key: str) -> None:
        """Every write of this record is refused as an item error from now on."""

    def slow_down(self, seconds: float) -> None:
        """Each call to the service takes this long (0: as fast as it can)."""


FAST = EngineOptions(lease_seconds=5, retry_policy=RetryPolicy(base=timedelta(0)),
                     retry_later=timedelta(0))


class ConnectorContract:
    """Subclass it as ``Test<Name>Contract`` with a ``harness`` fixture (see the module)."""

    options = FAST

    @pytest.fixture
    def file_logging(self, profile: Any) -> Iterator[Path]:
        """Log to the profile's file, as the app does, and put logging back afterwards."""
        import logging

        from core.logs import setup_logging

        path = setup_logging(profile.log_dir, logging.DEBUG)
        assert path is not None
        yield path
        root = logging.getLogger("listbridge")
        for handler in list(root.handlers):
            if getattr(handler, "_listbridge", False):
                root.removeHandler(handler)
                handler.close()
        root.propagate = True
        root.setLevel(logging.NOTSET)

    # -- helpers -----------------------------------------------------------------------------------

    @pytest.fixture
    def integration(self, harness: ContractHarness) -> Integration:
        return create_integration(harness.connector, "Contract", harness.values(good=True))

    def sync(self, harness: ContractHarness, integration: Integration, **kwargs: Any) -> RunResult:
        return run_sync(integration, harness.connector, options=self.options, **kwargs)

    def sync_until_settled(self, harness: ContractHarness, integration: Integration,
                           runs: int = 5) -> RunResult:
        result = self.sync(harness, integration)
        for _ in range(runs - 1):
            if result.status != "retrying":
                break
            result = self.sync(harness, integration)
        return result

    # -- 1. bad credentials ------------------------------------------------------------------------

    def test_bad_credentials_fail_the_run_with_an_admin_message(self, harness: ContractHarness):
        integration = create_integration(harness.connector, "Refused", harness.values(good=False))
        harness.create_records(integration, 3)
        result = self.sync(harness, integration)
        assert result.status == "failed"
        assert result.error_kind == "configuration"
        assert result.message.strip()
        assert harness.received_total() == 0
        run = SyncRun.get_by_id(result.run_id)
        assert run.status == "failed" and run.error == result.message
        assert Integration.get_by_id(integration.id).last_status == "failed"

    # -- 2. send once ------------------------------------------------------------------------------

    def test_records_are_sent_once_and_an_unchanged_sync_sends_nothing(
            self, harness: ContractHarness, integration: Integration):
        keys = harness.create_records(integration, 5)
        first = self.sync(harness, integration)
        assert first.status == "succeeded", first.message
        assert all(harness.present(k) and harness.received(k) == 1 for k in keys)
        total = harness.received_total()
        second = self.sync(harness, integration)
        assert second.status == "succeeded", second.message
        assert harness.received_total() == total

    # -- 3. transient faults -----------------------------------------------------------------------

    def test_transient_faults_are_retried(self, harness: ContractHarness,
                                          integration: Integration):
        keys = harness.create_records(integration, 4)
        harness.inject_transient(2)
        result = self.sync_until_settled(harness, integration)
        assert result.status == "succeeded", result.message
        assert all(harness.received(k) == 1 for k in keys)

        more = harness.create_records(integration, 3)
        harness.inject_transient(1000)
        result = self.sync(harness, integration)
        assert result.status == "retrying", result.message
        assert result.error_kind in ("transient", "rate_limited")
        assert result.message.strip()
        harness.inject_transient(0)
        result = self.sync_until_settled(harness, integration)
        assert result.status == "succeeded", result.message
        assert all(harness.received(k) == 1 for k in keys + more)

    # -- 4. failed after three attempts ------------------------------------------------------------

    def test_third_failure_turns_an_item_failed_until_retried(self, harness: ContractHarness,
                                                              integration: Integration):
        keys = harness.create_records(integration, 3)
        bad = keys[0]
        harness.fail_permanently(bad)
        for _ in range(3):
            self.sync(harness, integration)
        item = self._item(integration, bad)
        assert item.state == FAILED and item.attempts == 3
        assert item.last_error
        assert all(harness.received(k) == 1 for k in keys[1:])

        self.sync(harness, integration)  # ignored while FAILED
        item = self._item(integration, bad)
        assert item.state == FAILED and item.attempts == 3
        assert harness.received(bad) == 0

        assert retry_all_failed(integration) == 1
        self.sync(harness, integration)
        item = self._item(integration, bad)
        assert item.attempts == 1 and item.state != FAILED

    @staticmethod
    def _item(integration: Integration, key: str) -> QueueItem:
        return (QueueItem.select().where(QueueItem.integration == integration,
                                         QueueItem.email == key)
                .order_by(QueueItem.id.desc()).get())

    # -- 5. killed mid-run -------------------------------------------------------------------------

    def test_a_killed_run_resumes_without_loss_or_duplicates(
            self, harness: ContractHarness, integration: Integration, profile: Any):
        keys = harness.create_records(integration, 30)
        harness.slow_down(0.05)
        worker = start_worker(harness, profile.root, integration, wait=False)
        try:
            deadline = time.monotonic() + 30
            while harness.received_total() < 5:
                assert worker.poll() is None, worker_output(worker)
                assert time.monotonic() < deadline, "the worker sent nothing in 30 s"
                time.sleep(0.01)
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.communicate()
        assert harness.received_total() < len(keys), "the run ended before it could be killed"
        time.sleep(0.3)  # let the service finish what it was handling
        harness.slow_down(0)

        result = self.sync(harness, integration)  # no AlreadyRunning: the holder is dead
        assert result.status == "succeeded", result.message
        assert [k for k in keys if not harness.present(k)] == []
        assert {k: harness.received(k) for k in keys if harness.received(k) != 1} == {}
        statuses = [r.status for r in SyncRun.select().where(SyncRun.integration == integration)
                    .order_by(SyncRun.id)]
        assert statuses == ["interrupted", "succeeded"]

    # -- 6. secrets --------------------------------------------------------------------------------

    def test_secrets_reach_neither_the_database_nor_the_log(self, harness: ContractHarness,
                                                            profile: Any, file_logging: Path):
        values = harness.values(good=True)
        secret_keys = {f.key for f in harness.connector.form_fields() if f.secret}
        secrets = [str(values[k]) for k in secret_keys if values.get(k)]
        assert secrets, "the harness's values hold no secret"
        integration = create_integration(harness.connector, "Secretive", values)
        harness.create_records(integration, 3)
        harness.inject_transient(2)
        self.sync(harness, integration)
        refused = create_integration(harness.connector, "Refused", harness.values(good=False))
        self.sync(harness, refused)
        bad_secrets = [str(harness.values(good=False)[k]) for k in secret_keys]
        raw = b"".join(p.read_bytes() for p in profile.root.rglob("*") if p.is_file())
        assert file_logging.exists() and file_logging.stat().st_size > 0
        for secret in secrets + bad_secrets:
            assert secret.encode() not in raw

    # -- 7. no overlap -----------------------------------------------------------------------------

    def test_two_threads_never_run_one_integration_at_once(self, harness: ContractHarness,
                                                           integration: Integration):
        keys = harness.create_records(integration, 6)
        harness.slow_down(0.03)
        results: list[RunResult] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                results.append(self.sync(harness, integration, wait=True))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.1)
        with pytest.raises(AlreadyRunning):
            self.sync(harness, integration, wait=False)
        for thread in threads:
            thread.join(60)
        assert not errors and len(results) == 2
        assert_no_overlap(integration)
        assert all(harness.received(k) == 1 for k in keys)

    def test_two_processes_never_run_one_integration_at_once(
            self, harness: ContractHarness, integration: Integration, profile: Any):
        keys = harness.create_records(integration, 6)
        harness.slow_down(0.03)
        workers = [start_worker(harness, profile.root, integration, wait=True) for _ in range(2)]
        for worker in workers:
            output = worker_output(worker, timeout=60)
            assert worker.returncode == 0, output
        assert_no_overlap(integration, expected=2)
        assert all(harness.received(k) == 1 for k in keys)

    # -- 8. a quick Check Connection ------------------------------------------------------------

    def test_check_connection_fails_at_the_first_transient_fault(self, harness: ContractHarness):
        if not getattr(harness, "quick_check", False):
            pytest.skip("contract point 8 not declared: the connector's check_connection should "
                        "use connectors.http.CHECK_POLICY, then its harness sets quick_check")
        values = harness.values(good=True)
        secret_keys = {f.key for f in harness.connector.form_fields() if f.secret}
        settings = {k: v for k, v in values.items() if k not in secret_keys}
        secrets = {k: str(v) for k, v in values.items() if k in secret_keys}
        assert harness.connector.check_connection(settings, secrets).ok
        harness.inject_transient(1)  # one fault: a check that retried would pass
        started = time.monotonic()
        try:
            result = harness.connector.check_connection(settings, secrets)
        finally:
            harness.inject_transient(0)
        assert not result.ok and result.kind in ("transient", "rate_limited"), result
        assert "sync" not in result.message.lower(), result.message
        assert time.monotonic() - started < 20


def assert_no_overlap(integration: Integration, expected: int | None = None) -> None:
    runs = list(SyncRun.select().where(SyncRun.integration == integration)
                .order_by(SyncRun.started_at))
    if expected is not None:
        assert len(runs) == expected
    for before, after in zip(runs, runs[1:], strict=False):
        assert before.ended_at is not None and before.ended_at <= after.started_at


# -- running a sync in another process ---------------------------------------------------------------

def start_worker(harness: ContractHarness, root: Path, integration: Integration,
                 wait: bool) -> subprocess.Popen[str]:
    import keyring

    backend = keyring.get_keyring()
    entries = getattr(backend, "entries", {})
    env = {**os.environ, KEYRING_ENV: json.dumps([[s, u, p] for (s, u), p in entries.items()]),
           "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "tests.contract.contract", "--data-dir", str(root),
               "--connector", harness.connector_ref, "--integration", integration.name]
    if wait:
        command.append("--wait")
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def worker_output(worker: subprocess.Popen[str], timeout: float = 5) -> str:
    """What the worker printed (it is waited for, and killed if it outlives ``timeout``)."""
    try:
        out, _ = worker.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        out, _ = worker.communicate()
        return "(killed: still running) " + (out or "")
    return out or ""


def _worker_main(argv: list[str]) -> int:
    import argparse

    import keyring

    from core.migrations import open_database
    from core.paths import Profile
    from tests.helpers.keyrings import MemoryKeyring

    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--connector", required=True)
    parser.add_argument("--integration", required=True)
    parser.add_argument("--wait", action="store_true")
    args = parser.parse_args(argv)
    backend = MemoryKeyring()
    for service, user, password in json.loads(os.environ.get(KEYRING_ENV, "[]")):
        backend.set_password(service, user, password)
    keyring.set_keyring(backend)
    open_database(Profile(Path(args.data_dir)).database)
    module, _, attribute = args.connector.partition(":")
    connector = getattr(importlib.import_module(module), attribute)()
    integration = Integration.get(Integration.name == args.integration)
    result = run_sync(integration, connector, trigger="headless", options=FAST,
                      wait=args.wait)
    print(json.dumps({"status": result.status, "message": result.message}))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
