"""The INES "Contact Field Mapping" tab: one local contact field per INES field.

Rows follow the catalogue (ines.md §3.2): the three special rows first (the two INES references
and the stop-sync indicator, with "Create the ListBridge fields for me"), then the INES contact
fields, the client fields and the INES custom fields. Fields INES has for both concepts (the
address) appear under both and may go to either. The panel only shows and collects choices; the
dialog reads INES and saves.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from connectors.ines.catalogue import (
    CLIENT,
    CLIENT_REF_KEY,
    COMPANY_NAME_KEY,
    CONTACT,
    CONTACT_REF_KEY,
    STOP_SYNC_KEY,
    InesField,
)
from gui.ines.work import LocalOption, MappingData
from gui.widgets import combo_select_data


def tr(text: str) -> str:
    return QCoreApplication.translate("InesMappingTab", text)


class MappingCombo(QComboBox):
    """A local field picker that ignores the mouse wheel unless focused: scrolling the long
    tab must not change a mapping by accident."""

    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"map_{key}")
        self.mapping_key = key
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(26)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()

    def fill(self, options: list[LocalOption], current: str) -> None:
        self.blockSignals(True)
        self.clear()
        self.addItem(tr("— not synchronised —"), "")
        for option in options:
            self.addItem(f"{option.label}  ({option.key})", option.key)
        combo_select_data(self, current)
        self.blockSignals(False)

    def value(self) -> str:
        return str(self.currentData() or "")


def special_labels() -> dict[str, str]:
    return {CONTACT_REF_KEY: tr("INES contact ref"), CLIENT_REF_KEY: tr("INES client ref"),
            STOP_SYNC_KEY: tr("Stop sync (don't synchronise)")}


def special_help() -> dict[str, str]:
    return {
        CONTACT_REF_KEY: tr("A number field of the contact where ListBridge keeps the INES "
                            "contact's reference (InternalRef). Required."),
        CLIENT_REF_KEY: tr("A number field of the contact where ListBridge keeps the INES "
                           "client's reference. Required."),
        STOP_SYNC_KEY: tr("A yes/no field of the contact: set it to yes and that contact is no "
                          "longer synchronised. While it is not mapped, no contact is."),
    }


class MappingPanel(QWidget):
    """The rows of the mapping tab; ``changed`` whenever a choice changes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mappingPanel")
        self.combos: dict[str, MappingCombo] = {}
        self.fields: dict[str, InesField] = {}
        self.data: MappingData | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        intro = QLabel(tr(
            "Choose the ListBridge contact field synchronised with each INES field; leave a "
            "field “not synchronised” to skip it. Fields INES has for both the contact and the "
            "client (the address) appear under both and can go to either."))
        intro.setObjectName("mappingIntro")
        intro.setWordWrap(True)
        top.addWidget(intro, 1)
        self.copy_button = QPushButton(tr("Copy getMapping JSON"))
        self.copy_button.setObjectName("copyMappingButton")
        self.copy_button.setToolTip(tr("Put the document of “listbridge ines get-mapping” (the "
                                       "plugin's GET /api/ines/getMapping) on the clipboard, "
                                       "for these choices."))
        top.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(top)
        self.copy_result = QLabel()
        self.copy_result.setObjectName("copyMappingResult")
        self.copy_result.hide()
        outer.addWidget(self.copy_result)

        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("mappingScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(self.scroll_area, 1)
        self.create_button = QPushButton(tr("Create the ListBridge fields for me"))
        self.create_button.setObjectName("createFieldsButton")
        self.create_button.setToolTip(tr(
            "Create the contact fields “INES contact ID”, “INES client ID” (numbers) and “Stop "
            "sync INES” (yes/no), or fix their type, and map them here."))
        self.body: QWidget | None = None

    # -- building --------------------------------------------------------------------------------

    def set_data(self, data: MappingData, keep: dict[str, str] | None = None) -> None:
        """Show these rows; ``keep`` holds choices to carry over (the admin's unsaved ones)."""
        self.data = data
        self.combos.clear()
        self.fields.clear()
        body = QWidget()
        body.setObjectName("mappingBody")
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 4, 8, 4)
        layout.setSpacing(10)
        current = {line.ines_field.mapping_key: line.local_key for line in data.lines}
        current[STOP_SYNC_KEY] = data.stop_sync
        if keep:
            known = {o.key for o in data.client_options}
            current.update({k: v for k, v in keep.items() if not v or v in known})
        layout.addWidget(self._special_group(data, current))
        lines = [line for line in data.lines
                 if line.ines_field.mapping_key not in (CONTACT_REF_KEY, CLIENT_REF_KEY)]
        contact = [line.ines_field for line in lines
                   if line.ines_field.concept == CONTACT and not line.ines_field.custom]
        client = [line.ines_field for line in lines
                  if line.ines_field.concept == CLIENT and not line.ines_field.custom]
        custom = [line.ines_field for line in lines if line.ines_field.custom]
        layout.addWidget(self._group(tr("INES contact fields"), "contactFieldsGroup", contact,
                                     data, current))
        note = tr("Client fields left “not synchronised” take the data of the contact's first "
                  "company (its address, postal code, city, state, country, phone, fax and "
                  "website), else INES's defaults. A client field may also take a field of "
                  "that company (“Company: …”).")
        layout.addWidget(self._group(tr("INES client fields"), "clientFieldsGroup", client, data,
                                     current, note))
        if custom:
            layout.addWidget(self._group(tr("INES custom fields"), "customFieldsGroup", custom,
                                         data, current,
                                         tr("Custom fields defined in INES (contact ones "
                                            "first).")))
        layout.addStretch(1)
        old = self.scroll_area.takeWidget()
        self.create_button.setParent(None)
        if old is not None:
            old.deleteLater()
        self.scroll_area.setWidget(body)
        self._place_create_button()
        self.body = body

    def _special_group(self, data: MappingData, current: dict[str, str]) -> QGroupBox:
        group = QGroupBox(tr("ListBridge fields for INES"))
        group.setObjectName("specialFieldsGroup")
        grid = QGridLayout(group)
        grid.setColumnStretch(1, 1)
        grid.setColumnMinimumWidth(0, 230)
        helps = special_help()
        for row, (key, label) in enumerate(special_labels().items()):
            title = QLabel(f"{label}<span style='color:#c5221f'>&nbsp;*</span>")
            title.setToolTip(helps[key])
            combo = self._combo(key, data.contact_options, current.get(key, ""))
            combo.setToolTip(helps[key])
            grid.addWidget(title, row, 0)
            grid.addWidget(combo, row, 1)
        self.special_hint = QLabel()
        self.special_hint.setObjectName("specialFieldsHint")
        self.special_hint.setWordWrap(True)
        if data.special_missing:
            self.special_hint.setText(tr(
                "These fields do not exist yet ({0}). Rather than creating them by hand in "
                "Store › Custom fields, let ListBridge create them:").format(
                    ", ".join(data.special_missing)))
        else:
            self.special_hint.setText(tr("The ListBridge fields exist. The button below fixes "
                                         "their type if it was changed."))
        grid.addWidget(self.special_hint, 3, 0, 1, 2)
        self._create_slot = grid
        return group

    def _place_create_button(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.create_button)
        row.addStretch(1)
        self._create_slot.addLayout(row, 4, 0, 1, 2)

    def _group(self, title: str, name: str, fields: list[InesField], data: MappingData,
               current: dict[str, str], note: str = "") -> QGroupBox:
        group = QGroupBox(title)
        group.setObjectName(name)
        grid = QGridLayout(group)
        grid.setColumnStretch(1, 1)
        grid.setColumnMinimumWidth(0, 230)
        row = 0
        if note:
            label = QLabel(note)
            label.setObjectName(f"{name}Note")
            label.setWordWrap(True)
            label.setProperty("note", True)
            grid.addWidget(label, row, 0, 1, 2)
            row += 1
        for ines_field in fields:
            grid.addWidget(self._title(ines_field), row, 0)
            if ines_field.mapping_key == COMPANY_NAME_KEY:
                fixed = QLabel(tr("The contact's company name (automatic)"))
                fixed.setObjectName("companyNameAutomatic")
                grid.addWidget(fixed, row, 1)
            else:
                options = data.client_options if ines_field.concept == CLIENT \
                    else data.contact_options
                grid.addWidget(self._combo(ines_field.mapping_key, options,
                                           current.get(ines_field.mapping_key, "")), row, 1)
            self.fields[ines_field.mapping_key] = ines_field
            row += 1
        return group

    def _title(self, ines_field: InesField) -> QLabel:
        star = "<span style='color:#c5221f'>&nbsp;*</span>" if ines_field.required else ""
        lock = tr(" (fixed)") if ines_field.fixed and not ines_field.required else ""
        label = QLabel(f"{html.escape(ines_field.label)}{lock}{star}")
        key = ines_field.key if not ines_field.custom else f"{ines_field.concept} #{ines_field.key}"
        tip = tr("INES field {0}").format(key)
        if ines_field.fixed:
            tip += "\n" + tr("Never overwritten in INES once filled there.")
        label.setToolTip(tip)
        return label

    def _combo(self, key: str, options: list[LocalOption], current: str) -> MappingCombo:
        combo = MappingCombo(key)
        combo.fill(options, current)
        combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.combos[key] = combo
        return combo

    # -- values ----------------------------------------------------------------------------------

    def is_loaded(self) -> bool:
        return self.data is not None

    def mapping(self) -> dict[str, str]:
        """Mapping key → local key for every row (unmapped rows as "")."""
        return {key: combo.value() for key, combo in self.combos.items()}

    def set_local(self, key: str, local: str) -> None:
        combo = self.combos.get(key)
        if combo is not None:
            combo_select_data(combo, local)

    def mapped_fields(self) -> list[InesField]:
        """The INES fields mapped to a local field, in catalogue order (CompanyName included)."""
        values = self.mapping()
        return [f for key, f in self.fields.items()
                if key == COMPANY_NAME_KEY or values.get(key)]

    def show_copied(self, text: str, ok: bool = True) -> None:
        self.copy_result.setText(text)
        self.copy_result.setProperty("outcome", "success" if ok else "failure")
        self.copy_result.style().unpolish(self.copy_result)
        self.copy_result.style().polish(self.copy_result)
        self.copy_result.show()

    def sizeHint(self) -> Any:
        hint = super().sizeHint()
        hint.setWidth(max(hint.width(), 700))
        return hint
