"""Creating and editing a marketing list: name, kind, static or dynamic, and its filter."""

from __future__ import annotations

import json

import peewee as pw
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.lists import FilterError, filter_expression, parse_filter
from core.models.store import ListMember, MarketingList, NewsletterType
from core.store import default_owner
from gui.filter_editor import FilterEditor
from gui.widgets import ErrorLabel, combo_select_data, mark_invalid


def newsletter_combo(object_name: str) -> QComboBox:
    """A combo of the newsletter types, with "none" first."""
    from gui.tablemodel import tr

    combo = QComboBox()
    combo.setObjectName(object_name)
    combo.addItem(tr("(none)"), None)
    for nt in NewsletterType.select().order_by(NewsletterType.position, NewsletterType.code):
        combo.addItem(f"{nt.description} ({nt.code})", nt.id)
    return combo


class MarketingListDialog(QDialog):
    """``saved(list_id, filter_changed)`` after a successful save."""

    saved = Signal(int, bool)

    def __init__(self, list_id: int | None = None, parent: QWidget | None = None,
                 entity: str = "contact") -> None:
        super().__init__(parent)
        self.setObjectName("marketingListDialog")
        self.list_id = list_id
        mlist = MarketingList.get_by_id(list_id) if list_id else None
        self.setWindowTitle(self.tr("Edit marketing list") if mlist else
                            self.tr("New marketing list"))
        layout = QVBoxLayout(self)
        self.error = ErrorLabel()
        layout.addWidget(self.error)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("field_name")
        self.name.textEdited.connect(lambda _t: mark_invalid(self.name, False))
        form.addRow(self.tr("Name:"), self.name)
        self.description = QPlainTextEdit()
        self.description.setObjectName("field_description")
        self.description.setFixedHeight(60)
        form.addRow(self.tr("Description:"), self.description)
        self.entity = QComboBox()
        self.entity.setObjectName("field_entity")
        self.entity.addItem(self.tr("Contacts"), "contact")
        self.entity.addItem(self.tr("Leads"), "lead")
        self.entity.addItem(self.tr("Companies"), "company")
        form.addRow(self.tr("Members are:"), self.entity)
        type_row = QHBoxLayout()
        self.static = QRadioButton(self.tr("Static: members added by hand or by import"))
        self.static.setObjectName("staticRadio")
        self.dynamic = QRadioButton(self.tr("Dynamic: members are the records matching a filter"))
        self.dynamic.setObjectName("dynamicRadio")
        group = QButtonGroup(self)
        group.addButton(self.static)
        group.addButton(self.dynamic)
        types = QVBoxLayout()
        types.addWidget(self.static)
        types.addWidget(self.dynamic)
        type_row.addLayout(types)
        form.addRow(self.tr("Type:"), type_row)
        self.newsletter = newsletter_combo("field_newsletter_type")
        form.addRow(self.tr("Newsletter type:"), self.newsletter)
        layout.addLayout(form)

        self.filter_box = QGroupBox(self.tr("Filter"))
        self.filter_box.setObjectName("filterBox")
        box_layout = QVBoxLayout(self.filter_box)
        self.filter = FilterEditor(mlist.entity if mlist else entity)
        box_layout.addWidget(self.filter)
        layout.addWidget(self.filter_box, 1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.setObjectName("dialogButtons")
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setObjectName("okButton")
        self.ok_button.setText(self.tr("Save"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        self.entity.currentIndexChanged.connect(
            lambda _i: self.filter.set_entity(self.entity.currentData()))
        self.dynamic.toggled.connect(self._type_changed)
        self._original_filter = ""
        self._load(mlist, entity)
        self.resize(720, 600 if self.dynamic.isChecked() else 360)

    def _load(self, mlist: MarketingList | None, entity: str) -> None:
        if mlist is None:
            combo_select_data(self.entity, entity)
            self.static.setChecked(True)
            self._type_changed(False)
            return
        self.name.setText(mlist.name)
        self.description.setPlainText(mlist.description)
        combo_select_data(self.entity, mlist.entity)
        has_members = ListMember.select().where(ListMember.mlist == mlist).exists()
        self.entity.setEnabled(not has_members)
        if has_members:
            self.entity.setToolTip(self.tr("The list has members; the kind cannot change."))
        (self.dynamic if mlist.list_type == "dynamic" else self.static).setChecked(True)
        self._type_changed(mlist.list_type == "dynamic")
        combo_select_data(self.newsletter, mlist.newsletter_type_id)
        self._original_filter = mlist.filter_json or ""
        if mlist.filter_json:
            self.filter.set_spec(parse_filter(mlist.filter_json))

    def _type_changed(self, dynamic: bool) -> None:
        self.filter_box.setVisible(dynamic)
        if dynamic and not self.filter.rows and not self.filter.spec()["rules"]:
            self.filter.add_row()
        if dynamic and self.height() < 520:
            self.resize(self.width(), 600)
        elif not dynamic:
            self.adjustSize()

    def accept(self) -> None:
        self.error.clear_error()
        name = self.name.text().strip()
        if not name:
            mark_invalid(self.name, True)
            self.error.show_error(self.tr("A marketing list needs a name."))
            self.name.setFocus()
            return
        entity = self.entity.currentData()
        dynamic = self.dynamic.isChecked()
        filter_json = ""
        if dynamic:
            spec = self.filter.spec()
            try:
                filter_expression(entity, spec)
            except (FilterError, ValueError) as exc:
                self.error.show_error(self.tr("The filter cannot be used: {0}").format(exc))
                return
            filter_json = json.dumps(spec)
        mlist = MarketingList.get_by_id(self.list_id) if self.list_id else MarketingList(
            owner=default_owner())
        clash = MarketingList.select().where(pw.fn.LOWER(MarketingList.name) == name.lower())
        if self.list_id:
            clash = clash.where(MarketingList.id != self.list_id)
        if clash.exists():
            mark_invalid(self.name, True)
            self.error.show_error(self.tr("Another marketing list is already called “{0}”.")
                                  .format(name))
            return
        mlist.name = name
        mlist.description = self.description.toPlainText().strip()
        mlist.entity = entity
        mlist.list_type = "dynamic" if dynamic else "static"
        mlist.filter_json = filter_json
        mlist.newsletter_type = self.newsletter.currentData()
        try:
            mlist.save()
        except pw.IntegrityError as exc:
            self.error.show_error(self.tr("The list could not be saved: {0}").format(exc))
            return
        self.list_id = mlist.id
        self.saved.emit(mlist.id, dynamic and filter_json != self._original_filter)
        super().accept()
