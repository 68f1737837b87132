"""A pipelined asyncio Redis connection for the query side's hot path.

Redis answers the commands of one connection in the order it received them, so one
connection can carry every request of a process at once: each call writes its command
and waits for the reply that comes back in its turn. The protocol is ``hiredis``'s
(maintained, C): commands packed by ``hiredis.pack_command``, replies parsed by
``hiredis.Reader``. Why not redis-py's asyncio client: measured here behind uvicorn, a
request that made one redis-py ``GET`` served 3,800 to 5,000 req/s where ``GET /up``
served 13,500; through this connection 13,900 where ``/up`` served 19,800 (one round trip
costs about 15 us of Python here, 130 us there: its pool checks a connection out and
back in, builds a command object and parses through several layers for every call).

Failures are the caller's to handle: a lost connection fails every pending call with
``ConnectionError`` and the next call reconnects.

``rediss://`` URLs connect over TLS, read as redis-py reads them: ``ssl_ca_certs`` (the
CA file to verify the server with) and ``ssl_check_hostname`` (production's Memorystore
names no IP in its certificate, so Terraform's URL turns it off).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ssl
from typing import Any
from urllib.parse import parse_qs, urlsplit

import hiredis


class RedisReplyError(Exception):
    """An error reply from Redis (e.g. ``NOSCRIPT``)."""


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future[Any] | None] = collections.deque()
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport
        self.lost: BaseException | None = None
        self.gone = asyncio.Event()  # connection_lost ran: the socket is closed
        # Commands of one turn of the event loop go out in one write (one system call
        # for every request that asked meanwhile, not one each).
        self.outgoing: list[bytes] = []

    def flush(self) -> None:
        if self.outgoing and self.transport is not None and self.lost is None:
            self.transport.write(b"".join(self.outgoing))
        self.outgoing = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            waiter = self.waiting.popleft()
            # None: a reply nobody waits for (a transaction's OK and QUEUED), or its
            # caller gave up (cancelled): the reply is dropped.
            if waiter is None or waiter.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(RedisReplyError(str(reply)))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc or ConnectionError("redis closed the connection")
        self.gone.set()
        while self.waiting:
            waiter = self.waiting.popleft()
            if waiter is not None and not waiter.done():
                waiter.set_exception(ConnectionError("redis connection lost"))


_MULTI, _EXEC = hiredis.pack_command(("MULTI",)), hiredis.pack_command(("EXEC",))
FALSE = frozenset({"0", "F", "FALSE", "N", "NO"})  # redis-py's reading of a URL flag


def tls_context(url: str) -> ssl.SSLContext | None:
    """The TLS context a ``rediss://`` URL asks for (None for ``redis://``): the server's
    certificate always verified, against ``ssl_ca_certs`` or the system's CAs."""
    parts = urlsplit(url)
    if parts.scheme != "rediss":
        return None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    context = ssl.create_default_context(cafile=query.get("ssl_ca_certs") or None)
    context.check_hostname = query.get("ssl_check_hostname", "true").upper() not in FALSE
    return context


class PipelinedRedis:
    """One connection, every call pipelined on it. Not for blocking commands."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 6379
        self.db = int(parts.path.strip("/") or 0)
        self.password = parts.password
        self.tls = tls_context(url)
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connection(self) -> _Protocol:
        protocol = self._protocol
        if protocol is not None and protocol.lost is None:
            return protocol
        self._connecting = self._connecting or asyncio.Lock()
        async with self._connecting:
            if self._protocol is None or self._protocol.lost is not None:
                loop = asyncio.get_running_loop()
                _, made = await loop.create_connection(
                    _Protocol, self.host, self.port, ssl=self.tls
                )
                self._protocol = made
                if self.password:
                    await self._send(made, "AUTH", self.password)
                if self.db:
                    await self._send(made, "SELECT", self.db)
            return self._protocol

    @staticmethod
    def _send(protocol: _Protocol, *args: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        protocol.waiting.append(waiter)
        if not protocol.outgoing:
            loop.call_soon(protocol.flush)
        protocol.outgoing.append(hiredis.pack_command(args))
        return waiter

    async def call(self, *args: Any) -> Any:
        """Send one command; its reply (bytes, int, list, None)."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            protocol = await self._connection()
        return await self._send(protocol, *args)

    @staticmethod
    def pack_transaction(*commands: tuple[Any, ...]) -> bytes:
        """``commands`` packed as one ``MULTI``/``EXEC`` block, for ``transaction``
        (packing costs more than sending: callers keep the blocks they send often)."""
        return b"".join([_MULTI, *map(hiredis.pack_command, commands), _EXEC])

    async def transaction(self, block: bytes, commands: int) -> list[Any]:
        """Send ``block`` (``pack_transaction`` of ``commands`` commands), written at
        once: atomic (no other client's command runs between them). Their replies; an
        error reply of any of them raises ``RedisReplyError``."""
        protocol = self._protocol
        if protocol is None or protocol.lost is not None:
            protocol = await self._connection()
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        # MULTI's OK and each QUEUED are dropped; EXEC's reply is the one waited for.
        protocol.waiting.extend([None] * (commands + 1))
        protocol.waiting.append(waiter)
        if not protocol.outgoing:
            loop.call_soon(protocol.flush)
        protocol.outgoing.append(block)
        replies = await waiter
        if not isinstance(replies, list):  # nil: a WATCH failed (none is used here)
            raise RedisReplyError(f"EXEC answered {replies!r}")
        if failed := next((r for r in replies if isinstance(r, hiredis.ReplyError)), None):
            raise RedisReplyError(str(failed))
        return replies

    async def close(self) -> None:
        """Close the connection and wait (a second at most) until its socket is closed:
        over TLS that comes after the TLS shutdown, and a loop that ends before it
        leaves the socket open."""
        protocol, self._protocol = self._protocol, None
        if protocol is None or protocol.transport is None:
            return
        protocol.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(protocol.gone.wait(), timeout=1.0)
