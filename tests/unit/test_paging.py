"""The shared pagers (``connectors.paging``) against synthetic pages: no HTTP, no service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connectors.paging import OverlapPager, PageNumberPager


def skip_pages(rows: list[int], calls: list[tuple[int, int]], ignore_skip: bool = False,
               shift_after: int | None = None) -> Callable[[int, int], list[dict[str, Any]]]:
    """A ``select``/``skip`` endpoint over ``rows``; ``shift_after``: after that many calls a
    row is inserted at the front (data changing mid-read)."""
    data = list(rows)

    def fetch(select: int, skip: int) -> list[dict[str, Any]]:
        calls.append((select, skip))
        if shift_after is not None and len(calls) == shift_after + 1:
            data.insert(0, -1)
        start = 0 if ignore_skip else skip
        return [{"id": n} for n in data[start:start + select]]

    return fetch


def numbered_pages(rows: list[int], calls: list[tuple[int, int]],
                   ignore_page: bool = False) -> Callable[[int, int], list[dict[str, Any]]]:
    def fetch(page: int, size: int) -> list[dict[str, Any]]:
        calls.append((page, size))
        start = 0 if ignore_page else page * size
        return [{"id": n} for n in rows[start:start + size]]

    return fetch


def ids(pager: Any) -> list[int]:
    return [row["id"] for page in pager for row in page]


def test_overlap_pager_reads_every_row_once_with_overlapping_pages():
    calls: list[tuple[int, int]] = []
    pager = OverlapPager(skip_pages(list(range(250)), calls), lambda r: r["id"], select=100,
                         overlap=10)
    assert ids(pager) == list(range(250))
    assert calls == [(100, 0), (100, 90), (100, 180)]  # each page starts 10 rows back
    assert pager.pages_read == 3


def test_overlap_pager_keeps_rows_that_shift_mid_read():
    calls: list[tuple[int, int]] = []
    pager = OverlapPager(skip_pages(list(range(300)), calls, shift_after=1), lambda r: r["id"],
                         select=100, overlap=10)
    read = ids(pager)
    assert sorted(n for n in read if n >= 0) == list(range(300))  # nothing lost
    assert len(read) == len(set(read))  # nothing twice


def test_overlap_pager_stops_when_the_server_ignores_skip():
    calls: list[tuple[int, int]] = []
    pager = OverlapPager(skip_pages(list(range(5000)), calls, ignore_skip=True),
                         lambda r: r["id"], select=100, overlap=10)
    assert ids(pager) == list(range(100))
    assert len(calls) == 2  # the second page brought nothing new: stop, do not loop


def test_overlap_pager_stops_on_an_empty_first_page_and_checks_select():
    calls: list[tuple[int, int]] = []
    assert ids(OverlapPager(skip_pages([], calls), lambda r: r["id"], select=10)) == []
    assert calls == [(10, 0)]
    with pytest.raises(ValueError):
        OverlapPager(skip_pages([], calls), lambda r: r["id"], select=1001)
    assert OverlapPager(skip_pages([], calls), lambda r: r["id"], select=5, overlap=9).overlap == 4


def test_page_number_pager_reads_to_the_short_page():
    calls: list[tuple[int, int]] = []
    pager = PageNumberPager(numbered_pages(list(range(23)), calls), lambda r: r["id"],
                            page_size=10)
    assert ids(pager) == list(range(23))
    assert calls == [(0, 10), (1, 10), (2, 10)]


def test_page_number_pager_stops_after_a_full_last_page_and_an_empty_one():
    calls: list[tuple[int, int]] = []
    pager = PageNumberPager(numbered_pages(list(range(20)), calls), lambda r: r["id"],
                            page_size=10, first_page=0)
    assert ids(pager) == list(range(20))
    assert calls == [(0, 10), (1, 10), (2, 10)]


def test_page_number_pager_stops_when_the_server_ignores_the_page_number():
    calls: list[tuple[int, int]] = []
    pager = PageNumberPager(numbered_pages(list(range(100)), calls, ignore_page=True),
                            lambda r: r["id"], page_size=10)
    assert ids(pager) == list(range(10))
    assert len(calls) == 2
