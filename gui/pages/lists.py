"""Marketing lists: the overview of every list, and one list's page with its members."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.exporter import export_list_members
from core.lists import Recomputed, add_members, parse_filter, recompute
from core.lists import remove_members as remove_list_members
from core.models.store import MEMBER_STATES, MarketingList
from gui.dialogs.marketing_list import MarketingListDialog
from gui.dialogs.picker import RecordPicker
from gui.filter_editor import describe
from gui.pages.table_page import TablePage
from gui.sources import MarketingListSource, MemberSource, entity_labels
from gui.widgets import ActionRow, button, std_icon
from gui.workers import start_job

_recomputing: set[int] = set()  # lists being recomputed: one recompute per list at a time


def _recompute(list_id: int) -> tuple[int, Recomputed]:
    return list_id, recompute(MarketingList.get_by_id(list_id))


def _add(list_id: int, ids: list[int]) -> int:
    return add_members(MarketingList.get_by_id(list_id), ids)


def _remove(list_id: int, record_ids: list[int]) -> int:
    return remove_list_members(MarketingList.get_by_id(list_id), record_ids)


def _export_members(path: str, source: MemberSource, search: str = "") -> int:
    """Every field and the membership of the members shown: with a search, those it matches."""
    shown = ({row["record_id"] for row in source.filtered(search).dicts()}
             if search.strip() else None)
    return export_list_members(path, MarketingList.get_by_id(source.list_id),
                               states=source.states or MEMBER_STATES, record_ids=shown)


def _delete_lists(ids: list[int]) -> int:
    return MarketingList.delete().where(MarketingList.id.in_(ids)).execute()


def recompute_text(result: Recomputed) -> str:
    return QCoreApplication.translate("MarketingListPage", "{0} joined, {1} left").format(
        len(result.joined), len(result.left))


class ListsOverview(TablePage):
    """Every marketing list; opening one shows its members."""

    open_requested = Signal(int)
    list_saved = Signal(int, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        t = lambda text: QCoreApplication.translate("ListsOverview", text)  # noqa: E731
        super().__init__(MarketingListSource(), t("Marketing lists"),
                         t("Search lists by name or description"), t("No marketing lists yet"),
                         t("A marketing list gathers the contacts, leads or companies you "
                           "send one kind of email to: static (you choose the members) or "
                           "dynamic (a filter chooses them)."), parent)
        self.setObjectName("listsOverview")
        self.noun = self.tr("Marketing lists")
        self.count_words = (self.tr("{0} marketing list"), self.tr("{0} marketing lists"))
        self.new_button.setText(self.tr("New list"))
        self.open_button = button(self.tr("Open"), "openListButton", "SP_DirOpenIcon",
                                  self.tr("Show the members of the selected list"))
        self.action_bar.insertWidget(0, self.open_button)
        self.open_button.clicked.connect(self._open_selected)
        self.empty.add_button(self.tr("New list"), "emptyNewButton", primary=True).clicked.connect(
            self.new_record)

    def _selection_changed(self, *_: Any) -> None:
        super()._selection_changed()
        if hasattr(self, "open_button"):
            self.open_button.setEnabled(len(self.table.selected_ids()) == 1)

    def open_selected(self) -> None:
        self._open_selected()

    def _open_selected(self) -> None:
        list_id = self.table.current_id()
        if list_id is not None:
            self.open_requested.emit(list_id)

    def new_record(self) -> None:
        self._open_dialog(None)

    def edit_record(self, record_id: int) -> None:
        self._open_dialog(record_id)

    def _open_dialog(self, list_id: int | None) -> MarketingListDialog:
        dialog = MarketingListDialog(list_id, parent=self.window())
        dialog.saved.connect(self._saved)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def _saved(self, list_id: int, filter_changed: bool) -> None:
        self.reload(select_id=list_id)
        self.list_saved.emit(list_id, filter_changed)

    def describe_for_delete(self, ids: list[int]) -> str:
        if len(ids) == 1:
            return self.tr("Delete the selected marketing list? Its members stay in the store.")
        return self.tr("Delete the {0} selected marketing lists? Their members stay in the "
                       "store.").format(len(ids))

    def delete_records(self, ids: list[int]) -> None:
        start_job(_delete_lists, ids, on_done=lambda _n: self.reload())


class MembersTable(TablePage):
    """The members of one list; its actions are the list page's (add, remove, edit the list)."""

    def __init__(self, list_page: MarketingListPage, mlist: MarketingList) -> None:
        dynamic = mlist.list_type == "dynamic"
        t = lambda text: QCoreApplication.translate("MembersTable", text)  # noqa: E731
        super().__init__(
            MemberSource(mlist.id, mlist.entity), "", t("Search members by email or name"),
            t("No members yet"),
            t("This dynamic list has no members yet: press Recompute to fill it from its "
              "filter, or edit the filter.") if dynamic else
            t("Add members from your records, or import a CSV file into this list."))
        self.list_page = list_page
        self.list_name = mlist.name
        self.setObjectName("membersPage")
        self.noun = self.tr("Members")
        self.count_words = (self.tr("{0} member"), self.tr("{0} members"))
        self.title_label.hide()
        self.layout().setContentsMargins(0, 4, 0, 0)
        self.table.setObjectName("memberTable")
        self.new_button.setText(self.tr("Add members…"))
        self.new_button.setObjectName("addMembersButton")
        self.new_button.setToolTip(self.tr("Choose records to add to this list (Ctrl+N)"))
        self.new_button.setVisible(not dynamic)
        self.edit_button.hide()
        self.delete_button.setText(self.tr("Remove"))
        self.delete_button.setObjectName("removeMembersButton")
        self.delete_button.setToolTip(self.tr("Remove the selected members from this list (Del)"))
        # A dynamic list's members are what its filter says: removing by hand would not last.
        self.delete_button.setVisible(not dynamic)
        self.dynamic = dynamic

    def new_record(self) -> None:
        self.list_page.add_members()

    def edit_selected(self) -> None:
        """A member is a record: open the record's own dialog."""
        row = self.model.row_of_id(self.table.current_id() or 0)
        if row >= 0:
            self.list_page.edit_member(self.model.row(row)["record_id"])

    def delete_selected(self) -> None:
        if not self.dynamic:
            super().delete_selected()

    def describe_for_delete(self, ids: list[int]) -> str:
        return self.tr("Remove {0} member(s) from this list? They stay in the store and are "
                       "marked removed, so connected services hear of it.").format(len(ids))

    def delete_records(self, ids: list[int]) -> None:
        self.list_page.remove_members(ids)

    def export_file_name(self) -> str:
        return f"{self.list_name}.csv"

    def export_job(self, path: str) -> tuple[Callable[..., int], tuple[Any, ...]]:
        """The members with every field and their membership (``core.exporter``); with a search
        active, only the members it matches."""
        source = self.model.source
        assert isinstance(source, MemberSource)
        return _export_members, (path, source, self.model.search)


class MarketingListPage(QWidget):
    """One list: its members and their states, adding, removing, recomputing."""

    back_requested = Signal()
    message = Signal(str)
    status_changed = Signal()
    edited = Signal(int)
    import_requested = Signal(str, int)  # entity, list id
    #: a list is shown; its ``integration_actions`` layout (objectName "listIntegrationActions",
    #: on a row of its own above the list's actions) is new and empty, for a connected service
    #: to fill
    list_shown = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("listPage")
        self.list_id: int | None = None
        self.entity = "contact"
        self.list_type = "static"
        self.members: MembersTable | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        header = QHBoxLayout()
        self.back_button = QToolButton()
        self.back_button.setObjectName("backButton")
        self.back_button.setIcon(std_icon("SP_ArrowBack"))
        self.back_button.setText(self.tr("All lists"))
        self.back_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.back_button.clicked.connect(self.back_requested)
        header.addWidget(self.back_button)
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        header.addWidget(self.title, 1)
        layout.addLayout(header)
        self.summary = QLabel()
        self.summary.setObjectName("listSummary")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.body = QStackedWidget()
        layout.addWidget(self.body, 1)

    # -- showing one list ----------------------------------------------------------------------

    def show_list(self, list_id: int) -> None:
        mlist = MarketingList.get_by_id(list_id)
        self.list_id, self.entity, self.list_type = mlist.id, mlist.entity, mlist.list_type
        self._show_header(mlist)
        if self.members is not None:
            self.body.removeWidget(self.members)
            self.members.deleteLater()
        self.members = self._members_page(mlist)
        self.body.addWidget(self.members)
        self.body.setCurrentWidget(self.members)
        self.members.reload()
        self.list_shown.emit(mlist.id)

    def _show_header(self, mlist: MarketingList) -> None:
        self.title.setText(mlist.name)
        kind = entity_labels().get(mlist.entity, mlist.entity)
        if mlist.list_type == "dynamic":
            text = self.tr("Dynamic list of {kind}: {rule}").format(
                kind=kind.lower(), rule=describe(mlist.entity, parse_filter(mlist.filter_json)))
        else:
            text = self.tr("Static list of {kind}").format(kind=kind.lower())
        if mlist.description:
            text += " — " + mlist.description
        self.summary.setText(text)

    def _members_page(self, mlist: MarketingList) -> MembersTable:
        dynamic = mlist.list_type == "dynamic"
        page = MembersTable(self, mlist)
        self.recompute_button = button(self.tr("Recompute"), "recomputeButton",
                                       "SP_BrowserReload",
                                       self.tr("Bring the members in line with the filter"))
        self.recompute_button.setVisible(dynamic)
        self.recompute_button.setEnabled(mlist.id not in _recomputing)
        self.recompute_button.clicked.connect(self.recompute)
        self.edit_list_button = button(self.tr("Edit list…"), "editListButton",
                                       "SP_FileDialogDetailedView",
                                       self.tr("Change the name, the type or the filter"))
        self.edit_list_button.clicked.connect(self.edit_list)
        self.import_button = button(self.tr("Import CSV…"), "importButton", "SP_DialogOpenButton",
                                    self.tr("Import records from a CSV file into this list"))
        self.import_button.setVisible(not dynamic)
        self.import_button.clicked.connect(
            lambda: self.import_requested.emit(self.entity, self.list_id or 0))
        page.extra_actions.addWidget(self.recompute_button)
        page.extra_actions.addWidget(self.import_button)
        page.extra_actions.addWidget(self.edit_list_button)
        # The services' actions ("Connect to Dotmailer", "Push list to INES", ...) get a row of
        # their own above the list's actions: one bar holding both would not fit the window.
        self.service_row = ActionRow("listServiceActions", "listIntegrationActions")
        self.integration_actions = self.service_row.slot
        page.layout().insertWidget(page.layout().indexOf(page.title_label) + 1, self.service_row)
        self.recompute_result = QLabel()
        self.recompute_result.setObjectName("recomputeResult")
        page.action_bar.insertWidget(page.action_bar.count() - 2, self.recompute_result)
        self.state_filter = QComboBox()
        self.state_filter.setObjectName("memberStateFilter")
        self.state_filter.addItem(self.tr("All states"), ())
        self.state_filter.addItem(self.tr("Subscribed"), ("subscribed",))
        self.state_filter.addItem(self.tr("Unsubscribed"), ("unsubscribed",))
        self.state_filter.addItem(self.tr("Removed"), ("removed",))
        page.action_bar.insertWidget(page.action_bar.count() - 1, self.state_filter)
        self.state_filter.currentIndexChanged.connect(self._state_filter_changed)
        if dynamic:
            page.empty.add_button(self.tr("Recompute"), "emptyRecomputeButton",
                                  primary=True).clicked.connect(self.recompute)
        else:
            page.empty.add_button(self.tr("Add members…"), "emptyAddButton",
                                  primary=True).clicked.connect(self.add_members)
            page.empty.add_button(self.tr("Import CSV…"), "emptyImportButton").clicked.connect(
                self.import_button.click)
        page.empty.add_button(self.tr("Edit list…"), "emptyEditButton").clicked.connect(
            self.edit_list)
        page.message.connect(self.message)
        page.status_changed.connect(self.status_changed)
        return page

    def _state_filter_changed(self, *_: Any) -> None:
        if self.members is not None:
            source = self.members.model.source
            assert isinstance(source, MemberSource)
            source.states = tuple(self.state_filter.currentData())
            self.members.reload()

    def status_text(self) -> str:
        return self.members.status_text() if self.members is not None else ""

    # -- actions -------------------------------------------------------------------------------

    def add_members(self) -> None:
        if self.list_id is None or self.list_type == "dynamic":
            return
        picker = RecordPicker(self.entity, self.tr("Add members to {0}").format(
            self.title.text()), parent=self.window())
        picker.picked.connect(self._picked)
        picker.finished.connect(picker.deleteLater)
        picker.open()

    def _picked(self, ids: list[int]) -> None:
        start_job(_add, self.list_id, ids, on_done=self._added)

    def _added(self, count: int) -> None:
        self.message.emit(self.tr("{0} added.").format(count))
        if self.members is not None:
            self.members.reload()
        self.edited.emit(self.list_id or 0)

    def remove_members(self, member_ids: list[int]) -> None:
        assert self.members is not None
        model = self.members.model
        record_ids = [model.row(model.row_of_id(mid))["record_id"] for mid in member_ids
                      if model.row_of_id(mid) >= 0]
        start_job(_remove, self.list_id, record_ids, on_done=self._removed)

    def _removed(self, count: int) -> None:
        self.message.emit(self.tr("{0} removed.").format(count))
        if self.members is not None:
            self.members.reload()
        self.edited.emit(self.list_id or 0)

    def recompute(self) -> None:
        if self.list_id is None or self.list_id in _recomputing:
            return
        _recomputing.add(self.list_id)
        self.recompute_button.setEnabled(False)
        self.recompute_result.setText(self.tr("Recomputing…"))
        start_job(_recompute, self.list_id, on_done=self._recomputed,
                  on_failed=self._recompute_failed)

    def _recomputed(self, result: tuple[int, Recomputed]) -> None:
        list_id, outcome = result
        _recomputing.discard(list_id)
        if list_id != self.list_id:
            return
        text = recompute_text(outcome)
        self.recompute_result.setText(text)
        self.recompute_button.setEnabled(True)
        self.message.emit(self.tr("{0}: {1}").format(self.title.text(), text))
        if self.members is not None:
            self.members.reload()
        self.edited.emit(list_id)

    def _recompute_failed(self, message: str, trace: str) -> None:
        if self.list_id is not None:
            _recomputing.discard(self.list_id)
        self.recompute_button.setEnabled(True)
        self.recompute_result.setText(self.tr("Recompute failed: {0}").format(message))

    def edit_member(self, record_id: int) -> None:
        from gui.dialogs.record import RecordDialog

        dialog = RecordDialog(self.entity, record_id, parent=self.window())
        dialog.saved.connect(lambda _id: self.members.reload() if self.members else None)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def edit_list(self) -> None:
        if self.list_id is None:
            return
        dialog = MarketingListDialog(self.list_id, parent=self.window())
        dialog.saved.connect(self._list_saved)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _list_saved(self, list_id: int, filter_changed: bool) -> None:
        self.show_list(list_id)
        self.edited.emit(list_id)
        if filter_changed:
            self.recompute()


class MarketingListsPage(QWidget):
    """The Marketing Lists section: the overview, or one list's page."""

    message = Signal(str)
    status_changed = Signal()
    import_requested = Signal(str, int)  # entity, list id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("listsPage")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack)
        self.overview = ListsOverview()
        self.list_page = MarketingListPage()
        self.stack.addWidget(self.overview)
        self.stack.addWidget(self.list_page)
        self.overview.open_requested.connect(self.open_list)
        self.overview.list_saved.connect(self._list_saved)
        self.list_page.back_requested.connect(self.show_overview)
        self.list_page.import_requested.connect(self.import_requested)
        self.list_page.edited.connect(lambda _id: self.overview.mark_stale())
        for page in (self.overview, self.list_page):
            page.message.connect(self.message)
            page.status_changed.connect(self.status_changed)

    def current(self) -> Any:
        """The page the window's shortcuts act on."""
        if self.stack.currentWidget() is self.list_page and self.list_page.members is not None:
            return self.list_page.members
        return self.overview

    def open_list(self, list_id: int) -> None:
        self.list_page.show_list(list_id)
        self.stack.setCurrentWidget(self.list_page)
        self.status_changed.emit()

    def show_overview(self) -> None:
        self.stack.setCurrentWidget(self.overview)
        self.overview.activate()
        self.status_changed.emit()

    def _list_saved(self, list_id: int, filter_changed: bool) -> None:
        if filter_changed:
            self.open_list(list_id)
            self.list_page.recompute()

    def activate(self) -> None:
        self.current().activate()

    def mark_stale(self) -> None:
        self.overview.mark_stale()
        if self.list_page.members is not None:
            self.list_page.members.mark_stale()

    def status_text(self) -> str:
        if self.stack.currentWidget() is self.list_page:
            return self.list_page.status_text()
        return self.overview.status_text()
