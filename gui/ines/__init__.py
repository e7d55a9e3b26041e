"""INES CRM in the window: its tabs in the integration dialog, its journal, "Push to INES".

``InesExtension`` is what the window's start-up registers (``gui.extensions``):

- ``integration_part``: the Contact Field Mapping and Features tabs, the "nothing syncs" banner and
  the setup steps of the generic integration dialog (``gui.ines.settings_dialog``);
- ``attach``: "Push to INES" on the Contacts and marketing list pages, "INES journal…" on the
  Journal page (``gui.ines.actions``), and the automatic push of push-only mode (below);
- ``extend_record_dialog``: the contact dialog's read-only references, Push and Reset;
- ``open_journal``: INES keeps its own queue and journal (``InesJournalDialog``);
- ``start_demo``: the demo's INES emulator and integration.

The automatic push of push-only mode needs nothing here: the INES record-change listener asks the
engine for a run (``core.sync.requests.request_run``) and the window's scheduler honours it.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtWidgets import QWidget

from gui.extensions import GuiExtension, IntegrationPart

TYPE_NAME = "ines"


class InesExtension(GuiExtension):
    """INES CRM in one window (one instance per window: it keeps that window's actions)."""

    type_name = TYPE_NAME

    def __init__(self) -> None:
        self.actions: Any = None

    def integration_part(self, dialog: Any) -> IntegrationPart:
        from gui.ines.settings_dialog import InesSettingsPart

        return InesSettingsPart(dialog)

    def attach(self, window: Any) -> None:
        from gui.ines.actions import InesActions

        self.actions = InesActions(window)
        # Automatic pushes need nothing here: the window's scheduler honours the engine's run
        # requests (core.sync.requests.request_run, asked by the INES record-change listener).

    def detach(self, window: Any) -> None:
        self.actions = None

    def _alive(self) -> Any:
        actions = self.actions
        return actions if actions is not None and shiboken6.isValid(actions) else None

    def extend_record_dialog(self, dialog: Any) -> None:
        actions = self._alive()
        if actions is not None:
            actions.extend_record_dialog(dialog)

    def open_journal(self, parent: QWidget, integration_id: int) -> Any:
        from gui.ines.journal_dialog import InesJournalDialog

        dialog = InesJournalDialog(integration_id, parent)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def start_demo(self, services: Any) -> int:
        from connectors.demo import start_ines_demo

        return start_ines_demo(services)
