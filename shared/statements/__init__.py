"""Bank statement parsing: OFX 1.x/2.x and CSV bytes in, typed rows out. Pure: no I/O
beyond reading the stream it is given.

    statement = open_statement(upload, currency=Currency.BRL)   # validates every row
    statement.info.account, statement.summary.rows
    for row in statement.rows(): ...                            # streams them again

The public API (stable; the import processing builds on it):

* ``open_statement(source, *, currency=None, format=None, csv_options=None) -> Statement``:
  ``source`` is seekable bytes (an upload spooled to a file, or ``bytes``). The format
  is found from the content (``detect_format``), not the file name. ``currency`` is
  required for CSV and, for OFX, checked against CURDEF. Raises ``StatementError`` (a
  ``BadRowError`` with ``.line`` for a bad row, ``UnsupportedCurrencyError`` for a
  currency not in ``Currency``) before handing out any row: all or error.
* ``Statement``: ``.info`` (``StatementInfo``: format, currency, OFX account and ledger
  balance, period), ``.summary`` (``StatementSummary``: rows, total, first and last
  dates), ``.encoding``, and ``.rows()``, which streams the ``StatementRow``s again in
  file order, in constant memory.
* ``StatementRow``: ``line``, ``fitid`` (the bank's, or a fingerprint:
  ``fitid_source``), ``posted_at`` (aware, UTC), ``amount`` (signed minor units, money in
  positive), ``memo``, ``kind`` (OFX TRNTYPE as sent, CREDIT/DEBIT for CSV), ``payee``.
* ``fingerprint(date, amount, memo, occurrence) -> str``: the FITID of a CSV row without
  an id (definition in ``csv_rows``).
* ``CsvOptions(tz, day_first, delimiter)``: what a CSV file cannot say.

See ``model`` for the invariants of a row, ``reader`` for the all-or-error contract,
``ofx`` and ``csv_layout``/``csv_rows`` for what each format accepts.
"""

from shared.statements.csv_rows import CsvOptions, fingerprint
from shared.statements.model import (
    BadRowError,
    BankAccount,
    FitidSource,
    LedgerBalance,
    StatementError,
    StatementFormat,
    StatementInfo,
    StatementRow,
    StatementSummary,
    UnsupportedCurrencyError,
)
from shared.statements.reader import Statement, detect_format, open_statement

__all__ = [
    "BadRowError",
    "BankAccount",
    "CsvOptions",
    "FitidSource",
    "LedgerBalance",
    "Statement",
    "StatementError",
    "StatementFormat",
    "StatementInfo",
    "StatementRow",
    "StatementSummary",
    "UnsupportedCurrencyError",
    "detect_format",
    "fingerprint",
    "open_statement",
]
