"""``listbridge emulator <service>``: the command group and what every emulator's command shares.

Each emulator package has a ``cli`` module whose ``main(argv)`` runs it in the foreground
(``python -m connectors.<service>.emulator`` too). The connector's own ``connectors/<service>/cli.py``
``register(sub)`` (found by ``connectors/cli.py``) calls :func:`add_emulator_command`, which adds
``listbridge emulator <service>`` under one ``emulator`` command shared by every service, and
passes the parsed options on to that ``main``.

:func:`add_common_arguments` gives ``--port``, ``--demo``, ``--state FILE`` and ``--admin-http``;
:func:`serve_until_interrupted` keeps the process up until Ctrl+C, saving the state file as the
state changes and on exit.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "add_common_arguments",
    "add_emulator_command",
        "serve_until_interrupted",
]

EXIT_TEXT = "Exit status: 0 done, 1 failed, 2 bad usage."


def add_common_arguments(
    parser: argparse.ArgumentParser,
    port_help: str,
    default_port: int | None = None,
    state_help: str | None = None,
) -> None:
    parser.add_argument("--port", type=int, default=default_port, help=port_help)
    parser.add_argument("--demo", action="store_true", help="start with demo data")
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help=state_help or "load the data from FILE if it exists; save it back",
    )
    parser.add_argument(
        "--admin-http", action="store_true", help="serve the test hooks under /_emulator/"
    )


def add_emulator_command(
    sub: Any,
    name: str,
    arguments: Callable[[argparse.ArgumentParser], None],
    handler: Callable[..., int],
    help_text: str | None = None,
    description: str | None = None,
) -> None:
    """Add ``listbridge emulator <name>``, creating the ``emulator`` command on first use."""
    parent = sub.choices.get("emulator")
    if parent is None:
        parent = sub.add_parser(
            "emulator",
            help="run a service emulator on this computer",
            description="Run a loopback emulator of a service, for tests and demos, until Ctrl+C.",
            epilog=EXIT_TEXT,
        )
        parent.set_defaults(handler=_usage(parent), needs_profile=False)
    group = next((a for a in parent._actions if isinstance(a, argparse._SubParsersAction)), None)
    if group is None:
        group = parent.add_subparsers(dest="emulator_service", metavar="SERVICE")
    child = group.add_parser(
        name,
        help=help_text or f"the {name} emulator",
        description=description
        or f"Run {help_text or 'the ' + name + ' emulator'} on loopback until Ctrl+C.",
        epilog=EXIT_TEXT,
    )
    arguments(child)
    child.set_defaults(handler=handler, needs_profile=False)


def _usage(parser: argparse.ArgumentParser) -> Callable[..., int]:
    def show(args: argparse.Namespace, profile: object) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show



def serve_until_interrupted(
    stop: Callable[[], None],
    save: Callable[[], None] | None = None,
    version: Callable[[], int] | None = None,
    poll: float = 0.5,
) -> None:
    """Sleep until Ctrl+C, then ``stop()`` and ``save()``. With ``version``, also ``save()``
    whenever it changes, so that a killed process loses little."""
    saved = -1
    try:
        while True:
            time.sleep(poll)
            if save is not None and version is not None and version() != saved:
                saved = version()
                save()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        if save is not None:
            save()
