"""Who listens to what: sockets by user, fed from the backplane, with gap repair.

Ordering invariant, per socket: messages are sent in increasing position, none twice.
``last_sent`` guards every path (replay, live, repair), and a socket that is replaying
holds live messages aside until the replay is done, so the switch from replay to live
neither drops nor repeats. ``Replays`` (``ws_gateway.limits``) runs at most one replay
per socket at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from aiohttp import web

from shared.adapters.auth import TokenRecord
from shared.adapters.backplane import LiveBatch
from ws_gateway.protocol import RESUME_REQUIRED, UNAUTHENTICATED
from ws_gateway.store import GatewayStore

logger = logging.getLogger(__name__)
Message = dict[str, Any]
REPLAY_PAGE = 5_000
CONTROL = frozenset({"welcome", "caught_up", "bye", "resync"})


class Connection:
    """One socket: a bounded queue drained by its own writer task."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        user_id: UUID,
        token_id: UUID,
        expires_at: datetime | None,
        queue_size: int,
    ) -> None:
        self.ws, self.user_id, self.token_id, self.expires_at = ws, user_id, token_id, expires_at
        self.queue_size = queue_size
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=queue_size)
        # Live messages held aside while a replay is due or running (None: live). Every
        # socket starts with a replay, so it starts holding: a message dispatched while
        # the app greets it must not reach the socket ahead of the replay.
        self.holding: list[Message] | None = []
        self.last_sent = 0
        self.closing = False
        # Replays the socket from a position, announced with a ``resync`` frame (set by
        # the app to its replay runner; see ``Hub.on_batch``).
        self.restart: Callable[[int], None] | None = None

    def offer(self, message: Message) -> bool:
        """Queue a live message without waiting; False when the socket is too far behind."""
        if self.holding is not None:
            self.holding.append(message)
            return len(self.holding) <= self.queue_size
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True

    async def send(self, message: Message) -> None:
        if message["type"] not in CONTROL:
            if message["position"] <= self.last_sent:
                return
            self.last_sent = message["position"]
        # Text frames of JSON: what browsers' WebSocket API hands over as a string.
        await self.ws.send_str(orjson.dumps(message).decode())

    async def write(self) -> None:
        """The socket's writer: drains the queue in order until the socket closes."""
        while not self.ws.closed:
            message = await self.queue.get()
            if self.holding is not None:
                # Queued before a replay began, so that replay covers it (its ``upto`` is
                # past every queued position); sending it now would move ``last_sent``
                # ahead of the replay and make it skip what lies between.
                continue
            try:
                await self.send(message)
            except ConnectionResetError:
                return  # the peer went away mid-frame; the reader ends the socket

    async def close(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason.encode()[:120])


class Hub:
    def __init__(self, store: GatewayStore, max_sockets_per_user: int) -> None:
        self.store = store
        self.max_sockets_per_user = max_sockets_per_user
        self.sockets: dict[UUID, set[Connection]] = defaultdict(set)
        self.upto = 0  # every message up to here was dispatched (or read by replays)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self.upto = await self.store.head()

    def admit(self, conn: Connection) -> bool:
        """Add the socket unless its user already has ``max_sockets_per_user`` here.

        Checked and added with no ``await`` in between, so racing sockets cannot overshoot.
        The cap is per gateway process (each instance counts its own sockets).
        """
        if len(self.sockets.get(conn.user_id, ())) >= self.max_sockets_per_user:
            return False
        self.sockets[conn.user_id].add(conn)
        return True

    def remove(self, conn: Connection) -> None:
        group = self.sockets.get(conn.user_id)
        if group is not None:
            group.discard(conn)
            if not group:
                del self.sockets[conn.user_id]

    def connections(self) -> list[Connection]:
        return [c for group in self.sockets.values() for c in group]

    async def on_batch(self, batch: LiveBatch) -> None:
        for user_id, after in batch.resync.items():
            # Parked events released by an operator now lie in live_log below positions
            # these sockets may have passed: replay them from there, announced.
            for conn in list(self.sockets.get(UUID(user_id), ())):
                if conn.restart is not None:
                    conn.restart(after)
        async with self._lock:
            if batch.upto <= self.upto:
                return  # a repeat, or already repaired from the store
            if batch.after > self.upto:  # a batch went missing: read it from live_log
                await self._repair(self.upto, batch.after)
            for user_id, message in batch.messages:
                if message["position"] > self.upto:
                    self._dispatch(UUID(user_id), message)
            self.upto = batch.upto

    async def poll(self) -> None:
        """Repair from the store when the backplane is silent but live_log moved on."""
        head = await self.store.head()
        if head > self.upto:
            async with self._lock:
                if head > self.upto:
                    await self._repair(self.upto, head)
                    self.upto = head

    async def _repair(self, after: int, upto: int) -> None:
        users = list(self.sockets)
        if users:
            for user_id, message in await self.store.range_messages(after, upto, users):
                self._dispatch(UUID(user_id), message)

    def _dispatch(self, user_id: UUID, message: Message) -> None:
        for conn in list(self.sockets.get(user_id, ())):
            if not conn.offer(message):
                # Never let a slow socket delay others: cut it, it resumes from last_sent.
                asyncio.get_running_loop().create_task(
                    conn.close(RESUME_REQUIRED, f"too far behind; resume after {conn.last_sent}")
                )

    async def replay(
        self,
        conn: Connection,
        after: int,
        superseded: Callable[[], bool] = lambda: False,
        *,
        announce: bool = False,
    ) -> None:
        """Send the user's messages after ``after``, then switch the socket to live
        (``announce``: first a ``resync`` frame, when the server restarts the stream).

        Stops before its next frame once ``superseded()`` is true, leaving the socket
        holding live messages: the replay that supersedes it starts over, and its own
        ``upto`` covers whatever was held.
        """
        conn.holding = []
        while not conn.queue.empty():  # a resume restarts the stream from ``after``
            conn.queue.get_nowait()
        if announce:
            await conn.send({"type": "resync", "position": after})
        conn.last_sent = after
        upto = self.upto
        cursor = after
        while cursor < upto:
            page = await self.store.user_messages(conn.user_id, cursor, upto, REPLAY_PAGE)
            for message in page:
                if superseded():
                    return
                await conn.send(message)
            if len(page) < REPLAY_PAGE:
                break
            cursor = page[-1]["position"]
        if superseded():
            return
        held, conn.holding = conn.holding, None
        conn.last_sent = max(conn.last_sent, upto)
        for message in held:
            if not conn.offer(message):
                await conn.close(RESUME_REQUIRED, f"too far behind; resume after {upto}")
                return
        await conn.send({"type": "caught_up", "position": conn.last_sent})

    async def check_tokens(self) -> None:
        """Close sockets whose token expired or was revoked since they opened."""
        now = datetime.now(UTC)
        records: dict[UUID, TokenRecord | None] = {}
        for conn in self.connections():
            if conn.token_id not in records:
                records[conn.token_id] = await self.store.token(conn.token_id)
            record = records[conn.token_id]
            expired = conn.expires_at is not None and conn.expires_at <= now
            if expired or record is None or record.revoked:
                await conn.close(UNAUTHENTICATED, "token expired or revoked")
