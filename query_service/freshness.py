"""Waiting (bounded) until the read model has caught up with what a client wrote.

One poller per process reads the read model's checkpoint and parked partitions while
anybody waits, and wakes every waiter whose position it reached: a thousand waiting
readers cost one query every ``POLL_SECONDS``, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from shared.adapters.redis_pipe import PipelinedRedis
from shared.contracts import CHECKPOINTS_TABLE, HEAD_MARK_KEY, PARKED_TABLE, write_mark_key

logger = logging.getLogger(__name__)
POLL_SECONDS = 0.005
# A waiter far behind (an import's thousands of events ahead of the read model) is polled
# for less often: about half its expected wait, at most this long. Near ones stay at
# POLL_SECONDS.
FAR_POLL_SECONDS = 0.05
# Without waiters the snapshot is refreshed in the background at most this often, so a
# partition released by an operator stops reading as degraded within about this long.
REFRESH_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Freshness:
    required: int
    applied: int
    degraded: bool = False  # the user has events parked in this read model
    mark: int = 0  # the user's last acknowledged write (0: unknown)
    version: int = 0  # the read model's parked version: moves on parks, releases, rebuilds

    @property
    def behind(self) -> int:
        return max(0, self.required - self.applied)


class CheckpointWatch:
    """The read model's applied position and parked partitions, read together (one
    snapshot: a user whose write at P was parked is in the parked set as soon as the
    checkpoint passes P)."""

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        schema: str,
        projection: str,
        redis: PipelinedRedis | None,
        timeout: float,
    ) -> None:
        # The marks are read on the pipelined connection: redis-py's asyncio client cost
        # more Python per GET than a kept answer's whole response.
        self.pool, self.redis, self.timeout = pool, redis, timeout
        self.projection = projection
        self.applied = 0
        self.version = 0
        self.parked: frozenset[str] = frozenset()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._poller: asyncio.Task[None] | None = None
        self._refreshed_at = 0.0
        self._sql = SQL(
            "SELECT c.position, c.parked_version, ARRAY(SELECT DISTINCT partition FROM {s}.{p} "
            "WHERE name = c.name) AS parked FROM {s}.{c} c WHERE c.name = %s"
        ).format(s=Identifier(schema), p=Identifier(PARKED_TABLE), c=Identifier(CHECKPOINTS_TABLE))

    async def refresh(self) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(self._sql, (self.projection,), prepare=True)
            row = await cur.fetchone()
        if row is not None:
            self.applied = int(row["position"])
            self.version = int(row["parked_version"])
            self.parked = frozenset(row["parked"])
        self._refreshed_at = time.monotonic()
        return self.applied

    async def required_for(self, user_id: UUID, explicit: int) -> tuple[int, int]:
        """The user's last acknowledged write, or the client's explicit position if
        higher; the latter clamped to the highest position ever acknowledged (no client
        can have seen beyond it, so waiting for more would only hold the read). Also the
        user's mark alone (0 when unknown)."""
        if self.redis is None:
            return min(explicit, self.applied), 0
        try:
            if explicit > self.applied:
                marked, head = await self.redis.call("MGET", write_mark_key(user_id), HEAD_MARK_KEY)
                explicit = min(explicit, int(head or 0))
            else:
                marked = await self.redis.call("GET", write_mark_key(user_id))
        except Exception:  # a cache outage costs freshness, not availability
            logger.warning("write marks unavailable", exc_info=True)
            return min(explicit, self.applied), 0
        mark = int(marked or 0)
        return max(explicit, mark), mark

    async def wait(self, user_id: UUID, explicit: int = 0, *, floor: int = 0) -> Freshness:
        """``floor``: a position this process has seen a read model answer at. Unlike a
        client's ``explicit`` one it is not clamped to the acknowledged head: it was
        applied, and the head mark is in Redis, which may have lost it (flushed,
        restarted without disk) with the user's mark."""
        required, mark = await self.required_for(user_id, explicit)
        required = max(required, floor)
        if required > self.applied:
            await self._until(required)
        elif time.monotonic() - self._refreshed_at > REFRESH_SECONDS:
            self._start_poller()  # one round, in the background: this read does not wait
        # One snapshot: the version goes with the position and the parked set it came with.
        applied, version, parked = self.applied, self.version, self.parked
        return Freshness(required, applied, str(user_id) in parked, mark, version)

    def _start_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _until(self, required: int) -> None:
        waiter = asyncio.get_running_loop().create_future()
        entry = (required, waiter)
        self._waiters.append(entry)
        self._start_poller()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiter), self.timeout)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(entry)

    async def _poll(self) -> None:
        """Runs once, then on while anybody waits; each round one query wakes all it can."""
        first = True
        before, before_at = self.applied, time.monotonic()
        while first or self._waiters:
            first = False
            started = time.monotonic()
            try:
                applied = await self.refresh()
            except Exception:  # the read model's outage: waiters time out, stale-flagged
                logger.warning("checkpoint poll failed", exc_info=True)
                applied = self.applied
            for required, waiter in list(self._waiters):
                if required <= applied and not waiter.done():
                    waiter.set_result(None)
            if self._waiters:
                pause = _pause(self._waiters, applied, applied - before, started - before_at)
                before, before_at = applied, started
                await asyncio.sleep(max(0.0, pause - (time.monotonic() - started)))


def _pause(
    waiters: list[tuple[int, asyncio.Future[None]]], applied: int, moved: int, over: float
) -> float:
    """How long until the next poll: ``POLL_SECONDS``, or for a nearest waiter whose
    position the read model will take longer to reach at its last rate, half that, up to
    ``FAR_POLL_SECONDS``."""
    gap = min((required for required, _ in waiters), default=applied) - applied
    if gap <= 0 or moved <= 0 or over <= 0:
        return POLL_SECONDS
    expected = gap / (moved / over)
    return min(FAR_POLL_SECONDS, max(POLL_SECONDS, expected / 2))
