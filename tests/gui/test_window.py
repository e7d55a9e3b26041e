"""The window as a whole: navigation, demo banner, empty pages, logging of Qt's messages."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget

from tests.gui.helpers import child


def test_demo_banner_shows_in_demo_mode(make_window: Any) -> None:
    window = make_window(demo=True)
    banner = child(window, QLabel, "demoBanner")
    assert banner.isVisible()
    assert banner.text() == ("Demo profile — sample data on built-in emulators; "
                             "changes are thrown away")


def test_no_banner_outside_demo_mode(window: Any) -> None:
    assert window.findChild(QLabel, "demoBanner") is None


def test_navigation_reaches_every_section(qtbot: Any, window: Any) -> None:
    navigation = child(window, QListWidget, "navigation")
    titles = [navigation.item(row).text() for row in range(navigation.count())]
    assert titles == ["Contacts", "Leads", "Companies", "Marketing Lists", "Campaigns",
                      "Email Campaigns", "Integrations", "Journal"]
    expected = ["contactsPage", "leadsPage", "companiesPage", "listsPage", "campaignsPage",
                "emailCampaignsPage", "integrationsPage", "journalPage"]
    for row, name in enumerate(expected):
        navigation.setCurrentRow(row)
        assert window.stack.currentWidget().objectName() == name


def test_qt_messages_go_to_the_listbridge_log(caplog: pytest.LogCaptureFixture) -> None:
    from PySide6.QtCore import qInstallMessageHandler

    from gui.app import install_qt_message_handler

    previous = qInstallMessageHandler(None)
    try:
        install_qt_message_handler()
        from PySide6.QtCore import qDebug

        with caplog.at_level(logging.DEBUG, logger="listbridge.qt"):
            qDebug("hello from Qt")
    finally:
        qInstallMessageHandler(previous)
    assert any(r.name == "listbridge.qt" and "hello from Qt" in r.getMessage()
               for r in caplog.records)


def test_crash_handler_logs_and_words_a_short_message(caplog: pytest.LogCaptureFixture,
                                                      tmp_path: Any) -> None:
    from gui.app import CrashHandler

    handler = CrashHandler(tmp_path)
    handler.show = lambda error: None  # type: ignore[method-assign]
    try:
        raise RuntimeError("the disk is full")
    except RuntimeError:
        with caplog.at_level(logging.CRITICAL, logger="listbridge.gui"):
            handler(*sys.exc_info())  # type: ignore[arg-type]
    assert "Traceback" in caplog.text and "the disk is full" in caplog.text
    message = handler.message(RuntimeError("password=hunter22 refused"))
    assert "hunter22" not in message and "listbridge.log" in message


def test_headless_entry_point_does_not_import_qt() -> None:
    import subprocess

    code = ("import sys\nfrom gui.app import main\ntry:\n    main(['--version'])\n"
            "except SystemExit:\n    pass\nprint('PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    from core import __version__

    assert out.stdout.split() == ["ListBridge", __version__, "False"]


def test_list_page_has_the_integration_slot(qtbot: Any, window: Any) -> None:
    from core.models.store import MarketingList

    mlist = MarketingList.create(name="Slot", entity="contact")
    window.show_page("lists")
    window.lists.open_list(mlist.id)
    assert window.lists.list_page.findChild(QHBoxLayout, "listIntegrationActions") is not None


def test_store_changes_from_a_thread_reach_the_gui_once_per_kind(qtbot: Any, profile: Any) -> None:
    import threading

    from core.changes import RecordChange, notify
    from gui.store_watch import StoreWatcher

    watcher = StoreWatcher()
    heard: list[str] = []
    watcher.changed.connect(heard.append)

    def import_like() -> None:
        for n in range(2000):
            notify(RecordChange("contact", n + 1, "created", origin="import"))

    worker = threading.Thread(target=import_like)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: heard == ["contact"])
    notify(RecordChange("lead", 1, "updated"))  # from the GUI thread: at once
    assert heard == ["contact", "lead"]
    watcher.stop()


def test_a_progress_bar_at_zero_does_not_look_like_a_text_box(qtbot: Any, window: Any) -> None:
    """An export at 0 of 120 (or a busy bar) shows a tinted track, not a white field."""
    from PySide6.QtWidgets import QLineEdit, QProgressBar

    bar = QProgressBar(window)
    bar.setRange(0, 120)
    bar.setValue(0)
    bar.setTextVisible(False)
    bar.setFixedWidth(180)
    field = QLineEdit(window)
    for widget in (bar, field):
        widget.show()
    middle = bar.grab().toImage().pixelColor(90, bar.height() // 2)
    blank = field.grab().toImage().pixelColor(field.width() // 2, field.height() // 2)
    assert middle != blank
    assert middle.blue() > middle.red() + 20  # the track is tinted blue, as the fill is
