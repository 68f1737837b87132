"""Budget commands. One budget per (user, category): the id is derived from the pair."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from command_service.commands import CreateBudget, RenameBudget
from command_service.store import Store, view_of_category
from shared.domain.budgets import Budget, budget_id_for
from shared.domain.categories import Category
from shared.domain.errors import CategoryNotFoundError, Model, RuleViolationError
from shared.domain.users import User
from shared.views import BudgetView


class BudgetCommands:
    def __init__(self, store: Store) -> None:
        self.store = store

    def view(self, budget: Budget) -> BudgetView:
        category = self.store.category_view(budget.category_id)
        if category is None:  # deleting a category deletes its budget in the same commit
            raise CategoryNotFoundError
        return BudgetView(str(budget.id), budget.name, budget.currency, category)

    def create(self, user_id: UUID, command: CreateBudget) -> tuple[BudgetView, int]:
        """Create-or-return, as the original's ``firstOrCreate`` (201 either way)."""
        category = self.store.find(Category, command.category_id)
        if category is None or category.deleted:
            raise RuleViolationError("category_id", "The selected category id is invalid.")
        if category.user_id not in (None, str(user_id)):
            raise CategoryNotFoundError
        budget_id = budget_id_for(user_id, category.id)
        budget = self.store.find(Budget, budget_id)
        if budget is not None and not budget.deleted:
            return self.view(budget), self.store.ledger.head()
        user = self.store.live(User, Model.USER, user_id)
        name = command.name or category.name
        if budget is None:
            budget = Budget(
                id=budget_id,
                user_id=str(user_id),
                category_id=str(category.id),
                name=name,
                currency=user.preferred_currency.value,
            )
        else:
            budget.reopen(name=name, currency=user.preferred_currency.value)
        try:
            position = self.store.append(user_id, budget)
        except IntegrityError:  # a concurrent request created it first: return that one
            return self.create(user_id, command)
        return BudgetView(
            str(budget.id), budget.name, budget.currency, view_of_category(category)
        ), position

    def rename(
        self, user_id: UUID, budget_id: UUID, parse: Callable[[], RenameBudget]
    ) -> tuple[BudgetView, int]:
        self.store.live(Budget, Model.BUDGET, budget_id)
        command = parse()
        budget = self.store.owned(Budget, Model.BUDGET, budget_id, user_id)
        budget.rename(name=command.name)
        return self.view(budget), self.store.append(user_id, budget)

    def delete(self, user_id: UUID, budget_id: UUID) -> int:
        budget = self.store.owned(Budget, Model.BUDGET, budget_id, user_id)
        budget.delete()
        return self.store.append(user_id, budget)
