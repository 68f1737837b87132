"""Reads served from the ``redis_cache`` projection when it is fresh enough, else None
(the caller then reads PostgreSQL). Redis is a cache: a miss or an outage is never an error."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import orjson

from shared.contracts import (
    GLOBAL_PARTITION,
    REDIS_CACHE,
    categories_key,
    checkpoint_key,
)
from shared.views import CategoryView

logger = logging.getLogger(__name__)
CHECKPOINT_KEY = checkpoint_key(REDIS_CACHE)


class RedisReads:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def categories(self, user_id: UUID, required: int) -> list[CategoryView] | None:
        """The user's and the global categories, if the cache has applied ``required``."""
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.get(CHECKPOINT_KEY)
                pipe.hvals(categories_key(str(user_id)))
                pipe.hvals(categories_key(GLOBAL_PARTITION))
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
