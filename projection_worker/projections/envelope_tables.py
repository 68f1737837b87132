"""The budget envelopes' rows of ``ledger_tables`` (contract 3.4): ``budget_allocations``
per (budget, month) and ``budget_incomes`` per (user, month), from ``BudgetPlan``
events. Every statement sets a value the event carries (a move carries both results),
so applying a batch is exact; the batch and its checkpoint commit together anyway."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg.sql import Composed

from projection_worker.feed import Positioned
from shared.domain.envelopes import BudgetPlan

Statement = tuple[Composed, tuple[Any, ...]]
Handler = Callable[[Positioned], list[Statement]]


class EnvelopeStatements:
    def __init__(self, q: Callable[[str], Composed]) -> None:
        self._allocate = q(
            "INSERT INTO {s}.budget_allocations (budget_id, month, user_id, amount) "
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (budget_id, month) DO UPDATE SET amount = EXCLUDED.amount"
        )
        self._income = q(
            "INSERT INTO {s}.budget_incomes (user_id, month, amount, currency) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, month) "
            "DO UPDATE SET amount = EXCLUDED.amount, currency = EXCLUDED.currency"
        )
        self._drop = q("DELETE FROM {s}.budget_allocations WHERE budget_id = %s")

    def handlers(self) -> dict[type, Handler]:
        return {
            BudgetPlan.Started: lambda _: [],
            BudgetPlan.Allocated: self.allocated,
            BudgetPlan.MoneyMoved: self.moved,
            BudgetPlan.IncomeSet: self.income_set,
            BudgetPlan.AllocationsDropped: self.dropped,
        }

    def allocated(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [(self._allocate, (e.budget_id, e.month, e.user_id, e.amount))]

    def moved(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (self._allocate, (e.from_budget_id, e.month, e.user_id, e.from_amount)),
            (self._allocate, (e.to_budget_id, e.month, e.user_id, e.to_amount)),
        ]

    def income_set(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [(self._income, (e.user_id, e.month, e.amount, e.currency))]

    def dropped(self, p: Positioned) -> list[Statement]:
        return [(self._drop, (p.event.budget_id,))]
