"""``listbridge emulator cleverreach [--port N] [--client ID:SECRET ...] [--auto-approve]
[--admin-http] [--demo] [--state FILE]``: the emulator in the foreground until Ctrl+C.

Also ``python -m connectors.cleverreach.emulator ...``. It prints its base URL (the integration's
Service URL) and the OAuth clients on standard output, then serves on the real clock.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from connectors.emulation.cli import add_common_arguments, serve_until_interrupted

__all__ = ["DEFAULT_PORT", "arguments", "main", "run"]

DEFAULT_PORT = 8490


def _client(text: str) -> tuple[str, str]:
    client_id, sep, secret = text.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError("expected CLIENT_ID:CLIENT_SECRET")
    return client_id, secret


def arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, port_help=f"port (0: random; default {DEFAULT_PORT})",
                         default_port=DEFAULT_PORT)
    parser.add_argument("--client", type=_client, action="append", default=[],
                        metavar="CLIENT_ID:CLIENT_SECRET",
                        help="an OAuth app of the first account (repeatable; default "
                             "listbridge-demo:listbridge-demo-secret)")
    parser.add_argument("--auto-approve", action="store_true",
                        help="answer the sign-in with a redirect at once (no sign-in page)")
    for action in parser._actions:
        if action.dest == "admin_http":
            action.help = "serve the test hooks under /__emulator__/"


def run(args: argparse.Namespace) -> int:
    from connectors.cleverreach.emulator.core import DEFAULT_CLIENT, CleverReachEmulator

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    clients = args.client or [DEFAULT_CLIENT]
    emulator = CleverReachEmulator(port=args.port, clients=clients,
                                   auto_approve=args.auto_approve, admin_http=args.admin_http,
                                   demo=args.demo, now=None)
    if args.state is not None and args.state.exists():
        emulator.load(args.state)
    try:
        emulator.start()
    except OSError as exc:
        print(f"listbridge emulator cleverreach: cannot listen on port {args.port}: {exc}",
              file=sys.stderr)
        return 1
    print(f"CleverReach emulator on {emulator.url}/", flush=True)
    for client_id, _ in clients:
        print(f"  OAuth client: {client_id}", flush=True)
    if args.admin_http:
        print(f"  test hooks: {emulator.url}/__emulator__/", flush=True)
    save = (lambda: emulator.save(args.state)) if args.state is not None else None
    serve_until_interrupted(emulator.stop, save,
                            version=lambda: emulator.state.version if save else 0)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="listbridge emulator cleverreach",
                                     description="Run the CleverReach REST v3 and OAuth "
                                                 "emulator on loopback until Ctrl+C.")
    arguments(parser)
    return run(parser.parse_args(argv))
