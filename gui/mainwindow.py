"""The main window: navigation on the left, one page per section, a status bar with counts."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import __version__
from core.paths import Profile
from gui.builtin_extensions import builtin_extensions
from gui.dialogs.import_csv import ImportDialog
from gui.dialogs.settings import CustomFieldsDialog, NewsletterTypesDialog
from gui.extensions import ExtensionRegistry
from gui.integrations_page import IntegrationsPage
from gui.journal_page import JournalPage
from gui.pages.campaigns import CampaignsPage
from gui.pages.lists import MarketingListsPage
from gui.pages.records import RecordsPage
from gui.store_watch import StoreWatcher
from gui.sync_bridge import SyncBridge
from gui.widgets import EmptyState, std_icon
from gui.workers import wait_for_jobs


class MainWindow(QMainWindow):
    """The window of one profile (its database is already open)."""

    def __init__(self, profile: Profile, parent: QWidget | None = None,
                 extensions: ExtensionRegistry | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        #: what each connector adds to the window (``gui.extensions``), registered here
        self.extensions = extensions if extensions is not None else builtin_extensions()
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("ListBridge — demo profile") if profile.demo
                            else self.tr("ListBridge"))
        self.resize(1280, 800)
        self.pages: dict[str, QWidget] = {}

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        if profile.demo:
            self.demo_banner = QLabel(self.tr(
                "Demo profile — sample data on built-in emulators; changes are thrown away"))
            self.demo_banner.setObjectName("demoBanner")
            self.demo_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            outer.addWidget(self.demo_banner)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setIconSize(QSize(20, 20))
        self.navigation.setFixedWidth(200)
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        body.addWidget(self.navigation)
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

        self._build_pages()
        self._build_actions()
        self.count_label = QLabel()
        self.count_label.setObjectName("countLabel")
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().setObjectName("statusBar")
        for extension in self.extensions:
            extension.attach(self)  # Dotmailer's list actions, Push to INES, the INES journal

        self.watcher = StoreWatcher(self)
        self.watcher.changed.connect(self._store_changed)
        self.navigation.currentRowChanged.connect(self._navigate)
        self.navigation.setCurrentRow(0)
        self.sync_bridge.start()

    # -- pages ---------------------------------------------------------------------------------

    def _build_pages(self) -> None:
        self.contacts = RecordsPage("contact")
        self.leads = RecordsPage("lead")
        self.companies = RecordsPage("company")
        self.lists = MarketingListsPage()
        self.campaigns = CampaignsPage()
        # Syncs run in the background while the window is open (started below, stopped on close).
        self.sync_bridge = SyncBridge(self)
        self.integrations = IntegrationsPage(self.sync_bridge, extensions=self.extensions)
        self.journal = JournalPage(self.sync_bridge)
        self.integrations.journal_requested.connect(self.show_journal_of)
        self.journal.integrations_requested.connect(lambda: self.show_page("integrations"))
        sections = [
            ("contacts", self.tr("Contacts"), "SP_DirHomeIcon", self.contacts),
            ("leads", self.tr("Leads"), "SP_FileDialogStart", self.leads),
            ("companies", self.tr("Companies"), "SP_ComputerIcon", self.companies),
            ("lists", self.tr("Marketing Lists"), "SP_FileDialogListView", self.lists),
            ("campaigns", self.tr("Campaigns"), "SP_FileDialogInfoView", self.campaigns),
            ("integrations", self.tr("Integrations"), "SP_DriveNetIcon", self.integrations),
            ("journal", self.tr("Journal"), "SP_FileDialogDetailedView", self.journal),
        ]
        for extension in self.extensions:  # a connector's own pages (Email Campaigns)
            for extra in extension.pages(self):
                keys = [section[0] for section in sections]
                at = keys.index(extra.after) + 1 if extra.after in keys else len(sections)
                sections.insert(at, (extra.key, extra.title, extra.icon, extra.widget))
        for key, title, icon, page in sections:
            item = QListWidgetItem(std_icon(icon), title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setSizeHint(QSize(180, 36))
            self.navigation.addItem(item)
            self.stack.addWidget(page)
            self.pages[key] = page
            for signal_name, slot in (("message", self._message),
                                      ("status_changed", self._update_status)):
                signal = getattr(page, signal_name, None)
                if signal is not None:
                    signal.connect(slot)
        for page in (self.contacts, self.leads, self.companies):
            page.import_requested.connect(self.open_import)
        self.lists.import_requested.connect(self.open_import)

    def _empty_page(self, object_name: str, title: str, sentence: str) -> EmptyState:
        page = EmptyState(title, sentence)
        page.setObjectName(object_name)
        return page

    def show_page(self, key: str) -> None:
        self.navigation.setCurrentRow(list(self.pages).index(key))

    def show_journal_of(self, integration_id: int) -> None:
        self.show_page("journal")
        self.journal.show_integration(integration_id)

    def current_key(self) -> str:
        item = self.navigation.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item else "contacts"

    def _navigate(self, row: int) -> None:
        page = self.stack.widget(row)
        self.stack.setCurrentWidget(page)
        if hasattr(page, "activate"):
            page.activate()
        self._update_actions()
        self._update_status()

    def current_table(self) -> Any:
        """The table page the shortcuts act on, or None (the empty-state pages)."""
        page = self.stack.currentWidget()
        if hasattr(page, "current"):
            return page.current()
        return page if hasattr(page, "new_record") else None

    # -- actions and menus ---------------------------------------------------------------------

    def _action(self, text: str, name: str, shortcut: Any = None, slot: Any = None,
                icon: str | None = None) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon:
            action.setIcon(std_icon(icon))
        if slot is not None:
            action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        call = self._call_table
        self.new_action = self._action(self.tr("&New…"), "actionNew", QKeySequence.StandardKey.New,
                                       lambda: call("new_record"))
        self.edit_action = self._action(self.tr("&Edit…"), "actionEdit", "Ctrl+E",
                                        lambda: call("edit_selected"))
        self.delete_action = self._action(self.tr("&Delete"), "actionDelete",
                                          QKeySequence.StandardKey.Delete,
                                          lambda: call("delete_selected"))
        self.find_action = self._action(self.tr("&Find"), "actionFind",
                                        QKeySequence.StandardKey.Find,
                                        lambda: call("focus_search"))
        self.import_action = self._action(self.tr("&Import CSV…"), "actionImport", "Ctrl+I",
                                          lambda: self.open_import(self._import_entity()))
        self.export_action = self._action(self.tr("E&xport CSV…"), "actionExport",
                                          "Ctrl+Shift+E",
                                          lambda: call("choose_export_file"))
        self.quit_action = self._action(self.tr("&Quit"), "actionQuit",
                                        QKeySequence.StandardKey.Quit, self.close)
        self.fields_action = self._action(self.tr("&Custom fields…"), "actionCustomFields",
                                          slot=self.open_custom_fields)
        self.types_action = self._action(self.tr("&Newsletter types…"), "actionNewsletterTypes",
                                         slot=self.open_newsletter_types)
        self.about_action = self._action(self.tr("&About ListBridge"), "actionAbout",
                                         slot=self.show_about)
        menus = self.menuBar()
        file_menu = menus.addMenu(self.tr("&File"))
        file_menu.addActions([self.import_action, self.export_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menus.addMenu(self.tr("&Edit"))
        edit_menu.addActions([self.new_action, self.edit_action, self.delete_action])
        edit_menu.addSeparator()
        edit_menu.addAction(self.find_action)
        store_menu = menus.addMenu(self.tr("&Store"))
        store_menu.addActions([self.fields_action, self.types_action])
        help_menu = menus.addMenu(self.tr("&Help"))
        help_menu.addAction(self.about_action)

    def _call_table(self, method: str) -> None:
        table = self.current_table()
        if table is not None:
            getattr(table, method)()

    def _update_actions(self) -> None:
        table = self.current_table()
        for action in (self.new_action, self.edit_action, self.delete_action, self.find_action,
                       self.export_action):
            action.setEnabled(table is not None)

    def _import_entity(self) -> str:
        return {"leads": "lead", "companies": "company"}.get(self.current_key(), "contact")

    # -- dialogs -------------------------------------------------------------------------------

    def open_import(self, entity: str = "contact", list_id: int = 0) -> ImportDialog:
        dialog = ImportDialog(entity, parent=self, list_id=list_id or None)
        dialog.imported.connect(self._imported)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _imported(self, entity: str) -> None:
        self._store_changed(entity)
        self.lists.mark_stale()

    def open_custom_fields(self) -> CustomFieldsDialog:
        dialog = CustomFieldsDialog(self, self._import_entity())
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def open_newsletter_types(self) -> NewsletterTypesDialog:
        dialog = NewsletterTypesDialog(self)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, self.tr("About ListBridge"), self.tr(
            "<b>ListBridge {version}</b><p>Your marketing store, connected to Dotmailer, "
            "CleverReach and INES CRM.</p><p>Profile: {root}</p>").format(
                version=__version__, root=self.profile.root))

    # -- status --------------------------------------------------------------------------------

    def _store_changed(self, entity: str) -> None:
        page = {"contact": self.contacts, "lead": self.leads, "company": self.companies}.get(entity)
        if page is not None:
            page.mark_stale()

    def _message(self, text: str) -> None:
        self.statusBar().showMessage(text, 6000)

    def _update_status(self) -> None:
        page = self.stack.currentWidget()
        text = page.status_text() if hasattr(page, "status_text") else ""
        self.count_label.setText(text)

    def closeEvent(self, event: QCloseEvent) -> None:
        for extension in self.extensions:
            extension.detach(self)
        self.sync_bridge.stop()  # cancels the runs under way and waits for them
        self.watcher.stop()
        wait_for_jobs()
        super().closeEvent(event)
