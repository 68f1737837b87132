"""Reads served from the ``redis_cache`` projection when it is fresh enough, else None
(the caller then reads PostgreSQL). Redis is a cache: a miss or an outage is never an error."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from shared.auth import TokenRecord
from shared.views import CategoryView

logger = logging.getLogger(__name__)
CHECKPOINT_KEY = "proj:redis_cache"  # written by projection_worker's redis_cache


class RedisReads:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def token(self, token_id: UUID) -> TokenRecord | None:
        try:
            user, sha, exp = await self.client.hmget(f"tok:{token_id}", "user", "sha", "exp")
        except Exception:
            logger.warning("redis token lookup failed", exc_info=True)
            return None
        if user is None or sha is None:
            return None
        expires = datetime.fromisoformat(exp.decode()) if exp else None
        return TokenRecord(UUID(user.decode()), sha.decode(), expires, revoked=False)

    async def categories(self, user_id: UUID, required: int) -> list[CategoryView] | None:
        """The user's and the global categories, if the cache has applied ``required``."""
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.get(CHECKPOINT_KEY)
                pipe.hvals(f"cats:{user_id}")
                pipe.hvals("cats:global")
                position, own, shared = await pipe.execute()
        except Exception:
            logger.warning("redis category read failed", exc_info=True)
            return None
        if int(position or 0) < required:
            return None
        views = [CategoryView(**orjson.loads(raw)) for raw in [*own, *shared]]
        # is_default DESC, name ASC (the read model's collation is C: code point order)
        views.sort(key=lambda c: (not c.is_default, c.name))
        return views
