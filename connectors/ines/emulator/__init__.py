"""A loopback emulator of the INES CRM SOAP 1.1 web services (shared/api/ines.md §5).

Tests and the demo mode talk to it over real HTTP; the client cannot tell it from the real
service except by its base URL. It follows the documented service, not any one client: every
point the documentation marks as inferred or guessed is an option (§5.4), so the client can be
run against each alternative.

    with InesEmulator(users=[("ACME", "jdupont", "secret")]) as emu:
        client = InesClient(emu.base_url, ...)

It runs on the shared emulator half (``connectors.emulation``: loopback server and transport
faults, request log, clock, state file, admin hook arguments). Modules: ``state`` (options,
constants, records), ``soap`` (XML in and out), ``fields`` (field-table helpers), ``server``
(the core), ``operations``, ``hooks``, ``demo``, ``service`` (the assembled class), ``cli``.
"""

from connectors.ines.emulator.cli import main
from connectors.ines.emulator.demo import demo_seed
from connectors.ines.emulator.service import InesEmulator
from connectors.ines.emulator.state import (
    DEFAULT_PORT,
    DEFAULT_USER,
    INJECTION_KINDS,
    OPTION_DEFAULTS,
    Call,
    Injection,
)

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_USER",
    "INJECTION_KINDS",
    "OPTION_DEFAULTS",
    "Call",
    "Injection",
    "InesEmulator",
    "demo_seed",
    "main",
]
