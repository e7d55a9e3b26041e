"""Reading a service's list to the end, page by page, without looping or losing rows.

Two ways services page, one object each; both iterate over pages of *new* rows (``list``), both
count ``pages_read``, and both stop on an empty page, a short page, or a page that brings nothing
new (a server that ignores the paging parameter must not make a run loop forever):

- ``OverlapPager``: ``select``/``skip`` paging (Dotmailer). There is no ordering guarantee, so
  rows shift when data changes mid-read: each page starts ``overlap`` rows before the previous
  one ended, and rows already seen (by ``key``) are dropped.
- ``PageNumberPager``: page-number paging (``page`` 0, 1, 2... of ``page_size`` rows:
  CleverReach), rows already seen (by ``key``) dropped too.

``fetch`` does the HTTP call (through the connector's client and the shared session); the pager
only decides which page comes next and when to stop, so it is tested with synthetic pages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

Key = Callable[[Any], Any]  # a row's identity; None: always new


def _new_rows(page: list[Any], keys: list[Any], seen: set[Any]) -> list[Any]:
    new = []
    for item, key in zip(page, keys, strict=True):
        if key is None or key not in seen:
            new.append(item)
            if key is not None:
                seen.add(key)
    return new


@dataclass
class OverlapPager:
    """A ``select``/``skip`` list read to the end, re-reading ``overlap`` rows at each boundary."""

    fetch: Callable[[int, int], list[Any]]  # (select, skip) -> the page
    key: Key
    select: int = 1000
    overlap: int = 100
    max_select: int = 1000
    pages_read: int = 0
    seen: set[Any] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not 1 <= self.select <= self.max_select:
            raise ValueError(f"select must be 1-{self.max_select}")
        self.overlap = max(0, min(self.overlap, self.select - 1))

    def __iter__(self) -> Iterator[list[Any]]:
        skip = 0
        previous: list[Any] | None = None
        while True:
            page = self.fetch(self.select, skip)
            self.pages_read += 1
            if not page:
                return
            keys = [self.key(item) for item in page]
            if keys == previous:
                return
            new = _new_rows(page, keys, self.seen)
            if not new and skip > 0:
                return
            if new:
                yield new
            if len(page) < self.select:
                return
            previous = keys
            skip += self.select - self.overlap


@dataclass
class PageNumberPager:
    """A list read by page number (``first_page``, then +1) until a short or empty page."""

    fetch: Callable[[int, int], list[Any]]  # (page number, page size) -> the page
    key: Key
    page_size: int = 100
    first_page: int = 0
    pages_read: int = 0
    seen: set[Any] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.page_size < 1:
            raise ValueError("page_size must be at least 1")

    def __iter__(self) -> Iterator[list[Any]]:
        number = self.first_page
        while True:
            page = self.fetch(number, self.page_size)
            self.pages_read += 1
            if not page:
                return
            keys = [self.key(item) for item in page]
            new = _new_rows(page, keys, self.seen)
            if not new:
                return  # the same rows again: the service ignores the page number
            yield new
            if len(page) < self.page_size:
                return
            number += 1
