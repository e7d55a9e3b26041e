"""Which services saw an address hard-bounce, asked without knowing the services.

A connector that learns of hard bounces (Dotmailer's contact status, CleverReach's bounce list)
registers a source at import time; another connector that acts on bounces (INES's NPAI option,
§3.9 of its plugin) asks ``bounced_in`` and never imports the first connector's tables.
"""

from __future__ import annotations

from collections.abc import Callable

# A source answers for one email key (trimmed, lower-cased): True if it saw a hard bounce.
BounceSource = Callable[[str], bool]
_SOURCES: dict[str, BounceSource] = {}


def register_source(name: str, source: BounceSource) -> None:
    """Add (or replace) the source called ``name`` (a connector's label, e.g. "Dotmailer")."""
    _SOURCES[name] = source


def unregister_source(name: str) -> None:
    _SOURCES.pop(name, None)


def bounced_in(email_key: str | None) -> list[str]:
    """The names of the sources that saw this address hard-bounce, in registration order."""
    if not email_key:
        return []
    return [name for name, source in _SOURCES.items() if source(email_key)]
