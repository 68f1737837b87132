"""Bearer-token authentication on the query side (async)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from query_service.cache import RedisReads
from shared.auth import TokenRecord, UnauthenticatedError, accepts, split_bearer
from shared.eventstore import AUTH_TOKENS_TABLE


class AsyncTokens:
    """Reads the inline ``auth_tokens`` table (committed with ``Token.Issued``, so a token
    works here the moment its 201 was sent)."""

    def __init__(
        self, pool: AsyncConnectionPool[Any], schema: str, cache: RedisReads | None
    ) -> None:
        self.pool = pool
        self.cache = cache
        self._sql = SQL(
            "SELECT user_id, secret_sha256, expires_at, revoked_at IS NOT NULL AS revoked "
            "FROM {}.{} WHERE id = %s"
        ).format(Identifier(schema), Identifier(AUTH_TOKENS_TABLE))

    async def find(self, token_id: UUID) -> TokenRecord | None:
        # Redis first (projected from Token.Issued); PostgreSQL, always current, on a miss:
        # a token is usable before the cache has caught up with its issue.
        if self.cache is not None and (cached := await self.cache.token(token_id)):
            return cached
        async with self.pool.connection() as conn:
            cur = await conn.execute(self._sql, (token_id,), prepare=True)
            row = await cur.fetchone()
        if row is None:
            return None
        return TokenRecord(row["user_id"], row["secret_sha256"], row["expires_at"], row["revoked"])

    async def user_of(self, authorization: str | None) -> UUID:
        bearer = split_bearer(authorization)
        if bearer is None:
            raise UnauthenticatedError
        record = await self.find(bearer[0])
        if record is None or not accepts(record, bearer[1]):
            raise UnauthenticatedError
        return record.user_id
