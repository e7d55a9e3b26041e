""""Push to INES" on contacts and on marketing lists of contacts (ines.md §3.12).

``push_now`` runs on a worker thread through ``connectors.ines.connector.push`` / ``push_list``
(the keyring, the integration's lock, the create or update, the journal row and the contact's
history). When the push cannot even start (no keyring, the integration busy past the wait), the
connector still writes a history line on each contact, and the report says why: no push fails
silently (D5). ``PushResultDialog`` shows the outcome of one
contact, or the summary of several, with the reason of every ignored or failed one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from connectors.ines.mapping import PUSH_LEAD, features
from core.models.store import Contact, MarketingList
from core.models.sync import Integration
from gui.history_dialog import HistoryDialog
from gui.rowmodel import (
    ERROR_COLOUR,
    MUTED_COLOUR,
    SUCCESS_COLOUR,
    RowColumn,
    RowTable,
    RowTableModel,
)
from gui.widgets import detail_label

TYPE_NAME = "ines"
CREATED, UPDATED, UNCHANGED, IGNORED, FAILED = "created", "updated", "unchanged", "ignored", "failed"
STATUSES = (CREATED, UPDATED, UNCHANGED, IGNORED, FAILED)


def tr(text: str) -> str:
    return QCoreApplication.translate("InesPush", text)


def status_labels() -> dict[str, str]:
    return {CREATED: tr("Created"), UPDATED: tr("Updated"), UNCHANGED: tr("Unchanged"),
            IGNORED: tr("Ignored"), FAILED: tr("Failed")}


# -- on worker threads ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PushTarget:
    """An INES integration contacts can be pushed to: published, with push switched on."""

    integration_id: int
    name: str


def pushable_integrations() -> list[PushTarget]:
    query = Integration.select().where(Integration.type == TYPE_NAME,
                                       Integration.active == True)  # noqa: E712
    return [PushTarget(i.id, i.name) for i in query.order_by(Integration.name)
            if features(i)[PUSH_LEAD]]


@dataclass(frozen=True)
class PushLine:
    contact_id: int | None
    email: str
    company: str
    status: str
    message: str
    contact_ref: int | None = None
    client_ref: int | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushReport:
    integration_name: str
    what: str  # "" for contacts, else the list's name
    lines: list[PushLine] = field(default_factory=list)
    error: str = ""  # the push could not start at all

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)


def push_now(integration_id: int, contact_ids: list[int], list_id: int | None = None
             ) -> PushReport:
    """Push the contacts (or the list's contacts) to one INES integration now."""
    from connectors.ines.connector import list_contacts, not_started_message, push, push_list

    integration = Integration.get_by_id(integration_id)
    mlist = MarketingList.get_by_id(list_id) if list_id is not None else None
    try:
        if mlist is not None:
            summary = push_list(integration, mlist)
        else:
            summary = push(integration, contact_ids)
    except Exception as exc:  # nothing was sent; the connector said so on each contact (D5)
        message = not_started_message(exc)
        ids = list_contacts(mlist) if mlist is not None else contact_ids
        return PushReport(integration.name, mlist.name if mlist else "",
                          [PushLine(c.id, c.email or "", "", FAILED, message)
                           for c in Contact.select().where(Contact.id.in_(ids))], message)
    lines = [PushLine(o.contact_id, o.email, o.company, o.status, o.message, o.contact_ref,
                      o.client_ref, tuple(o.warnings)) for o in summary.outcomes]
    return PushReport(integration.name, mlist.name if mlist else "", lines)


# -- the outcome ---------------------------------------------------------------------------------------

def status_colour(line: PushLine) -> QColor | None:
    return {FAILED: ERROR_COLOUR, IGNORED: MUTED_COLOUR, CREATED: SUCCESS_COLOUR,
            UPDATED: SUCCESS_COLOUR}.get(line.status)


def detail_text(line: PushLine) -> str:
    text = line.message
    if line.warnings:
        text += " — " + " ".join(line.warnings)
    return text


def line_columns() -> list[RowColumn]:
    labels = status_labels()
    return [
        RowColumn(tr("Outcome"), lambda r: labels.get(r.status, r.status), 90,
                  colour=status_colour),
        RowColumn(tr("Email"), lambda r: r.email, 220),
        RowColumn(tr("Company"), lambda r: r.company, 150),
        RowColumn(tr("Details"), detail_text, 420, colour=status_colour),
    ]


def summary_text(report: PushReport) -> str:
    labels = status_labels()
    parts = [f"{report.count(s)} {labels[s].lower()}" for s in STATUSES if report.count(s)]
    return ", ".join(parts) if parts else tr("no contact to push")


class PushResultDialog(QDialog):
    """What a push did: one contact's outcome with its reason, or a list's summary."""

    def __init__(self, report: PushReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inesPushResult")
        self.report = report
        single = len(report.lines) == 1 and not report.what
        self.setWindowTitle(self.tr("Push to INES — {0}").format(report.integration_name))
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        self.heading = QLabel()
        self.heading.setObjectName("pushHeading")
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        self.detail = detail_label("pushDetail")
        layout.addWidget(self.detail)
        self.model = RowTableModel(line_columns(), self, row_id=lambda r: r.contact_id or 0)
        self.table = RowTable(self.model, "pushLines")
        self.table.doubleClicked.connect(lambda _i: self.show_history())
        layout.addWidget(self.table, 1)
        self.line_detail = detail_label("pushLineDetail")
        layout.addWidget(self.line_detail)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setObjectName("closeButton")
        self.history_button = QPushButton(self.tr("History…"))
        self.history_button.setObjectName("pushHistoryButton")
        self.history_button.setToolTip(self.tr("Everything that happened to this contact, this "
                                               "push included"))
        self.history_button.clicked.connect(self.show_history)
        buttons.addButton(self.history_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if single:
            self._show_one(report.lines[0])
            self.table.hide()
            self.line_detail.hide()
            layout.addStretch(0)
            self.setMinimumWidth(560)
            self.resize(620, self.sizeHint().height())
        else:
            self._show_summary(report)
            self.table.selectionModel().selectionChanged.connect(self._selection_changed)
            if report.lines:
                self.table.selectRow(0)
            self._selection_changed()
            rows = min(len(report.lines), 14)
            self.resize(960, 230 + 26 * max(rows, 3))

    def _show_one(self, line: PushLine) -> None:
        label = status_labels().get(line.status, line.status)
        colour = {FAILED: "#b3261e", IGNORED: "#5f6368"}.get(line.status, "#1e7b34")
        who = line.email or self.tr("the contact")
        self.heading.setText(f"<span style='font-size:15px; font-weight:600; color:{colour}'>"
                             f"{label}</span> — {who}")
        text = line.message
        if line.status in (CREATED, UPDATED, UNCHANGED) and line.contact_ref and (
                str(line.contact_ref) not in text):
            text += "\n" + self.tr("INES contact {0}, client {1}.").format(line.contact_ref,
                                                                             line.client_ref)
        if line.warnings:
            text += "\n" + "\n".join(line.warnings)
        if line.status == FAILED:
            text += "\n\n" + self.tr("Nothing was lost: the failure is in the contact's history "
                                     "and in the INES journal, and the contact stays queued.")
        self.detail.setText(text)
        self.model.set_rows(self.report.lines)
        self.table.selectRow(0)

    def _show_summary(self, report: PushReport) -> None:
        title = (self.tr("List “{0}” pushed to INES").format(report.what) if report.what
                 else self.tr("{0} contacts pushed to INES").format(len(report.lines)))
        self.heading.setText(f"<span style='font-size:15px; font-weight:600'>{title}</span>")
        text = summary_text(report) + "."
        if report.error:
            text = self.tr("Nothing was sent: {0}").format(report.error)
        elif report.count(FAILED) or report.count(IGNORED):
            text += " " + self.tr("The reasons are below and in each contact's history.")
        self.detail.setText(text)
        order = {FAILED: 0, IGNORED: 1}
        self.model.set_rows(sorted(report.lines, key=lambda r: order.get(r.status, 2)))

    def _selection_changed(self, *_: object) -> None:
        row = self.table.current_row()
        self.history_button.setEnabled(row is not None and row.contact_id is not None)
        if row is not None:
            label = status_labels().get(row.status, row.status)
            self.line_detail.setText(f"{label} — {row.email or '—'}: {detail_text(row)}")
        else:
            self.line_detail.setText("")

    def show_history(self) -> HistoryDialog | None:
        row = self.table.current_row()
        if row is None or row.contact_id is None:
            return None
        dialog = HistoryDialog("contact", row.contact_id, self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog
