"""Commands: what a client asks the command side to do, as typed, immutable values.

Each names the acting user; creates carry the client's optional ``Idempotency-Key``.
Parsing a request into these is the edge's job (``schemas``); handlers never see HTTP.
An update's ``changes`` may be :class:`Rejected`: the body was unusable, and the handler
raises that error only after its 404 check (the contract's order: route binding, then
validation, then policy), so no handler is handed a thunk to decide when to parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, ClassVar
from uuid import UUID

from shared.domain.accounts import AccountType
from shared.domain.categories import Color
from shared.domain.imports import Resolution
from shared.domain.money import Currency, Money


@dataclass(frozen=True, slots=True)
class Rejected:
    """A request body that did not make valid changes, and the error it earned (400, 413
    or 422), kept as data until the handler has looked the resource up."""

    error: Exception


# Accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountDetails:
    name: str
    number: str | None
    currency: Currency
    type: AccountType
    bank_id: UUID


@dataclass(frozen=True, slots=True)
class OpenAccount:
    # Idempotency claims are derived from (user, kind, key): the route names of the first
    # release, kept so that claims already stored keep their ids.
    kind: ClassVar[str] = "accounts"
    user_id: UUID
    details: AccountDetails
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateAccount:
    user_id: UUID
    account_id: UUID
    changes: AccountDetails | Rejected


@dataclass(frozen=True, slots=True)
class CloseAccount:
    user_id: UUID
    account_id: UUID


# Categories -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateCategory:
    """A new category is never a default, whatever the body says (as the original)."""

    kind: ClassVar[str] = "categories"
    user_id: UUID
    name: str
    description: str | None
    color: Color
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class CategoryChanges:
    name: str
    description: str | None
    color: Color
    is_default: bool


@dataclass(frozen=True, slots=True)
class UpdateCategory:
    user_id: UUID
    category_id: UUID
    changes: CategoryChanges | Rejected


@dataclass(frozen=True, slots=True)
class DeleteCategory:
    user_id: UUID
    category_id: UUID


# Transactions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SplitLine:
    """One part of a split transaction: an amount (minor units) on a category."""

    category_id: UUID
    amount: int
    memo: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionDetails:
    """What a transaction says, as recorded or amended (its account never changes)."""

    amount: Money
    date: datetime
    category_id: UUID | None = None
    memo: str | None = None
    splits: tuple[SplitLine, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordTransaction:
    kind: ClassVar[str] = "transactions"
    user_id: UUID
    account_id: UUID
    details: TransactionDetails
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class AmendTransaction:
    user_id: UUID
    transaction_id: UUID
    changes: TransactionDetails | Rejected


@dataclass(frozen=True, slots=True)
class DeleteTransaction:
    user_id: UUID
    transaction_id: UUID


# Budgets ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateBudget:
    """Create-or-return (the original's ``firstOrCreate``): one budget per category."""

    user_id: UUID
    category_id: UUID
    name: str | None = None


@dataclass(frozen=True, slots=True)
class RenameBudget:
    user_id: UUID
    budget_id: UUID
    name: str | Rejected


@dataclass(frozen=True, slots=True)
class DeleteBudget:
    user_id: UUID
    budget_id: UUID


@dataclass(frozen=True, slots=True)
class AllocateBudget:
    """Set (not add to) a budget's allocation for a month (``month``: its first day)."""

    user_id: UUID
    budget_id: UUID
    month: date
    amount: Money


@dataclass(frozen=True, slots=True)
class MoveMoney:
    """Move a positive amount between two of the caller's budgets' allocations of a month
    (no cap: the month's total is unchanged). Not idempotent by itself, hence the key."""

    kind: ClassVar[str] = "budget-moves"
    user_id: UUID
    from_budget_id: UUID
    to_budget_id: UUID
    month: date
    amount: Money
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SetMonthlyIncome:
    """The income of a month, in force for the later months until one sets another."""

    user_id: UUID
    month: date
    amount: Money


# Users and tokens -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProvisionLoadTestUser:
    """A user with three accounts, the default categories and a day's token (no caller)."""

    now: datetime


@dataclass(frozen=True, slots=True)
class RegisterUser:
    """A new user with the default categories, signed in (a token). No idempotency key:
    the address is unique, so a retried registration is a 422 and the client logs in."""

    name: str
    email: str  # lowercase
    password: str = field(repr=False)
    preferred_currency: Currency
    now: datetime


@dataclass(frozen=True, slots=True)
class LogIn:
    email: str
    password: str = field(repr=False)
    now: datetime


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    """Name and e-mail (a new address is claimed, the old one released), and the
    preferred currency when given."""

    user_id: UUID
    name: str
    email: str
    preferred_currency: Currency | None = None


@dataclass(frozen=True, slots=True)
class ChangePassword:
    user_id: UUID
    current_password: str = field(repr=False)
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SetAutoCategorization:
    """Apply suggested categories at or above ``threshold`` by themselves; None: never."""

    user_id: UUID
    threshold: float | None


@dataclass(frozen=True, slots=True)
class DeleteUser:
    """Delete the caller (their password confirms it): a tombstone, every token revoked."""

    user_id: UUID
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class RevokeToken:
    """Revoke one of the caller's own tokens (``DELETE /api/tokens/{id}``, and logout)."""

    user_id: UUID
    token_id: UUID


# Statement imports and notifications ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UploadedStatement:
    """One uploaded file: its client name, lower-cased extension (``ofx``/``csv``), hash,
    size, and the spooled content (read once, by the handler, into the object store)."""

    file_name: str
    extension: str
    sha256: str
    size: int
    content: IO[bytes] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StartImports:
    """Accept statement files for processing (``POST /api/imports``), into
    ``account_id`` or, for OFX files without it, into the account each file names."""

    user_id: UUID
    account_id: UUID | None
    files: tuple[UploadedStatement, ...]


@dataclass(frozen=True, slots=True)
class ProcessImport:
    """Parse, match and record one import (the Cloud Tasks task; no caller)."""

    import_id: UUID


@dataclass(frozen=True, slots=True)
class ResolveConflict:
    user_id: UUID
    import_id: UUID
    row_id: UUID
    resolution: Resolution | Rejected


@dataclass(frozen=True, slots=True)
class MarkNotificationRead:
    user_id: UUID
    notification_id: UUID


@dataclass(frozen=True, slots=True)
class MarkAllNotificationsRead:
    user_id: UUID
