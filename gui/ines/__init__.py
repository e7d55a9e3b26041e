"""INES CRM in the window: its settings dialog (three tabs), its journal, "Push to INES".

``install(window)`` is called once by the main window; it adds the INES actions to the Contacts,
Marketing Lists and Journal pages and to the contact dialog (``gui.ines.actions``). The
Integrations page opens ``InesSettingsDialog`` for INES rows and hands a "Create Integration" over
to it once INES CRM is chosen (``open_settings``, ``hand_over_create``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from gui.ines.journal_dialog import InesJournalDialog
from gui.ines.settings_dialog import InesSettingsDialog

TYPE_NAME = "ines"

__all__ = ["InesJournalDialog", "InesSettingsDialog", "hand_over_create", "install",
           "open_journal", "open_settings"]

_current: weakref.ref[Any] | None = None  # the InesActions of the window installed last


def install(window: Any) -> Any:
    """Add INES's actions to the main window; returns the ``InesActions``."""
    global _current
    from gui.dialogs.record import RecordDialog
    from gui.ines.actions import InesActions

    actions = InesActions(window)
    window.ines_actions = actions
    _current = weakref.ref(actions)
    extensions = getattr(RecordDialog, "extensions", None)
    if extensions is not None and _extend_record_dialog not in extensions:
        extensions.append(_extend_record_dialog)
    # Automatic pushes need nothing here: the window's scheduler honours the engine's run
    # requests (``core.sync.requests.request_run``, asked by the INES record-change listener).
    return actions


def _extend_record_dialog(dialog: Any) -> None:
    import shiboken6

    actions = _current() if _current is not None else None
    if actions is not None and shiboken6.isValid(actions):
        actions.extend_record_dialog(dialog)


def open_settings(parent: QWidget | None, integration_id: int | None = None, name: str = "",
                  on_saved: Callable[[int], None] | None = None) -> InesSettingsDialog:
    """Open the INES settings dialog (window-modal, deleted once closed)."""
    dialog = InesSettingsDialog(integration_id, parent=parent, name=name)
    if on_saved is not None:
        dialog.saved.connect(on_saved)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def open_journal(parent: QWidget | None, integration_id: int) -> InesJournalDialog:
    dialog = InesJournalDialog(integration_id, parent)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def hand_over_create(dialog: Any, open_ines: Callable[[str], Any]) -> None:
    """In the generic Create Integration dialog, choosing INES CRM closes it and opens the INES
    dialog instead (with the name typed so far): INES's settings need its three tabs."""

    def chosen(_index: int) -> None:
        if dialog.type_combo.currentData() == TYPE_NAME:
            name = dialog.name_edit.text().strip()
            dialog.reject()
            open_ines(name)

    dialog.type_combo.currentIndexChanged.connect(chosen)
