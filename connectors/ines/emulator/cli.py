"""``listbridge emulator ines``: the emulator in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from connectors.emulation.cli import serve_until_interrupted
from connectors.ines.emulator.state import (
    DEFAULT_PORT,
    DEFAULT_USER,
)

# --- command line ------------------------------------------------------------------------------


def _parse_user(text: str) -> tuple[str, str, str]:
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise argparse.ArgumentTypeError("expected ACCOUNT:USER:PASSWORD")
    return parts[0], parts[1], parts[2]


def _argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="listbridge emulator ines",
        description="Run the INES CRM web service emulator on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument(
        "--user",
        action="append",
        type=_parse_user,
        metavar="ACCOUNT:USER:PASSWORD",
        help="a login the emulator accepts (repeatable; default DEMO:demo:demo-pass-1)",
    )
    parser.add_argument("--demo", action="store_true", help="start with demo data")
    parser.add_argument(
        "--state", type=Path, metavar="FILE", help="load the data from FILE and save it back"
    )
    parser.add_argument(
        "--admin-http", action="store_true", help="serve the test hooks under /_emulator/"
    )
    parser.add_argument(
        "--strict", action="store_true", help="lenient=false: exact namespace and SOAPAction"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`listbridge emulator ines`: serve in the foreground, print the base URL, stop on Ctrl-C."""
    args = _argument_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from connectors.ines.emulator.service import InesEmulator

    emulator = InesEmulator(
        port=args.port,
        users=args.user or [DEFAULT_USER],
        admin_http=args.admin_http,
        lenient=not args.strict,
    )
    if args.state is not None and args.state.exists():
        emulator.load_state(args.state)
    elif args.demo:
        emulator.seed_demo()
    try:
        emulator.start()
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(emulator.base_url, flush=True)
    _serve_until_interrupted(emulator, args.state)
    return 0


def _serve_until_interrupted(emulator: Any, state_file: Path | None) -> None:
    if state_file is None:
        serve_until_interrupted(emulator.stop)
        return
    # Saved as it changes, so that a kill loses little, and once more on the way out.
    serve_until_interrupted(
        emulator.stop, lambda: emulator.save_state(state_file), lambda: emulator.version
    )
