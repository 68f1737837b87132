"""Category suggestions: ``shared.categorize`` over the user's history and categories.

History is the ``memo_vectors`` read model (each transaction's ``Categorizer.vector`` of
its memo, and its category); the cold-start model's default category names are mapped to
the user's own category ids from ``ledger_tables``' categories (a renamed or deleted
default category simply loses its cold-start suggestions).

Each query instance keeps, in memory, a faiss index of the users it has served, built
from their rows. A suggestion first reads the user's rows' count and latest position and
their categories (two small queries on one connection): when the rows moved, the index
is built again. So every instance answers the same, wherever the worker ran, and none
needs a disk of its own. A correction (a transaction amended to another category) is an
upsert of its row, so it moves the latest position and the next suggestion sees it.
What is read and how it is ranked is ``shared.suggestions``, which the worker's
auto-categorization uses too.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from psycopg_pool import AsyncConnectionPool

from shared.adapters.vectors import MemoIndex
from shared.categorize import Categorizer, Suggestion
from shared.suggestions import SuggestionQueries, UserCategories, history_index, rank

USERS_KEPT = 1024  # users' indexes kept in memory, least recently used dropped first


class Suggester:
    def __init__(
        self, pool: AsyncConnectionPool[Any], schema: str, categorizer: Categorizer
    ) -> None:
        self.pool, self.categorizer = pool, categorizer
        queries = SuggestionQueries.of(schema)
        self._version, self._rows, self._categories = (
            queries.version,
            queries.rows,
            queries.categories,
        )
        self._kept: OrderedDict[str, tuple[tuple[int, int], MemoIndex]] = OrderedDict()

    async def _read(self, user_id: str) -> tuple[tuple[int, int], UserCategories]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(self._version, (user_id,), prepare=True)
            row = await cur.fetchone()
            assert row is not None  # an aggregate without GROUP BY: always one row
            cur = await conn.execute(self._categories, (user_id,), prepare=True)
            categories = UserCategories.of(await cur.fetchall())
        return (int(row["n"]), int(row["p"])), categories

    async def _index(self, user_id: str, version: tuple[int, int]) -> MemoIndex:
        kept = self._kept.get(user_id)
        if kept is None or kept[0] != version:
            async with self.pool.connection() as conn:
                cur = await conn.execute(self._rows, (user_id,), prepare=True)
                rows = await cur.fetchall()
            index = await asyncio.to_thread(self._build, rows)
            kept = self._kept[user_id] = (version, index)
        self._kept.move_to_end(user_id)
        while len(self._kept) > USERS_KEPT:
            self._kept.popitem(last=False)
        return kept[1]

    def _build(self, rows: list[Any]) -> MemoIndex:
        return history_index(rows, self.categorizer.embedder.dim)

    async def suggest(
        self, user_id: str, txn_id: str, memo: str, amount: int | None = None, limit: int = 3
    ) -> list[Suggestion]:
        """Up to ``limit`` of the user's categories for ``memo``, most likely first, each
        with its confidence (one distribution: they sum to at most 1) and its source
        (``history``, ``rules`` or ``names``). A memo with no categorized neighbour still
        gets the cold-start model's suggestions; an empty memo gets none."""
        if not memo.strip():
            return []
        version, categories = await self._read(user_id)
        index = await self._index(user_id, version)
        return rank(self.categorizer, index, categories, txn_id, memo, amount, limit)
