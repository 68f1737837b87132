"""query_service: serves reads and dashboards from the read models only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware

from query_service.auth import AsyncTokens
from query_service.dashboards import Dashboards
from query_service.endpoints import KEPT, LISTINGS, ROUTES, Readers
from query_service.envelope_endpoints import ENVELOPE_ROUTES
from query_service.envelopes import Envelopes
from query_service.errors import EXCEPTION_HANDLERS
from query_service.fast_path import FastPath
from query_service.freshness import CheckpointWatch
from query_service.hot import HotReads
from query_service.imports import IMPORT_ROUTES
from query_service.kept import KeptAnswers
from query_service.queries import Queries
from query_service.suggestions import Suggester
from query_service.user_endpoints import USER_ROUTES
from shared.adapters.auth import Authenticator, TokenCache
from shared.adapters.http import address_limit
from shared.adapters.ratelimit import auth_failures, per_token
from shared.adapters.redis_pipe import PipelinedRedis
from shared.adapters.vectors import search_on_one_thread
from shared.adapters.wiring import async_pool, settle_heap
from shared.categorize import Categorizer
from shared.contracts import LEDGER_TABLES
from shared.settings import Settings, get_settings


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
            # One pipelined connection for the write marks and the hot read model.
            pipe = PipelinedRedis(settings.redis_url) if settings.redis_url else None
            if pipe is not None:
                stack.push_async_callback(pipe.close)
            watch = CheckpointWatch(
                reads, settings.readmodel_schema, LEDGER_TABLES, pipe, settings.read_wait_seconds
            )
            hot: HotReads | None = None
            if pipe is not None and settings.hot_reads:
                # Never below what the SQL model had applied when this process started.
                hot = HotReads(pipe, floor=await watch.refresh())
            queries = Queries(reads, settings.readmodel_schema)
            search_on_one_thread()  # suggestions: 0.15 ms a search, not 16 ms
            readers = Readers(
                auth=Authenticator(
                    TokenCache(settings.auth_cache_seconds), auth_failures(), per_token(settings)
                ),
                tokens=AsyncTokens(tokens_pool, settings.eventstore_schema),
                hot=hot,
                queries=queries,
                watch=watch,
                suggester=Suggester(reads, settings.readmodel_schema, Categorizer()),
                dashboards=Dashboards(queries),
                kept=KeptAnswers(settings.kept_answers),
                envelopes=Envelopes(queries),
            )
            settle_heap()
            yield {"readers": readers}

    return Starlette(
        routes=[*ENVELOPE_ROUTES, *ROUTES, *IMPORT_ROUTES, *USER_ROUTES],
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[*address_limit(settings), Middleware(FastPath, listings=LISTINGS, kept=KEPT)],
    )
