"""Response views of what a command wrote, built from the aggregates it holds.

The one read of the query side is here: the balance shown with an account, through the
``BalanceLookup`` port (stale by design; see its docstring). Everything else comes from
the unit of work, and mostly from what the handler loaded already.
"""

from __future__ import annotations

from uuid import UUID

from command_service.ports import BalanceLookup
from command_service.unit_of_work import UnitOfWork
from shared.domain.accounts import Account
from shared.domain.banks import Bank
from shared.domain.budgets import Budget
from shared.domain.categories import Category
from shared.domain.errors import CategoryNotFoundError
from shared.domain.transactions import Transaction
from shared.views import (
    AccountView,
    BankView,
    BudgetView,
    CategoryView,
    SplitView,
    TransactionView,
)


def category_view(category: Category) -> CategoryView:
    return CategoryView(
        id=str(category.id),
        name=category.name,
        color=category.color.value,
        description=category.description,
        is_default=category.is_default,
    )


class Views:
    """Per process: the balance port and the banks seen (banks never change once
    registered, so they are kept for the process's life and cost no query again)."""

    def __init__(self, balances: BalanceLookup) -> None:
        self.balances = balances
        self._banks: dict[UUID, BankView] = {}

    def bank(self, uow: UnitOfWork, bank_id: UUID) -> BankView | None:
        cached = self._banks.get(bank_id)
        if cached is None:
            bank = uow.get(Bank, bank_id)
            if bank is None:
                return None
            cached = self._banks[bank_id] = BankView(str(bank.id), bank.code, bank.name)
        return cached

    def account(self, uow: UnitOfWork, account: Account) -> AccountView:
        bank = self.bank(uow, UUID(account.bank_id)) or BankView(account.bank_id, "", "")
        return AccountView(
            id=str(account.id),
            name=account.name,
            number=account.number,
            balance=self.balances.balance_of(account.id),
            currency=account.currency,
            type=account.type.value,
            bank=bank,
        )

    def transaction(
        self,
        uow: UnitOfWork,
        txn: Transaction,
        account: Account,
        known: dict[str, CategoryView] | None = None,
    ) -> TransactionView:
        """``known``: categories the handler checked already (not looked up again)."""
        seen = known or {}

        def category(category_id: str | None) -> CategoryView | None:
            if category_id is None:
                return None
            return seen.get(category_id) or live_category(uow, category_id)

        return TransactionView(
            id=str(txn.id),
            amount=txn.amount,
            currency=txn.currency,
            fitid=txn.fitid,
            memo=txn.memo,
            date=txn.date,
            category=category(txn.category_id),
            account=self.account(uow, account),
            splits=[
                SplitView(s["id"], s["amount"], s["memo"], category(s["category_id"]))
                for s in txn.splits
            ],
        )


def live_category(uow: UnitOfWork, category_id: str) -> CategoryView | None:
    """A category's view, or None once it is deleted (references to it read as none)."""
    category = uow.get(Category, UUID(category_id))
    if category is None or category.deleted:
        return None
    return category_view(category)


def budget_view(uow: UnitOfWork, budget: Budget) -> BudgetView:
    category = live_category(uow, budget.category_id)
    if category is None:  # deleting a category deletes its budget in the same commit
        raise CategoryNotFoundError
    return BudgetView(str(budget.id), budget.name, budget.currency, category)
