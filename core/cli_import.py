"""``listbridge import FILE``: CSV import from the command line.

Prints what was created, updated and rejected (the first reasons with their line numbers); every
rejected row goes to a CSV file in the profile's log folder, whose path is printed. Exit status:
0 when something was imported or nothing was wrong, 1 when the file could not be read or every row
was rejected, 2 when the command asks for something impossible (e.g. a dynamic list), 130 when
interrupted (the batches already written are kept).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from core.clock import utcnow
from core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from core.paths import Profile
from core.text import noun

if TYPE_CHECKING:
    from core.importer import ImportReport

KINDS = {"contacts": "contact", "leads": "lead", "companies": "company"}
SHOWN_REJECTIONS = 10


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("import", help="import contacts, leads or companies from a CSV file")
    parser.add_argument("file", help="the CSV file (UTF-8, UTF-8 with BOM or Windows-1252; "
                                     "comma, semicolon or tab separated)")
    parser.add_argument("--kind", choices=tuple(KINDS), default="contacts",
                        help="what the rows are: contacts, leads or companies (contacts)")
    parser.add_argument("--list", dest="list_name", metavar="NAME",
                        help="also add the imported records to this static marketing list "
                             "(created if missing)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, profile: Profile) -> int:
    from core.csvio import CsvReadError
    from core.importer import ImportRefused, ListRefused, import_csv

    path = Path(args.file)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    rejected_csv = profile.log_dir / f"import-{path.stem}-{stamp}.rejected.csv"
    cancel = threading.Event()
    progress = _ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        with _cancel_on_interrupt(cancel):
            report = import_csv(path, KINDS[args.kind], list_name=args.list_name,
                                progress=progress, cancel=cancel, rejected_csv=rejected_csv)
    except CsvReadError as exc:
        print(f"listbridge: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ImportRefused as exc:
        print(f"listbridge: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ListRefused) else EXIT_FAILED
    finally:
        if progress:
            progress.finish()
    print(_summary(report, args.kind))
    if report.cancelled:
        return 130
    if report.rejected and not report.kept:
        return EXIT_FAILED
    return EXIT_OK


def _summary(report: ImportReport, kind: str) -> str:
    lines = [f"Import of {kind} from {report.path.name} "
             f"({_encoding_name(report.encoding)}, {_delimiter_name(report.delimiter)} separated):"]
    counts = [("created", report.created), ("updated", report.updated),
              ("unchanged", report.unchanged), ("merged duplicates", report.merged),
              ("rejected", len(report.rejected))]
    lines += [f"  {label + ':':<19}{count:>8,}" for label, count in counts]
    if report.companies_created:
        lines.append(f"  {'companies created:':<19}{report.companies_created:>8,}")
    if report.list_name and report.kept:
        lines.append(f"Added to the list “{report.list_name}”.")
    if report.rejected:
        shown = report.rejected[:SHOWN_REJECTIONS]
        more = len(report.rejected) - len(shown)
        lines.append(f"Rejected {noun(len(shown), 'row')}:" if not more
                     else f"Rejected rows (the first {len(shown)}):")
        lines += [f"  line {row.line}: {row.reason}" for row in shown]
        if report.rejected_csv:
            lines.append(f"The rejected row is in {report.rejected_csv}"
                         if len(report.rejected) == 1 else
                         f"All {len(report.rejected):,} rejected rows are in {report.rejected_csv}")
    if report.warnings:
        lines.append("Warnings:")
        lines += [f"  {warning}" for warning in report.warnings]
    if report.cancelled:
        lines.append(f"Interrupted: rows up to line {report.last_line} were imported, the rest of "
                     "the file was not read.")
    return "\n".join(lines)


def _encoding_name(encoding: str) -> str:
    from core.csvio import ENCODING_NAMES

    return ENCODING_NAMES.get(encoding, encoding)


def _delimiter_name(delimiter: str) -> str:
    from core.csvio import DELIMITER_NAMES

    return DELIMITER_NAMES.get(delimiter, repr(delimiter))


@contextmanager
def _cancel_on_interrupt(cancel: threading.Event) -> Iterator[None]:
    """Ctrl-C stops the import after the batch being written, which is kept; a second Ctrl-C
    interrupts at once (the batch being written is rolled back)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(number: int, frame: object) -> None:
        cancel.set()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _ProgressLine:
    """``Importing… 12,000 of about 100,000 rows`` rewritten in place on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        self.stream.write(f"\rImporting… {done:,} of about {total:,} rows")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
