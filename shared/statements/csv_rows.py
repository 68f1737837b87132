"""CSV statements, streamed row by row (the shapes accepted: ``csv_layout``).

Rows without an id get a fingerprint as their FITID, so that importing the same export
twice, or two overlapping exports, matches the rows already imported instead of
duplicating them::

    "csv1:" + sha256("<date as written, ISO>|<amount in minor units>|<memo, casefolded,
                      spaces collapsed>|<n>").hexdigest()[:32]

where ``n`` counts the earlier rows of the same file with the same date, amount and
memo (two identical coffees on one day are two rows: ``n`` = 0 and 1). Identical rows
share a day, so an export that covers whole days numbers them the same way every time.
Counting keeps 16 bytes per distinct row, the only state that grows with the file.

Lines that only report a balance (``SALDO ANTERIOR``, ``SALDO DO DIA``, ``Total``,
``Opening balance``...) and blank lines are skipped. Dates without a time are midnight in
``CsvOptions.tz`` (UTC by default); every ``posted_at`` is converted to UTC.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import IO

from shared.domain.money import Currency
from shared.domain.text import forbidden_character
from shared.statements.amounts import AmountError, parse_amount
from shared.statements.csv_layout import SNIFF_ROWS, CsvLayout, sniff
from shared.statements.model import (
    BadRowError,
    FitidSource,
    StatementFormat,
    StatementInfo,
    StatementRow,
)

CHUNK_BYTES = 256 * 1024
FINGERPRINT_PREFIX = "csv1:"
_NEWLINE = re.compile(r"\r\n|\r|\n")
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?"
)
_DAY_MONTH = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?"
)
_BALANCE = re.compile(
    r"saldo\b|s a l d o\b|(?:opening|closing|ending|beginning|available) balance\b"
    r"|(?:total|balance)(?: geral)?:?$",
    re.IGNORECASE,
)
_DEBIT_FLAGS = frozenset({"d", "debito", "débito", "debit", "dr", "saida", "saída", "-"})
_CREDIT_FLAGS = frozenset({"c", "credito", "crédito", "credit", "cr", "entrada", "+"})


@dataclass(frozen=True, slots=True)
class CsvOptions:
    """What the file cannot say. ``day_first``/``delimiter`` None: found from the file."""

    tz: tzinfo = UTC
    day_first: bool | None = None
    delimiter: str | None = None


def fingerprint(written: date, amount: int, memo: str, occurrence: int) -> str:
    normalised = " ".join(memo.casefold().split())
    key = f"{written.isoformat()}|{amount}|{normalised}|{occurrence}"
    return FINGERPRINT_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:32]


def lines_of(source: IO[bytes], encoding: str, head: bytes = b"") -> Iterator[str]:
    """Decoded lines, each ending in ``\\n`` whatever the file used (``\\r\\n``, ``\\n``, or
    the lone ``\\r`` of Excel's "CSV (Macintosh)"); a decoding error propagates (the
    caller retries another character set)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    rest = decoder.decode(head)
    while chunk := source.read(CHUNK_BYTES):
        rest += decoder.decode(chunk)
        # A trailing "\r" may be the first half of a "\r\n" cut between two chunks.
        held = rest.endswith("\r")
        *complete, rest = _NEWLINE.split(rest[:-1] if held else rest)
        for line in complete:
            yield line + "\n"
        rest += "\r" if held else ""
    *complete, rest = _NEWLINE.split(rest + decoder.decode(b"", final=True))
    for line in complete:
        yield line + "\n"
    if rest:
        yield rest


@dataclass
class _Counter:
    seen: dict[bytes, int] = field(default_factory=dict)

    def next(self, written: date, amount: int, memo: str) -> int:
        key = hashlib.blake2b(
            f"{written.isoformat()}|{amount}|{' '.join(memo.casefold().split())}".encode(),
            digest_size=16,
        ).digest()
        count = self.seen.get(key, 0)
        self.seen[key] = count + 1
        return count


class CsvReader:
    """One pass over a CSV file; ``info`` (the period) is known once ``rows()`` is exhausted."""

    def __init__(
        self, source: IO[bytes], currency: Currency, options: CsvOptions, encoding: str
    ) -> None:
        self._lines = lines_of(source, encoding)
        self._head = list(itertools.islice(self._lines, SNIFF_ROWS))
        self.layout: CsvLayout = sniff(self._head, options.delimiter, options.day_first)
        self.currency, self.options = currency, options
        self._info: StatementInfo | None = None

    @property
    def info(self) -> StatementInfo:
        if self._info is None:
            raise RuntimeError("the statement's info is known once its rows have been read")
        return self._info

    def rows(self) -> Iterator[StatementRow]:
        layout, counter = self.layout, _Counter()
        lines = itertools.chain(self._head[layout.header_line :], self._lines)
        first = last = None
        for start, cells in _records(lines, layout.delimiter, layout.header_line):
            row = self._row(cells, start, counter)
            if row is not None:
                first = row.posted_at if first is None else min(first, row.posted_at)
                last = row.posted_at if last is None else max(last, row.posted_at)
                yield row
        self._info = StatementInfo(StatementFormat.CSV, self.currency, None, first, last, None)

    def _row(self, cells: list[str], line: int, counter: _Counter) -> StatementRow | None:
        columns = self.layout.columns
        if not any(cell.strip() for cell in cells):
            return None
        memo = _memo(cells, columns.memo)
        if _BALANCE.match(memo):
            return None
        if bad := forbidden_character(memo):
            raise BadRowError(f"the description contains the character {bad}", line)
        written, posted_at = self._date(_cell(cells, columns.date), line)
        amount = self._amount(cells, line)
        given = _cell(cells, columns.id).strip() if columns.id is not None else ""
        if given:
            fitid, source = given, FitidSource.BANK
        else:
            occurrence = counter.next(written, amount, memo)
            fitid, source = fingerprint(written, amount, memo, occurrence), FitidSource.FINGERPRINT
        kind = "CREDIT" if amount >= 0 else "DEBIT"
        return StatementRow(line, fitid, source, posted_at, amount, memo, kind)

    def _date(self, text: str, line: int) -> tuple[date, datetime]:
        try:
            return _parse_date(text.strip(), self.layout.day_first, self.options.tz)
        except ValueError:
            order = "dd/mm/yyyy" if self.layout.day_first else "mm/dd/yyyy"
            raise BadRowError(
                f"{text.strip()!r} is not a date (expected {order} or yyyy-mm-dd)", line
            ) from None

    def _amount(self, cells: list[str], line: int) -> int:
        columns, mark = self.layout.columns, self.layout.decimal
        try:
            amount = parse_amount(_cell(cells, columns.amount), mark)
            debit = parse_amount(_cell(cells, columns.debit), mark)
            credit = parse_amount(_cell(cells, columns.credit), mark)
        except AmountError as err:
            raise BadRowError(str(err), line) from None
        if amount is None:
            if debit and credit:
                raise BadRowError("both a debit and a credit on one row", line)
            if debit is None and credit is None:
                raise BadRowError("no amount", line)
            amount = -abs(debit) if debit else abs(credit or 0)
        flag = _cell(cells, columns.flag).strip().casefold()
        if flag in _DEBIT_FLAGS:
            return -abs(amount)
        if flag in _CREDIT_FLAGS:
            return abs(amount)
        return amount


def _records(
    lines: Iterator[str], delimiter: str, header_line: int
) -> Iterator[tuple[int, list[str]]]:
    """(the line a record starts on, its cells); a record may span lines (quoted newlines)."""
    reader = csv.reader(lines, delimiter=delimiter)
    line = header_line
    while True:
        start = line + 1
        try:
            cells = next(reader, None)
        except csv.Error as err:
            raise BadRowError(f"unreadable CSV: {err}", header_line + reader.line_num) from None
        if cells is None:
            return
        line = header_line + reader.line_num
        yield start, cells


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _memo(cells: list[str], indexes: tuple[int, ...]) -> str:
    parts: list[str] = []
    for index in indexes:
        text = " ".join(_cell(cells, index).split())
        if text and not any(text.casefold() in part.casefold() for part in parts):
            parts.append(text)
    return " ".join(parts)


def _parse_date(text: str, day_first: bool, tz: tzinfo) -> tuple[date, datetime]:
    """(the date as written, the moment in UTC); ValueError when it is no date."""
    if match := _ISO.fullmatch(text):
        year, month, day, hour, minute, second, offset = match.groups()
        zone = _offset(offset) if offset else tz
    elif match := _DAY_MONTH.fullmatch(text):
        first, second_part, year, hour, minute, second = match.groups()
        day, month = (first, second_part) if day_first else (second_part, first)
        year = str(2000 + int(year)) if len(year) == 2 else year
        zone = tz
    else:
        raise ValueError(text)
    written = date(int(year), int(month), int(day))
    local = datetime(
        written.year, written.month, written.day, int(hour or 0), int(minute or 0),
        int(second or 0), tzinfo=zone,
    )  # fmt: skip
    return written, local.astimezone(UTC)


def _offset(text: str) -> tzinfo:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
