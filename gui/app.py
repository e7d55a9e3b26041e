"""``listbridge``: with no command, the window; with a command, the headless work of ``core.cli``.

Qt is imported only inside ``run_window``, so headless commands (cron, systemd, a server without a
display) never load it.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from core.paths import Profile, resources_dir

log = logging.getLogger("listbridge.gui")
qt_log = logging.getLogger("listbridge.qt")
STYLE_SHEET = "style.qss"


def main(argv: Sequence[str] | None = None) -> int:
    """The ``listbridge`` entry point."""
    import core.cli
    from connectors.base import load_all
    from connectors.cli import register as connectors_register

    load_all()  # the connectors' migration series, before any command opens the database
    return core.cli.main(argv, registrars=[connectors_register], open_window=run_window)


# -- Qt's messages into Python logging ------------------------------------------------------------

def install_qt_message_handler() -> None:
    """Route qDebug/qWarning/... into the ``listbridge.qt`` logger (and so the log file)."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    def handler(mode: Any, context: Any, message: str) -> None:
        where = ""
        if context is not None and getattr(context, "category", None) not in (None, "default"):
            where = f"[{context.category}] "
        qt_log.log(levels.get(mode, logging.WARNING), "%s%s", where, message)

    qInstallMessageHandler(handler)


# -- the crash handler ----------------------------------------------------------------------------

class CrashHandler:
    """``sys.excepthook`` for the window: the trace to the log, a short message to the admin."""

    def __init__(self, log_dir: Path | None) -> None:
        self.log_dir = log_dir
        self._showing = False

    def __call__(self, kind: type[BaseException], error: BaseException,
                 trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        log.critical("Unexpected error\n%s", "".join(traceback.format_exception(kind, error,
                                                                                 trace)))
        self.show(error)

    def message(self, error: BaseException) -> str:
        from PySide6.QtCore import QCoreApplication

        from core.logs import redact

        what = redact(str(error)) or type(error).__name__
        where = f" ({self.log_dir / 'listbridge.log'})" if self.log_dir else ""
        return QCoreApplication.translate(
            "CrashHandler", "Something went wrong: {what}\n\nYour data is safe; the action may "
            "not have finished. The details were written to the log{where}.").format(
                what=what, where=where)

    def show(self, error: BaseException) -> None:
        from PySide6.QtWidgets import QApplication, QMessageBox

        if self._showing or QApplication.instance() is None:
            return
        self._showing = True  # one box at a time, even if the box itself raises again
        try:
            box = QMessageBox(QMessageBox.Icon.Critical, "ListBridge", self.message(error))
            box.setObjectName("crashMessage")
            box.exec()
        finally:
            self._showing = False


def install_crash_handler(log_dir: Path | None) -> CrashHandler:
    handler = CrashHandler(log_dir)
    sys.excepthook = handler
    return handler


# -- the style sheet ------------------------------------------------------------------------------

def style_sheet() -> str:
    path = resources_dir() / STYLE_SHEET
    return path.read_text(encoding="utf-8") if path.exists() else ""


def apply_style(app: Any) -> None:
    app.setStyle("Fusion")  # the same look on every platform, and in the screenshots
    app.setStyleSheet(style_sheet())


# -- the window -----------------------------------------------------------------------------------

def make_application(argv: Sequence[str] | None = None) -> Any:
    from PySide6.QtWidgets import QApplication

    from core import APP_NAME

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        list(argv or sys.argv[:1]))
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("listbridge")
    apply_style(app)
    return app


def run_window(args: argparse.Namespace, profile: Profile) -> int:
    """Open the window on the profile ``core.cli`` opened, and run Qt and asyncio on one loop."""
    import asyncio

    import qasync

    from gui.builtin_extensions import builtin_extensions
    from gui.mainwindow import MainWindow
    from gui.workers import wait_for_jobs

    install_qt_message_handler()
    app = make_application()
    install_crash_handler(profile.log_dir)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    extensions = builtin_extensions()  # what each connector adds to the window
    demo = _start_demo(profile, extensions)
    window = MainWindow(profile, extensions=extensions)
    if demo is not None and demo.memory_keyring and getattr(window, "demo_banner", None):
        window.demo_banner.setText(window.demo_banner.text() + window.tr(
            " (no system keyring found: the demo's passwords are kept in memory)"))
    window.show()
    # Objects built so far live as long as the window: keep the garbage collector from scanning
    # them on every full collection, which otherwise stalls the GUI thread ~30 ms during syncs
    # (tests/bench/README.md, "The window during a sync").
    gc.collect()
    gc.freeze()
    log.info("Window opened on %s%s", profile.root, " (demo)" if profile.demo else "")
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        wait_for_jobs()
        if demo is not None:
            demo.stop()
        if profile.demo:
            _throw_away(profile)
    return 0


def _start_demo(profile: Profile, extensions: Any) -> Any:
    """In demo mode, the built-in emulators and the demo integrations pointing at them (each
    connector's demo start-up, from its ``GuiExtension``)."""
    if not profile.demo:
        return None
    from connectors.demo import start_demo_services

    try:
        return start_demo_services([extension.start_demo for extension in extensions])
    except Exception:  # the store views still work without the emulators; say so in the log
        log.exception("The demo services could not start")
        return None


def _throw_away(profile: Profile) -> None:
    """The demo profile is a temporary folder: remove it, as the banner promised."""
    import shutil

    from core.db import close_database

    close_database()
    root = logging.getLogger("listbridge")
    for handler in list(root.handlers):  # the log file is in the folder being removed
        root.removeHandler(handler)
        handler.close()
    shutil.rmtree(profile.root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
