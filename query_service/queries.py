"""Read-model SQL: every answer of the API comes from here, never from the event store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier
from psycopg_pool import AsyncConnectionPool

from query_service.filters import AccountFilters, CategoryFilters, TransactionFilters
from shared.domain.money import Currency
from shared.views import (
    AccountView,
    BankView,
    BudgetView,
    CategoryView,
    SplitView,
    TransactionView,
)

ACCOUNTS_PER_PAGE = 10

ACCOUNT_COLUMNS = (
    "a.id AS a_id, a.user_id AS a_user, a.name AS a_name, a.number AS a_number, "
    "a.balance AS a_balance, a.currency AS a_currency, a.type AS a_type, "
    "b.id AS b_id, b.code AS b_code, b.name AS b_name"
)
CATEGORY_COLUMNS = (
    "c.id AS c_id, c.user_id AS c_user, c.name AS c_name, c.color AS c_color, "
    "c.description AS c_description, c.is_default AS c_is_default"
)


def account_of(row: DictRow) -> AccountView:
    return AccountView(
        id=str(row["a_id"]),
        name=row["a_name"],
        number=row["a_number"],
        balance=int(row["a_balance"]),
        currency=Currency(row["a_currency"]),
        type=row["a_type"],
        bank=BankView(str(row["b_id"]), row["b_code"], row["b_name"]),
    )


def category_of(row: DictRow) -> CategoryView | None:
    if row["c_id"] is None:
        return None
    return CategoryView(
        str(row["c_id"]), row["c_name"], row["c_color"], row["c_description"], row["c_is_default"]
    )


class Queries:
    """Async reads on the read-model schema."""

    def __init__(self, pool: AsyncConnectionPool[Any], schema: str) -> None:
        self.pool = pool
        self.s = Identifier(schema)

    def q(self, text: str, **parts: Composable) -> Composed:
        return SQL(text).format(s=self.s, **parts)

    async def rows(self, sql: Composed, params: list[Any] | tuple[Any, ...]) -> list[DictRow]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params, prepare=True)
            rows: list[DictRow] = await cur.fetchall()
            return rows

    # accounts ---------------------------------------------------------------------------

    async def account(self, account_id: UUID) -> tuple[UUID, AccountView] | None:
        rows = await self.rows(
            self.q(
                f"SELECT {ACCOUNT_COLUMNS} FROM {{s}}.accounts a "
                "JOIN {s}.banks b ON b.id = a.bank_id WHERE a.id = %s"
            ),
            (account_id,),
        )
        return (rows[0]["a_user"], account_of(rows[0])) if rows else None

    async def accounts(self, user_id: UUID, f: AccountFilters) -> tuple[int, list[AccountView]]:
        where, params = ["a.user_id = %s"], list[Any]([user_id])
        if f.search:
            where.append("(a.name LIKE %s OR a.number LIKE %s)")
            params += [f"%{f.search}%", f"%{f.search}%"]
        if f.type:
            where.append("a.type = %s")
            params.append(f.type.value)
        if f.currency:
            where.append("a.currency = %s")
            params.append(f.currency.value)
        clause = " AND ".join(where)
        total = (
            await self.rows(
                self.q(f"SELECT count(*) AS n FROM {{s}}.accounts a WHERE {clause}"), params
            )
        )[0]["n"]
        rows = await self.rows(
            self.q(
                f"SELECT {ACCOUNT_COLUMNS} FROM {{s}}.accounts a JOIN {{s}}.banks b "
                f"ON b.id = a.bank_id WHERE {clause} ORDER BY a.opened_position LIMIT %s OFFSET %s"
            ),
            [*params, ACCOUNTS_PER_PAGE, _offset(f.page, ACCOUNTS_PER_PAGE)],
        )
        return int(total), [account_of(r) for r in rows]

    # categories -------------------------------------------------------------------------

    async def category(self, category_id: UUID) -> tuple[UUID | None, CategoryView] | None:
        rows = await self.rows(
            self.q(f"SELECT {CATEGORY_COLUMNS} FROM {{s}}.categories c WHERE c.id = %s"),
            (category_id,),
        )
        if not rows:
            return None
        view = category_of(rows[0])
        assert view is not None
        return rows[0]["c_user"], view

    async def categories(self, user_id: UUID, f: CategoryFilters) -> list[CategoryView]:
        where, params = ["(c.user_id = %s OR c.user_id IS NULL)"], list[Any]([user_id])
        if f.search:
            where.append("(c.name LIKE %s OR c.description LIKE %s)")
            params += [f"%{f.search}%", f"%{f.search}%"]
        if f.is_default is not None:
            where.append("c.is_default = %s")
            params.append(f.is_default)
        rows = await self.rows(
            self.q(
                f"SELECT {CATEGORY_COLUMNS} FROM {{s}}.categories c WHERE {' AND '.join(where)} "
                "ORDER BY c.is_default DESC, c.name ASC"
            ),
            params,
        )
        return [v for r in rows if (v := category_of(r)) is not None]

    async def categories_by_id(self, ids: set[str]) -> dict[str, CategoryView]:
        if not ids:
            return {}
        rows = await self.rows(
            self.q(f"SELECT {CATEGORY_COLUMNS} FROM {{s}}.categories c WHERE c.id = ANY(%s)"),
            (list(ids),),
        )
        return {str(r["c_id"]): v for r in rows if (v := category_of(r)) is not None}

    # transactions -----------------------------------------------------------------------

    TXN = (
        f"SELECT t.id, t.user_id, t.amount, t.currency, t.fitid, t.memo, t.date, t.splits, "
        f"{ACCOUNT_COLUMNS}, {CATEGORY_COLUMNS} FROM {{s}}.transactions t "
        "JOIN {s}.accounts a ON a.id = t.account_id JOIN {s}.banks b ON b.id = a.bank_id "
        "LEFT JOIN {s}.categories c ON c.id = t.category_id"
    )

    async def views(self, rows: list[DictRow]) -> list[TransactionView]:
        split_ids = {s["category_id"] for r in rows for s in _splits(r)}
        split_categories = await self.categories_by_id(split_ids)
        return [
            TransactionView(
                id=str(r["id"]),
                amount=int(r["amount"]),
                currency=Currency(r["currency"]),
                fitid=r["fitid"],
                memo=r["memo"],
                date=r["date"],
                category=category_of(r),
                account=account_of(r),
                splits=[
                    SplitView(
                        s["id"], s["amount"], s["memo"], split_categories.get(s["category_id"])
                    )
                    for s in _splits(r)
                ],
            )
            for r in rows
        ]

    async def transaction(self, txn_id: UUID) -> tuple[UUID, TransactionView] | None:
        rows = await self.rows(self.q(self.TXN + " WHERE t.id = %s"), (txn_id,))
        return (rows[0]["user_id"], (await self.views(rows))[0]) if rows else None

    async def transactions(
        self, user_id: UUID, f: TransactionFilters
    ) -> tuple[int, list[TransactionView]]:
        clause, params = transaction_where(user_id, f)
        direction = "DESC" if f.descending else "ASC"
        rows = await self.rows(
            self.q(
                self.TXN + f" WHERE {clause} ORDER BY {f.order_column} {direction}, "
                f"t.recorded_position {direction} LIMIT %s OFFSET %s"
            ),
            [*params, f.per_page, _offset(f.page, f.per_page)],
        )
        if rows and f.page == 1 and len(rows) < f.per_page:
            total = len(rows)  # the whole result fits on the first page: no count needed
        else:
            total = (
                await self.rows(
                    self.q(f"SELECT count(*) AS n FROM {{s}}.transactions t WHERE {clause}"), params
                )
            )[0]["n"]
        return int(total), await self.views(rows)

    # budgets ----------------------------------------------------------------------------

    _BUDGET = (
        f"SELECT bu.id, bu.user_id, bu.name, bu.currency, {CATEGORY_COLUMNS} "
        "FROM {s}.budgets bu JOIN {s}.categories c ON c.id = bu.category_id "
        "WHERE NOT bu.deleted"
    )

    async def budget(self, budget_id: UUID) -> tuple[UUID, BudgetView] | None:
        rows = await self.rows(self.q(self._BUDGET + " AND bu.id = %s"), (budget_id,))
        return (rows[0]["user_id"], _budget(rows[0])) if rows else None

    async def budgets(self, user_id: UUID) -> list[BudgetView]:
        rows = await self.rows(
            self.q(self._BUDGET + " AND bu.user_id = %s ORDER BY bu.created_position"), (user_id,)
        )
        return [_budget(r) for r in rows]


def transaction_where(
    user_id: UUID, f: TransactionFilters, *, by_type: bool = True
) -> tuple[str, list[Any]]:
    """The ``WHERE`` of the transactions list's filters (on ``t``), with its parameters."""
    where, params = ["t.user_id = %s"], list[Any]([user_id])
    if f.accounts:
        where.append("t.account_id = ANY(%s)")
        params.append(f.accounts)
    if f.categories:
        where.append("t.category_id = ANY(%s)")
        params.append(f.categories)
    if f.start:
        where.append("t.date >= %s::date")
        params.append(f.start)
    if f.end:  # inclusive calendar day
        where.append("t.date < (%s::date + 1)")
        params.append(f.end)
    if f.type and by_type:
        where.append("t.type = %s")
        params.append(f.type.value)
    if f.search:
        where.append("t.memo LIKE %s")
        params.append(f"%{f.search}%")
    return " AND ".join(where), params


# Far past any real result, and far from PostgreSQL's bigint limit (a huge `page` is an
# empty page, never an overflow).
MAX_OFFSET = 2**53


def _offset(page: int, per_page: int) -> int:
    return min((page - 1) * per_page, MAX_OFFSET)


def _splits(row: DictRow) -> list[dict[str, Any]]:
    raw = row["splits"]
    splits: list[dict[str, Any]] = orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw
    return splits or []


def _budget(row: DictRow) -> BudgetView:
    category = category_of(row)
    assert category is not None
    return BudgetView(str(row["id"]), row["name"], row["currency"], category)
