"""A loopback CleverReach REST v3 + OAuth emulator (shared/api/cleverreach.md §5), on the shared
emulator half (:mod:`connectors.emulation`).

Modules by resource family: ``state`` (accounts, apps, tokens, groups, receivers, JSON shapes),
``settings`` (§5.3), ``calls`` (one call, errors, paging, routing), ``oauth`` (authorize page,
token endpoint, token utilities), ``groups``, ``receivers``, ``attributes``, ``reports``
(blacklist, bounces, reports), ``forms``, ``hooks`` (§5.2), ``demo``, ``cli``; ``core`` ties
them to the server.
"""

from connectors.cleverreach.emulator.core import (
    ADMIN_PREFIX,
    DEFAULT_CLIENT,
    DEFAULT_NOW,
    CleverReachEmulator,
)
from connectors.cleverreach.emulator.settings import SETTINGS_DEFAULTS

__all__ = ["ADMIN_PREFIX", "DEFAULT_CLIENT", "DEFAULT_NOW", "SETTINGS_DEFAULTS",
           "CleverReachEmulator"]
