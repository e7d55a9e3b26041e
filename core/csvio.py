"""Reading CSV files as admins get them: detect the encoding and delimiter, read the rows with their
line numbers, suggest which column goes to which field, and keep formulas from being evaluated.

The encoding rule is deliberately simple: a UTF-16 byte-order mark means UTF-16; otherwise the
whole file is checked as strict UTF-8 (with or without BOM), and anything that is not UTF-8 is read
as Windows-1252, the encoding Excel writes on Western European Windows. The delimiter is the one
of ``,`` ``;`` and tab that splits the first lines into the same number of columns.

A row whose quotes are broken is reported as a ``BrokenRow`` and reading goes on with the next line:
a quote that never closes must not swallow the rest of the file.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from core.store import fields_for

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "cp1252": "Windows-1252",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}
SAMPLE_ROWS = 20
# A quoted value may run over several lines (an address, a note); one that runs longer than this is
# taken for a quote that was never closed.
MAX_RECORD_LINES = 100
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_CHUNK = 1 << 20


class CsvReadError(ValueError):
    """The file cannot be read as CSV; the message says why, in the admin's words."""


@dataclass(frozen=True)
class CsvInfo:
    """What ``sniff`` found: enough to show a preview and to read the file."""

    path: Path
    encoding: str  # a Python codec name: utf-8, utf-8-sig, cp1252, utf-16
    delimiter: str
    headers: tuple[str, ...]
    sample_rows: tuple[tuple[str, ...], ...]
    header_line: int = 1
    line_count: int = 0  # physical lines in the file, the header included: the progress estimate
    warnings: tuple[str, ...] = field(default=())

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES.get(self.encoding, self.encoding)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


@dataclass(frozen=True)
class BrokenRow:
    """Lines that csv could not split into values (broken quoting); reading resumes after them."""

    reason: str
    text: str  # the first line of the row as it is in the file


# -- encoding --------------------------------------------------------------------------------------

def detect_encoding(path: Path) -> tuple[str, int, list[str]]:
    """The codec to read ``path`` with, its number of lines, and warnings for the report."""
    with open(path, "rb") as handle:
        head = handle.read(_CHUNK)
        if not head.strip():
            raise CsvReadError(f"The file {path.name} is empty.")
        if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
            return "utf-16", _count_lines(handle, head), []
        if b"\x00" in head:
            return _utf16_without_bom(path, head), _count_lines(handle, head), []
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        lines = 0
        chunk = last = head
        try:
            while chunk:
                decoder.decode(chunk)
                lines += chunk.count(b"\n")
                last, chunk = chunk, handle.read(_CHUNK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            pass
        else:
            return encoding, lines + (not last.endswith(b"\n")), []
        handle.seek(0)
        return "cp1252", *_check_cp1252(handle)


def _count_lines(handle: IO[bytes], head: bytes) -> int:
    lines = head.count(b"\n")
    while chunk := handle.read(_CHUNK):
        lines += chunk.count(b"\n")
    return lines + 1


def _utf16_without_bom(path: Path, head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        raise CsvReadError(f"{path.name} is an Excel workbook or another zipped file, not CSV. "
                           "In Excel, use File › Save As › CSV UTF-8 and import that file.")
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if odd > len(head) // 4 and even == 0:
        return "utf-16-le"
    if even > len(head) // 4 and odd == 0:
        return "utf-16-be"
    raise CsvReadError(f"{path.name} holds binary data, not text: it is not a CSV file.")


def _check_cp1252(handle: IO[bytes]) -> tuple[int, list[str]]:
    decoder = codecs.getincrementaldecoder("cp1252")("replace")
    lines = replaced = 0
    last = b""
    while chunk := handle.read(_CHUNK):
        replaced += decoder.decode(chunk).count("\ufffd")
        lines += chunk.count(b"\n")
        last = chunk
    warnings = []
    if replaced:
        warnings.append(f"{replaced} byte(s) are neither UTF-8 nor Windows-1252 text; they were "
                        "read as “\ufffd”.")
    return lines + (not last.endswith(b"\n")), warnings


def open_text(path: Path, encoding: str) -> IO[str]:
    # newline="" as the csv module wants; "replace" only matters for the few bytes that
    # Windows-1252 leaves undefined (already counted in the warnings by detect_encoding).
    return open(path, encoding=encoding, errors="replace", newline="")


# -- rows ------------------------------------------------------------------------------------------

class _Lines:
    """The physical lines of a file, numbered, with room to push lines back after a broken row."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self.number = 0
        self.pending: deque[tuple[int, str]] = deque()
        self.taken: list[tuple[int, str]] = []
        self.too_long = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_RECORD_LINES:
            self.too_long = True
            raise StopIteration
        if self.pending:
            item = self.pending.popleft()
        else:
            text = self._handle.readline()
            if not text:
                raise StopIteration
            self.number += 1
            item = (self.number, text)
        self.taken.append(item)
        return item[1]


def read_records(handle: IO[str], delimiter: str,
                 width: int | None = None) -> Iterator[tuple[int, list[str] | BrokenRow]]:
    """Each CSV record with the line it starts on; blank lines come as empty lists.

    ``width`` (the header's number of columns) catches a quote that closed by luck further down:
    a record that spans lines with the wrong number of values, or with whole rows inside its
    value, is taken as broken.
    """
    lines = _Lines(handle)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        lines.taken = []
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = _broken_reason(str(exc), lines.too_long)
        else:
            if width is None or len(lines.taken) == 1 or _plausible(lines.taken, record, width,
                                                                    delimiter):
                yield lines.taken[0][0], record
                continue
            reason = (f"A quoted value runs over {len(lines.taken)} lines that look like rows of "
                      "their own: a quote in this row is probably not closed.")
        first, *rest = lines.taken
        yield first[0], BrokenRow(reason, first[1].rstrip("\r\n"))
        # Read again from the line after the broken one: the rest may be good rows.
        lines.pending.extendleft(reversed(rest))
        lines.too_long = False
        reader = csv.reader(lines, delimiter=delimiter, strict=True)


def _plausible(taken: list[tuple[int, str]], record: list[str], width: int,
               delimiter: str) -> bool:
    """Whether a record spanning lines is a real multi-line value, not a quote closed by luck:
    it has the header's width and no line inside the value looks like a whole row."""
    if len(record) != width:
        return False
    return width < 3 or all(text.count(delimiter) < width - 1 for _, text in taken[1:-1])


def _broken_reason(message: str, too_long: bool) -> str:
    if "unexpected end of data" in message or too_long:
        return "A quote opened in this row is never closed, so the row cannot be read."
    if "expected after" in message:
        return ("A quoted value is followed by other text before the next delimiter "
                '(write "" for a quote inside a quoted value).')
    if "field larger than field limit" in message:
        return f"A value is longer than {csv.field_size_limit():,} characters."
    return f"The row cannot be read as CSV ({message})."


def clean_headers(record: list[str]) -> tuple[str, ...]:
    return tuple(cell.replace("\ufeff", "").strip() for cell in record)


def sniff(path: str | Path) -> CsvInfo:
    """Encoding, delimiter, headers and the first rows of a CSV file, for the mapping step."""
    path = Path(path)
    if not path.is_file():
        raise CsvReadError(f"There is no file {path}.")
    try:
        encoding, line_count, warnings = detect_encoding(path)
        with open_text(path, encoding) as handle:
            delimiter = detect_delimiter(handle.read(64 * 1024))
    except OSError as exc:
        raise CsvReadError(f"{path.name} cannot be read: {exc.strerror or exc}.") from None
    return _preview(path, encoding, delimiter, line_count, tuple(warnings))


def reread(info: CsvInfo, encoding: str, delimiter: str) -> CsvInfo:
    """The file read again with the encoding and delimiter the admin chose instead."""
    warnings = info.warnings if encoding == info.encoding else ()
    return _preview(info.path, encoding, delimiter, info.line_count, warnings)


def _preview(path: Path, encoding: str, delimiter: str, line_count: int,
             warnings: tuple[str, ...]) -> CsvInfo:
    headers: tuple[str, ...] = ()
    header_line = 0
    samples: list[tuple[str, ...]] = []
    try:
        with open_text(path, encoding) as handle:
            for line, record in read_records(handle, delimiter):
                if isinstance(record, BrokenRow):
                    if not headers:
                        raise CsvReadError(f"The header (line {line}) cannot be read: "
                                           f"{record.reason}")
                    continue
                if not any(cell.strip() for cell in record):
                    continue
                if not headers:
                    headers, header_line = clean_headers(record), line
                    continue
                samples.append(tuple(record))
                if len(samples) >= SAMPLE_ROWS:
                    break
    except OSError as exc:
        raise CsvReadError(f"{path.name} cannot be read: {exc.strerror or exc}.") from None
    if not headers:
        raise CsvReadError(f"The file {path.name} is empty.")
    return CsvInfo(path, encoding, delimiter, headers, tuple(samples), header_line, line_count,
                   warnings)


def detect_delimiter(sample: str) -> str:
    """The delimiter that gives the header several columns and the most rows of the same width."""
    lines = sample.splitlines()[:50]
    if len(sample) >= 64 * 1024 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best, best_score = ",", (False, -1, 0)
    for delimiter in DELIMITERS:
        rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
        if not rows:
            continue
        width = len(rows[0])
        score = (width > 1, sum(len(row) == width for row in rows[1:]), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# -- cells -----------------------------------------------------------------------------------------

def escape_cell(text: str) -> str:
    """A cell a spreadsheet will show as text: formulas (= + - @, tab, CR first) get a quote."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def unescape_cell(text: str) -> str:
    """Undo ``escape_cell``, so that a file exported by ListBridge imports back unchanged."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


# -- mapping ---------------------------------------------------------------------------------------

def _norm(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", plain.lower())


_PERSON_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "mail", "emailaddress", "emailadresse", "adresseemail", "adressemail",
              "courriel", "adressecourriel", "mailadresse"),
    "salutation": ("salutation", "anrede", "civilite", "mr", "mrs"),
    "first_name": ("firstname", "givenname", "forename", "vorname", "prenom"),
    "last_name": ("lastname", "surname", "familyname", "nachname", "familienname", "nom",
                  "nomdefamille", "name"),
    "job_title": ("jobtitle", "title", "position", "function", "fonction", "poste", "funktion",
                  "berufsbezeichnung"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "telefon", "telefonnummer",
              "businessphone", "telefongeschaftlich"),
    "mobile": ("mobile", "mobilephone", "cell", "cellphone", "portable", "telephoneportable",
               "handy", "mobil", "mobiltelefon", "mobilnummer"),
    "street": ("street", "address", "addressline1", "streetaddress", "adresse", "rue", "strasse",
               "anschrift"),
    "street2": ("street2", "addressline2", "adresse2", "complementdadresse", "adresszusatz"),
    "postal_code": ("postalcode", "zip", "zipcode", "postcode", "plz", "postleitzahl",
                    "codepostal", "cp"),
    "city": ("city", "town", "ville", "commune", "stadt", "ort"),
    "state": ("state", "region", "province", "bundesland", "departement"),
    "country": ("country", "pays", "land"),
    "active": ("active", "actif", "aktiv"),
    "do_not_contact": ("donotcontact", "optout", "nepascontacter", "nichtkontaktieren"),
    "points": ("points", "score", "punkte"),
    "birth_date": ("birthdate", "birthday", "dateofbirth", "geburtsdatum", "geburtstag",
                   "datedenaissance"),
    "status": ("status", "statut", "leadstatus"),
    "source": ("source", "leadsource", "quelle", "origine"),
}
_COMPANY_WORDS = ("company", "companyname", "organisation", "organization", "account", "firma",
                  "firmenname", "unternehmen", "societe", "entreprise", "raisonsociale")
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "contact": {**_PERSON_ALIASES, "company": _COMPANY_WORDS},
    "lead": {**_PERSON_ALIASES, "company_name": _COMPANY_WORDS},
    "company": {
        "name": ("name", "nom", *_COMPANY_WORDS),
        "email": _PERSON_ALIASES["email"],
        "phone": _PERSON_ALIASES["phone"],
        "fax": ("fax", "telefax", "telecopie"),
        "website": ("website", "web", "url", "homepage", "siteweb", "siteinternet", "webseite",
                    "internet", "site"),
        **{key: _PERSON_ALIASES[key] for key in ("street", "street2", "postal_code", "city",
                                                 "state", "country", "active",
                                                 "do_not_contact")},
    },
}


def suggest_mapping(entity: str, headers: list[str] | tuple[str, ...]) -> dict[str, str | None]:
    """For each header, the field key it most likely holds (or None): exact key or label first,
    then common English, French and German column names. Each field is suggested once."""
    fields = fields_for(entity)
    exact: dict[str, str] = {}
    for info in reversed(fields):  # a standard field wins over a custom field with its label
        exact[_norm(info.label)] = info.key
        exact[_norm(info.key)] = info.key
    aliases: dict[str, str] = {}
    for key, words in ALIASES[entity].items():
        for word in words:
            aliases.setdefault(word, key)
    mapping: dict[str, str | None] = {header: None for header in headers}
    taken: set[str] = set()
    for table in (exact, aliases):
        for header in headers:
            found = table.get(_norm(header))
            if mapping[header] is None and found is not None and found not in taken:
                mapping[header] = found
                taken.add(found)
    return mapping
