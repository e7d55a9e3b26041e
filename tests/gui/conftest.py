"""GUI fixtures: the main window on a fresh profile, and silence from Qt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.paths import Profile

# What the offscreen platform says about itself whenever a window gets a minimum size: a
# limit of the test platform, not something the window did wrong.
OFFSCREEN_LIMITS = {"This plugin does not support propagateSizeHints()"}


@pytest.fixture(autouse=True)
def qt_is_silent(qtlog: Any) -> Iterator[None]:
    """A Qt warning or error during a GUI test fails it: the window must run quietly."""
    yield
    from PySide6.QtCore import QtMsgType

    loud = [r.message for r in qtlog.records
            if r.type in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
            and r.message not in OFFSCREEN_LIMITS]
    assert not loud, f"Qt complained: {loud}"


@pytest.fixture
def make_window(qtbot: Any, profile: Profile) -> Iterator[Any]:
    """Build the main window (optionally on a demo profile) and wait for its first page."""
    from gui.app import apply_style
    from gui.mainwindow import MainWindow
    from gui.workers import wait_for_jobs

    made = []

    def make(demo: bool = False) -> MainWindow:
        from PySide6.QtWidgets import QApplication

        apply_style(QApplication.instance())
        window = MainWindow(Profile(profile.root, demo=demo))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.contacts.model.has_loaded(), timeout=5000)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
    wait_for_jobs()


@pytest.fixture
def window(make_window: Any) -> Any:
    return make_window()
