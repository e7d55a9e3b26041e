"""Email Campaigns: the campaigns imported from Dotmailer, their statistics and who did what.

The table lists every campaign a sync imported (name, subject, status, date sent, integration,
connected lists). The selected campaign shows its summary (sent, delivered, opens, unique opens,
clicks, unsubscribes, hard and soft bounces, with percentages), a bar chart of opens, clicks,
unsubscribes and bounces, and each contact's activity. Everything is read on a worker thread and
read again when a sync finishes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.dotmailer import jobs
from gui.dotmailer.chart import Bar, BarChart
from gui.rowmodel import MUTED_COLOUR, WARNING_COLOUR, RowColumn, RowTable, RowTableModel
from gui.sync_bridge import SyncBridge
from gui.tablemodel import local_time
from gui.widgets import EmptyState, button, combo_select_data
from gui.workers import start_job

OPEN_COLOUR = "#2f6fd6"
CLICK_COLOUR = "#2e7d32"
UNSUBSCRIBE_COLOUR = "#8a5a00"
BOUNCE_COLOUR = "#b3261e"
SOFT_BOUNCE_COLOUR = "#e07b6f"


def tr(text: str) -> str:
    return QCoreApplication.translate("EmailCampaignsPage", text)


def yes_no(value: bool) -> str:
    return tr("Yes") if value else ""


def bounce_text(line: jobs.ActivityLine) -> str:
    if line.hard_bounced:
        return tr("Hard")
    if line.soft_bounced:
        return tr("Soft")
    return ""


def status_text(row: jobs.CampaignRow) -> str:
    text = tr(row.status) if row.status else "—"
    return tr("{0} (deleted in Dotmailer)").format(text) if row.deleted else text


def campaign_columns() -> list[RowColumn]:
    return [
        RowColumn(tr("Name"), lambda r: r.name, 200),
        RowColumn(tr("Subject"), lambda r: r.subject, 210),
        RowColumn(tr("Status"), status_text, 90,
                  colour=lambda r: MUTED_COLOUR if r.deleted or r.status != "Sent" else None),
        RowColumn(tr("Date sent"), lambda r: local_time(r.date_sent) or "—", 130),
        RowColumn(tr("Integration"), lambda r: r.integration, 180),
        RowColumn(tr("Connected lists"), lambda r: r.lists or "—", 200),
    ]


def activity_columns(with_campaign: bool = False) -> list[RowColumn]:
    """Each contact's activity on a campaign; on a contact's tab, each campaign's instead."""
    first = (RowColumn(tr("Campaign"), lambda r: r.campaign, 170) if with_campaign
             else RowColumn(tr("Email"), lambda r: r.email, 230))
    columns = [
        first,
        RowColumn(tr("Opens"), lambda r: f"{r.opens:,}", 65, right=True),
        RowColumn(tr("Clicks"), lambda r: f"{r.clicks:,}", 65, right=True),
        RowColumn(tr("Page views"), lambda r: f"{r.page_views:,}", 95, right=True),
        RowColumn(tr("Unsubscribed"), lambda r: yes_no(r.unsubscribed), 110,
                  colour=lambda r: WARNING_COLOUR if r.unsubscribed else None),
        RowColumn(tr("Bounced"), bounce_text, 80,
                  colour=lambda r: WARNING_COLOUR if r.hard_bounced or r.soft_bounced else None),
        RowColumn(tr("Date sent"), lambda r: local_time(r.date_sent), 130),
        RowColumn(tr("First opened"), lambda r: local_time(r.first_opened), 130),
        RowColumn(tr("Last opened"), lambda r: local_time(r.last_opened), 130),
    ]
    if with_campaign:
        columns.append(RowColumn(tr("Integration"), lambda r: r.integration, 160))
    return columns


def percent(value: float) -> str:
    return f"{value:.1f} %"


class StatsGrid(QFrame):
    """The summary's numbers, two pairs a row; each value label is called ``stat_<key>``."""

    ROWS = (
        (("sent", "Sent"), ("delivered", "Delivered")),
        (("opens", "Opens"), ("unique_opens", "Unique opens")),
        (("clicks", "Clicks"), ("clickers", "Contacts who clicked")),
        (("unsubscribes", "Unsubscribes"), ("page_views", "Page views")),
        (("hard_bounces", "Hard bounces"), ("soft_bounces", "Soft bounces")),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("campaignStats")
        self.setStyleSheet("#campaignStats { background: white; border: 1px solid #d5d8de; "
                           "border-radius: 3px; } "
                           "QLabel[stat=\"true\"] { font-size: 13pt; font-weight: bold; "
                           "color: #1f2430; }")
        grid = QGridLayout(self)
        grid.setContentsMargins(14, 10, 14, 10)
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(6)
        self.values: dict[str, QLabel] = {}
        for number, pairs in enumerate(self.ROWS):
            for side, (key, title) in enumerate(pairs):
                name = QLabel(tr(title))
                name.setStyleSheet("color: #5b6270;")
                value = QLabel("—")
                value.setObjectName(f"stat_{key}")
                value.setProperty("stat", True)
                value.setTextFormat(Qt.TextFormat.RichText)
                grid.addWidget(name, number, side * 2)
                grid.addWidget(value, number, side * 2 + 1)
                self.values[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        self.note = QLabel()
        self.note.setObjectName("statsNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #5b6270;")
        grid.addWidget(self.note, len(self.ROWS), 0, 1, 4)

    def show_stats(self, stats: jobs.Stats | None) -> None:
        if stats is None:
            for label in self.values.values():
                label.setText("—")
            self.note.setText(tr("No statistics yet: Dotmailer reports them for sent campaigns, "
                                 "and the next sync reads them."))
            return
        shares = {"delivered": stats.pct_delivered, "unique_opens": stats.pct_unique_opens,
                  "clickers": stats.pct_clicked, "unsubscribes": stats.pct_unsubscribes,
                  "hard_bounces": stats.pct_hard_bounces,
                  "soft_bounces": stats.pct_soft_bounces}
        for key, label in self.values.items():
            text = f"{getattr(stats, key):,}"
            if key in shares:
                text += (f" <span style='font-size:10pt; font-weight:normal; color:#5b6270'>"
                         f"{percent(shares[key])}</span>")
            label.setText(text)
        self.note.setText(tr("Statistics read from Dotmailer on {0}.").format(
            local_time(stats.fetched_at)) if stats.fetched_at else "")

    def value(self, key: str) -> str:
        """The number shown for ``key`` (for tests and screen readers): plain text."""
        text = self.values[key].text()
        return text.split(" <span")[0]


class EmailCampaignsPage(QWidget):
    """The Email Campaigns section of the window."""

    status_changed = Signal()
    message = Signal(str)

    def __init__(self, bridge: SyncBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emailCampaignsPage")
        self.bridge = bridge
        self.campaigns_model = RowTableModel(campaign_columns(), self)
        self.activity_model = RowTableModel(activity_columns(), self)
        self._generation = 0
        self._loading = False
        self._again = False
        self._loaded = False
        self._detail_for: int | None = None
        self._detail_loaded: int | None = None
        self._integrations: tuple[jobs.Choice, ...] = ()
        self._lists: tuple[jobs.Choice, ...] = ()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        title = QLabel(self.tr("Email Campaigns"))
        title.setObjectName("pageTitle")
        layout.addWidget(title)
        layout.addLayout(self._build_filters())
        self.empty = EmptyState(
            self.tr("No email campaigns yet"),
            self.tr("Campaign statistics appear after a campaign is sent to a connected address "
                    "book and the next sync runs."))
        self.empty.setObjectName("emailCampaignsEmpty")
        self.stack = QStackedWidget()
        self.stack.setObjectName("emailCampaignsStack")
        self.stack.addWidget(self._build_content())
        self.stack.addWidget(self.empty)
        self.stack.setCurrentWidget(self.empty)
        layout.addWidget(self.stack, 1)

        self._soon_timer = QTimer(self)
        self._soon_timer.setSingleShot(True)
        self._soon_timer.setInterval(200)
        self._soon_timer.timeout.connect(self.reload)
        bridge.finished.connect(lambda *_: self._soon_timer.start())

    # -- building ------------------------------------------------------------------------------

    def _build_filters(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.integration_filter = QComboBox()
        self.integration_filter.setObjectName("campaignIntegrationFilter")
        self.integration_filter.addItem(self.tr("All integrations"), None)
        self.integration_filter.setMinimumWidth(180)
        self.list_filter = QComboBox()
        self.list_filter.setObjectName("campaignListFilter")
        self.list_filter.addItem(self.tr("All lists"), None)
        self.list_filter.setMinimumWidth(180)
        self.integration_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.list_filter.currentIndexChanged.connect(lambda _i: self.reload())
        self.refresh_button = button(self.tr("Refresh"), "refreshCampaignsButton",
                                     "SP_BrowserReload",
                                     self.tr("Read the campaigns the last sync imported"))
        self.refresh_button.clicked.connect(self.reload)
        bar.addWidget(QLabel(self.tr("Integration:")))
        bar.addWidget(self.integration_filter)
        bar.addSpacing(8)
        bar.addWidget(QLabel(self.tr("List:")))
        bar.addWidget(self.list_filter)
        bar.addSpacing(8)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setObjectName("campaignCount")
        self.count_label.setStyleSheet("color: #5b6270;")
        bar.addWidget(self.count_label)
        return bar

    def _build_content(self) -> QWidget:
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("emailCampaignsContent")
        splitter.setChildrenCollapsible(False)
        self.table = RowTable(self.campaigns_model, "emailCampaignsTable")
        self.table.setMinimumHeight(110)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selected())
        splitter.addWidget(self.table)

        detail = QWidget()
        detail.setObjectName("campaignDetail")
        column = QVBoxLayout(detail)
        column.setContentsMargins(0, 6, 0, 0)
        column.setSpacing(6)
        self.detail_title = QLabel()
        self.detail_title.setObjectName("campaignTitle")
        self.detail_title.setStyleSheet("font-size: 12pt; font-weight: bold; color: #1f2430;")
        column.addWidget(self.detail_title)
        numbers = QHBoxLayout()
        numbers.setSpacing(10)
        self.stats = StatsGrid()
        self.chart = BarChart(self.tr("Opens, clicks, unsubscribes and bounces"))
        self.chart.setObjectName("campaignChart")
        numbers.addWidget(self.stats, 1)
        numbers.addWidget(self.chart, 1)
        column.addLayout(numbers)
        self.activity_title = QLabel()
        self.activity_title.setObjectName("activityTitle")
        self.activity_title.setStyleSheet("font-weight: bold; color: #1f2430;")
        column.addWidget(self.activity_title)
        self.activity_table = RowTable(self.activity_model, "campaignActivityTable")
        self.activity_table.setMinimumHeight(120)
        column.addWidget(self.activity_table, 1)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        return splitter

    # -- loading -------------------------------------------------------------------------------

    def reload(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        self._generation += 1
        start_job(jobs.load_campaigns, self._generation, self.integration_filter.currentData(),
                  self.list_filter.currentData(), on_done=self._data_in,
                  on_failed=self._load_failed)

    def _data_in(self, data: jobs.CampaignsData) -> None:
        self._loading = False
        if data.generation == self._generation:
            self._fill(self.integration_filter, data.integrations, "_integrations")
            self._fill(self.list_filter, data.lists, "_lists")
            self.table.set_rows_keeping_selection(list(data.rows))
            if self.table.current_id() is None and data.rows:
                self.table.selectRow(0)
            filtered = (self.integration_filter.currentData() is not None
                        or self.list_filter.currentData() is not None)
            self.stack.setCurrentIndex(0 if data.rows or filtered else 1)
            self.count_label.setText(self.tr("{0} campaigns").format(len(data.rows)))
            self._loaded = True
            self._detail_loaded = None  # a sync may have changed the numbers: read them again
            self._selected()
            self.status_changed.emit()
        if self._again:
            self._again = False
            self.reload()

    def _fill(self, combo: QComboBox, choices: tuple[jobs.Choice, ...], attr: str) -> None:
        if choices == getattr(self, attr):
            return
        setattr(self, attr, choices)
        current = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for choice in choices:
            combo.addItem(choice.name, choice.id)
        combo_select_data(combo, current)
        combo.blockSignals(False)

    def _load_failed(self, message: str, _trace: str) -> None:
        self._loading = False
        self.message.emit(self.tr("Could not read the email campaigns: {0}").format(message))

    def _selected(self) -> None:
        row = self.table.current_row()
        if row is None:
            self._detail_for = None
            self.detail_title.setText(self.tr("Choose a campaign to see its statistics."))
            self.stats.show_stats(None)
            self.chart.set_bars([], self.tr("No campaign chosen"))
            self.activity_model.set_rows([])
            self.activity_title.setText("")
            return
        if row.id == self._detail_loaded:
            return
        self._detail_for = row.id
        self.detail_title.setText(f"{row.name} — {row.subject}" if row.subject
                                  and row.subject != row.name else row.name)
        start_job(jobs.load_campaign_detail, row.id, on_done=self._detail_in,
                  on_failed=self._load_failed)

    def _detail_in(self, detail: jobs.CampaignDetail) -> None:
        if detail.campaign_id != self._detail_for:
            return
        self._detail_loaded = detail.campaign_id
        self.stats.show_stats(detail.stats)
        stats = detail.stats
        if stats is None:
            self.chart.set_bars([], self.tr("No statistics yet"))
        else:
            self.chart.set_bars([
                Bar(self.tr("Opens"), stats.opens, OPEN_COLOUR),
                Bar(self.tr("Unique opens"), stats.unique_opens, OPEN_COLOUR,
                    percent(stats.pct_unique_opens)),
                Bar(self.tr("Clicks"), stats.clicks, CLICK_COLOUR),
                Bar(self.tr("Unsubscribes"), stats.unsubscribes, UNSUBSCRIBE_COLOUR,
                    percent(stats.pct_unsubscribes)),
                Bar(self.tr("Hard bounces"), stats.hard_bounces, BOUNCE_COLOUR,
                    percent(stats.pct_hard_bounces)),
                Bar(self.tr("Soft bounces"), stats.soft_bounces, SOFT_BOUNCE_COLOUR,
                    percent(stats.pct_soft_bounces)),
            ], self.tr("Nothing opened or clicked yet"))
        self.activity_model.set_rows(list(detail.activities))
        shown = len(detail.activities)
        if detail.total_activities > shown:
            text = self.tr("Contact activity ({0} of {1}, most opens first)").format(
                f"{shown:,}", f"{detail.total_activities:,}")
        else:
            text = self.tr("Contact activity ({0})").format(f"{shown:,}")
        self.activity_title.setText(text)

    # -- the window's interface ----------------------------------------------------------------

    def has_loaded(self) -> bool:
        return self._loaded and not self._loading

    def detail_loaded(self) -> bool:
        row = self.table.current_row()
        return row is not None and self._detail_loaded == row.id

    def activate(self) -> None:
        if not self._loading:
            self.reload()

    def show_list(self, list_id: int) -> None:
        """Only the campaigns sent to this list's address book."""
        if self.list_filter.findData(list_id) < 0:
            self.list_filter.addItem("…", list_id)
        combo_select_data(self.list_filter, list_id)

    def status_text(self) -> str:
        return self.tr("Email campaigns: {0}").format(self.campaigns_model.rowCount())

    def select_campaign(self, name: str) -> bool:
        for number in range(self.campaigns_model.rowCount()):
            row: Any = self.campaigns_model.row(number)
            if row.name == name:
                return self.table.select_id(row.id)
        return False
