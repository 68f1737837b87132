"""Budget envelopes (contract 3.4): what each budget is given per month, and the user's
monthly income, as one ``BudgetPlan`` per user (its id derived from the user).

One aggregate for the whole plan, on purpose: the allocation cap is a rule across the
user's budgets (a month's allocations against the income in force), so it must be
checked against one consistent state; two racing allocations conflict on the plan's
version and one is retried, never both admitted past the cap. Plans change at human
pace (a few events per budget and month), so one stream per user stays small.

Months are the first day of a calendar month, kept as ``YYYY-MM-01`` strings in events.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.ids import derived_id

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def parse_month(raw: str) -> date | None:
    """``YYYY-MM`` as the first day of that month, whatever day it is today (the
    original filled the day from the clock and overflowed short months); else None."""
    found = _MONTH.fullmatch(raw)
    if found is None or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1:
        return None
    return date(int(found[1]), int(found[2]), 1)


def month_key(month: date) -> str:
    return month.replace(day=1).isoformat()


def plan_id_for(user_id: UUID | str) -> UUID:
    return derived_id("budget-plan", user_id)


@dataclass(frozen=True, slots=True)
class Income:
    month: date  # the month it was set for (inherited by the later ones)
    amount: int


class BudgetPlan(Aggregate):
    """A user's allocations per (budget, month) and incomes per month."""

    class Started(Aggregate.Created):
        class_version = 1
        user_id: str

    class Allocated(Aggregate.Event):
        """A budget's allocation for a month was set (not added to) to ``amount``."""

        class_version = 1
        user_id: str
        budget_id: str
        month: str
        amount: int
        currency: str

    class MoneyMoved(Aggregate.Event):
        """``amount`` moved between two budgets' allocations of a month; the results are
        carried so that read models set them (replays apply the same values)."""

        class_version = 1
        user_id: str
        from_budget_id: str
        to_budget_id: str
        month: str
        amount: int
        currency: str
        from_amount: int
        to_amount: int

    class IncomeSet(Aggregate.Event):
        class_version = 1
        user_id: str
        month: str
        amount: int
        currency: str

    class AllocationsDropped(Aggregate.Event):
        """The budget was deleted: its allocations go with it (the original's cascade)."""

        class_version = 1
        user_id: str
        budget_id: str

    @event(Started)
    def __init__(self, id: UUID, user_id: str) -> None:
        self.user_id = user_id
        self.allocations: dict[str, dict[str, int]] = {}  # month -> budget id -> amount
        self.incomes: dict[str, int] = {}  # month -> amount

    def allocated(self, budget_id: UUID, month: date) -> int:
        return self.allocations.get(month_key(month), {}).get(str(budget_id), 0)

    def assigned(self, month: date) -> int:
        """Every budget's allocation of the month, summed."""
        return sum(self.allocations.get(month_key(month), {}).values())

    def income_for(self, month: date) -> Income | None:
        """The income in force: the one set for the latest month not after ``month``."""
        months = sorted(self.incomes)
        index = bisect_right(months, month_key(month))
        if index == 0:
            return None
        found = months[index - 1]
        return Income(date.fromisoformat(found), self.incomes[found])

    def unallocated(self, budget_id: UUID, month: date) -> int | None:
        """What ``budget_id`` may be given this month (its current allocation counts as
        free), never below 0; None without an income (no cap)."""
        income = self.income_for(month)
        if income is None:
            return None
        others = self.assigned(month) - self.allocated(budget_id, month)
        return max(income.amount - others, 0)

    def allocate(self, budget_id: UUID, month: date, amount: int, currency: str) -> None:
        self._allocate(
            user_id=self.user_id,
            budget_id=str(budget_id),
            month=month_key(month),
            amount=amount,
            currency=currency,
        )

    def move(self, from_id: UUID, to_id: UUID, month: date, amount: int, currency: str) -> None:
        self._move(
            user_id=self.user_id,
            from_budget_id=str(from_id),
            to_budget_id=str(to_id),
            month=month_key(month),
            amount=amount,
            currency=currency,
            from_amount=self.allocated(from_id, month) - amount,
            to_amount=self.allocated(to_id, month) + amount,
        )

    def set_income(self, month: date, amount: int, currency: str) -> None:
        self._set_income(
            user_id=self.user_id, month=month_key(month), amount=amount, currency=currency
        )

    def drop(self, budget_id: UUID) -> bool:
        """Forget the budget's allocations; whether there were any (an event to save)."""
        if not any(str(budget_id) in by_budget for by_budget in self.allocations.values()):
            return False
        self._drop(user_id=self.user_id, budget_id=str(budget_id))
        return True

    @event(Allocated)
    def _allocate(
        self, user_id: str, budget_id: str, month: str, amount: int, currency: str
    ) -> None:
        del user_id, currency  # every event names its owner; the budget has the currency
        self.allocations.setdefault(month, {})[budget_id] = amount

    @event(MoneyMoved)
    def _move(
        self,
        user_id: str,
        from_budget_id: str,
        to_budget_id: str,
        month: str,
        amount: int,
        currency: str,
        from_amount: int,
        to_amount: int,
    ) -> None:
        del user_id, amount, currency
        by_budget = self.allocations.setdefault(month, {})
        by_budget[from_budget_id] = from_amount
        by_budget[to_budget_id] = to_amount

    @event(IncomeSet)
    def _set_income(self, user_id: str, month: str, amount: int, currency: str) -> None:
        del user_id, currency  # the original validated the currency but kept none
        self.incomes[month] = amount

    @event(AllocationsDropped)
    def _drop(self, user_id: str, budget_id: str) -> None:
        del user_id
        for by_budget in self.allocations.values():
            by_budget.pop(budget_id, None)


class AllocationLimitExceededError(Exception):
    """An allocation past what the month's income leaves (the original's
    ``BudgetAllocationLimitExceeded``): a 422 that says what is left, ``remaining``."""

    def __init__(self, remaining: int, formatted: str, currency: str) -> None:
        self.remaining, self.formatted, self.currency = remaining, formatted, currency
        super().__init__(
            f"Você ultrapassou o valor disponível para alocar neste mês ({formatted} restantes)."
        )
