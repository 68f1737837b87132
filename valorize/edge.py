"""One base URL for local runs: reads (GET/HEAD) to query_service, writes to command_service,
and WebSockets on ``/ws`` passed through to ws_gateway (``EDGE_WS_UPSTREAM``).

Both apps are loaded by import string from the process's composition root (the CLI), so
``shared`` never imports a service. In production the same split is done by the API
gateway in front of the two Cloud Run services (see infra/README.md).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.settings import get_settings
from valorize.live_proxy import WebSocketProxy

# As the production load balancer and infra/nginx/edge.conf split (tests/deploy checks):
# anything else, OPTIONS included, is the command side's.
READ_METHODS = frozenset({"GET", "HEAD"})


def load_factory(spec: str) -> Starlette:
    """``"package.module:factory"`` -> the app the factory builds."""
    module_name, _, attr = spec.partition(":")
    app: Starlette = getattr(importlib.import_module(module_name), attr)()
    return app


class MethodSplit:
    """An ASGI app that runs both apps' lifespans and routes each request by method."""

    def __init__(self, reads: Starlette, writes: Starlette, live: ASGIApp | None = None) -> None:
        self.reads, self.writes, self.live = reads, writes, live
        self.states: dict[int, dict[str, Any]] = {}

    @contextlib.asynccontextmanager
    async def _lifespans(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in (self.reads, self.writes):
                state = await stack.enter_async_context(app.router.lifespan_context(app))
                self.states[id(app)] = dict(state or {})
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] == "websocket":
            if self.live is not None and scope["path"].startswith("/ws"):
                await self.live(scope, receive, send)
            else:  # refused at the handshake (403), as anywhere but /ws in production
                await receive()
                await send({"type": "websocket.close", "code": 1008})
            return
        app = self.reads if scope.get("method", "GET") in READ_METHODS else self.writes
        # The scope is this request's own (the server makes one per request): each app
        # sees a copy of its own lifespan state, as it would served alone.
        scope["state"] = self.states.get(id(app), {}).copy()
        await app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(self._lifespans())
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        await send({"type": "lifespan.shutdown.complete"})


READS = "query_service.app:create_app"
WRITES = "command_service.app:create_app"


def create_edge(reads: str = READS, writes: str = WRITES) -> MethodSplit:
    """Also uvicorn's factory (by import string, so ``--workers N`` can fork processes)."""
    upstream = get_settings().edge_ws_upstream
    live = WebSocketProxy(upstream) if upstream else None
    return MethodSplit(load_factory(reads), load_factory(writes), live)
