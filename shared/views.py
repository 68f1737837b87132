"""Plain, typed views of resources, built by the command side (from aggregates) and the
query side (from read-model rows), and shaped to JSON in one place (``resources``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.domain.money import Currency


@dataclass(frozen=True, slots=True)
class BankView:
    id: str
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class AccountView:
    id: str
    name: str
    number: str | None
    balance: int
    currency: Currency
    type: str
    bank: BankView


@dataclass(frozen=True, slots=True)
class CategoryView:
    id: str
    name: str
    color: str
    description: str | None
    is_default: bool


@dataclass(frozen=True, slots=True)
class SplitView:
    id: str
    amount: int
    memo: str | None
    category: CategoryView | None


@dataclass(frozen=True, slots=True)
class TransactionView:
    id: str
    amount: int
    currency: Currency
    fitid: str | None
    memo: str | None
    date: datetime
    category: CategoryView | None
    account: AccountView
    splits: list[SplitView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BudgetView:
    id: str
    name: str
    currency: str
    category: CategoryView
