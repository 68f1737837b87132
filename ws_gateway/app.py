"""ws_gateway: pushes each user's live event stream over WebSockets (aiohttp).

Clients authenticate with the REST API's bearer tokens: an ``Authorization`` header, or,
from browsers (whose WebSocket API cannot set headers), a first ``hello`` message that
carries the token. Tokens never go in the URL, where logs would keep them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from shared.auth import TokenRecord, accepts, split_bearer
from shared.settings import Settings, get_settings
from shared.wiring import async_pool, subscriber_from
from ws_gateway import protocol
from ws_gateway.hub import Connection, Hub
from ws_gateway.store import GatewayStore

logger = logging.getLogger(__name__)
HUB = web.AppKey("hub", Hub)
STORE = web.AppKey("store", GatewayStore)
SETTINGS = web.AppKey("settings", Settings)
SOCKETS: web.AppKey[weakref.WeakSet[Connection]] = web.AppKey("sockets")
HELLO_TIMEOUT = 10.0


async def _authenticate(store: GatewayStore, bearer: str | None) -> tuple[TokenRecord, Any] | None:
    parsed = split_bearer(bearer)
    if parsed is None:
        return None
    record = await store.token(parsed[0])
    return (record, parsed[0]) if record is not None and accepts(record, parsed[1]) else None


async def _hello(ws: web.WebSocketResponse) -> protocol.Hello | None:
    try:
        message = await ws.receive(timeout=HELLO_TIMEOUT)
    except TimeoutError:
        return None
    if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        return None
    parsed = protocol.parse(message.data)
    return parsed if isinstance(parsed, protocol.Hello) else None


async def stream(request: web.Request) -> web.StreamResponse:
    hub, store, settings = request.app[HUB], request.app[STORE], request.app[SETTINGS]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await ws.prepare(request)
    header = request.headers.get("Authorization")
    raw_after = request.query.get("after", "")
    after: int | None = int(raw_after) if raw_after.isdigit() else None
    try:
        if header is None:
            hello = await _hello(ws)
            header, after = (f"Bearer {hello.token}", hello.after) if hello else (None, None)
    except protocol.ProtocolError as exc:
        await ws.close(code=protocol.BAD_MESSAGE, message=str(exc).encode())
        return ws
    authenticated = await _authenticate(store, header)
    if authenticated is None:
        await ws.close(code=protocol.UNAUTHENTICATED, message=b"Unauthenticated.")
        return ws
    record, token_id = authenticated
    conn = Connection(ws, record.user_id, token_id, record.expires_at, settings.ws_queue_size)
    request.app[SOCKETS].add(conn)
    hub.add(conn)
    writer = asyncio.get_running_loop().create_task(conn.write())
    try:
        start = hub.upto if after is None else after
        await conn.send({"type": "welcome", "position": start})
        await hub.replay(conn, start)
        await _read(ws, conn, hub)
    finally:
        hub.remove(conn)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
    return ws


async def _read(ws: web.WebSocketResponse, conn: Connection, hub: Hub) -> None:
    async for message in ws:
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        try:
            parsed = protocol.parse(message.data)
        except protocol.ProtocolError as exc:
            await conn.close(protocol.BAD_MESSAGE, str(exc))
            return
        if isinstance(parsed, protocol.Resume):
            await hub.replay(conn, parsed.after)


async def up(_: web.Request) -> web.Response:
    return web.json_response({"status": "up"})


def _every(seconds: float, work: Callable[[], Awaitable[None]], name: str) -> asyncio.Task[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception:
                logger.warning("%s failed", name, exc_info=True)

    return asyncio.get_running_loop().create_task(loop())


async def _listen(hub: Hub, settings: Settings) -> None:
    subscriber = subscriber_from(settings)
    try:
        async for batch in subscriber.batches():
            await hub.on_batch(batch)
    finally:
        await subscriber.close()


def create_app(settings: Settings | None = None) -> web.Application:
    settings = settings or get_settings()
    app = web.Application()
    app[SETTINGS] = settings
    app[SOCKETS] = weakref.WeakSet()

    async def resources(app: web.Application) -> AsyncIterator[None]:
        pool = await async_pool(settings.readmodel_dsn, settings.pool_size)
        tokens = pool
        if settings.postgres_dsn != settings.readmodel_dsn:
            tokens = await async_pool(settings.postgres_dsn, 4)
        store = GatewayStore(pool, tokens, settings.readmodel_schema, settings.eventstore_schema)
        hub = Hub(store)
        await hub.start()
        app[STORE], app[HUB] = store, hub
        tasks = [
            asyncio.get_running_loop().create_task(_listen(hub, settings)),
            _every(1.0, hub.poll, "live_log poll"),
            _every(settings.ws_auth_check_seconds, hub.check_tokens, "token check"),
        ]
        yield
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if tokens is not pool:
            await tokens.close()
        await pool.close()

    async def going_away(app: web.Application) -> None:
        # Graceful shutdown: tell each client where to resume, then close with 1001.
        sockets: weakref.WeakSet[Connection] = app[SOCKETS]
        for conn in list(sockets):
            with contextlib.suppress(Exception):
                await conn.send({"type": "bye", "position": conn.last_sent})
            await conn.close(protocol.GOING_AWAY, f"resume after {conn.last_sent}")

    app.cleanup_ctx.append(resources)
    app.on_shutdown.append(going_away)
    app.add_routes([web.get("/ws", stream), web.get("/up", up)])
    return app
