"""command_service: validates commands and appends their events to the store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

from starlette.applications import Starlette

from command_service.bootstrap import CommandSide, bootstrap
from command_service.endpoints import LOAD_TEST_ROUTE, ROUTES
from command_service.envelope_endpoints import ENVELOPE_ROUTES
from command_service.errors import EXCEPTION_HANDLERS
from command_service.import_endpoints import IMPORT_ROUTES
from command_service.user_endpoints import USER_ROUTES
from shared.adapters.http import address_limit
from shared.adapters.wiring import settle_heap
from shared.settings import Settings, get_settings


class State(TypedDict):
    side: CommandSide


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        with bootstrap(settings) as side:
            settle_heap()
            yield {"side": side}

    # The load-test endpoint mints users with valid tokens for anyone: off unless enabled.
    routes = [*ROUTES, *IMPORT_ROUTES, *ENVELOPE_ROUTES, *USER_ROUTES]
    if settings.load_test_users:
        routes.append(LOAD_TEST_ROUTE)
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=address_limit(settings),
    )
