"""A small Python client for the live stream (used by the tests; a usage example).

    async with LiveClient("ws://127.0.0.1:8004/ws", token) as live:
        async for message in live.messages():
            print(message["type"], message["position"], message["data"])

Reconnect with ``LiveClient(url, token, after=live.position)``: nothing is lost or repeated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp
import orjson


class StreamClosedError(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        self.code, self.reason = code, reason
        super().__init__(f"closed with {code}: {reason}")


class LiveClient:
    def __init__(
        self, url: str, token: str, *, after: int | None = None, token_in_header: bool = True
    ) -> None:
        self.url, self.token, self.after = url, token, after
        self.token_in_header = token_in_header
        self.position = after or 0
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def __aenter__(self) -> LiveClient:
        self._session = aiohttp.ClientSession()
        try:
            await self._open()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _open(self) -> None:
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token_in_header else {}
        url = self.url
        if self.after is not None and self.token_in_header:
            url = f"{self.url}?after={self.after}"
        self._ws = await self._session.ws_connect(url, headers=headers, heartbeat=20)
        if not self.token_in_header:
            await self._ws.send_str(
                orjson.dumps({"type": "hello", "token": self.token, "after": self.after}).decode()
            )
        welcome = await self.receive(timeout=10)
        if welcome["type"] != "welcome":
            raise StreamClosedError(None, f"unexpected first message {welcome}")
        self.position = welcome["position"]

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()

    async def receive(self, timeout: float | None = None) -> dict[str, Any]:
        assert self._ws is not None
        message = await self._ws.receive(timeout=timeout)
        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            body: dict[str, Any] = orjson.loads(message.data)
            if body["type"] == "resync":  # the server restarts the stream from there
                self.position = body["position"]
            elif "position" in body and body["type"] not in ("welcome",):
                self.position = max(self.position, body["position"])
            return body
        # A CLOSE frame carries the server's code in ``data`` and its reason in ``extra``.
        code = message.data if message.type == aiohttp.WSMsgType.CLOSE else self._ws.close_code
        raise StreamClosedError(code, str(message.extra or ""))

    async def resume(self, after: int) -> None:
        assert self._ws is not None
        await self._ws.send_str(orjson.dumps({"type": "resume", "after": after}).decode())

    async def messages(self, timeout: float | None = None) -> AsyncIterator[dict[str, Any]]:
        """Event messages (control messages skipped) until the stream closes."""
        while True:
            body = await self.receive(timeout)
            if body["type"] not in ("caught_up", "bye"):
                yield body
