"""The public JSON shapes of the original API (contract section 2.2), key order included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.domain.money import Currency, Money, format_money
from shared.domain.transactions import type_name
from shared.views import (
    AccountView,
    BankView,
    BudgetView,
    CategoryView,
    SplitView,
    TransactionView,
)

JSON = dict[str, Any]


def atom(moment: datetime) -> str:
    """``DATE_ATOM`` in UTC, e.g. ``2025-11-09T14:03:22+00:00``."""
    if moment.tzinfo is not UTC:  # stored moments are UTC already: skip the conversion
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")


def bank_json(bank: BankView) -> JSON:
    return {"id": bank.id, "code": bank.code, "name": bank.name}


def account_shape(
    *, id: str, name: str, number: str | None, balance: Any, currency: Any, type: str, bank: Any
) -> JSON:
    """The account resource's keys, in order; ``balance``, ``currency`` and ``bank`` are
    given shaped (the hot read model passes markers it fills in at read time)."""
    return {
        "id": id,
        "name": name,
        "number": number,
        "balance": balance,
        "currency": currency,
        "type": type,
        "bank": bank,
    }


def account_json(account: AccountView) -> JSON:
    return account_shape(
        id=account.id,
        name=account.name,
        number=account.number,
        balance=Money(account.balance, account.currency).as_json(),
        currency=account.currency.value,
        type=account.type,
        bank=bank_json(account.bank),
    )


def category_json(category: CategoryView) -> JSON:
    return {
        "id": category.id,
        "name": category.name,
        "color": category.color,
        "description": category.description,
        "is_default": category.is_default,
    }


def split_shape(
    *, id: str, amount: int, currency: Currency, memo: str | None, category: Any
) -> JSON:
    formatted = format_money(amount, currency)
    return {
        "amount_formatted": formatted,
        "id": id,
        "amount": Money(amount, currency).as_json(formatted),
        "memo": memo,
        "category": category,
    }


def split_json(split: SplitView, parent: TransactionView) -> JSON:
    category = category_json(split.category) if split.category else None
    return split_shape(
        id=split.id,
        amount=split.amount,
        currency=parent.currency,
        memo=split.memo,
        category=category,
    )


def transaction_shape(
    *,
    id: str,
    amount: int,
    currency: Currency,
    fitid: Any,
    memo: str | None,
    date: datetime,
    category: Any,
    account: Any,
    splits: list[JSON],
) -> JSON:
    """The transaction resource's keys, in order; ``category``, ``account`` and the
    splits' categories are given shaped (or as the hot read model's markers)."""
    money = Money(amount, currency)
    formatted = money.formatted()
    return {
        "amount_formatted": formatted,
        "id": id,
        "amount": money.as_json(formatted),
        "fitid": fitid,
        "memo": memo,
        "type": type_name(amount),
        "date": atom(date),
        "category": category,
        "account": account,
        "splits": splits,
    }


def transaction_json(txn: TransactionView) -> JSON:
    return transaction_shape(
        id=txn.id,
        amount=txn.amount,
        currency=txn.currency,
        fitid=txn.fitid,
        memo=txn.memo,
        date=txn.date,
        category=category_json(txn.category) if txn.category else None,
        account=account_json(txn.account),
        splits=[split_json(s, txn) for s in txn.splits],
    )


def budget_shape(*, id: str, name: str, currency: str, category: Any) -> JSON:
    return {"id": id, "name": name, "currency": currency, "category": category}


def budget_json(budget: BudgetView) -> JSON:
    return budget_shape(
        id=budget.id,
        name=budget.name,
        currency=budget.currency,
        category=category_json(budget.category),
    )
