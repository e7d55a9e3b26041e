"""The value rules of the INES sync (ines.md §3.5): blank, empty, "differs", and the wire form.

- Blank local value: None, "" or whitespace; blanks are not sent and never clear INES. 0 and
  false are values and are sent (D7).
- Empty INES value: absent, "" or whitespace, 0 for numbers, the .NET minimum date, false.
- "Differs" compares normalised values: strings exactly, numbers as numbers, booleans as 0/1,
  dates as dates. To the wire: choice keys as int for int fields, dates as dates, booleans 0/1;
  custom-field values as text (dates ``YYYY-MM-DD`` [G]).

Local choices of keyed INES lists (types, users, origins, confidentiality, rank) are stored as
``"<key> - <label>"`` so that the admin reads the label and INES gets the key.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.ines.catalogue import InesField
from connectors.ines.client import ines_datetime, ines_flag, ines_int, ines_number, text_of
from core.store import parse_custom


def is_blank(value: Any) -> bool:
    """None, "" or whitespace; 0 and false are values (D7)."""
    return value is None or (isinstance(value, str) and not value.strip())


def truthy(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(parse_custom("boolean", value.strip()) or False) if value.strip() else False
    return bool(value)



def ref_value(value: Any) -> int:
    """A stored ref: blank, unreadable or ≤ 0 all mean "none" (0)."""
    if is_blank(value) or isinstance(value, bool):
        return 0
    try:
        number = int(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return 0
    return number if number > 0 else 0


_KEYED = re.compile(r"^\s*(-?\d+)(?:\s+-\s.*)?\s*$", re.DOTALL)


def choice_key(value: Any) -> Any:
    """``"12 - Dupont Jean"`` → ``"12"``: local choices of keyed lists carry their key first."""
    if isinstance(value, str):
        match = _KEYED.match(value)
        if match:
            return match.group(1)
    return value


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError(f"{value!r} is not a whole number")


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    parsed = ines_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError(f"{value!r} is not a date")
    return parsed.date()


def to_wire(ines_field: InesField, value: Any) -> Any:
    """A non-blank local value → the normalised value for the INES field (ValueError if it
    cannot be one): choice keys as int for int fields, dates as dates, booleans as 0/1."""
    if ines_field.choices_from or (ines_field.choices and not ines_field.custom):
        value = choice_key(value)  # keyed lists only: a list custom field's values are plain
    if ines_field.wire == "cf":
        return cf_text(ines_field.cf_type, value)
    wire = ines_field.wire
    if wire == "str":
        return as_text(value)
    if wire == "int":
        return as_int(value)
    if wire == "num":
        try:
            return Decimal(as_text(value).strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
    if wire == "dt":
        return as_date(value)
    if wire == "flag":
        return 1 if truthy(value) else 0
    raise ValueError(f"unknown wire kind {wire}")


def cf_text(cf_type: str, value: Any) -> str:
    """Custom-field values travel as text: dates ``YYYY-MM-DD`` [G], booleans 0/1."""
    if cf_type == "date":
        return as_date(value).isoformat()
    if cf_type == "boolean":
        return "1" if truthy(value) else "0"
    if cf_type == "numeral":
        if isinstance(value, str):
            return value.strip()
        return as_text(value)
    if cf_type == "user":
        return as_text(choice_key(value))
    return as_text(value)


def ines_side(wire: str, raw: Any) -> Any:
    """An INES value normalised like ``to_wire``'s (absent → the kind's default)."""
    if wire == "str":
        return text_of(raw)
    if wire == "int":
        return ines_int(raw) or 0
    if wire == "num":
        return ines_number(raw) or Decimal(0)
    if wire == "dt":
        parsed = ines_datetime(raw)
        return parsed.date() if parsed else None
    if wire == "flag":
        return ines_flag(raw) or 0
    return text_of(raw)


def ines_empty(wire: str, raw: Any) -> bool:
    """Absent, blank, 0 for numbers, the .NET minimum date, false (§3.5)."""
    value = ines_side(wire, raw)
    if wire == "str":
        return not str(value).strip()
    if wire == "dt":
        return value is None
    return not value


def cf_differs(cf_type: str, local_text: str, ines_text: str) -> bool:
    if cf_type == "numeral":
        try:
            return Decimal(local_text) != Decimal(ines_text.strip().replace(",", "."))
        except InvalidOperation:
            return local_text != ines_text
    if cf_type == "date":
        parsed = ines_datetime(ines_text.strip()[:19])
        if parsed is None:
            match = re.fullmatch(r"\s*(\d{2})/(\d{2})/(\d{4}).*", ines_text)
            parsed = (datetime(int(match.group(3)), int(match.group(2)), int(match.group(1)))
                      if match else None)
        return parsed is None or parsed.date().isoformat() != local_text
    if cf_type == "boolean":
        return truthy(local_text) != truthy(ines_text)
    return local_text != ines_text


def wire_now() -> datetime:
    """INES stamps are local wall time without offset, as the plugin sent them (§1.5)."""
    return datetime.now().replace(microsecond=0)

