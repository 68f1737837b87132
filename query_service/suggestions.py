"""Category suggestions from the ``memo_vectors`` read model (nearest memos, by vote).

Each query instance keeps, in memory, a faiss index of the users it has served, built
from their rows. A suggestion first reads the user's rows' count and latest position
(one small query): when they moved, the index is built again. So every instance answers
the same, wherever the worker ran, and none needs a disk of its own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from shared.adapters.embedding import Embedder
from shared.adapters.vectors import MemoIndex
from shared.contracts import MEMO_VECTORS_TABLE

NEIGHBOURS = 10
USERS_KEPT = 1024  # users' indexes kept in memory, least recently used dropped first


@dataclass(frozen=True, slots=True)
class Suggestion:
    category_id: str
    score: float


class Suggester:
    def __init__(self, pool: AsyncConnectionPool[Any], schema: str, embedder: Embedder) -> None:
        self.pool, self.embedder = pool, embedder
        s, t = Identifier(schema), Identifier(MEMO_VECTORS_TABLE)
        self._version = SQL(
            "SELECT count(*) AS n, coalesce(max(position), 0) AS p FROM {}.{} WHERE user_id = %s"
        ).format(s, t)
        self._rows = SQL(
            "SELECT txn_id, category_id, vector, position FROM {}.{} WHERE user_id = %s"
        ).format(s, t)
        self._kept: OrderedDict[str, tuple[tuple[int, int], MemoIndex]] = OrderedDict()

    async def _query(self, sql: Any, user_id: str) -> list[Any]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, (user_id,), prepare=True)
            rows: list[Any] = await cur.fetchall()
            return rows

    async def _index(self, user_id: str) -> MemoIndex:
        (row,) = await self._query(self._version, user_id)
        version = (int(row["n"]), int(row["p"]))
        kept = self._kept.get(user_id)
        if kept is None or kept[0] != version:
            rows = await self._query(self._rows, user_id)
            index = await asyncio.to_thread(self._build, rows)
            kept = self._kept[user_id] = (version, index)
        self._kept.move_to_end(user_id)
        while len(self._kept) > USERS_KEPT:
            self._kept.popitem(last=False)
        return kept[1]

    def _build(self, rows: list[Any]) -> MemoIndex:
        index = MemoIndex(self.embedder.dim)
        for row in rows:
            vector = np.frombuffer(row["vector"], dtype=np.float32)
            category = None if row["category_id"] is None else str(row["category_id"])
            index.upsert(int(row["position"]), str(row["txn_id"]), category, vector)
        index.settle()
        return index

    async def suggest(
        self, user_id: str, txn_id: str, memo: str, limit: int = 3
    ) -> list[Suggestion]:
        """Categories of the most similar other memos, scored by summed cosine similarity."""
        if not memo:
            return []
        index = await self._index(user_id)
        query = self.embedder.embed([memo])[0]
        votes: dict[str, float] = defaultdict(float)
        for score, entry in index.search(query, NEIGHBOURS + 1):
            category = entry["category"]
            if entry["txn"] != txn_id and category is not None and score > 0:
                votes[category] += score
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:limit]
        return [Suggestion(category, round(score, 4)) for category, score in ranked]
