"""``listbridge cleverreach settings|enable|disable|resync|retroactive|poll`` (owner: the sync part
of issue 9). ``connectors.cleverreach.cli`` calls ``register`` with the ``cleverreach`` command's
sub-parsers."""

from __future__ import annotations

from typing import Any


def register(commands: Any) -> None:
    """Add this part's sub-commands to ``listbridge cleverreach``."""
