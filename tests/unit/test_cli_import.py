"""``listbridge import``: what the admin reads on the terminal and the exit status cron sees."""

from __future__ import annotations

import csv
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.cli import main
from core.db import close_database

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A profile folder for the command; afterwards its database is closed and the logging the
    command set up (a file handler, no propagation) is undone so later tests see their logs."""
    yield tmp_path / "profile"
    close_database()
    root = logging.getLogger("listbridge")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.propagate = True
    root.setLevel(logging.NOTSET)


def write(folder: Path, text: str, name: str = "people.csv", encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "import", *args])


def test_summary_counts_reasons_and_the_rejected_file(data_dir, tmp_path, capsys):
    path = write(tmp_path, "E-Mail;Vorname\na@example.com;Jörg\nbroken;X\nb@example.com;Zoë\n"
                           "A@example.com;Jörg\n", encoding="cp1252")

    assert run(data_dir, str(path)) == 0

    out = capsys.readouterr().out
    assert "contacts from people.csv (Windows-1252, semicolon separated)" in out
    assert "created:                  2" in out
    assert "merged duplicates:        1" in out
    assert "line 3: Invalid email “broken”" in out
    rejected = next((data_dir / "logs").glob("import-people-*.rejected.csv"))
    assert "Rejected row:\n  line 3" in out
    assert f"The rejected row is in {rejected}" in out and "1 rejected rows" not in out
    with open(rejected, encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle, delimiter=";"))[1][0] == "3"


def test_only_the_first_ten_reasons_are_printed(data_dir, tmp_path, capsys):
    lines = ["Email"] + [f"bad{i}" for i in range(12)] + ["ok@example.com"]
    assert run(data_dir, str(write(tmp_path, "\n".join(lines) + "\n"))) == 0
    out = capsys.readouterr().out
    assert "Rejected rows (the first 10):" in out and "line 11:" in out and "line 12:" not in out
    assert "All 12 rejected rows are in" in out


def test_exit_1_when_every_row_is_rejected_or_the_file_cannot_be_read(data_dir, tmp_path, capsys):
    assert run(data_dir, str(write(tmp_path, "Email\nnope\nnada\n"))) == 1
    assert run(data_dir, str(tmp_path / "missing.csv")) == 1
    assert run(data_dir, str(write(tmp_path, "", name="empty.csv"))) == 1
    assert run(data_dir, str(write(tmp_path, "City\nParis\n", name="nomail.csv"))) == 1
    err = capsys.readouterr().err
    assert "There is no file" in err and "is empty" in err and "No column goes to Email" in err


def test_exit_0_when_nothing_was_wrong_even_if_nothing_was_imported(data_dir, tmp_path, capsys):
    assert run(data_dir, str(write(tmp_path, "Email;Vorname\n"))) == 0
    assert "The file has no rows under its header." in capsys.readouterr().out


def test_list_option_creates_the_list_and_refuses_the_wrong_kind(data_dir, tmp_path, capsys):
    path = write(tmp_path, "Email,Company\nlead@example.com,ACME\n")
    assert run(data_dir, str(path), "--kind", "leads", "--list", "Spring fair") == 0
    assert "Added to the list “Spring fair”." in capsys.readouterr().out

    assert run(data_dir, str(path), "--list", "Spring fair") == 2
    assert "The list “Spring fair” holds leads, not contacts." in capsys.readouterr().err


def test_an_unknown_kind_is_bad_usage(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        run(data_dir, "people.csv", "--kind", "people")
    assert exited.value.code == 2


def test_the_command_runs_as_a_real_process(tmp_path):
    path = write(tmp_path, "Firma\tStadt\nACME GmbH\tKöln\nacme gmbh\tBonn\n", name="firmen.txt",
                 encoding="utf-8-sig")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "--data-dir", str(tmp_path / "profile"), "import",
         str(path), "--kind", "companies"],
        capture_output=True, text=True, encoding="utf-8", env=env, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "companies from firmen.txt (UTF-8 with BOM, tab separated)" in done.stdout
    assert "created:                  1" in done.stdout
    assert "merged duplicates:        1" in done.stdout
    assert done.stderr == ""  # not a terminal: no progress line


def test_counts_of_one_read_in_the_singular(data_dir, tmp_path, capsys):
    assert run(data_dir, str(write(tmp_path, "Email\nok@example.com\nbroken\n", name="one.csv"))) == 0
    out = capsys.readouterr().out
    assert "Rejected row:\n  line 3" in out and "The rejected row is in" in out
    assert "1 rejected rows" not in out


def test_a_one_column_header_reads_in_the_singular(data_dir, tmp_path):
    from core.csvio import reread, sniff
    from core.importer import import_csv
    from core.migrations import open_database
    from core.paths import Profile

    path = write(tmp_path, "Email\nok@example.com\nsplit@example.com;extra\n", name="one.csv")
    open_database(Profile(data_dir).ensure().database)
    report = import_csv(path, "contact", info=reread(sniff(path), "utf-8", ";"))
    assert [r.reason for r in report.rejected] == [
        "The row has 2 values but the header has 1 column; a value holding the delimiter "
        "probably lacks its quotes."]
