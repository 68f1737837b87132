"""Waiting (bounded) until the read model has caught up with what a client wrote."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from shared.freshness import mark_key

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.005


@dataclass(frozen=True, slots=True)
class Freshness:
    required: int
    applied: int

    @property
    def behind(self) -> int:
        return max(0, self.required - self.applied)


class CheckpointWatch:
    """The read model's applied position, refreshed at most every few ms for all waiters."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        schema: str,
        projection: str,
        redis: Any | None,
        timeout: float,
    ) -> None:
        self.pool, self.redis, self.timeout = pool, redis, timeout
        self.projection = projection
        self.applied = 0
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._sql = SQL("SELECT position FROM {}.projection_checkpoints WHERE name = %s").format(
            Identifier(schema)
        )

    async def _refresh(self) -> int:
        async with self._lock:
            if time.monotonic() - self._fetched_at >= POLL_SECONDS:
                async with self.pool.connection() as conn:
                    cur = await conn.execute(self._sql, (self.projection,), prepare=True)
                    row = await cur.fetchone()
                self.applied = int(row["position"]) if row else 0
                self._fetched_at = time.monotonic()
            return self.applied

    async def required_for(self, user_id: UUID, explicit: int) -> int:
        if self.redis is None:
            return explicit
        try:
            marked = await self.redis.get(mark_key(user_id))
        except Exception:  # a cache outage costs freshness, not availability
            logger.warning("write marks unavailable", exc_info=True)
            return explicit
        return max(explicit, int(marked or 0))

    async def wait(self, user_id: UUID, explicit: int = 0) -> Freshness:
        required = await self.required_for(user_id, explicit)
        if required <= self.applied:
            return Freshness(required, self.applied)
        deadline = time.monotonic() + self.timeout
        while True:
            applied = await self._refresh()
            if applied >= required or time.monotonic() >= deadline:
                return Freshness(required, applied)
            await asyncio.sleep(POLL_SECONDS)
