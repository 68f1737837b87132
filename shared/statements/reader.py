"""``open_statement``: validate a whole statement in one pass, then stream its rows.

All-or-error: the first pass reads every row, so a bad row anywhere fails
``open_statement`` and no row is ever handed out. Up to ``KEEP_ROWS`` rows are kept from
that pass (about 400 bytes each, so at most about 23 MiB) and ``Statement.rows()`` hands
them out without parsing again: parsing is most of an import's CPU, and a 50,000-row
statement is then parsed once. A larger file keeps only a ``StatementSummary`` and
``rows()`` reads it again (twice the CPU, constant memory); a file that changed between
the passes fails the second one. Either way the source must be seekable: an upload
spooled to a temporary file is.

Character sets are found the same way: each candidate (UTF-8 first, then the one the
file declares, or cp1252) is tried for the validating pass until one decodes the whole
file; UTF-8 errors are reliable evidence, any bytes "decode" as cp1252.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from shared.domain.money import Currency
from shared.statements.csv_rows import CsvOptions, CsvReader
from shared.statements.model import (
    StatementError,
    StatementFormat,
    StatementInfo,
    StatementRow,
    StatementSummary,
)
from shared.statements.ofx import OfxReader
from shared.statements.ofx_header import HEAD_BYTES, looks_like_ofx

CSV_ENCODINGS = ("utf-8-sig", "cp1252")
KEEP_ROWS = 60_000


class _Tally:
    def __init__(self) -> None:
        self.rows = self.total = 0
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, row: StatementRow) -> None:
        self.rows += 1
        self.total += row.amount
        if self.first is None or row.posted_at < self.first:
            self.first = row.posted_at
        if self.last is None or row.posted_at > self.last:
            self.last = row.posted_at

    def summary(self) -> StatementSummary:
        return StatementSummary(self.rows, self.total, self.first, self.last)


class Statement:
    """A statement that parsed whole. ``rows()`` streams it again, from its source."""

    def __init__(
        self,
        source: IO[bytes],
        start: int,
        encoding: str,
        info: StatementInfo,
        summary: StatementSummary,
        csv_options: CsvOptions,
        kept: list[StatementRow] | None = None,
    ) -> None:
        self._source, self._start = source, start
        self.encoding, self.info, self.summary = encoding, info, summary
        self._csv_options = csv_options
        self._kept = kept

    def rows(self) -> Iterator[StatementRow]:
        """Every row, in file order; the same rows the validating pass saw."""
        if self._kept is not None:
            yield from self._kept
            return
        self._source.seek(self._start)
        reader = _reader(
            self.info.format, self._source, self.encoding, self.info.currency, self._csv_options
        )
        tally = _Tally()
        for row in reader.rows():
            tally.add(row)
            yield row
        if tally.summary() != self.summary:
            raise StatementError("the file changed while it was being read")


def detect_format(head: bytes) -> StatementFormat:
    return StatementFormat.OFX if looks_like_ofx(head) else StatementFormat.CSV


def open_statement(
    source: IO[bytes] | bytes,
    *,
    currency: Currency | None = None,
    format: StatementFormat | None = None,
    csv_options: CsvOptions | None = None,
) -> Statement:
    """Parse and validate a whole statement; raise ``StatementError`` if any of it is bad.

    ``currency`` is required for CSV (the file does not say); for OFX, when given, it
    must be the statement's CURDEF. ``format`` is found from the content when None.
    """
    stream: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source
    if not stream.seekable():
        raise TypeError("open_statement needs a seekable source (spool uploads to a file)")
    start = stream.tell()
    found = format or detect_format(stream.read(HEAD_BYTES))
    options = csv_options or CsvOptions()
    for encoding in _encodings(found, stream, start):
        stream.seek(start)
        try:
            reader = _reader(found, stream, encoding, currency, options)
            tally, kept = _Tally(), _kept()
            for row in reader.rows():
                tally.add(row)
                if kept is not None and len(kept) < KEEP_ROWS:
                    kept.append(row)
                else:
                    kept = None  # too many to hold: rows() will read the file again
        except UnicodeDecodeError:
            continue
        info = reader.info
        if currency is not None and info.currency != currency:
            raise StatementError(f"the statement is in {info.currency.value}, not {currency.value}")
        return Statement(stream, start, encoding, info, tally.summary(), options, kept)
    raise StatementError("the file is in no character set we read (UTF-8, cp1252)")


def _kept() -> list[StatementRow] | None:
    return [] if KEEP_ROWS > 0 else None


def _encodings(found: StatementFormat, stream: IO[bytes], start: int) -> tuple[str, ...]:
    if found is StatementFormat.CSV:
        return CSV_ENCODINGS
    stream.seek(start)
    return OfxReader(stream).header.codecs


def _reader(
    found: StatementFormat,
    stream: IO[bytes],
    encoding: str,
    currency: Currency | None,
    options: CsvOptions,
) -> OfxReader | CsvReader:
    if found is StatementFormat.OFX:
        return OfxReader(stream, encoding)
    if currency is None:
        raise StatementError("a CSV statement needs the account's currency")
    return CsvReader(stream, currency, options, encoding)
