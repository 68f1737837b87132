"""The local edge's ``/ws``: each WebSocket passed through to ws_gateway, as the load
balancer routes ``/ws`` in production, so one base URL serves the API and the live
stream (``ws://127.0.0.1:8000/ws`` under `make up`).

Frames go through as they are, both ways; the gateway's close code and reason reach the
client (4401, 4429, 1001 after a ``bye``, ...), and so does its refusal before the
upgrade (HTTP 429) where the server supports ASGI's ``websocket.http.response``. The
gateway sees the edge as the peer, as it sees the load balancer in production: one
address for every client (see README, "Live stream", on the per-address cap).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
from starlette.types import Receive, Scope, Send

# Request headers the gateway reads; hop-by-hop and handshake headers are the proxy's own.
FORWARDED = frozenset({b"authorization", b"origin", b"user-agent", b"sec-websocket-protocol"})
UNAVAILABLE = 1011  # the gateway could not be reached


class WebSocketProxy:
    """An ASGI app for ``websocket`` scopes, passing each through to ``upstream``."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")

    def _url(self, scope: Scope) -> str:
        query = scope.get("query_string", b"").decode("latin-1")
        path: str = scope["path"]
        return self.upstream + path + (f"?{query}" if query else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        headers = {k.decode(): v.decode("latin-1") for k, v in scope["headers"] if k in FORWARDED}
        async with aiohttp.ClientSession() as session:
            try:
                upstream = await session.ws_connect(
                    self._url(scope), headers=headers, autoclose=False, max_msg_size=0
                )
            except aiohttp.WSServerHandshakeError as refused:
                await _refuse(scope, send, refused.status)
                return
            except (aiohttp.ClientError, OSError):
                await send({"type": "websocket.close", "code": UNAVAILABLE})
                return
            await send({"type": "websocket.accept"})
            async with upstream:
                await _relay(upstream, receive, send)


async def _refuse(scope: Scope, send: Send, status: int) -> None:
    """The gateway's answer to the handshake (e.g. 429), or a plain refusal (403)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": []})
        await send({"type": "websocket.http.response.body", "body": b""})
    else:
        await send({"type": "websocket.close", "code": 1008})


async def _relay(upstream: aiohttp.ClientWebSocketResponse, receive: Receive, send: Send) -> None:
    """Both directions at once, until either side closes (then the other is closed)."""
    tasks = {
        asyncio.ensure_future(_to_gateway(upstream, receive)),
        asyncio.ensure_future(_to_client(upstream, send)),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _to_gateway(upstream: aiohttp.ClientWebSocketResponse, receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            await upstream.close(code=message.get("code", 1000))
            return
        if message.get("text") is not None:
            await upstream.send_str(message["text"])
        elif message.get("bytes") is not None:
            await upstream.send_bytes(message["bytes"])


async def _to_client(upstream: aiohttp.ClientWebSocketResponse, send: Send) -> None:
    while True:
        message = await upstream.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            await send({"type": "websocket.send", "text": message.data})
        elif message.type == aiohttp.WSMsgType.BINARY:
            await send({"type": "websocket.send", "bytes": message.data})
        elif message.type == aiohttp.WSMsgType.CLOSE:
            await send(_close(message.data, message.extra))
            await upstream.close()
            return
        elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            await send(_close(upstream.close_code or UNAVAILABLE, None))
            return


def _close(code: int, reason: Any) -> dict[str, Any]:
    return {"type": "websocket.close", "code": code, "reason": str(reason or "")}
