"""``listbridge emulator dotmailer``: the emulator in the foreground until Ctrl+C."""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from connectors.dotmailer.emulator.state import (
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_USER,
)

# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parse_user(text: str) -> tuple[str, str]:
    email, sep, password = text.partition(":")
    if not sep or not email or not password:
        raise argparse.ArgumentTypeError("expected EMAIL:PASSWORD")
    return email, password


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="listbridge emulator dotmailer",
        description="Run the Dotmailer REST API v2 emulator on loopback until Ctrl-C.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="base port: r1 on PORT, r2 on PORT+1, r3 on PORT+2 (0: random)",
    )
    parser.add_argument(
        "--user",
        type=_parse_user,
        action="append",
        default=[],
        metavar="EMAIL:PASSWORD",
        help="an API user (repeatable)",
    )
    parser.add_argument("--demo", action="store_true", help="seed demo data")
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="load state from FILE if it exists; save it there on exit",
    )
    parser.add_argument(
        "--admin-http", action="store_true", help="serve the test hooks under /_emulator/"
    )
    return parser.parse_args(argv)


def _wait_for_interrupt() -> None:
    while True:
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground until Ctrl-C."""
    args = _arguments(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    users = args.user or [(DEFAULT_USER, DEFAULT_PASSWORD)]
    from connectors.dotmailer.emulator.service import DotmailerEmulator

    emulator = DotmailerEmulator(
        base_port=args.port, users=users, demo=args.demo, admin_http=args.admin_http
    )
    emulator.use_real_clock()
    if args.state is not None and args.state.exists():
        emulator.load(args.state)
    emulator.start()
    try:
        for region, url in emulator.region_urls.items():
            print(f"Dotmailer emulator r{region}: {url}/v2", flush=True)
        print("API users: " + ", ".join(u for u, _p in users), flush=True)
        _wait_for_interrupt()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if args.state is not None:
            emulator.save(args.state)
    return 0
