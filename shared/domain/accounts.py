"""Accounts. The balance is not here: it is a projection of the account's transactions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any
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
    """A user's bank account. Its currency may change only while nothing was ever recorded
    into it (``in_use`` false, so its balance is zero): balances are never converted.

    ``in_use`` is set by ``Used``, appended with the account's first transaction, so a
    currency change racing that transaction fails on the account's version (one of the
    two commits is refused), never leaving a transaction in another currency."""

    class Opened(Aggregate.Created):
        """v2 added ``in_use``: accounts opened before it may have transactions without a
        ``Used`` event, so they count as used (their currency stays fixed)."""

        class_version = 2
        user_id: str
        name: str
        number: str | None
        currency: str
        type: str
        bank_id: str
        in_use: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["in_use"] = True

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

    class CurrencyChanged(Aggregate.Event):
        """An update of an account never used, with a new currency: all of its details
        (read models rewrite the whole account, currency included)."""

        class_version = 1
        user_id: str
        name: str
        number: str | None
        currency: str
        type: str
        bank_id: str

    class Used(Aggregate.Event):
        """The first transaction was recorded into the account: its currency is fixed."""

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
        in_use: bool = False,
    ) -> None:
        self.user_id = user_id
        self.name = name
        self.number = number
        self.currency = Currency(currency)
        self.type = AccountType(type)
        self.bank_id = bank_id
        self.closed = False
        self.in_use = in_use

    def update(self, name: str, number: str | None, currency: str, type: str, bank_id: str) -> None:
        # The original silently kept the balance in the old currency; we refuse once
        # there is one (anything ever recorded), and allow it on an unused account.
        if currency != self.currency:
            if self.in_use:
                raise RuleViolationError(
                    "currency", "The currency of an account cannot be changed."
                )
            self._change_currency(
                user_id=self.user_id,
                name=name,
                number=number,
                currency=currency,
                type=type,
                bank_id=bank_id,
            )
            return
        self._update(user_id=self.user_id, name=name, number=number, type=type, bank_id=bank_id)

    @event(Updated)
    def _update(self, user_id: str, name: str, number: str | None, type: str, bank_id: str) -> None:
        del user_id  # every event names its owner, for the live stream
        self.name = name
        self.number = number
        self.type = AccountType(type)
        self.bank_id = bank_id

    @event(CurrencyChanged)
    def _change_currency(
        self, user_id: str, name: str, number: str | None, currency: str, type: str, bank_id: str
    ) -> None:
        del user_id
        self.name = name
        self.number = number
        self.currency = Currency(currency)
        self.type = AccountType(type)
        self.bank_id = bank_id

    def use(self) -> bool:
        """Mark the account used (before recording into it); whether that is news, i.e.
        whether the caller must save the account with its transaction."""
        if self.in_use:
            return False
        self._use(user_id=self.user_id)
        return True

    @event(Used)
    def _use(self, user_id: str) -> None:
        del user_id  # every event names its owner, for the live stream
        self.in_use = True

    def close(self) -> None:
        self._close(user_id=self.user_id)

    @event(Closed)
    def _close(self, user_id: str) -> None:
        del user_id  # every event names its owner, for the live stream
        self.closed = True
