"""The command line: ``listbridge`` opens the window; subcommands run headless work.

Subcommands come from registrars: functions that add parsers to the sub-parser group. Core
registers its own (``import``, ``journal``); ``connectors.cli`` adds the service commands
(``integration``, ``sync``, ``emulator``, ``dotmailer``, ``ines``); ``gui.app.main`` passes the
window opener. Each handler returns an exit status: 0 done, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from core import __version__, cli_import
from core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from core.paths import Profile, resolve_profile
from core.sync import cli as sync_cli

log = logging.getLogger("listbridge.cli")

Registrar = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]
WindowOpener = Callable[[argparse.Namespace, Profile], int]

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Registrar", "WindowOpener", "build_parser",
           "main", "open_profile"]


def build_parser(registrars: Sequence[Registrar] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="listbridge",
        description="ListBridge: your marketing store, connected to Dotmailer, INES CRM and "
                    "CleverReach. With no command, opens the window.")
    parser.add_argument("--version", action="version", version=f"ListBridge {__version__}")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="use the profile in DIR (default: $LISTBRIDGE_DATA_DIR, else the "
                             "user's data folder)")
    parser.add_argument("--demo", action="store_true",
                        help="open a throw-away demo profile filled with sample data, connected "
                             "to the built-in service emulators")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in (*_core_registrars(), *registrars):
        register(sub)
    return parser


def _core_registrars() -> list[Registrar]:
    return [cli_import.register, sync_cli.register]


def demo_profile() -> Profile:
    root = Path(tempfile.mkdtemp(prefix="listbridge-demo-"))
    return Profile(root, demo=True).ensure()


def open_profile(args: argparse.Namespace) -> Profile:
    """The profile the arguments name, its folders made, its database open and migrated."""
    from core.logs import setup_logging
    from core.migrations import open_database

    if getattr(args, "demo", False):
        profile = demo_profile()
    else:
        profile = resolve_profile(args.data_dir).ensure()
    setup_logging(profile.log_dir, logging.DEBUG if args.verbose else logging.INFO)
    open_database(profile.database)
    if profile.demo:
        from core.demo import fill_demo_store

        fill_demo_store()
    return profile


def main(argv: Sequence[str] | None = None, registrars: Sequence[Registrar] = (),
         open_window: WindowOpener | None = None) -> int:
    parser = build_parser(registrars)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    try:
        if handler is None:
            if open_window is None:
                parser.print_help()
                return EXIT_USAGE
            from core.db import DatabaseTooNew

            try:
                profile = open_profile(args)
            except DatabaseTooNew as exc:
                print(f"listbridge: {exc}", file=sys.stderr)
                return EXIT_FAILED
            return open_window(args, profile)
        if getattr(args, "needs_profile", True):
            profile = open_profile(args)
        else:
            profile = resolve_profile(args.data_dir)
        return int(handler(args, profile) or 0)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # one crash handler: a clear line for the admin, the trace in the log
        from core.db import DatabaseTooNew
        from core.logs import redact

        if isinstance(exc, DatabaseTooNew):
            print(f"listbridge: {exc}", file=sys.stderr)
            return EXIT_FAILED
        log.exception("Command failed")
        print(f"listbridge: {redact(str(exc)) or type(exc).__name__}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
