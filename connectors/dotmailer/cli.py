"""``listbridge dotmailer ...`` and ``listbridge emulator dotmailer``.

- ``dotmailer address-books --integration NAME [--json]``: the books a list can connect to (read
  from Dotmailer now), the same the Connect to Dotmailer form offers;
- ``dotmailer connect --integration NAME --list LIST --address-book BOOK`` (id or name);
- ``dotmailer disconnect --list LIST``;
- ``emulator dotmailer [--port N] [--demo] ...``: the loopback emulator, in the foreground.

Exit statuses: 0 done, 1 failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from connectors.emulation.cli import add_emulator_command
from core.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from core.paths import Profile

EXIT_TEXT = "Exit status: 0 done, 1 failed, 2 bad usage."


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("dotmailer", help="Dotmailer address books and list connections",
                            description="Dotmailer: list the address books a marketing list "
                                        "can connect to, connect or disconnect a list.",
                            epilog=EXIT_TEXT)
    commands = parser.add_subparsers(dest="dotmailer_command", metavar="ACTION")
    parser.set_defaults(handler=lambda args, profile: _usage(parser))

    books = commands.add_parser("address-books", help="list the address books a list can "
                                "connect to (read from Dotmailer now)", epilog=EXIT_TEXT)
    books.add_argument("--integration", required=True, metavar="NAME")
    books.add_argument("--json", action="store_true", help="print JSON")
    books.set_defaults(handler=address_books)

    connect = commands.add_parser("connect", help="connect a marketing list to an address book",
                                  epilog=EXIT_TEXT)
    connect.add_argument("--integration", required=True, metavar="NAME",
                         help="the Dotmailer integration")
    connect.add_argument("--list", required=True, dest="list_name", metavar="LIST",
                         help="the marketing list (of contacts or leads)")
    connect.add_argument("--address-book", required=True, metavar="BOOK",
                         help="the address book's id or name")
    connect.add_argument("--no-sync", action="store_true",
                         help="connect only; the members are sent at the next sync instead of now")
    connect.set_defaults(handler=connect_command)

    disconnect = commands.add_parser("disconnect", help="disconnect a marketing list",
                                     epilog=EXIT_TEXT)
    disconnect.add_argument("--list", required=True, dest="list_name", metavar="LIST",
                            help="the connected marketing list")
    disconnect.add_argument("--integration", metavar="NAME",
                            help="accepted for symmetry with connect; the list says which")
    disconnect.set_defaults(handler=disconnect_command)

    _register_emulator(sub)


def _register_emulator(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``emulator dotmailer``, under the ``emulator`` command every service shares."""
    add_emulator_command(
        sub, "dotmailer", _emulator_arguments, run_emulator,
        help_text="the Dotmailer REST API v2 emulator",
        description="Run the Dotmailer REST API v2 emulator on loopback until Ctrl+C "
                    "(connectors.dotmailer.emulator).")


def _emulator_arguments(emulator: argparse.ArgumentParser) -> None:
    # The emulator's own options, passed through to its main().
    emulator.add_argument("--port", type=int, help="base port: r1 on PORT, r2 on PORT+1, r3 on "
                                                   "PORT+2 (0: random; default 8470)")
    emulator.add_argument("--user", action="append", default=[], metavar="EMAIL:PASSWORD",
                          help="an API user (repeatable)")
    emulator.add_argument("--demo", action="store_true", help="seed demo data")
    emulator.add_argument("--state", metavar="FILE",
                          help="load state from FILE if it exists; save it there on exit")
    emulator.add_argument("--admin-http", action="store_true",
                          help="serve the test hooks under /_emulator/")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def run_emulator(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.dotmailer.emulator import main

    argv = [] if args.port is None else ["--port", str(args.port)]
    for user in args.user:
        argv += ["--user", user]
    argv += ["--demo"] if args.demo else []
    argv += ["--state", args.state] if args.state else []
    argv += ["--admin-http"] if args.admin_http else []
    return int(main(argv) or 0)


def _integration(name: str) -> Any:
    from core.integrations import find_integration

    integration = find_integration(name)
    if integration is None or integration.type != "dotmailer":
        print(f"listbridge dotmailer: no Dotmailer integration named {name!r}", file=sys.stderr)
        return None
    return integration


def _list(name: str) -> Any:
    from core.models.store import MarketingList

    mlist = MarketingList.get_or_none(MarketingList.name == name)
    if mlist is None:
        print(f"listbridge dotmailer: no marketing list named {name!r}", file=sys.stderr)
    return mlist


def address_books(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.base import ConnectorError
    from connectors.dotmailer import service

    integration = _integration(args.integration)
    if integration is None:
        return EXIT_FAILED
    try:
        books = service.refresh_books(integration)
    except ConnectorError as exc:
        print(f"listbridge dotmailer: {exc.admin_message}", file=sys.stderr)
        return EXIT_FAILED
    rows = [{"id": b.remote_id, "name": b.name, "visibility": b.visibility,
             "contacts": b.contacts_count} for b in books]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print(f"{integration.name} has no address book that a list can connect to.")
        return EXIT_OK
    print(f"{'Id':>10}  {'Contacts':>8}  {'Visibility':10}  Name")
    for row in rows:
        print(f"{row['id']:>10}  {row['contacts']:>8}  {row['visibility']:10}  {row['name']}")
    return EXIT_OK


def connect_command(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.base import ConnectorError
    from connectors.dotmailer import service

    integration = _integration(args.integration)
    mlist = _list(args.list_name)
    if integration is None or mlist is None:
        return EXIT_FAILED
    book = service.find_book(integration, args.address_book)
    if book is None:
        try:
            service.refresh_books(integration)
        except ConnectorError as exc:
            print(f"listbridge dotmailer: {exc.admin_message}", file=sys.stderr)
            return EXIT_FAILED
        book = service.find_book(integration, args.address_book)
    if book is None:
        print(f"listbridge dotmailer: {integration.name} has no address book "
              f"{args.address_book!r} (see: listbridge dotmailer address-books --integration "
              f"{integration.name!r})", file=sys.stderr)
        return EXIT_FAILED
    try:
        book = service.connect_list(mlist, integration, book.remote_id)
    except service.ConnectRefused as exc:
        print(f"listbridge dotmailer: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"The list {mlist.name!r} is connected to the address book {book.name!r} "
          f"({book.remote_id}).")
    if args.no_sync:
        print(f"Its members are sent at the next sync (listbridge sync --integration "
              f"{integration.name!r}).")
        return EXIT_OK
    return _export_now(integration)


def _export_now(integration: Any) -> int:
    """As in the window: the members are exported at once after connecting."""
    from connectors.base import get_connector
    from core.sync.runner import AlreadyRunning, run_sync

    try:
        result = run_sync(integration, get_connector(integration.type), trigger="headless")
    except AlreadyRunning as exc:
        print(f"{exc.admin_message} The members are sent by that run or the next one.")
        return EXIT_OK
    print(f"Sync {result.status}: {result.message}")
    return EXIT_OK if result.ok else EXIT_FAILED


def disconnect_command(args: argparse.Namespace, profile: Profile) -> int:
    from connectors.dotmailer import service

    mlist = _list(args.list_name)
    if mlist is None:
        return EXIT_FAILED
    book = service.disconnect_list(mlist)
    if book is None:
        print(f"The list {mlist.name!r} was not connected to Dotmailer.")
        return EXIT_OK
    print(f"The list {mlist.name!r} is disconnected from the address book {book.name!r}.")
    return EXIT_OK
