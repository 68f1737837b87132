"""command_service: validates commands and appends their events to the store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypedDict

from redis import Redis
from starlette.applications import Starlette

from command_service.accounts import AccountCommands
from command_service.budgets import BudgetCommands
from command_service.categories import CategoryCommands
from command_service.endpoints import LOAD_TEST_ROUTE, ROUTES, Handlers
from command_service.errors import EXCEPTION_HANDLERS
from command_service.ports import HotBalances, NoBalances, PostgresTokens
from command_service.provisioning import Provisioning
from command_service.store import Store
from command_service.tokens import TokenCommands
from command_service.transactions import TransactionCommands
from shared.adapters.auth import Authenticator, TokenCache
from shared.adapters.eventstore import open_ledger
from shared.adapters.freshness import NullMarks, RedisWriteMarks
from shared.adapters.group_commit import GroupCommitter
from shared.adapters.http import address_limit
from shared.adapters.ratelimit import TokenBuckets, auth_failures, per_token
from shared.adapters.wiring import settle_heap, wakeup_from
from shared.settings import Settings, get_settings


class State(TypedDict):
    handlers: Handlers


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        ledger = open_ledger(settings)
        executor = ThreadPoolExecutor(settings.command_threads, thread_name_prefix="command")
        wakeup = wakeup_from(settings)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        marks = RedisWriteMarks(redis) if redis is not None else NullMarks()
        committer = GroupCommitter(ledger, on_commit=marks.mark) if settings.group_commit else None
        balances = HotBalances(redis) if redis is not None else NoBalances()
        store = Store(ledger, balances, wakeup, marks, committer)
        handlers = Handlers(
            accounts=AccountCommands(store),
            categories=CategoryCommands(store),
            transactions=TransactionCommands(store),
            budgets=BudgetCommands(store),
            provisioning=Provisioning(store),
            revocations=TokenCommands(store),
            # auth_tokens lives beside the events (an inline projection), so it is
            # read through the store's own pool.
            tokens=PostgresTokens(ledger.connection, settings.eventstore_schema),
            auth=Authenticator(
                TokenCache(settings.auth_cache_seconds), auth_failures(), per_token(settings)
            ),
            provisioning_limit=TokenBuckets(
                settings.load_test_users_per_second,
                settings.load_test_users_per_second * settings.rate_limit_burst_seconds,
            ),
            max_body_bytes=settings.max_body_bytes,
            executor=executor,
        )
        try:
            settle_heap()
            yield {"handlers": handlers}
        finally:
            executor.shutdown(wait=True)
            if committer is not None:
                committer.close()
            wakeup.close()
            if redis is not None:
                redis.close()
            ledger.close()

    # The load-test endpoint mints users with valid tokens for anyone: off unless enabled.
    routes = [*ROUTES, LOAD_TEST_ROUTE] if settings.load_test_users else ROUTES
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=address_limit(settings),
    )
