"""INES CRM in the window: its tabs in the integration dialog, its journal, "Push to INES".

``InesExtension`` is what the window's start-up registers (``gui.extensions``):

- ``integration_part``: the Contact Field Mapping and Features tabs, the "nothing syncs" banner and
  the setup steps of the generic integration dialog (``gui.ines.settings_dialog``);
- ``attach``: "Push to INES" on the Contacts and marketing list pages, "INES journal…" on the
  Journal page (``gui.ines.actions``), and the automatic push of push-only mode (below);
- ``extend_record_dialog``: the contact dialog's read-only references, Push and Reset;
- ``open_journal``: INES keeps its own queue and journal (``InesJournalDialog``);
- ``start_demo``: the demo's INES emulator and integration.

The automatic push (contacts waiting in push-only mode) lives in ``InesExtension._run_wanted``:
``connectors.ines.fullsync`` calls it on the writer's thread, and it hands the id to this window's
``InesActions.run_wanted`` (queued to the GUI thread), which asks the window's scheduler for a
run. The hook is added by ``attach`` and removed by ``detach`` (the window closing).
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
        from connectors.ines.fullsync import run_wanted_hooks
        from gui.ines.actions import InesActions

        self.actions = InesActions(window)
        if self._run_wanted not in run_wanted_hooks:
            run_wanted_hooks.append(self._run_wanted)

    def detach(self, window: Any) -> None:
        from connectors.ines.fullsync import run_wanted_hooks

        if self._run_wanted in run_wanted_hooks:
            run_wanted_hooks.remove(self._run_wanted)

    def _alive(self) -> Any:
        actions = self.actions
        return actions if actions is not None and shiboken6.isValid(actions) else None

    def _run_wanted(self, integration_id: int) -> None:
        """Contacts wait for an automatic push (called on the writer's thread): hand the id to
        the window's ``InesActions`` (queued to the GUI thread), which asks for a run."""
        actions = self._alive()
        if actions is not None:
            actions.run_wanted_signal.emit(integration_id)

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
