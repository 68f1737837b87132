"""Accounts. The balance is not here: it is a projection of the account's transactions."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.errors import RuleViolationError
from shared.domain.money import Currency


class AccountType(StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"
    INVESTMENT = "investment"
    CREDIT = "credit"


class Account(Aggregate):
    """A user's bank account. Its currency is fixed at opening: balances are never converted."""

    class Opened(Aggregate.Created):
        class_version = 1
        user_id: str
        name: str
        number: str | None
        currency: str
        type: str
        bank_id: str

    class Updated(Aggregate.Event):
        class_version = 1
        user_id: str
        name: str
        number: str | None
        type: str
        bank_id: str

    class Closed(Aggregate.Event):
        class_version = 1
        user_id: str

    @event(Opened)
    def __init__(
        self,
        id: UUID,
        user_id: str,
        name: str,
        number: str | None,
        currency: str,
        type: str,
        bank_id: str,
    ) -> None:
        self.user_id = user_id
        self.name = name
        self.number = number
        self.currency = Currency(currency)
        self.type = AccountType(type)
        self.bank_id = bank_id
        self.closed = False

    def update(self, name: str, number: str | None, currency: str, type: str, bank_id: str) -> None:
        # The original silently kept the balance in the old currency; we refuse instead.
        if currency != self.currency:
            raise RuleViolationError("currency", "The currency of an account cannot be changed.")
        self._update(user_id=self.user_id, name=name, number=number, type=type, bank_id=bank_id)

    @event(Updated)
    def _update(self, user_id: str, name: str, number: str | None, type: str, bank_id: str) -> None:
        del user_id  # every event names its owner, for the live stream
        self.name = name
        self.number = number
        self.type = AccountType(type)
        self.bank_id = bank_id

    def close(self) -> None:
        self._close(user_id=self.user_id)

    @event(Closed)
    def _close(self, user_id: str) -> None:
        del user_id  # every event names its owner, for the live stream
        self.closed = True
