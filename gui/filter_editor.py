"""The dynamic-list filter editor: rows of field / operator / value, matched all or any.

It edits the filter JSON of ``core.lists`` (``{"match": "all"|"any", "rules": [...]}``). Nested
groups, which the editor does not draw, are kept as they are and described under the rows. A
preview counts the matching records on a worker thread as the admin edits.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.lists import OPERATORS, VALUELESS, filter_expression
from core.models.store import MODEL_FOR_KIND
from core.store import FieldInfo, fields_for
from gui.widgets import combo_select_data, std_icon
from gui.workers import start_job

PREVIEW_DELAY_MS = 300

# Which operators make sense for which kind of field.
OPERATORS_BY_KIND = {
    "text": ["equals", "not_equals", "contains", "empty", "not_empty", "in"],
    "choice": ["equals", "not_equals", "in", "empty", "not_empty"],
    "number": ["equals", "not_equals", "greater", "less", "empty", "not_empty"],
    "date": ["equals", "greater", "less", "empty", "not_empty"],
    "boolean": ["equals", "not_equals"],
}


def count_matching(entity: str, spec: dict[str, Any], generation: int) -> tuple[int, int]:
    model = MODEL_FOR_KIND[entity]
    return generation, model.select(model.id).where(filter_expression(entity, spec)).count()


def describe(entity: str, spec: dict[str, Any]) -> str:
    """A filter in the admin's words, with field labels: City equals “Paris” and VIP is yes."""
    from gui.tablemodel import tr

    labels = {f.key: f.label for f in fields_for(entity)}
    kinds = {f.key: f.kind for f in fields_for(entity)}
    parts = []
    for rule in spec.get("rules", []):
        if "rules" in rule:
            parts.append(f"({describe(entity, rule)})")
            continue
        key, op, value = rule.get("field"), rule.get("op"), rule.get("value")
        label = labels.get(key, key)
        if op in VALUELESS:
            parts.append(f"{label} {tr(OPERATORS.get(op, op))}")
        elif kinds.get(key) == "boolean":
            yes = str(value).strip().lower() in ("1", "true", "yes", "y", "on")
            wanted = yes if op == "equals" else not yes
            parts.append(tr("{0} is {1}").format(label, tr("yes") if wanted else tr("no")))
        else:
            parts.append(f"{label} {tr(OPERATORS.get(op, op))} “{value}”")
    joiner = tr(" or ") if spec.get("match") == "any" else tr(" and ")
    return joiner.join(parts) or tr("everyone")


class FilterRow(QWidget):
    """One condition: a field, an operator and a value (the value editor follows the field)."""

    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, fields: list[FieldInfo], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields = {f.key: f for f in fields}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.field = QComboBox()
        self.field.setObjectName("ruleField")
        self.field.setMinimumContentsLength(14)
        for info in fields:
            label = info.label if info.custom else self.tr(info.label)
            self.field.addItem(label, info.key)
        self.operator = QComboBox()
        self.operator.setObjectName("ruleOperator")
        self.operator.setMinimumContentsLength(12)
        self.values = QStackedWidget()
        self.values.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.text_value = QLineEdit()
        self.text_value.setObjectName("ruleValue")
        self.text_value.setPlaceholderText(self.tr("value"))
        self.choice_value = QComboBox()
        self.choice_value.setObjectName("ruleChoice")
        self.choice_value.setEditable(False)
        self.nothing = QLabel()
        for widget in (self.text_value, self.choice_value, self.nothing):
            self.values.addWidget(widget)
        self.remove = QToolButton()
        self.remove.setObjectName("removeRuleButton")
        self.remove.setIcon(std_icon("SP_DialogCloseButton"))
        self.remove.setToolTip(self.tr("Remove this condition"))
        layout.addWidget(self.field, 3)
        layout.addWidget(self.operator, 2)
        layout.addWidget(self.values, 3)
        layout.addWidget(self.remove)
        self.field.currentIndexChanged.connect(self._field_changed)
        self.operator.currentIndexChanged.connect(self._operator_changed)
        self.text_value.textChanged.connect(self.changed)
        self.choice_value.currentIndexChanged.connect(self.changed)
        self.remove.clicked.connect(lambda: self.remove_requested.emit(self))
        self._field_changed()

    def info(self) -> FieldInfo:
        return self.fields[self.field.currentData()]

    def _field_changed(self, *_: Any) -> None:
        info = self.info()
        current = self.operator.currentData()
        self.operator.blockSignals(True)
        self.operator.clear()
        for op in OPERATORS_BY_KIND.get(info.kind, OPERATORS_BY_KIND["text"]):
            self.operator.addItem(self.tr(OPERATORS[op]), op)
        combo_select_data(self.operator, current)
        self.operator.blockSignals(False)
        self.choice_value.blockSignals(True)
        self.choice_value.clear()
        if info.kind == "boolean":
            self.choice_value.addItem(self.tr("Yes"), True)
            self.choice_value.addItem(self.tr("No"), False)
        else:
            for choice in info.choices:
                self.choice_value.addItem(choice, choice)
        self.choice_value.blockSignals(False)
        self.text_value.setPlaceholderText(
            self.tr("YYYY-MM-DD") if info.kind == "date" else
            self.tr("a, b, c") if self.operator.currentData() == "in" else self.tr("value"))
        self._operator_changed()

    def _operator_changed(self, *_: Any) -> None:
        info, op = self.info(), self.operator.currentData()
        if op in VALUELESS:
            self.values.setCurrentWidget(self.nothing)
        elif info.kind == "boolean" or (info.kind == "choice" and op in ("equals", "not_equals")):
            self.values.setCurrentWidget(self.choice_value)
        else:
            self.values.setCurrentWidget(self.text_value)
        self.changed.emit()

    def rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"field": self.field.currentData(), "op": self.operator.currentData()}
        if self.values.currentWidget() is self.choice_value:
            rule["value"] = self.choice_value.currentData()
        elif self.values.currentWidget() is self.text_value:
            rule["value"] = self.text_value.text().strip()
        return rule

    def set_rule(self, rule: dict[str, Any]) -> None:
        if self.field.findData(rule.get("field")) < 0:
            return
        combo_select_data(self.field, rule.get("field"))
        combo_select_data(self.operator, rule.get("op"))
        value = rule.get("value")
        if self.values.currentWidget() is self.choice_value:
            if self.info().kind == "boolean":
                value = str(value).strip().lower() in ("1", "true", "yes", "y", "on")
            combo_select_data(self.choice_value, value)
        elif value is not None:
            self.text_value.setText(", ".join(map(str, value)) if isinstance(value, list)
                                    else str(value))


class FilterEditor(QWidget):
    """All the conditions of a dynamic list, and how many records they match now."""

    changed = Signal()

    def __init__(self, entity: str = "contact", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterEditor")
        self.entity = entity
        self.fields = fields_for(entity)
        self.rows: list[FilterRow] = []
        self._groups: list[dict[str, Any]] = []  # nested groups, kept untouched
        self._generation = 0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Members are the records that match")))
        self.match = QComboBox()
        self.match.setObjectName("filterMatch")
        self.match.addItem(self.tr("all of the conditions"), "all")
        self.match.addItem(self.tr("any of the conditions"), "any")
        top.addWidget(self.match)
        top.addStretch(1)
        layout.addLayout(top)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(4)
        layout.addLayout(self.rows_layout)
        self.groups_label = QLabel()
        self.groups_label.setObjectName("filterGroups")
        self.groups_label.setWordWrap(True)
        self.groups_label.hide()
        layout.addWidget(self.groups_label)
        layout.addStretch(1)
        bottom = QHBoxLayout()
        self.add_button = QPushButton(self.tr("Add condition"))
        self.add_button.setObjectName("addConditionButton")
        self.add_button.setIcon(std_icon("SP_FileDialogNewFolder"))
        bottom.addWidget(self.add_button)
        bottom.addStretch(1)
        self.preview = QLabel()
        self.preview.setObjectName("filterPreview")
        bottom.addWidget(self.preview)
        layout.addLayout(bottom)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self.update_preview)
        self.match.currentIndexChanged.connect(self._changed)
        self.add_button.clicked.connect(lambda: self.add_row())

    # -- rows ----------------------------------------------------------------------------------

    def add_row(self, rule: dict[str, Any] | None = None) -> FilterRow:
        row = FilterRow(self.fields)
        row.setObjectName(f"filterRow{len(self.rows)}")
        if rule:
            row.set_rule(rule)
        row.changed.connect(self._changed)
        row.remove_requested.connect(self.remove_row)
        self.rows.append(row)
        self.rows_layout.addWidget(row)
        self._changed()
        return row

    def remove_row(self, row: FilterRow) -> None:
        self.rows.remove(row)
        row.setParent(None)
        row.deleteLater()
        for number, other in enumerate(self.rows):
            other.setObjectName(f"filterRow{number}")
        self._changed()

    def set_entity(self, entity: str) -> None:
        """Another kind of record: the fields differ, so the conditions start again."""
        if entity == self.entity:
            return
        self.entity = entity
        self.fields = fields_for(entity)
        for row in list(self.rows):
            self.remove_row(row)
        self._groups = []
        self.groups_label.hide()
        self._changed()

    # -- the filter ----------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        rules: list[dict[str, Any]] = [row.rule() for row in self.rows]
        return {"match": self.match.currentData(), "rules": rules + self._groups}

    def set_spec(self, spec: dict[str, Any]) -> None:
        combo_select_data(self.match, spec.get("match", "all"))
        for row in list(self.rows):
            self.remove_row(row)
        self._groups = [rule for rule in spec.get("rules", []) if "rules" in rule]
        for rule in spec.get("rules", []):
            if "rules" not in rule:
                self.add_row(rule)
        if self._groups:
            described = "; ".join(describe(self.entity, group) for group in self._groups)
            self.groups_label.setText(self.tr("Also kept, as saved: {0}").format(described))
            self.groups_label.show()
        self._changed()

    def _changed(self, *_: Any) -> None:
        self.preview.setText(self.tr("Counting…"))
        self._timer.start()
        self.changed.emit()

    def update_preview(self) -> None:
        self._timer.stop()
        self._generation += 1
        start_job(count_matching, self.entity, self.spec(), self._generation,
                  on_done=self._counted, on_failed=self._count_failed)

    def _counted(self, result: tuple[int, int]) -> None:
        generation, count = result
        if generation == self._generation:
            self.preview.setProperty("error", False)
            self.preview.setText(self.tr("1 record matches") if count == 1 else
                                 self.tr("{0} records match").format(f"{count:,}"))

    def _count_failed(self, message: str, trace: str) -> None:
        self.preview.setProperty("error", True)
        self.preview.setText(message)
