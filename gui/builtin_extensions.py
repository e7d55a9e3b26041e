"""The GUI extensions of the connectors shipped with ListBridge, registered explicitly by the
window's start-up (kept apart from ``gui.extensions`` so that the base module imports no connector's
views and no import circle forms)."""

from __future__ import annotations

from gui.dotmailer import DotmailerExtension
from gui.extensions import ExtensionRegistry
from gui.ines import InesExtension


def builtin_extensions() -> ExtensionRegistry:
    """The extensions of the connectors shipped with ListBridge."""
    return ExtensionRegistry([DotmailerExtension(), InesExtension()])
