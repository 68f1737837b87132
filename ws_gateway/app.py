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
from dataclasses import dataclass
from uuid import UUID

from aiohttp import WSMsgType, web

from shared.adapters.auth import TokenRecord, accepts, split_bearer
from shared.adapters.wiring import async_pool, subscriber_from
from shared.settings import Settings, get_settings
from ws_gateway import protocol
from ws_gateway.hub import Connection, Hub
from ws_gateway.limits import (
    RESUME_BURST,
    RESUME_REFILL_SECONDS,
    PendingByAddress,
    Replays,
    TokenBucket,
)
from ws_gateway.store import GatewayStore

logger = logging.getLogger(__name__)
HUB = web.AppKey("hub", Hub)
STORE = web.AppKey("store", GatewayStore)
SETTINGS = web.AppKey("settings", Settings)
SOCKETS: web.AppKey[weakref.WeakSet[Connection]] = web.AppKey("sockets")
PENDING = web.AppKey("pending", PendingByAddress)
HELLO_TIMEOUT = web.AppKey("hello_timeout", float)  # seconds a socket may take to say hello


@dataclass(frozen=True, slots=True)
class Opened:
    """An authenticated socket, and where its stream starts (None: from now)."""

    record: TokenRecord
    token_id: UUID
    after: int | None


async def _authenticate(
    store: GatewayStore, bearer: str | None, after: int | None
) -> Opened | None:
    parsed = split_bearer(bearer)
    if parsed is None:
        return None
    record = await store.token(parsed[0])
    if record is None or not accepts(record, parsed[1]):
        return None
    return Opened(record, parsed[0], after)


async def _hello(ws: web.WebSocketResponse, timeout: float) -> protocol.Hello | None:
    try:
        message = await ws.receive(timeout=timeout)
    except TimeoutError:
        return None
    if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
        return None
    parsed = protocol.parse(message.data)
    return parsed if isinstance(parsed, protocol.Hello) else None


def _query_after(request: web.Request) -> int | None:
    raw = request.query.get("after")
    return None if raw is None else protocol.position(raw)


async def stream(request: web.Request) -> web.StreamResponse:
    header = request.headers.get("Authorization")
    pending, address = request.app[PENDING], request.remote or ""
    if header is None and not pending.claim(address):
        # Refused before the upgrade: no socket, no task, no hello timer.
        raise web.HTTPTooManyRequests(text="Too many sockets from this address await 'hello'.")
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    try:
        await ws.prepare(request)
        opened = await _open(request, ws, header)
    finally:
        if header is None:
            pending.release(address)
    if opened is not None:
        await _serve(request.app, ws, opened)
    return ws


async def _open(
    request: web.Request, ws: web.WebSocketResponse, header: str | None
) -> Opened | None:
    """Parse where to start and authenticate; on failure close the socket and return None."""
    try:
        after = _query_after(request)
        if header is None:
            hello = await _hello(ws, request.app[HELLO_TIMEOUT])
            header, after = (f"Bearer {hello.token}", hello.after) if hello else (None, None)
    except protocol.ProtocolError as exc:
        await ws.close(code=protocol.BAD_MESSAGE, message=str(exc).encode())
        return None
    opened = await _authenticate(request.app[STORE], header, after)
    if opened is None:
        await ws.close(code=protocol.UNAUTHENTICATED, message=b"Unauthenticated.")
    return opened


async def _serve(app: web.Application, ws: web.WebSocketResponse, opened: Opened) -> None:
    hub, settings = app[HUB], app[SETTINGS]
    record = opened.record
    conn = Connection(
        ws, record.user_id, opened.token_id, record.expires_at, settings.ws_queue_size
    )
    if not hub.admit(conn):
        reason = f"too many sockets for this user (limit {hub.max_sockets_per_user})"
        await ws.close(code=protocol.OVER_LIMIT, message=reason.encode())
        return
    app[SOCKETS].add(conn)
    writer = asyncio.get_running_loop().create_task(conn.write())
    replays = Replays(hub, conn, TokenBucket(RESUME_BURST, RESUME_REFILL_SECONDS))
    conn.restart = replays.resync
    try:
        start = hub.upto if opened.after is None else opened.after
        await conn.send({"type": "welcome", "position": start})
        replays.start(start)
        await _read(ws, conn, replays)
    finally:
        hub.remove(conn)
        await replays.stop()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer


async def _read(ws: web.WebSocketResponse, conn: Connection, replays: Replays) -> None:
    """Client frames, read while replays run (so a resume can supersede one)."""
    async for message in ws:
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            continue
        try:
            parsed = protocol.parse(message.data)
        except protocol.ProtocolError as exc:
            await conn.close(protocol.BAD_MESSAGE, str(exc))
            return
        if isinstance(parsed, protocol.Resume) and not replays.resume(parsed.after):
            reason = f"too many resumes; reconnect with ?after={conn.last_sent}"
            await conn.close(protocol.OVER_LIMIT, reason)
            return


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


# How often a gateway reads live_log's head, in case the backplane lost a batch and
# nothing has been published since (a later batch would reveal the gap at once).
REPAIR_POLL_SECONDS = 1.0


def create_app(
    settings: Settings | None = None, *, repair_poll_seconds: float = REPAIR_POLL_SECONDS
) -> web.Application:
    """The gateway. Tests lengthen ``repair_poll_seconds`` to see what the backplane alone
    delivers (with gap repair on the next batch) without the safety net's help."""
    settings = settings or get_settings()
    app = web.Application()
    app[SETTINGS] = settings
    app[SOCKETS] = weakref.WeakSet()
    app[PENDING] = PendingByAddress(settings.ws_max_pending_per_address)
    app[HELLO_TIMEOUT] = settings.ws_hello_timeout_seconds

    async def resources(app: web.Application) -> AsyncIterator[None]:
        pool = await async_pool(settings.readmodel_dsn, settings.pool_size)
        tokens = pool
        if settings.postgres_dsn != settings.readmodel_dsn:
            tokens = await async_pool(settings.postgres_dsn, 4)
        store = GatewayStore(pool, tokens, settings.readmodel_schema, settings.eventstore_schema)
        hub = Hub(store, settings.ws_max_sockets_per_user)
        await hub.start()
        app[STORE], app[HUB] = store, hub
        tasks = [
            asyncio.get_running_loop().create_task(_listen(hub, settings)),
            _every(repair_poll_seconds, hub.poll, "live_log poll"),
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
