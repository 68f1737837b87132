"""What a bank statement parses into: typed rows, the account they belong to, and errors.

Invariants every parser keeps:

* ``StatementRow.amount`` is signed integer minor units (money in positive), converted
  from the file's decimal text exactly (``Decimal`` or digit strings, never ``float``);
  a value with more precision than the currency has is an error, not a rounding.
* ``StatementRow.posted_at`` is timezone-aware and in UTC. An OFX offset such as
  ``[-3:BRT]`` is applied (the original dropped it); a date without a time is midnight in
  the zone the caller names (UTC by default).
* ``StatementRow.line`` is the 1-based line of the file where the row starts, so an
  error can point at it, and so can a user.
* Every error is a ``StatementError``; one about a row is a ``BadRowError`` and
  carries that row's line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.domain.accounts import AccountType
from shared.domain.money import Currency


class StatementFormat(StrEnum):
    OFX = "ofx"
    CSV = "csv"


class FitidSource(StrEnum):
    """Where a row's ``fitid`` came from: the bank's own id, or our fingerprint of the row."""

    BANK = "bank"
    FINGERPRINT = "fingerprint"


@dataclass(frozen=True, slots=True)
class StatementRow:
    line: int
    fitid: str
    fitid_source: FitidSource
    posted_at: datetime
    amount: int
    memo: str
    # OFX TRNTYPE as sent (upper-cased; CREDIT, DEBIT, POS, XFER, PAYMENT, ...); for CSV
    # "CREDIT" or "DEBIT" from the sign. The sign of ``amount`` is what counts.
    kind: str
    payee: str | None = None


@dataclass(frozen=True, slots=True)
class BankAccount:
    """The account an OFX statement is about (``SIGNON/FI`` and ``BANKACCTFROM``)."""

    bank_id: str | None  # FI/FID as text: long ids ("0260", "341-7", 9 digits) are kept
    bank_name: str | None  # FI/ORG
    routing: str | None  # BANKACCTFROM/BANKID (a COMPE code in Brazil), None for cards
    branch: str | None  # BRANCHID
    number: str  # ACCTID
    type: AccountType
    ofx_type: str  # ACCTTYPE as sent, or "CREDITCARD" for CCSTMTRS


@dataclass(frozen=True, slots=True)
class LedgerBalance:
    amount: int  # minor units
    as_of: datetime  # aware, UTC


@dataclass(frozen=True, slots=True)
class StatementSummary:
    """What one validating pass saw: enough to answer "is this the same file?" later."""

    rows: int
    total: int  # sum of the rows' amounts, minor units
    first_posted: datetime | None
    last_posted: datetime | None


@dataclass(frozen=True, slots=True)
class StatementInfo:
    format: StatementFormat
    currency: Currency
    account: BankAccount | None  # CSV exports do not say
    start: datetime | None  # OFX DTSTART, else the earliest row
    end: datetime | None  # OFX DTEND, else the latest row
    ledger: LedgerBalance | None


class StatementError(ValueError):
    """A statement that cannot be imported; ``line`` points at the cause when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(message if line is None else f"line {line}: {message}")


class BadRowError(StatementError):
    """One row is wrong (its date, amount, id or text); the file is rejected whole."""

    line: int

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message, line)


class UnsupportedCurrencyError(StatementError):
    """The statement's currency is none of ``Currency``."""
