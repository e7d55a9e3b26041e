"""Benchmark: open the Contacts view on 100,000 contacts; search them; scroll a page further.

Run from the repository root:  python tests/bench/bench_contacts_view.py [--rows N]
(QT_QPA_PLATFORM=offscreen is set unless a platform is chosen.) Prints the time from constructing
the view to its first rows painted, next to the goal of 1 s, then a search and a fetch of the next
page. Not collected by pytest (no test_ functions).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

from core.clock import utcnow  # noqa: E402
from core.db import close_database, database_proxy  # noqa: E402
from core.migrations import open_database  # noqa: E402
from core.models.store import Company, Contact, email_key  # noqa: E402
from core.paths import Profile  # noqa: E402

GOAL_SECONDS = 1.0
FIRST = ["Anna", "Jörg", "Émilie", "Lukas", "Chloé", "Mehmet", "Sophie", "François", "Zoë", "Ole"]
LAST = ["Müller", "Dupont", "Schmidt", "Lefèvre", "Weiß", "Martin", "Nguyen", "Kowalski"]
CITIES = ["Köln", "Paris", "München", "Lyon", "Zürich", "Besançon", "Graz", "Nantes"]


def fill(rows: int) -> None:
    """``rows`` contacts (bulk insert), a fifth of them in one of 2,000 companies."""
    now = utcnow()
    with database_proxy.atomic():
        Company.insert_many([{"name": f"Firma {n} GmbH", "created": now, "updated": now}
                             for n in range(2000)]).execute()
        batch = []
        for n in range(rows):
            email = f"person.{n}@example{n % 97}.com"
            batch.append({"email": email, "email_key": email_key(email),
                          "first_name": FIRST[n % len(FIRST)], "last_name": LAST[n % len(LAST)],
                          "city": CITIES[n % len(CITIES)],
                          "company": (n % 2000) + 1 if n % 5 == 0 else None,
                          "created": now, "updated": now})
            if len(batch) == 1000:
                Contact.insert_many(batch).execute()
                batch = []
        if batch:
            Contact.insert_many(batch).execute()


def wait(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    from PySide6.QtCore import QCoreApplication

    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the view did not load")
        QCoreApplication.processEvents()
        time.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    profile = Profile(Path(tempfile.mkdtemp(prefix="listbridge-bench-"))).ensure()
    open_database(profile.database)
    start = time.perf_counter()
    fill(args.rows)
    print(f"Filled {args.rows:,} contacts in {time.perf_counter() - start:.1f} s "
          f"({platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()})")

    from gui.app import make_application
    from gui.pages.records import RecordsPage
    from gui.workers import wait_for_jobs

    app = make_application()
    app.processEvents()

    start = time.perf_counter()
    page = RecordsPage("contact")
    page.resize(1100, 700)
    page.show()
    page.reload()
    wait(lambda: page.model.has_loaded())
    page.table.viewport().repaint()  # the first rows painted, not only fetched
    opened = time.perf_counter() - start
    verdict = "ok" if opened <= GOAL_SECONDS else "SLOWER THAN THE GOAL"
    print(f"Contacts view, construct to first rows shown: {opened:.3f} s "
          f"(goal ≤ {GOAL_SECONDS:.0f} s, {verdict}); {page.model.rowCount():,} rows loaded "
          f"of {page.model.total():,}")

    for text in ("schmidt", "person.4242", "zzz-nothing"):
        start = time.perf_counter()
        page.model.set_search(text)
        wait(lambda: not page.model.is_loading())
        print(f"Search “{text}”: {time.perf_counter() - start:.3f} s, "
              f"{page.model.total():,} matches")
    page.model.set_search("")
    wait(lambda: not page.model.is_loading())

    start = time.perf_counter()
    page.table.scrollToBottom()
    wait(lambda: page.model.rowCount() > 500)
    print(f"Next page on scroll: {time.perf_counter() - start:.3f} s "
          f"({page.model.rowCount():,} rows loaded)")

    page.close()
    wait_for_jobs()
    close_database()
    return 0 if opened <= GOAL_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
