"""Marketing lists: static membership by hand or import, dynamic membership by a saved filter.

A filter is JSON: a group ``{"match": "all"|"any", "rules": [...]}`` whose rules are either
groups or conditions ``{"field": KEY, "op": OP, "value": V}``. Operators: equals, not_equals,
contains, empty, not_empty, greater, less, in (a list, or text separated by commas).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from core.clock import utcnow
from core.db import BaseModel, database_proxy
from core.models.store import (
    MODEL_FOR_KIND,
    Company,
    Contact,
    CustomField,
    CustomValue,
    ListMember,
    MarketingList,
)
from core.store import STANDARD_FIELDS

OPERATORS = {
    "equals": "equals",
    "not_equals": "does not equal",
    "contains": "contains",
    "empty": "is empty",
    "not_empty": "is not empty",
    "greater": "is greater than",
    "less": "is less than",
    "in": "is one of",
}
VALUELESS = {"empty", "not_empty"}
BATCH = 500


class FilterError(ValueError):
    """The saved filter cannot be used; the message says which rule and why."""


def member_column(entity: str) -> pw.ForeignKeyField[Any]:
    columns: dict[str, pw.ForeignKeyField[Any]] = {
        "contact": ListMember.contact, "lead": ListMember.lead, "company": ListMember.company}
    return columns[entity]


# -- filters ---------------------------------------------------------------------------------------

def parse_filter(text: str | dict[str, Any] | None) -> dict[str, Any]:
    if not text:
        return {"match": "all", "rules": []}
    data = json.loads(text) if isinstance(text, str) else text
    if not isinstance(data, dict) or "rules" not in data:
        raise FilterError("A filter must be a group with rules.")
    return data


def _in_values(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def _condition(model: type[BaseModel], entity: str, rule: dict[str, Any]) -> pw.Expression:
    key, op, value = rule.get("field"), rule.get("op"), rule.get("value")
    if op not in OPERATORS:
        raise FilterError(f"Unknown operator {op!r} in a rule on {key!r}.")
    standard = {f.key: f for f in STANDARD_FIELDS[entity]}
    if key == "company" and entity == "contact":
        column: Any = pw.fn.COALESCE(
            Company.select(Company.name).where(Company.id == Contact.company), "")
        return _compare(column, "text", op, value)
    if key in standard:
        return _compare(getattr(model, key), standard[key].kind, op, value)
    custom = CustomField.get_or_none(CustomField.entity == entity, CustomField.key == key)
    if custom is None:
        raise FilterError(f"The field {key!r} no longer exists; edit the filter.")
    stored = (CustomValue.select(CustomValue.value)
              .where(CustomValue.field == custom.id, CustomValue.record_id == model.id))
    if custom.kind == "boolean" and op in ("equals", "not_equals") and not _truthy(value):
        # An unset boolean counts as false.
        inner = pw.fn.COALESCE(stored, "0")
    else:
        inner = pw.fn.COALESCE(stored, "")
    return _compare(inner, custom.kind, op, value, stored_as_text=True)


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "y", "on")


def _compare(column: Any, kind: str, op: str, value: Any, stored_as_text: bool = False) -> Any:
    if op == "empty":
        return (column.is_null()) | (column == "") if kind in ("text", "choice") or stored_as_text \
            else column.is_null()
    if op == "not_empty":
        return (column.is_null(False)) & (column != "") if kind in ("text", "choice") or \
            stored_as_text else column.is_null(False)
    if kind == "boolean":
        wanted = _truthy(value)
        target: Any = ("1" if wanted else "0") if stored_as_text else wanted
        return (column == target) if op == "equals" else (column != target)
    if kind == "number":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FilterError(f"{value!r} is not a number.") from None
        col = pw.Cast(column, "REAL") if stored_as_text else column
        return {"equals": col == number, "not_equals": col != number, "greater": col > number,
                "less": col < number}.get(op, col.in_([float(v) for v in _in_values(value)])
                                            if op == "in" else col == number)
    if op == "in":
        values = [v.lower() for v in _in_values(value)]
        return pw.fn.LOWER(column).in_(values)
    text = "" if value is None else str(value)
    lowered = pw.fn.LOWER(column)
    return {
        "equals": lowered == text.lower(),
        "not_equals": lowered != text.lower(),
        "contains": lowered.contains(text.lower()),
        "greater": column > text,
        "less": column < text,
    }[op]


def filter_expression(entity: str, spec: dict[str, Any]) -> Any:
    model = MODEL_FOR_KIND[entity]
    parts = []
    for rule in spec.get("rules", []):
        if "rules" in rule:
            parts.append(filter_expression(entity, rule))
        else:
            parts.append(_condition(model, entity, rule))
    if not parts:
        return pw.SQL("1 = 1")
    expression = parts[0]
    for part in parts[1:]:
        expression = (expression | part) if spec.get("match") == "any" else (expression & part)
    return expression


def matching_ids(entity: str, spec: dict[str, Any]) -> set[int]:
    model = MODEL_FOR_KIND[entity]
    return set(model.select(model.id).where(filter_expression(entity, spec)).scalars())


def describe_filter(spec: dict[str, Any]) -> str:
    joiner = " or " if spec.get("match") == "any" else " and "
    parts = []
    for rule in spec.get("rules", []):
        if "rules" in rule:
            parts.append(f"({describe_filter(rule)})")
        elif rule.get("op") in VALUELESS:
            parts.append(f"{rule.get('field')} {OPERATORS.get(rule.get('op'), '?')}")
        else:
            parts.append(f"{rule.get('field')} {OPERATORS.get(rule.get('op'), '?')} "
                         f"“{rule.get('value', '')}”")
    return joiner.join(parts) or "everyone"


# -- membership ------------------------------------------------------------------------------------

@dataclass
class Recomputed:
    joined: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)


def member_ids(mlist: MarketingList, states: tuple[str, ...] = ("subscribed",)) -> set[int]:
    column = member_column(mlist.entity)
    return set(ListMember.select(column)
               .where(ListMember.mlist == mlist, ListMember.state.in_(states)).scalars())


def add_members(mlist: MarketingList, record_ids: list[int] | set[int],
                state: str = "subscribed") -> int:
    """Add records (or bring back removed ones); an unsubscribed member stays unsubscribed.

    Returns how many were added or brought back. Safe when two writers add the same records at
    once (two recomputes, a recompute and an import): the database skips the rows already there
    (``ON CONFLICT DO NOTHING``), rather than a read made before the other writer committed.
    """
    column = member_column(mlist.entity)
    now = utcnow()
    ids = sorted(set(record_ids))
    changed = 0
    with database_proxy.atomic():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            changed += (ListMember.update(state=state, state_changed_at=now, removed_at=None)
                        .where(ListMember.mlist == mlist, column.in_(chunk),
                               ListMember.state == "removed").execute())
            rows = [{"mlist": mlist.id, column.name: rid, "state": state, "added_at": now,
                     "state_changed_at": now} for rid in chunk]
            changed += ListMember.insert_many(rows).on_conflict_ignore().as_rowcount().execute()
    return changed


def set_member_state(mlist: MarketingList, record_ids: list[int] | set[int], state: str) -> int:
    column = member_column(mlist.entity)
    now = utcnow()
    extra: dict[Any, Any] = {}
    if state == "unsubscribed":
        extra[ListMember.unsubscribed_at] = now
    elif state == "removed":
        extra[ListMember.removed_at] = now
    changed = 0
    ids = sorted(set(record_ids))
    with database_proxy.atomic():
        for start in range(0, len(ids), BATCH):
            changed += (ListMember.update({ListMember.state: state,
                                           ListMember.state_changed_at: now, **extra})
                        .where(ListMember.mlist == mlist, column.in_(ids[start:start + BATCH]),
                               ListMember.state != state).execute())
    return changed


def remove_members(mlist: MarketingList, record_ids: list[int] | set[int]) -> int:
    """Mark members removed: the row stays so that connected services can be told."""
    return set_member_state(mlist, record_ids, "removed")


def recompute(mlist: MarketingList) -> Recomputed:
    """Bring a dynamic list in line with its filter; report who joined and who left."""
    if mlist.list_type != "dynamic":
        return Recomputed()
    wanted = matching_ids(mlist.entity, parse_filter(mlist.filter_json))
    current = member_ids(mlist, ("subscribed", "unsubscribed"))
    result = Recomputed(joined=sorted(wanted - current), left=sorted(current - wanted))
    add_members(mlist, result.joined)
    remove_members(mlist, result.left)
    mlist.last_recomputed = utcnow()
    mlist.save()
    return result
