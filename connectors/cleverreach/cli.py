"""``listbridge emulator cleverreach``; the connector's own ``listbridge cleverreach ...``
commands join this module when the connector exists."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(sub: Any) -> None:
    from connectors.cleverreach.emulator import cli
    from connectors.emulation.cli import add_emulator_command

    def run(args: argparse.Namespace, profile: object) -> int:
        return cli.run(args)

    add_emulator_command(sub, "cleverreach", cli.arguments, run,
                         "the CleverReach REST API v3 and OAuth emulator")
