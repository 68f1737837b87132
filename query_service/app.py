"""query_service: serves reads and dashboards from the read models only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

from starlette.applications import Starlette

from query_service.auth import AsyncTokens
from query_service.cache import RedisReads
from query_service.endpoints import ROUTES, Readers
from query_service.errors import EXCEPTION_HANDLERS
from query_service.freshness import CheckpointWatch
from query_service.queries import Queries
from query_service.suggestions import Suggester
from shared.auth import Authenticator, TokenCache
from shared.contracts import LEDGER_TABLES
from shared.embedding import HashedNgrams
from shared.http import address_limit
from shared.ratelimit import auth_failures, per_token
from shared.settings import Settings, get_settings
from shared.wiring import async_pool, async_redis


class State(TypedDict):
    readers: Readers


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        async with contextlib.AsyncExitStack() as stack:
            reads = await async_pool(settings.readmodel_dsn, settings.pool_size, dict_rows=True)
            stack.push_async_callback(reads.close)
            tokens_pool = reads
            if settings.postgres_dsn != settings.readmodel_dsn:
                # auth_tokens sits beside the events (inline projection): its own small pool.
                tokens_pool = await async_pool(settings.postgres_dsn, 4, dict_rows=True)
                stack.push_async_callback(tokens_pool.close)
            redis = async_redis(settings.redis_url) if settings.redis_url else None
            if redis is not None:
                stack.push_async_callback(redis.aclose)
            cache = RedisReads(redis) if redis is not None else None
            readers = Readers(
                auth=Authenticator(
                    TokenCache(settings.auth_cache_seconds), auth_failures(), per_token(settings)
                ),
                tokens=AsyncTokens(tokens_pool, settings.eventstore_schema),
                cache=cache,
                queries=Queries(reads, settings.readmodel_schema),
                watch=CheckpointWatch(
                    reads,
                    settings.readmodel_schema,
                    LEDGER_TABLES,
                    redis,
                    settings.read_wait_seconds,
                ),
                suggester=Suggester(settings.vector_dir / "current", HashedNgrams()),
            )
            yield {"readers": readers}

    return Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[address_limit(settings)],
    )
