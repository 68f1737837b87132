"""What the gateway reads from PostgreSQL: tokens, and the ``live_log`` read model."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from shared.auth import TokenRecord
from shared.eventstore import AUTH_TOKENS_TABLE

LIVE_PROJECTION = "live_stream"


class GatewayStore:
    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        tokens_pool: AsyncConnectionPool[Any],
        readmodel_schema: str,
        eventstore_schema: str,
    ) -> None:
        self.pool, self.tokens_pool = pool, tokens_pool
        s = Identifier(readmodel_schema)
        self._token = SQL(
            "SELECT user_id, secret_sha256, expires_at, revoked_at IS NOT NULL FROM {}.{} "
            "WHERE id = %s"
        ).format(Identifier(eventstore_schema), Identifier(AUTH_TOKENS_TABLE))
        self._head = SQL("SELECT position FROM {}.projection_checkpoints WHERE name = %s").format(s)
        self._user_log = SQL(
            "SELECT message FROM {}.live_log WHERE user_id = %s AND position > %s "
            "AND position <= %s ORDER BY position LIMIT %s"
        ).format(s)
        self._range_log = SQL(
            "SELECT user_id, message FROM {}.live_log WHERE position > %s AND position <= %s "
            "AND user_id = ANY(%s) ORDER BY position"
        ).format(s)

    async def token(self, token_id: UUID) -> TokenRecord | None:
        async with self.tokens_pool.connection() as conn:
            row = await (await conn.execute(self._token, (token_id,))).fetchone()
        return TokenRecord(row[0], row[1], row[2], row[3]) if row else None

    async def head(self) -> int:
        """How far ``live_log`` is complete (the live_stream projection's checkpoint)."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(self._head, (LIVE_PROJECTION,))).fetchone()
        return int(row[0]) if row else 0

    async def user_messages(
        self, user_id: UUID, after: int, upto: int, limit: int
    ) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(self._user_log, (user_id, after, upto, limit))
            rows = await cur.fetchall()
        return [_json(r[0]) for r in rows]

    async def range_messages(
        self, after: int, upto: int, users: list[UUID]
    ) -> list[tuple[str, dict[str, Any]]]:
        async with self.pool.connection() as conn:
            rows = await (await conn.execute(self._range_log, (after, upto, users))).fetchall()
        return [(str(r[0]), _json(r[1])) for r in rows]


def _json(value: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(value) if isinstance(value, (str, bytes)) else value
    return parsed
