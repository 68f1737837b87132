"""What the gateway reads from PostgreSQL: tokens, and the ``live_log`` read model."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from shared.adapters.auth import TokenRecord, record_of, token_query
from shared.contracts import CHECKPOINTS_TABLE, LIVE_LOG_TABLE, LIVE_STREAM


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
        c, log = Identifier(CHECKPOINTS_TABLE), Identifier(LIVE_LOG_TABLE)
        self._token = token_query(eventstore_schema)
        self._head = SQL("SELECT position FROM {}.{} WHERE name = %s").format(s, c)
        self._user_log = SQL(
            "SELECT message FROM {}.{} WHERE user_id = %s AND position > %s "
            "AND position <= %s ORDER BY position LIMIT %s"
        ).format(s, log)
        self._range_log = SQL(
            "SELECT user_id, message FROM {}.{} WHERE position > %s AND position <= %s "
            "AND user_id = ANY(%s) ORDER BY position"
        ).format(s, log)

    async def token(self, token_id: UUID) -> TokenRecord | None:
        async with self.tokens_pool.connection() as conn:
            return record_of(await (await conn.execute(self._token, (token_id,))).fetchone())

    async def head(self) -> int:
        """How far ``live_log`` is complete (the live_stream projection's checkpoint)."""
        async with self.pool.connection() as conn:
            row = await (await conn.execute(self._head, (LIVE_STREAM,))).fetchone()
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
