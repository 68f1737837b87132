"""The public JSON shapes of the original API (contract section 2.2), key order included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.domain.money import Money, format_money
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


def account_json(account: AccountView) -> JSON:
    return {
        "id": account.id,
        "name": account.name,
        "number": account.number,
        "balance": Money(account.balance, account.currency).as_json(),
        "currency": account.currency.value,
        "type": account.type,
        "bank": bank_json(account.bank),
    }


def category_json(category: CategoryView) -> JSON:
    return {
        "id": category.id,
        "name": category.name,
        "color": category.color,
        "description": category.description,
        "is_default": category.is_default,
    }


def split_json(split: SplitView, parent: TransactionView) -> JSON:
    return {
        "amount_formatted": format_money(split.amount, parent.currency),
        "id": split.id,
        "amount": Money(split.amount, parent.currency).as_json(),
        "memo": split.memo,
        "category": category_json(split.category) if split.category else None,
    }


def transaction_json(txn: TransactionView) -> JSON:
    money = Money(txn.amount, txn.currency)
    return {
        "amount_formatted": money.formatted(),
        "id": txn.id,
        "amount": money.as_json(),
        "fitid": txn.fitid,
        "memo": txn.memo,
        "type": type_name(txn.amount),
        "date": atom(txn.date),
        "category": category_json(txn.category) if txn.category else None,
        "account": account_json(txn.account),
        "splits": [split_json(s, txn) for s in txn.splits],
    }


def budget_json(budget: BudgetView) -> JSON:
    return {
        "id": budget.id,
        "name": budget.name,
        "currency": budget.currency,
        "category": category_json(budget.category),
    }
