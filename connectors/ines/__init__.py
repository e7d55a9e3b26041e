"""INES CRM: SOAP client, field catalogue and mapping, full sync and push, emulator.

Importing the package registers the connector and subscribes the full-sync queue to record
changes (``core.changes``), so that edits and deletions are queued whatever window or command
made them.
"""

from connectors.base import register
from connectors.ines.connector import InesConnector
from connectors.ines.fullsync import install_change_listener

register(InesConnector())
install_change_listener()

__all__ = ["InesConnector"]
