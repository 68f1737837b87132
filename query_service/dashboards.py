"""Dashboards and insights (the original's web-only read models, contract 3.7), from
``monthly_flows``: sums per user, month, account, category and currency that the
``ledger_tables`` projection keeps current, so no answer scans a user's history.

Amounts count in the user's preferred currency only, as the original's did; a user's
transactions in other currencies are left out of every sum here (never converted), and
the accounts' total balance is that of the accounts in the preferred currency.
"""

# ruff: noqa: S608 (SQL composed with psycopg.sql from constant fragments; values are parameters)
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from psycopg.rows import DictRow
from psycopg.sql import Composed

from query_service.filters import TransactionFilters
from query_service.queries import (
    ACCOUNT_COLUMNS,
    CATEGORY_COLUMNS,
    Queries,
    account_of,
    category_of,
    transaction_where,
)
from shared.domain.money import Currency
from shared.views import AccountView, CategoryView, TransactionView

RECENT = 8  # transactions on the dashboard
TREND_MONTHS = 6
TOP_CATEGORIES = 5

# The user's preferred currency (BRL for a user the read model does not know).
_PREFERRED = "COALESCE((SELECT preferred_currency FROM {s}.users WHERE id = %(u)s), 'BRL')"


def months_back(month: date, count: int) -> list[date]:
    """``count`` first days of month, oldest first, ending with ``month``."""
    index = month.year * 12 + month.month - 1
    return [date((i // 12), i % 12 + 1, 1) for i in range(index - count + 1, index + 1)]


@dataclass(frozen=True, slots=True)
class MonthFlow:
    month: date
    income: int
    expense: int


@dataclass(frozen=True, slots=True)
class CategoryShare:
    category: CategoryView
    total: int


@dataclass(frozen=True, slots=True)
class Overview:
    currency: Currency
    total_balance: int
    trend: list[MonthFlow]  # TREND_MONTHS, oldest first, zeros where nothing happened
    shares: list[CategoryShare]  # every category spent on in the month, largest first
    accounts: list[AccountView]
    recent: list[TransactionView]


@dataclass(frozen=True, slots=True)
class AccountFlow:
    account_id: str
    account_name: str
    debits: int
    credits: int


@dataclass(frozen=True, slots=True)
class Insights:
    currency: Currency
    debits: int  # all time
    credits: int
    monthly: list[MonthFlow]  # income = credits, expense = debits
    accounts: list[AccountFlow]  # largest debits first


@dataclass(frozen=True, slots=True)
class Totals:
    currency: Currency
    credits: int
    debits: int  # positive


class Dashboards:
    """Async reads of ``monthly_flows`` (and a few rows of the other tables): each answer
    is one pipelined round trip to PostgreSQL."""

    def __init__(self, queries: Queries) -> None:
        self.queries = queries
        q = queries.q
        self._flows = q(
            "SELECT f.month, sum(f.credits) AS credits, sum(f.debits) AS debits "
            "FROM {s}.monthly_flows f WHERE f.user_id = %(u)s AND f.currency = "
            + _PREFERRED
            + " AND f.month BETWEEN %(first)s AND %(last)s GROUP BY f.month"
        )
        self._balance = q(
            "SELECT " + _PREFERRED + " AS currency, (SELECT COALESCE(sum(a.balance), 0) "
            "FROM {s}.accounts a WHERE a.user_id = %(u)s AND a.currency = " + _PREFERRED + ") "
            "AS balance"
        )
        self._shares = q(
            f"SELECT {CATEGORY_COLUMNS}, sum(f.debits) AS total FROM {{s}}.monthly_flows f "
            "JOIN {s}.categories c ON c.id = f.category_id "
            "WHERE f.user_id = %(u)s AND f.month = %(last)s AND f.currency = "
            + _PREFERRED
            + " GROUP BY c.id HAVING sum(f.debits) > 0 ORDER BY total DESC, c.name"
        )
        self._accounts = q(
            f"SELECT {ACCOUNT_COLUMNS} FROM {{s}}.accounts a JOIN {{s}}.banks b "
            "ON b.id = a.bank_id WHERE a.user_id = %(u)s ORDER BY a.name, a.opened_position"
        )
        self._recent = q(
            Queries.TXN + " WHERE t.user_id = %(u)s "
            "ORDER BY t.date DESC, t.recorded_position DESC LIMIT %(n)s"
        )
        self._category_months = q(
            "SELECT f.month, sum(f.credits) AS credits, sum(f.debits) AS debits "
            "FROM {s}.monthly_flows f WHERE f.user_id = %(u)s AND f.category_id = %(c)s "
            "AND f.currency = " + _PREFERRED + " GROUP BY f.month"
        )
        self._category_accounts = q(
            "SELECT a.id, a.name, sum(f.debits) AS debits, sum(f.credits) AS credits "
            "FROM {s}.monthly_flows f JOIN {s}.accounts a ON a.id = f.account_id "
            "WHERE f.user_id = %(u)s AND f.category_id = %(c)s AND f.currency = "
            + _PREFERRED
            + " GROUP BY a.id, a.name ORDER BY debits DESC, a.name"
        )
        self._account_shares = q(
            f"SELECT {CATEGORY_COLUMNS}, sum(f.debits) AS total FROM {{s}}.monthly_flows f "
            "JOIN {s}.categories c ON c.id = f.category_id "
            "WHERE f.account_id = %(a)s AND f.month = %(last)s "
            "GROUP BY c.id HAVING sum(f.debits) > 0 ORDER BY total DESC, c.name"
        )

    async def _pipelined(self, statements: list[tuple[Composed, dict[str, Any]]]) -> list[Any]:
        async with self.queries.pool.connection() as conn:
            async with conn.pipeline():
                cursors = [
                    await conn.execute(sql, params, prepare=True) for sql, params in statements
                ]
            return [await cursor.fetchall() for cursor in cursors]

    async def overview(self, user_id: UUID, month: date) -> Overview:
        trend = months_back(month, TREND_MONTHS)
        params = {"u": user_id, "first": trend[0], "last": month, "n": RECENT}
        flows, balance, shares, accounts, recent = await self._pipelined(
            [
                (self._flows, params),
                (self._balance, params),
                (self._shares, params),
                (self._accounts, params),
                (self._recent, params),
            ]
        )
        return Overview(
            currency=Currency(balance[0]["currency"]),
            total_balance=int(balance[0]["balance"]),
            trend=_months(trend, flows),
            shares=[CategoryShare(_category(r), int(r["total"])) for r in shares],
            accounts=[account_of(r) for r in accounts],
            recent=await self.queries.views(recent),
        )

    async def category_insights(self, user_id: UUID, category_id: UUID, month: date) -> Insights:
        params = {"u": user_id, "c": category_id}
        balance, months, accounts = await self._pipelined(
            [
                (self._balance, params),
                (self._category_months, params),
                (self._category_accounts, params),
            ]
        )
        return Insights(
            currency=Currency(balance[0]["currency"]),
            debits=sum(int(r["debits"]) for r in months),
            credits=sum(int(r["credits"]) for r in months),
            monthly=_months(months_back(month, TREND_MONTHS), months),
            accounts=[
                AccountFlow(str(r["id"]), r["name"], int(r["debits"]), int(r["credits"]))
                for r in accounts
            ],
        )

    async def transactions_summary(self, user_id: UUID, f: TransactionFilters) -> Totals:
        """The list's filters but its type: credits and debits of the matching
        transactions in the preferred currency (the original summed every currency
        under the preferred one's label)."""
        clause, params = transaction_where(user_id, f, by_type=False)
        sql = self.queries.q(
            "SELECT p.currency, COALESCE(sum(t.amount) FILTER (WHERE t.amount > 0), 0) AS credits, "
            "COALESCE(-sum(t.amount) FILTER (WHERE t.amount < 0), 0) AS debits "
            "FROM (SELECT " + _PREFERRED.replace("%(u)s", "%s") + " AS currency) p "
            f"LEFT JOIN {{s}}.transactions t ON t.currency = p.currency AND {clause} "
            "GROUP BY p.currency"
        )
        row = (await self.queries.rows(sql, [user_id, *params]))[0]
        return Totals(Currency(row["currency"]), int(row["credits"]), int(row["debits"]))

    async def account_spending(self, account_id: UUID, month: date) -> list[CategoryShare]:
        """Debits of the account in the month per category, largest first (in the
        account's currency: one account has one)."""
        (rows,) = await self._pipelined([(self._account_shares, {"a": account_id, "last": month})])
        return [CategoryShare(_category(r), int(r["total"])) for r in rows]


def _category(row: DictRow) -> CategoryView:
    view = category_of(row)
    assert view is not None  # joined, never outer
    return view


def _months(months: list[date], rows: list[DictRow]) -> list[MonthFlow]:
    found = {r["month"]: r for r in rows}
    return [
        MonthFlow(
            m,
            int(found[m]["credits"]) if m in found else 0,
            int(found[m]["debits"]) if m in found else 0,
        )
        for m in months
    ]
