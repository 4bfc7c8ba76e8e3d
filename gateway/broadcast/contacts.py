"""Reading contact lists (pure): CSV rows to contacts, or to the reason a row was skipped.

A list exported from a billing system or a spreadsheet: a header row naming
the columns ``phone`` (required), ``name``, ``language``, ``area``,
``account``; any other column is kept as an attribute. Numbers in any national
or international format and in any digit script become +E.164 in the site's
region. A bad row is reported with its line number and skipped; the others
go in. Files are read as a stream: a million rows never sit in memory.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gateway.conversation.phones import InvalidNumber, to_e164
from gateway.conversation.text import normalise
from gateway.exceptions import ContactsFileError
from gateway.store.rows_broadcast import NewContact

SAMPLE = 65536  # bytes checked for UTF-8 before anything is imported
MAX_FIELD = 500  # characters: longer cells are a broken file, not a name
MAX_LINE = 65536  # characters a line: a file without newlines is not read whole into memory
_LANGUAGES = {
    "fa": "fa",
    "farsi": "fa",
    "persian": "fa",
    "فارسی": "fa",
    "پارسی": "fa",
    "ar": "ar",
    "arabic": "ar",
    "عربی": "ar",
    "عربي": "ar",
    "العربية": "ar",
    "en": "en",
    "english": "en",
    "انگلیسی": "en",
}


@dataclass(frozen=True)
class Contact(NewContact):
    """A contact as read from a list: what the store keeps, and where it was read."""

    line: int = field(default=0, compare=False)  # where it was read (0: not from a file)


@dataclass(frozen=True)
class RowProblem:
    line: int
    problem: str


class LineTooLong(ContactsFileError):
    """A line longer than :data:`MAX_LINE`: not a contacts list (or one without line ends)."""


def bounded_lines(stream: io.TextIOBase, limit: int = MAX_LINE) -> Iterator[str]:
    """The lines of ``stream`` (their ends kept), never holding more than ``limit`` characters
    of one: a longer line raises :class:`LineTooLong` as soon as it is seen."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(("\n", "\r")):
            raise LineTooLong(f"line {number} is longer than {limit} characters: is this a CSV file, one row a line?")
        yield line


def language_code(value: str) -> str | None:
    """``fa``/``ar``/``en`` for the ways a spreadsheet may say it; None when it cannot tell."""
    return _LANGUAGES.get(normalise(value)) or _LANGUAGES.get(value.strip().casefold())


def read_contacts(lines: Iterable[str], region: str) -> Iterator[Contact | RowProblem]:
    """Each data row as a :class:`Contact`, or a :class:`RowProblem` with its line number.
    Raises :class:`ContactsFileError` when the header has no ``phone`` column.

    Spreadsheet habits are understood: a ``sep=;`` first line, empty column names (Excel's
    trailing commas) ignored. A quote left open swallows the lines after it into one cell:
    that row is reported with the lines it spans, never silently merged."""
    source = iter(lines)
    first = next(source, None)
    skipped = 0  # lines before the header (they count in the line numbers reported)
    if first is not None and first.lstrip("\ufeff").lower().startswith("sep=") and len(first.strip()) <= 6:
        delimiter = first.lstrip("\ufeff").strip()[4:] or ","
        first = next(source, None)
        skipped = 1
        dialect = _dialect(delimiter)
    elif first is not None:
        dialect = _dialect(_guess(first))
    if first is None:
        raise ContactsFileError("the file is empty: it needs a header row with a phone column")
    reader = csv.reader(_chain(first, source), dialect)
    header = [h.strip().casefold().lstrip("\ufeff") for h in next(reader)]
    named = [h for h in header if h]
    if "phone" not in named:
        raise ContactsFileError(f"no 'phone' column in the header (found: {', '.join(named) or 'nothing'})")
    if len(set(named)) != len(named):
        raise ContactsFileError(f"a column name appears twice in the header: {', '.join(named)}")
    end = reader.line_num + skipped
    for cells in reader:
        start, end = end + 1, reader.line_num + skipped
        if not any(c.strip() for c in cells):
            continue  # blank line
        if any("\n" in c or "\r" in c for c in cells):
            yield RowProblem(start, f"a quote opened on line {start} is not closed: lines {start}-{end} became "
                                    "one row (check the quotes in that row)")  # fmt: skip
            continue
        yield _row(header, cells, start, region)


def duplicate(phone: str, earlier: int, line: int) -> RowProblem:
    """Line ``line`` has the number of line ``earlier`` of the same file: it wins, as a later
    row does (its cells replace the earlier row's; its empty cells keep them)."""
    return RowProblem(line, f"duplicate: {phone} is also on line {earlier}; line {line} wins "
                            "(its cells replace that row's, its empty cells keep them)")  # fmt: skip


def _row(header: list[str], cells: list[str], line: int, region: str) -> Contact | RowProblem:
    if len(cells) != len(header):
        return RowProblem(line, f"{len(cells)} fields, the header has {len(header)}")
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=True) if name}
    too_long = next((name for name, v in values.items() if len(v) > MAX_FIELD), None)
    if too_long:
        return RowProblem(line, f"{too_long} is longer than {MAX_FIELD} characters")
    raw_phone = values.pop("phone")
    try:
        phone = to_e164(normalise(raw_phone).replace(" ", ""), region, mobile=True)
    except InvalidNumber as exc:
        return RowProblem(line, f"phone {raw_phone!r} {_reason(exc)}")
    language = None
    raw_language = values.pop("language", "")
    if raw_language:
        language = language_code(raw_language)
        if language is None:
            return RowProblem(line, f"language {raw_language!r} is not fa, ar or en")
    known = {k: (values.pop(k, "") or None) for k in ("name", "area", "account")}
    attrs = {k: v for k, v in values.items() if v}
    return Contact(phone, known["name"], language, known["area"], known["account"], attrs, line)


def _reason(exc: InvalidNumber) -> str:
    """The reason without the number it starts with (the row's own text is quoted already)."""
    return re.sub(r"^'[^']*'\s*", "", str(exc))


def _guess(header_line: str) -> str:
    """Comma, semicolon (spreadsheets in many locales) or tab: whichever the header uses most."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    return delimiter if counts[delimiter] else ","


def _dialect(delimiter: str) -> type[csv.Dialect]:
    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter[:1]
    return Dialect


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def open_text(path: str) -> tuple[io.BufferedReader, io.TextIOWrapper]:
    """The file as UTF-8 text (with or without a BOM) and its byte stream (for progress).
    Raises :class:`ContactsFileError` when its start is not UTF-8."""
    with open(path, "rb") as f:
        head = f.read(SAMPLE)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < SAMPLE or exc.start < len(head) - 4:  # not a character cut at the sample's edge
            raise ContactsFileError(
                f"not UTF-8 (byte {exc.start}): save it as 'CSV UTF-8' (Excel) or convert it, "
                "e.g. iconv -f WINDOWS-1256 -t UTF-8"
            ) from None
    raw = open(path, "rb")  # noqa: SIM115 -- closed by the caller with the wrapper
    return raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
