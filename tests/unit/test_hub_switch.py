"""The gateway's switch from replay to live, on one socket (pure logic: a list for the
store, a list for the socket). A live message dispatched after the socket was admitted
but before its replay began must not be sent ahead of the replay."""

from __future__ import annotations

import asyncio
from typing import Any, cast
from uuid import UUID, uuid4

import orjson
from aiohttp import web

from shared.adapters.backplane import LiveBatch
from ws_gateway.hub import Connection, Hub
from ws_gateway.limits import Replays, TokenBucket
from ws_gateway.store import GatewayStore


class Socket:
    closed = False

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(orjson.loads(text))
        await asyncio.sleep(0)


class Log:
    """``live_log``: one user's messages by position."""

    def __init__(self, user: UUID, positions: list[int]) -> None:
        self.user = user
        self.messages = [self.message(p) for p in positions]

    @staticmethod
    def message(position: int) -> dict[str, Any]:
        return {"type": "transaction.created", "position": position, "data": {}}

    async def head(self) -> int:
        return int(self.messages[-1]["position"])

    async def user_messages(
        self, user_id: UUID, after: int, upto: int, limit: int
    ) -> list[dict[str, Any]]:
        await asyncio.sleep(0)
        return [m for m in self.messages if after < m["position"] <= upto][:limit]

    async def range_messages(
        self, after: int, upto: int, users: list[UUID]
    ) -> list[tuple[str, dict[str, Any]]]:
        return [(str(self.user), m) for m in self.messages if after < m["position"] <= upto]


def _positions(socket: Socket) -> list[int]:
    return [m["position"] for m in socket.sent if m["type"] == "transaction.created"]


async def _live(user: UUID, log: Log, hub: Hub, position: int, after: int) -> None:
    """``position`` committed and published (the batch ``(after, position]``)."""
    log.messages.append(Log.message(position))
    await hub.on_batch(LiveBatch(after, position, [(str(user), Log.message(position))]))


async def _socket_resumed_twice() -> list[int]:
    user = uuid4()
    log = Log(user, [5, 6, 7, 8, 9, 10])
    hub = Hub(cast(GatewayStore, log), max_sockets_per_user=5)
    await hub.start()
    socket = Socket()
    conn = Connection(cast(web.WebSocketResponse, socket), user, uuid4(), None, 100)
    assert hub.admit(conn)
    writer = asyncio.get_running_loop().create_task(conn.write())
    replays = Replays(hub, conn, TokenBucket(5, 1.0))
    # Live before the first replay starts (the app sends its welcome frame meanwhile).
    await _live(user, log, hub, 12, 10)
    await asyncio.sleep(0.01)  # the writer has had every chance to send it
    replays.start(6)
    await asyncio.sleep(0.01)
    # A live message queued (its writer about to run), then a resume before either runs.
    await _live(user, log, hub, 14, 12)
    assert replays.resume(7)
    await asyncio.sleep(0.01)
    await _live(user, log, hub, 16, 14)
    await asyncio.sleep(0.01)
    writer.cancel()
    await replays.stop()
    return _positions(socket)


def test_live_messages_never_overtake_a_replay() -> None:
    # The first replay from 6, then the resume from 7; each in order, then live.
    assert asyncio.run(_socket_resumed_twice()) == [7, 8, 9, 10, 12, 8, 9, 10, 12, 14, 16]
