"""Benchmark: import 100,000 contacts from CSV into a fresh profile, then the same file again.

Run from the repository root:  python tests/bench/bench_import.py [--rows N]
Prints wall time and peak memory (the process's maximum resident set size) next to the goals:
100,000 contacts in at most 15 s, at most 300 MB. Not collected by pytest (no test_ functions).
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.changes import RecordChange, subscribe  # noqa: E402
from core.db import close_database  # noqa: E402
from core.importer import import_csv  # noqa: E402
from core.migrations import open_database  # noqa: E402
from core.paths import Profile  # noqa: E402

GOAL_SECONDS = 15.0
GOAL_MB = 300.0
FIRST = ["Anna", "Jörg", "Émilie", "Lukas", "Chloé", "Mehmet", "Sophie", "François", "Zoë", "Ole"]
LAST = ["Müller", "Dupont", "Schmidt", "Lefèvre", "Weiß", "Martin", "Nguyen", "Kowalski"]
CITIES = ["Köln", "Paris", "München", "Lyon", "Zürich", "Besançon", "Graz", "Nantes"]


def write_file(path: Path, rows: int) -> None:
    """Semicolon-separated UTF-8 with BOM, German headers, 2,000 companies, 1% repeated emails."""
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["E-Mail", "Vorname", "Nachname", "Firma", "Straße", "PLZ", "Stadt",
                         "Telefon", "Notiz"])
        for i in range(rows):
            n = rng.randrange(rows) if i % 100 == 99 else i
            writer.writerow([
                f"person.{n}@example{n % 97}.com", rng.choice(FIRST), rng.choice(LAST),
                f"Firma {n % 2000} GmbH", f"Hauptstraße {n % 300}", f"{10000 + n % 89999}",
                rng.choice(CITIES), f"+49 30 {n:07d}", "note" if n % 3 else ""])


def run(label: str, path: Path) -> float:
    heard = [0]

    def listener(change: RecordChange) -> None:
        heard[0] += 1

    unsubscribe = subscribe(listener)
    start = time.perf_counter()
    report = import_csv(path, "contact", list_name="Bench")
    seconds = time.perf_counter() - start
    unsubscribe()
    print(f"{label}: {seconds:.1f} s (goal ≤ {GOAL_SECONDS:.0f} s): created {report.created:,}, "
          f"updated {report.updated:,}, unchanged {report.unchanged:,}, merged {report.merged:,}, "
          f"rejected {len(report.rejected):,}, companies {report.companies_created:,}, "
          f"{heard[0]:,} changes heard")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory(prefix="listbridge-bench-") as folder:
        path = Path(folder) / "contacts.csv"
        write_file(path, rows)
        print(f"{platform.node()}, {platform.processor() or platform.machine()}, Python "
              f"{platform.python_version()}: {rows:,} rows, "
              f"{path.stat().st_size / 1e6:.1f} MB of CSV")
        profile = Profile(Path(folder) / "profile").ensure()
        open_database(profile.database)
        try:
            first = run("fresh profile", path)
            again = run("same file again", path)
        finally:
            close_database()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if sys.platform == "darwin":
        peak_mb /= 1024  # bytes there, kilobytes on Linux
    print(f"peak memory: {peak_mb:.0f} MB (goal ≤ {GOAL_MB:.0f} MB)")
    ok = first <= GOAL_SECONDS and again <= GOAL_SECONDS and peak_mb <= GOAL_MB
    print("goals met" if ok else "GOALS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
