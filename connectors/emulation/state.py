"""The state file: JSON written atomically (never half a file after a kill), read back whole.

An emulator turns its state into JSON-ready values (``snapshot()``) and back (``restore()``);
these save and load them. :func:`json_default` encodes the values records hold (datetimes,
decimals, dataclasses, sets and tuples).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["json_default", "load_json", "save_json"]


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, set | tuple | frozenset):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def save_json(
    path: str | os.PathLike[str], data: Any, indent: int | None = 1, ensure_ascii: bool = False
) -> None:
    target = Path(path)
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(
        json.dumps(data, indent=indent, ensure_ascii=ensure_ascii, default=json_default),
        encoding="utf-8",
    )
    os.replace(temporary, target)


def load_json(path: str | os.PathLike[str]) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
