"""Export CSV: what a table shows (its columns, its search, its order) to a file.

Runs on a worker thread, a page at a time, so exporting 100,000 contacts never freezes the window.
UTF-8 with a byte-order mark and commas: what spreadsheet programs open without asking.
"""

from __future__ import annotations

import csv
from pathlib import Path

from gui.tablemodel import Column, TableSource, format_value

EXPORT_PAGE = 2000


def export_view(source: TableSource, columns: list[Column], search: str,
                sort: tuple[int, bool] | None, path: str | Path) -> int:
    """Write every row the view would show to ``path``; return how many rows were written."""
    written = 0
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    with tmp.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow([column.title for column in columns])
        after: int | None = None
        while True:
            rows = source.page(search, sort, after, written, EXPORT_PAGE)
            for row in rows:
                writer.writerow([format_value(column, row.get(column.key)) for column in columns])
            written += len(rows)
            if len(rows) < EXPORT_PAGE:
                break
            after = rows[-1]["id"]
    tmp.replace(target)  # a cancelled or failed export never leaves half a file under the name
    return written
