"""Budget envelope commands (contract 3.4): allocate, move money, monthly income.

All three change the user's one ``BudgetPlan`` (see ``shared.domain.envelopes``): the
allocation cap is checked against the plan as loaded, and a racing change of the plan
fails the commit on its version; the command is then run once more on fresh state (a
second conflict is the client's 409)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar
from uuid import UUID

from command_service.commands import AllocateBudget, MoveMoney, SetMonthlyIncome
from command_service.handlers.guards import live
from command_service.handlers.idempotency import Once
from command_service.results import Created, Written
from command_service.unit_of_work import KeyClaimedError, UnitOfWork
from shared.domain.budgets import Budget
from shared.domain.envelopes import AllocationLimitExceededError, BudgetPlan, plan_id_for
from shared.domain.errors import ConcurrentChangeError, Model, NotFoundError, RuleViolationError
from shared.domain.money import Currency, Money
from shared.domain.users import User

C = TypeVar("C")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Allocation:
    budget_id: UUID
    month: date
    budgeted: Money


@dataclass(frozen=True, slots=True)
class Moved:
    source: Allocation
    target: Allocation


@dataclass(frozen=True, slots=True)
class MonthlyIncome:
    month: date
    income: Money


def _once_more(handle: Callable[[C, UnitOfWork], R], command: C, uow: UnitOfWork) -> R:
    try:
        return handle(command, uow)
    except ConcurrentChangeError:  # the plan changed since it was read: read it again
        return handle(command, uow)


def _plan(uow: UnitOfWork, user_id: UUID) -> BudgetPlan:
    plan_id = plan_id_for(user_id)
    return uow.get(BudgetPlan, plan_id) or BudgetPlan(id=plan_id, user_id=str(user_id))


def _budget(uow: UnitOfWork, budget_id: UUID, user_id: UUID, field: str) -> Budget:
    """A budget that exists (else a 422 on ``field``, the original's ``exists`` rule) and
    is the caller's (else 404, as the original's ``firstOrFail`` scoped to the user)."""
    budget = uow.get(Budget, budget_id)
    if budget is None or budget.deleted:
        raise RuleViolationError(field, f"The selected {field.replace('_', ' ')} is invalid.")
    if budget.user_id != str(user_id):
        raise NotFoundError(Model.BUDGET, budget_id)
    return budget


def _same_currency(budget: Budget, amount: Money) -> None:
    # The original threw an unhandled InvalidArgumentException here (a 500).
    if budget.currency != amount.currency.value:
        raise RuleViolationError(
            "amount.currency",
            f"The amount.currency must be the budget's currency ({budget.currency}).",
        )


class EnvelopeHandlers:
    def allocate(self, command: AllocateBudget, uow: UnitOfWork) -> Written[Allocation]:
        return _once_more(self._allocate, command, uow)

    def move(self, command: MoveMoney, uow: UnitOfWork) -> Created[Moved]:
        return _once_more(self._move, command, uow)

    def set_income(self, command: SetMonthlyIncome, uow: UnitOfWork) -> Written[MonthlyIncome]:
        return _once_more(self._set_income, command, uow)

    def _allocate(self, command: AllocateBudget, uow: UnitOfWork) -> Written[Allocation]:
        user_id, amount, month = command.user_id, command.amount, command.month
        uow.load([command.budget_id, plan_id_for(user_id), user_id])
        budget = _budget(uow, command.budget_id, user_id, "budget_id")
        _same_currency(budget, amount)
        plan = _plan(uow, user_id)
        cap = plan.unallocated(budget.id, month)
        if cap is not None and amount.value > cap:
            currency = live(uow, User, Model.USER, user_id).preferred_currency
            left = Money(cap, currency)
            raise AllocationLimitExceededError(cap, left.formatted(), currency.value)
        plan.allocate(budget.id, month, amount.value, amount.currency.value)
        uow.add(plan)
        position = uow.commit(user_id)
        return Written(Allocation(budget.id, month, amount), position)

    def _move(self, command: MoveMoney, uow: UnitOfWork) -> Created[Moved]:
        user_id, amount, month = command.user_id, command.amount, command.month
        once = Once(command)
        plan_id = plan_id_for(user_id)
        uow.load([command.from_budget_id, command.to_budget_id, plan_id, once.claim_id])
        source = _budget(uow, command.from_budget_id, user_id, "from_budget_id")
        target = _budget(uow, command.to_budget_id, user_id, "to_budget_id")
        _same_currency(source, amount)
        _same_currency(target, amount)
        plan = _plan(uow, user_id)
        if once.earlier(uow) is not None:  # the move was made: answer with the plan now
            return Created(_moved(plan, source, target, month), uow.head(), replayed=True)
        plan.move(source.id, target.id, month, amount.value, amount.currency.value)
        uow.add(plan)
        try:
            position = uow.commit(user_id, once.claim(plan_id))
        except KeyClaimedError as raced:
            once.resource_of(raced.claim)  # the same command, or a 422
            return self._move(command, uow)
        return Created(_moved(plan, source, target, month), position)

    def _set_income(self, command: SetMonthlyIncome, uow: UnitOfWork) -> Written[MonthlyIncome]:
        user_id = command.user_id
        uow.load([plan_id_for(user_id)])
        plan = _plan(uow, user_id)
        plan.set_income(command.month, command.amount.value, command.amount.currency.value)
        uow.add(plan)
        position = uow.commit(user_id)
        return Written(MonthlyIncome(command.month, command.amount), position)


def _moved(plan: BudgetPlan, source: Budget, target: Budget, month: date) -> Moved:
    def allocation(budget: Budget) -> Allocation:
        value = plan.allocated(budget.id, month)
        return Allocation(budget.id, month, Money(value, Currency(budget.currency)))

    return Moved(allocation(source), allocation(target))
