"""Transactions: each its own stream, so concurrent writes by one user never conflict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.errors import RuleViolationError
from shared.domain.money import Currency


class TransactionType(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


def type_for(amount: int) -> TransactionType:
    """The type is derived from the sign; zero counts as a credit (as in the original)."""
    return TransactionType.CREDIT if amount >= 0 else TransactionType.DEBIT


_CREDIT, _DEBIT = TransactionType.CREDIT.value, TransactionType.DEBIT.value


def type_name(amount: int) -> str:
    """``type_for(amount).value`` without the enum lookups (projections call it per row)."""
    return _CREDIT if amount >= 0 else _DEBIT


@dataclass(frozen=True, slots=True)
class Split:
    id: str
    category_id: str
    amount: int
    memo: str | None

    def as_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category_id": self.category_id,
            "amount": self.amount,
            "memo": self.memo,
        }


def check_splits(amount: int, splits: list[Split]) -> None:
    """Splits, when given, divide the whole amount: same sign and the same total."""
    if not splits:
        return
    if sum(s.amount for s in splits) != amount:
        raise RuleViolationError("splits", "The splits must add up to the transaction amount.")
    if any((s.amount < 0) != (amount < 0) for s in splits):
        raise RuleViolationError("splits", "Every split must have the sign of the transaction.")


class Transaction(Aggregate):
    """A signed amount in minor units on one account. The account's balance is a projection."""

    class Recorded(Aggregate.Created):
        """v2 added ``source`` (where the transaction came from: "api" or "import")."""

        class_version = 2
        user_id: str
        account_id: str
        category_id: str | None
        amount: int
        currency: str
        date: datetime
        memo: str | None
        fitid: str | None
        splits: list[dict[str, Any]]
        source: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Before imports existed, every transaction was entered through the API.
            state["source"] = "api"

    class Amended(Aggregate.Event):
        """The new state; ``previous_amount`` lets balance consumers apply new minus old.

        v2 added ``categorized_by``: None for a change made by the user, else who set the
        category and why (``{"by": "auto", "category_id", "confidence", "source",
        "threshold"}`` when the projection worker applied a suggestion; see README,
        "Automatic categorization")."""

        class_version = 2
        user_id: str
        account_id: str
        currency: str
        category_id: str | None
        amount: int
        previous_amount: int
        date: datetime
        memo: str | None
        splits: list[dict[str, Any]]
        categorized_by: dict[str, Any] | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["categorized_by"] = None  # before auto-categorization: always the user

    class Deleted(Aggregate.Event):
        class_version = 1
        user_id: str
        account_id: str
        currency: str
        amount: int

    @event(Recorded)
    def __init__(
        self,
        id: UUID,
        user_id: str,
        account_id: str,
        category_id: str | None,
        amount: int,
        currency: str,
        date: datetime,
        memo: str | None,
        fitid: str | None,
        splits: list[dict[str, Any]],
        source: str = "api",
    ) -> None:
        self.user_id = user_id
        self.account_id = account_id
        self.category_id = category_id
        self.amount = amount
        self.currency = Currency(currency)
        self.date = date
        self.memo = memo
        self.fitid = fitid
        self.splits = splits
        self.source = source
        self.deleted = False

    @property
    def type(self) -> TransactionType:
        return type_for(self.amount)

    def amend(
        self,
        category_id: str | None,
        amount: int,
        date: datetime,
        memo: str | None,
        splits: list[dict[str, Any]],
        categorized_by: dict[str, Any] | None = None,
    ) -> None:
        self._amend(
            user_id=self.user_id,
            account_id=self.account_id,
            currency=self.currency.value,
            category_id=category_id,
            amount=amount,
            previous_amount=self.amount,
            date=date,
            memo=memo,
            splits=splits,
            categorized_by=categorized_by,
        )

    @event(Amended)
    def _amend(
        self,
        user_id: str,
        account_id: str,
        currency: str,
        category_id: str | None,
        amount: int,
        previous_amount: int,
        date: datetime,
        memo: str | None,
        splits: list[dict[str, Any]],
        categorized_by: dict[str, Any] | None = None,
    ) -> None:
        # Carried by the event so consumers (balances, live stream) need no other state;
        # ``categorized_by`` is for the audit trail only.
        del user_id, account_id, currency, previous_amount, categorized_by
        self.category_id = category_id
        self.amount = amount
        self.date = date
        self.memo = memo
        self.splits = splits

    def delete(self) -> None:
        self._delete(
            user_id=self.user_id,
            account_id=self.account_id,
            currency=self.currency.value,
            amount=self.amount,
        )

    @event(Deleted)
    def _delete(self, user_id: str, account_id: str, currency: str, amount: int) -> None:
        del user_id, account_id, currency, amount  # for consumers, as in Amended
        self.deleted = True
