"""Budget commands. One budget per (user, category): its id is derived from the pair, so
"one per category" holds by construction, also between racing requests."""

from __future__ import annotations

from command_service.commands import CreateBudget, DeleteBudget, RenameBudget
from command_service.handlers.guards import accepted, check_owner, live, owned
from command_service.results import Written
from command_service.unit_of_work import UnitOfWork
from command_service.views import budget_view, category_view
from shared.domain.budgets import Budget, budget_id_for
from shared.domain.categories import Category
from shared.domain.envelopes import BudgetPlan, plan_id_for
from shared.domain.errors import (
    CategoryNotFoundError,
    ConcurrentChangeError,
    Model,
    RuleViolationError,
)
from shared.domain.users import User
from shared.views import BudgetView


class BudgetHandlers:
    def create(self, command: CreateBudget, uow: UnitOfWork) -> Written[BudgetView]:
        """Create-or-return, as the original's ``firstOrCreate`` (a 201 either way)."""
        budget_id = budget_id_for(command.user_id, command.category_id)
        uow.load([command.category_id, budget_id, command.user_id])
        category = uow.get(Category, command.category_id)
        if category is None or category.deleted:
            raise RuleViolationError("category_id", "The selected category id is invalid.")
        if category.user_id not in (None, str(command.user_id)):
            raise CategoryNotFoundError
        budget = uow.get(Budget, budget_id)
        if budget is not None and not budget.deleted:
            return Written(budget_view(uow, budget), uow.head())
        user = live(uow, User, Model.USER, command.user_id)
        name = command.name or category.name
        currency = user.preferred_currency.value
        if budget is None:
            budget = Budget(
                id=budget_id,
                user_id=str(command.user_id),
                category_id=str(category.id),
                name=name,
                currency=currency,
            )
        else:
            budget.reopen(name=name, currency=currency)
        uow.add(budget)
        try:
            position = uow.commit(command.user_id)
        except ConcurrentChangeError:  # a concurrent request made it first: answer that one
            return self.create(command, uow)
        view = BudgetView(str(budget.id), budget.name, budget.currency, category_view(category))
        return Written(view, position)

    def rename(self, command: RenameBudget, uow: UnitOfWork) -> Written[BudgetView]:
        uow.load([command.budget_id])
        budget = live(uow, Budget, Model.BUDGET, command.budget_id)
        name = accepted(command.name)
        check_owner(budget, command.user_id)
        budget.rename(name=name)
        view = budget_view(uow, budget)  # before the commit: a 404 if its category is gone
        uow.add(budget)
        return Written(view, uow.commit(command.user_id))

    def delete(self, command: DeleteBudget, uow: UnitOfWork) -> int:
        """The budget and its allocations (the original's cascade), in one commit."""
        plan_id = plan_id_for(command.user_id)
        uow.load([command.budget_id, plan_id])
        budget = owned(uow, Budget, Model.BUDGET, command.budget_id, command.user_id)
        budget.delete()
        uow.add(budget)
        plan = uow.get(BudgetPlan, plan_id)
        if plan is not None and plan.drop(budget.id):
            uow.add(plan)
        return uow.commit(command.user_id)
