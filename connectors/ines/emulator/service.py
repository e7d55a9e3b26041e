"""The INES emulator, put together from its parts."""

from __future__ import annotations

from connectors.ines.emulator.hooks import HookMixin
from connectors.ines.emulator.operations import OperationsMixin

__all__ = ["InesEmulator"]


class InesEmulator(OperationsMixin, HookMixin):
    """The four INES services on 127.0.0.1, with the state, options and hooks of §5.

    Parts: ``server`` (loopback server, options, routing, SOAP envelopes, sessions, injections,
    call records), ``operations`` (one method per SOAP operation), ``hooks`` (§5.5 and admin
    HTTP), ``demo``; ``state``, ``soap`` and ``fields`` hold records and helpers.
    """
