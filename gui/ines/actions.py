"""Where INES shows up in the main window, besides its settings dialog.

``InesActions`` (one per window, made by ``InesExtension.attach``) knows which INES integrations exist
and which accept pushes (read on a worker thread whenever the integrations change), and adds:

- "Push to INES" to the Contacts page (a button for the selected contacts and a context menu
  with "History…"), to the contact dialog, and to the page of a marketing list of contacts (its
  ``listIntegrationActions`` slot, filled on ``list_shown``), visible only while an INES
  integration is published with "Push contacts to this integration" ticked;
- "INES journal…" to the Journal page (whose generic queue does not hold INES rows).

A push runs on a worker thread and ends with ``PushResultDialog``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QWidget,
)

from core.models.sync import Integration
from gui.ines.push import PushReport, PushResultDialog, PushTarget, push_now
from gui.widgets import std_icon
from gui.workers import start_job


@dataclass(frozen=True)
class InesTargets:
    every: list[PushTarget]  # every INES integration (for the journal)
    pushable: list[PushTarget]  # published, with push on


def read_targets() -> InesTargets:
    from gui.ines.push import pushable_integrations

    every = [PushTarget(i.id, i.name) for i in Integration.select(Integration.id, Integration.name)
             .where(Integration.type == "ines").order_by(Integration.name)]
    return InesTargets(every, pushable_integrations())


class TargetButton(QPushButton):
    """A button for one INES integration, or a menu of them when there are several (unless
    ``preferred`` names one of them); hidden while there is none."""

    def __init__(self, actions: InesActions, text: str, object_name: str,
                 start: Callable[[int], None], pushable: bool = True,
                 preferred: Callable[[], int | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName(object_name)
        self.setAutoDefault(False)  # Enter in a dialog saves; it never pushes
        self.setIcon(std_icon("SP_ArrowForward" if pushable else "SP_FileDialogContentsView"))
        self.ines = actions
        self.start = start
        self.pushable = pushable
        self.preferred = preferred
        self.clicked.connect(self._clicked)
        actions.targets_changed.connect(self.update_targets)
        self.update_targets()

    def targets(self) -> list[PushTarget]:
        return self.ines.pushable if self.pushable else self.ines.every

    def update_targets(self) -> None:
        self.setVisible(bool(self.targets()))

    def target_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setObjectName(f"{self.objectName()}Menu")
        for target in self.targets():
            action = menu.addAction(target.name)
            action.setObjectName(f"{self.objectName()}_{target.integration_id}")
            action.triggered.connect(lambda _c=False, i=target.integration_id: self.start(i))
        return menu

    def _clicked(self) -> None:
        targets = [t.integration_id for t in self.targets()]
        chosen = self.preferred() if self.preferred is not None else None
        if chosen is not None and chosen in targets:
            self.start(chosen)
        elif len(targets) == 1:
            self.start(targets[0])
        elif targets:
            menu = self.target_menu()
            menu.aboutToHide.connect(menu.deleteLater)
            menu.popup(self.mapToGlobal(self.rect().bottomLeft()))


RUN_QUIET_MS = 1000  # an automatic push's run starts this long after the last change...
RUN_MAX_WAIT_MS = 10_000  # ...or this long after the first one of a longer burst


def _holds_reference(dialog: Any) -> bool:
    for editor in dialog.ines_reference_editors.values():
        text = editor.text().strip() if isinstance(editor, QLineEdit) else ""
        try:
            if text and float(text) != 0:
                return True
        except ValueError:
            return True
    return False


class InesActions(QObject):
    targets_changed = Signal()
    run_wanted_signal = Signal(int)  # emitted from any thread (connectors.ines.fullsync hook)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.setObjectName("inesActions")
        self.window = window
        self.every: list[PushTarget] = []
        self.pushable: list[PushTarget] = []
        self._reading = False
        self._again = False
        self._run_timers: dict[int, QTimer] = {}
        self._first_wanted: dict[int, float] = {}
        self.run_wanted_signal.connect(self.run_wanted, Qt.ConnectionType.QueuedConnection)
        self._hook_contacts()
        self._hook_journal()
        window.lists.list_page.list_shown.connect(self._list_shown)
        window.integrations.status_changed.connect(self.refresh)
        self.refresh()

    # -- which integrations ----------------------------------------------------------------------

    def refresh(self) -> None:
        if self._reading:
            self._again = True
            return
        self._reading = True
        start_job(read_targets, on_done=self._targets_in, on_failed=self._targets_failed)

    def _targets_in(self, targets: InesTargets) -> None:
        self._reading = False
        changed = (targets.every, targets.pushable) != (self.every, self.pushable)
        self.every, self.pushable = targets.every, targets.pushable
        if changed:
            self.targets_changed.emit()
        if self._again:
            self._again = False
            self.refresh()

    def _targets_failed(self, _message: str, _trace: str) -> None:
        self._reading = False

    def is_ines(self, integration_id: int) -> bool:
        return any(t.integration_id == integration_id for t in self.every)

    # -- contacts ------------------------------------------------------------------------------

    def _hook_contacts(self) -> None:
        page = self.window.contacts
        self.contacts_button = TargetButton(self, self.tr("Push to INES"), "pushToInesButton",
                                            self._push_selected)
        self.contacts_button.setToolTip(self.tr("Create or update the selected contacts in INES "
                                                "CRM now"))
        page.extra_actions.addWidget(self.contacts_button)
        table = page.table
        table.selectionModel().selectionChanged.connect(self._contacts_selection)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._contacts_menu)
        self._contacts_selection()

    def _contacts_selection(self, *_: Any) -> None:
        self.contacts_button.setEnabled(bool(self.window.contacts.table.selected_ids()))

    def _push_selected(self, integration_id: int) -> None:
        ids = self.window.contacts.table.selected_ids()
        if ids:
            self.push(integration_id, ids, parent=self.window)

    def contacts_menu(self) -> QMenu:
        """The context menu of the contacts table (also what a test opens)."""
        menu = QMenu(self.window.contacts.table)
        menu.setObjectName("contactsContextMenu")
        ids = self.window.contacts.table.selected_ids()
        for target in self.pushable:
            text = (self.tr("Push to INES") if len(self.pushable) == 1
                    else self.tr("Push to INES — {0}").format(target.name))
            action = menu.addAction(text)
            action.setObjectName(f"actionPushToInes_{target.integration_id}")
            action.setEnabled(bool(ids))
            action.triggered.connect(
                lambda _c=False, i=target.integration_id: self._push_selected(i))
        history = QAction(self.tr("History…"), menu)
        history.setObjectName("actionContactHistory")
        history.setEnabled(len(ids) == 1)
        history.triggered.connect(lambda: self.show_history(ids[0], self.window))
        menu.addAction(history)
        return menu

    def _contacts_menu(self, position: QPoint) -> None:
        table = self.window.contacts.table
        menu = self.contacts_menu()
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(table.viewport().mapToGlobal(position))

    def show_history(self, contact_id: int, parent: QWidget) -> Any:
        from gui.history_dialog import HistoryDialog

        dialog = HistoryDialog("contact", contact_id, parent)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def extend_record_dialog(self, dialog: Any) -> None:
        """The contact dialog: the INES reference fields are read-only (set by the sync) and
        left out of what it saves; a saved contact gets "Push to INES" (its "History…" shows
        the outcome of every push) and "Reset INES references"."""
        if getattr(dialog, "entity", "") != "contact":
            return
        self._lock_references(dialog)
        if not getattr(dialog, "record_id", None):
            return
        buttons: QDialogButtonBox = dialog.buttons
        push = TargetButton(self, self.tr("Push to INES"), "pushToInesButton",
                            lambda i: self.push(i, [dialog.record_id], parent=dialog))
        push.setToolTip(self.tr("Create or update this contact in INES CRM now, as saved (save "
                                "first to send your changes)"))
        buttons.addButton(push, QDialogButtonBox.ButtonRole.ActionRole)
        push.update_targets()
        if dialog.ines_reference_editors:
            reset = QPushButton(self.tr("Reset INES references…"))
            reset.setObjectName("resetInesReferencesButton")
            reset.setAutoDefault(False)
            reset.setToolTip(self.tr("Set the INES contact and client IDs back to 0, so that the "
                                     "next push or sync creates a new client and contact in INES "
                                     "(the old ones stay in INES)"))
            reset.setEnabled(_holds_reference(dialog))
            reset.clicked.connect(lambda: self.reset_references(dialog))
            buttons.addButton(reset, QDialogButtonBox.ButtonRole.ActionRole)
            dialog.ines_reset_button = reset

    def _lock_references(self, dialog: Any) -> None:
        """The reference fields: shown, read-only, with why; not saved by the dialog, so that a
        dialog left open while a sync stores new references cannot put the old ones back."""
        from connectors.ines.connector import reference_fields

        dialog.ines_reference_editors = {}
        editors = getattr(dialog, "custom_editors", {})
        for key, what in reference_fields().items():
            if key not in editors:
                continue
            _info, editor = editors.pop(key)
            if hasattr(editor, "setReadOnly"):
                editor.setReadOnly(True)
            else:
                editor.setEnabled(False)
            editor.setToolTip(self.tr("{0}: set by the INES sync, not by hand. To have INES "
                                      "create a new client and contact, use “Reset INES "
                                      "references”.").format(self.tr(what)))
            editor.setProperty("inesReference", True)
            dialog.ines_reference_editors[key] = editor

    def reset_references(self, dialog: Any, ask: bool = True) -> int:
        """"Reset INES references" on a saved contact (after a confirmation); returns how many
        INES integrations had references."""
        from connectors.ines.connector import reset_references

        if ask:
            answer = QMessageBox.question(
                dialog, self.tr("Reset INES references"),
                self.tr("Set this contact's INES contact and client IDs back to 0?\n\nThe next "
                        "push or sync creates a new client and contact in INES; the old ones "
                        "stay there."),
                QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Reset:
                return 0
        done = reset_references(int(dialog.record_id))
        for editor in dialog.ines_reference_editors.values():
            if isinstance(editor, QLineEdit):
                editor.setText("0")
        button = getattr(dialog, "ines_reset_button", None)
        if button is not None:
            button.setEnabled(False)
        self._message(self.tr("INES references reset: the next push or sync creates a new "
                              "client and contact in INES.") if done else
                      self.tr("This contact had no INES references."))
        return done

    # -- automatic push (push-only mode) ----------------------------------------------------------

    def run_wanted(self, integration_id: int) -> None:
        """Contacts wait for an automatic push: ask the scheduler for a run (trigger
        ``record_change``) once the burst is over (1 s without another request, 10 s at
        most), rather than once per contact."""
        timer = self._run_timers.get(integration_id)
        if timer is None:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda i=integration_id: self._request_run(i))
            self._run_timers[integration_id] = timer
            self._first_wanted[integration_id] = time.monotonic()
        first = self._first_wanted.setdefault(integration_id, time.monotonic())
        waited_ms = int((time.monotonic() - first) * 1000)
        timer.start(max(0, min(RUN_QUIET_MS, RUN_MAX_WAIT_MS - waited_ms)))

    def _request_run(self, integration_id: int) -> None:
        self._first_wanted.pop(integration_id, None)
        bridge = getattr(self.window, "sync_bridge", None)
        if bridge is not None:
            bridge.request_run(integration_id, "record_change")

    # -- marketing lists -----------------------------------------------------------------------

    def _list_shown(self, list_id: int) -> None:
        page = self.window.lists.list_page
        if page.entity != "contact":
            return
        push = TargetButton(self, self.tr("Push list to INES"), "pushListToInesButton",
                            lambda i: self.push(i, [], parent=self.window, list_id=list_id))
        push.setToolTip(self.tr("Create or update every contact of this list in INES CRM now"))
        page.integration_actions.addWidget(push)

    # -- journal -------------------------------------------------------------------------------

    def _hook_journal(self) -> None:
        journal = self.window.journal
        self.journal_button = TargetButton(self, self.tr("INES journal…"), "inesJournalButton",
                                           self.open_journal, pushable=False,
                                           preferred=journal.integration_filter.currentData)
        self.journal_button.setToolTip(self.tr("The INES queue and pushes: INES keeps its own "
                                               "queue, which the rows here do not include"))
        slot = getattr(journal, "integration_actions", None)
        if slot is not None:
            slot.addWidget(self.journal_button)
        journal.integration_filter.currentIndexChanged.connect(self._journal_filter)
        self.targets_changed.connect(self._journal_filter)

    def _journal_filter(self, *_: Any) -> None:
        chosen = self.window.journal.integration_filter.currentData()
        self.journal_button.setProperty("primary", chosen is not None and self.is_ines(chosen))
        self.journal_button.style().unpolish(self.journal_button)
        self.journal_button.style().polish(self.journal_button)

    def open_journal(self, integration_id: int) -> None:
        from gui.ines.journal_dialog import InesJournalDialog

        dialog = InesJournalDialog(integration_id, self.window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    # -- pushing -------------------------------------------------------------------------------

    def push(self, integration_id: int, contact_ids: list[int], parent: QWidget,
             list_id: int | None = None) -> None:
        name = next((t.name for t in self.every if t.integration_id == integration_id), "INES")
        what = (self.tr("the list") if list_id is not None else
                self.tr("{0} contact(s)").format(len(contact_ids)))
        self._message(self.tr("Pushing {0} to {1}…").format(what, name))

        def done(report: PushReport) -> None:
            self._pushed(report, parent)

        start_job(push_now, integration_id, contact_ids, list_id, on_done=done,
                  on_failed=lambda message, _t: self._push_crashed(message, name, parent))

    def _pushed(self, report: PushReport, parent: QWidget) -> PushResultDialog | None:
        if not shiboken6.isValid(parent):
            parent = self.window
        self.window.contacts.mark_stale()
        self._message(self.tr("Push to INES: {0}").format(
            ", ".join(f"{report.count(s)} {s}" for s in ("created", "updated", "unchanged",
                                                          "ignored", "failed") if report.count(s))
            or report.error))
        dialog = PushResultDialog(report, parent)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _push_crashed(self, message: str, name: str, parent: QWidget) -> None:
        if not shiboken6.isValid(parent):
            parent = self.window
        report = PushReport(name, "", [], self.tr("The push could not run: {0}").format(message))
        dialog = PushResultDialog(report, parent)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _message(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)
