"""Small helpers for the sentences ListBridge prints: counts with the right noun form.

English only, on purpose: the caller gives the words, so irregular plurals need no rules here
(``plural(n, "summary", "summaries")``, ``plural(n, "company", "companies")``); a plural left out
is the singular with an ``s``.
"""

from __future__ import annotations


def noun(n: int, singular: str, plural_form: str | None = None) -> str:
    """The word for ``n`` things: ``singular`` for exactly one, else the plural."""
    if n == 1:
        return singular
    return plural_form if plural_form is not None else f"{singular}s"


def plural(n: int, singular: str, plural_form: str | None = None, *,
           thousands: bool = True) -> str:
    """``1 campaign``, ``0 campaigns``, ``1,200 rows`` (``thousands=False``: ``1200 rows``)."""
    number = f"{n:,}" if thousands else str(n)
    return f"{number} {noun(n, singular, plural_form)}"
