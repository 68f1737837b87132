"""The budget page (contract 3.4) from read models only: ``budget_allocations`` and
``budget_incomes`` for what was given, ``monthly_flows`` for what was spent, so a month's
overview costs a few indexed sums, never a scan of the user's transactions.

Spending is the user's own (``monthly_flows`` rows are per user: the original summed
every user's spending on a global category), in the user's preferred currency, debits
of the budget's category with split transactions counted through their splits only (as
``monthly_flows`` does). ``rollover`` is what earlier months left: their allocations
minus their spending.
"""

# ruff: noqa: S608 (SQL composed with psycopg.sql from constant fragments; values are parameters)
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from psycopg.rows import DictRow
from psycopg.sql import Composed

from query_service.queries import CATEGORY_COLUMNS, Queries, category_of
from shared.adapters.readmodel_schema import envelope_sums
from shared.domain.money import Currency
from shared.views import BudgetView, CategoryView

_PREFERRED = "COALESCE((SELECT preferred_currency FROM {s}.users WHERE id = %(u)s), 'BRL')"


@dataclass(frozen=True, slots=True)
class EnvelopeLine:
    budget: BudgetView
    budgeted: int
    spent: int
    rollover: int

    @property
    def remaining(self) -> int:
        return self.rollover + self.budgeted - self.spent


@dataclass(frozen=True, slots=True)
class MonthSummary:
    currency: Currency  # the user's preferred one
    income_month: date | None  # the month whose income is in force (None: no income)
    income: int | None
    assigned: int


@dataclass(frozen=True, slots=True)
class BudgetPage:
    month: date
    lines: list[EnvelopeLine]  # by category name, natural and case-insensitive
    budgets: list[BudgetView]
    categories: list[CategoryView]
    summary: MonthSummary


def natural_key(name: str) -> list[Any]:
    """ "Item 2" before "item 10": digit runs compare as numbers, the rest casefolded
    (``re.split`` alternates text and digits, so the kinds line up position by position)."""
    parts = re.split(r"([0-9]+)", name)
    return [int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)]


class Envelopes:
    """Async reads of the budget page: one pipelined round trip."""

    def __init__(self, queries: Queries) -> None:
        self.queries = queries
        q = queries.q
        self._lines = q(
            "SELECT b.id, b.name, b.currency, "
            + CATEGORY_COLUMNS
            + ", "
            + envelope_sums("%(u)s", "%(m)s")
            + " "
            "FROM {s}.budgets b JOIN {s}.categories c ON c.id = b.category_id "
            "CROSS JOIN (SELECT " + _PREFERRED + " AS currency) p "
            "WHERE b.user_id = %(u)s AND NOT b.deleted"
        )
        self._summary = q(
            "SELECT " + _PREFERRED + " AS currency, i.month AS income_month, "
            "i.amount AS income, (SELECT COALESCE(sum(a.amount), 0) "
            "FROM {s}.budget_allocations a WHERE a.user_id = %(u)s AND a.month = %(m)s) "
            "AS assigned FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT month, amount "
            "FROM {s}.budget_incomes WHERE user_id = %(u)s AND month <= %(m)s "
            "ORDER BY month DESC LIMIT 1) i ON true"
        )
        self._categories = q(
            f"SELECT {CATEGORY_COLUMNS} FROM {{s}}.categories c "
            "WHERE c.user_id = %(u)s OR c.user_id IS NULL ORDER BY c.is_default DESC, c.name"
        )

    async def _pipelined(self, statements: list[Composed], params: dict[str, Any]) -> list[Any]:
        async with self.queries.pool.connection() as conn:
            async with conn.pipeline():
                cursors = [await conn.execute(sql, params, prepare=True) for sql in statements]
            return [await cursor.fetchall() for cursor in cursors]

    async def page(self, user_id: UUID, month: date) -> BudgetPage:
        params = {"u": user_id, "m": month}
        lines, summary, categories = await self._pipelined(
            [self._lines, self._summary, self._categories], params
        )
        made = [_line(r) for r in lines]
        made.sort(key=lambda line: natural_key(line.budget.category.name))
        return BudgetPage(
            month=month,
            lines=made,
            budgets=await self.queries.budgets(user_id),
            categories=[v for r in categories if (v := category_of(r)) is not None],
            summary=_summary(summary[0]),
        )


def _line(row: DictRow) -> EnvelopeLine:
    category = category_of(row)
    assert category is not None  # joined, never outer
    budget = BudgetView(str(row["id"]), row["name"], row["currency"], category)
    spent = int(row["spent"])
    rollover = int(row["given_before"]) - int(row["spent_before"])
    return EnvelopeLine(budget, int(row["budgeted"]), spent, rollover)


def _summary(row: DictRow) -> MonthSummary:
    income = None if row["income"] is None else int(row["income"])
    return MonthSummary(
        Currency(row["currency"]), row["income_month"], income, int(row["assigned"])
    )
