"""Bearer-token records on the query side (async): the inline ``auth_tokens`` table."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from shared.adapters.auth import TokenRecord, record_of, token_query


class AsyncTokens:
    """Reads the inline ``auth_tokens`` table: committed with ``Token.Issued`` and
    ``Token.Revoked``, so it is never behind; ``shared.adapters.auth.TokenCache`` in front of it
    bounds how long a change takes to be seen (``AUTH_CACHE_SECONDS``)."""

    def __init__(self, pool: AsyncConnectionPool[Any], schema: str) -> None:
        self.pool = pool
        self._sql = token_query(schema)

    async def find(self, token_id: UUID) -> TokenRecord | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(self._sql, (token_id,), prepare=True)
            return record_of(await cur.fetchone())
