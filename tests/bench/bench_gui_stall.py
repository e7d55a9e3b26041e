"""Benchmark: the window's longest freeze while a long sync runs in the background.

Run from the repository root:

    python tests/bench/bench_gui_stall.py                      # Dotmailer emulator, 20,000 members
    python tests/bench/bench_gui_stall.py --service fake --members 3000

Opens the main window (offscreen unless QT_QPA_PLATFORM says otherwise) on a fresh profile, starts
a sync through the window's ``SyncBridge`` (the Integrations page shows its progress panel, the
Journal refreshes itself) and, on the GUI thread, a QTimer ticking every 5 ms. The longest gap
between two ticks, minus the 5 ms, is how long the window could not answer the admin. Prints it
next to the goal: under 50 ms. Not collected by pytest (no test_ functions).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

GOAL_MS = 50.0
TICK_MS = 5


class EmulatorProcess:
    """The Dotmailer emulator in a process of its own, as the real service would be: its work
    (applying a 20,000-row import) must not be counted as the window's."""

    def __init__(self) -> None:
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, "-m", "connectors.dotmailer.emulator", "--port", "0",
             "--admin-http"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            cwd=Path(__file__).resolve().parents[2])
        assert self.process.stdout is not None
        self.url = ""
        for line in self.process.stdout:
            if line.startswith("Dotmailer emulator r1: "):
                self.url = line.split(": ", 1)[1].strip().removesuffix("/v2")
                break
        if not self.url:
            raise RuntimeError("the Dotmailer emulator did not start")

    def hook(self, hook: str, **kwargs: Any) -> Any:
        import requests

        response = requests.post(f"{self.url}/_emulator/{hook}", json=kwargs, timeout=30)
        response.raise_for_status()
        return response.json()["result"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def prepare_dotmailer(members: int) -> tuple[Any, int]:
    """The emulator with one address book, and a list of ``members`` connected to it."""
    from connectors.base import register
    from connectors.dotmailer import service
    from connectors.dotmailer.connector import DotmailerConnector
    from connectors.dotmailer.emulator import DEFAULT_PASSWORD, DEFAULT_USER
    from connectors.dotmailer.sync import Tuning
    from core.integrations import create_integration
    from tests.helpers.dotmailer import new_list

    emulator = EmulatorProcess()
    connector = DotmailerConnector(Tuning(poll_delays=(0.2, 0.5, 1.0)))  # short real waits
    register(connector)  # the window's bridge finds it by type, as in the app
    book = emulator.hook("add_book", name="Newsletter")
    integration = create_integration(connector, "Dotmailer", {
        "username": DEFAULT_USER, "password": DEFAULT_PASSWORD, "api_url": emulator.url},
        schedule_minutes=None)  # runs when the bench says so, not at the first tick
    mlist = new_list("Members", members)
    service.refresh_books(integration)
    service.connect_list(mlist, integration, book)
    return emulator, integration.id


class FakeServiceProcess:
    """The fake service in a process of its own (one PUT per contact, 1 ms each)."""

    SCRIPT = ("import sys, time\n"
              "from tests.helpers.fake_service import FakeService\n"
              "service = FakeService().start()\n"
              "service.delay = 0.001\n"
              "print(service.base_url, flush=True)\n"
              "sys.stdin.read()\n")

    def __init__(self) -> None:
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, "-c", self.SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, cwd=Path(__file__).resolve().parents[2])
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def prepare_fake(members: int) -> tuple[Any, int]:
    """The fake service and an integration on it, with ``members`` contacts to send."""
    from connectors.base import register
    from core.integrations import create_integration
    from tests.gui.helpers import insert_contacts
    from tests.helpers.fake_service import GOOD_PASSWORD, GOOD_USER, FakeConnector

    fake = FakeServiceProcess()
    connector = register(FakeConnector())
    integration = create_integration(connector, "Fake", {
        "username": GOOD_USER, "password": GOOD_PASSWORD, "api_url": fake.base_url},
        schedule_minutes=None)
    insert_contacts(members)
    return fake, integration.id


def pyside_drops_references() -> bool:
    """PySide6 6.12.0 on Python 3.11 gives back ``True`` from every ``Signal.emit`` (and ``None``
    from Python slots) without a reference of its own: after a few thousand signals the
    interpreter aborts ("deallocating True or False"). Python 3.12 makes those objects immortal."""
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    before = sys.getrefcount(True)
    for _ in range(10):
        probe.ping.emit()
    return sys.getrefcount(True) < before


class StallMeter:
    """A 5 ms timer on the GUI thread; the gaps between its ticks are the window's freezes."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.gaps: list[float] = []
        self.worst_at = 0.0  # when the longest gap ended (perf_counter)
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            gap = (now - self._last) * 1000 - TICK_MS
            if gap > self.worst():
                self.worst_at = now
            self.gaps.append(gap)
        self._last = now

    def worst(self) -> float:
        return max(self.gaps, default=0.0)

    def percentile(self, share: float) -> float:
        if not self.gaps:
            return 0.0
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=("dotmailer", "fake"), default="dotmailer")
    parser.add_argument("--members", type=int, default=None,
                        help="list members (dotmailer, default 20,000) or contacts (fake, 3,000)")
    parser.add_argument("--baseline", type=float, default=5.0,
                        help="seconds of idle window measured first, for comparison")
    args = parser.parse_args(argv)
    members = args.members or (20_000 if args.service == "dotmailer" else 3_000)

    import logging

    import keyring

    if pyside_drops_references():
        import PySide6

        print(f"PySide6 {PySide6.__version__} on Python {platform.python_version()} drops "
              "references at every signal: the window would abort long before the sync ends. "
              "Use PySide6 < 6.12 or Python >= 3.12.", file=sys.stderr)
        return 2

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    from core.db import close_database
    from core.migrations import open_database
    from core.paths import Profile
    from tests.helpers.keyrings import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    folder = Path(tempfile.mkdtemp(prefix="listbridge-bench-"))
    profile = Profile(folder / "profile").ensure()
    open_database(profile.database)
    print(f"Preparing {members:,} {'list members' if args.service == 'dotmailer' else 'contacts'}"
          f" for the {args.service} service…")
    server, integration_id = (prepare_dotmailer if args.service == "dotmailer"
                              else prepare_fake)(members)

    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from gui.app import make_application
    from gui.mainwindow import MainWindow

    _app = make_application()  # kept alive for the whole run
    window = MainWindow(profile)
    window.show()
    window.show_page("integrations")
    results: list[Any] = []
    failures: list[str] = []
    progress_seen = [0]
    bridge = window.sync_bridge
    bridge.finished.connect(results.append)
    bridge.failed.connect(lambda _id, message: failures.append(message))
    steps: list[tuple[float, str]] = []  # (when, step label) as the window heard them

    def heard(progress: Any) -> None:
        progress_seen[0] += 1
        if not steps or steps[-1][1] != progress.step_label:
            steps.append((time.perf_counter(), progress.step_label))

    bridge.progress.connect(heard)
    deadline = time.monotonic() + 10
    while not window.integrations.has_loaded() and time.monotonic() < deadline:
        QCoreApplication.processEvents()

    # The same window, idle, for a few seconds: what the machine itself costs (other processes
    # on a shared machine delay the GUI thread too; that is not the sync's doing).
    baseline = StallMeter()
    baseline.start()
    idle = QEventLoop()
    QTimer.singleShot(int(args.baseline * 1000), idle.quit)
    idle.exec()
    baseline.stop()

    meter = StallMeter()
    meter.start()
    started = time.perf_counter()
    bridge.request_run(integration_id)
    loop = QEventLoop()
    bridge.finished.connect(lambda _r: loop.quit())
    bridge.failed.connect(lambda *_: loop.quit())
    # Halfway, the Journal: its live refresh reads the queue while the sync writes it.
    QTimer.singleShot(2000, lambda: window.show_page("journal"))
    loop.exec()
    seconds = time.perf_counter() - started
    meter.stop()

    during = next((label for when, label in reversed(steps) if when <= meter.worst_at), "start")
    outcome = results[0].status + ": " + results[0].message if results else failures[0]
    worst = meter.worst()
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
          f"Qt platform {os.environ['QT_QPA_PLATFORM']}")
    print(f"Sync ({args.service}, {members:,}): {seconds:.1f} s, {progress_seen[0]:,} progress "
          f"updates shown. {outcome[:300]}")
    print(f"GUI thread ticks: {len(meter.gaps):,}; gap beyond {TICK_MS} ms: median "
          f"{statistics.median(meter.gaps) if meter.gaps else 0:.1f} ms, p99 "
          f"{meter.percentile(0.99):.1f} ms")
    print(f"Idle window for {args.baseline:.0f} s before the sync (the machine's own noise): "
          f"longest gap {baseline.worst():.1f} ms, p99 {baseline.percentile(0.99):.1f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"Longest stall: {worst:.1f} ms (goal < {GOAL_MS:.0f} ms) — "
          f"{'OK' if worst < GOAL_MS else 'TOO SLOW'}; at {meter.worst_at - started:.1f} s, "
          f"during “{during}”")
    window.close()
    server.stop()
    close_database()
    return 0 if worst < GOAL_MS and results else 1


if __name__ == "__main__":
    sys.exit(main())
