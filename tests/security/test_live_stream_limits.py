"""Abuse limits of the live stream, against a real gateway, PostgreSQL and Redis.

Each test reproduces a finding of the gateway's security review: resume amplification,
unbounded sockets per user and per address, a slow hello timeout, and positions that
crashed the socket handler (or reached SQL beyond bigint).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpx
import orjson
import pytest

from shared.adapters.eventstore import Ledger
from shared.settings import Settings
from tests.harness import ServedAiohttp, ServedApp
from tests.integration.helpers import Provisioned, provision, transaction_body
from ws_gateway.app import HUB, create_app
from ws_gateway.client import LiveClient, StreamClosedError
from ws_gateway.limits import RESUME_BURST
from ws_gateway.protocol import MAX_POSITION

CAP_PER_USER = 3


@contextlib.contextmanager
def _gateway(settings: Settings, **limits: Any) -> Iterator[ServedAiohttp]:
    server = ServedAiohttp(create_app(dataclasses.replace(settings, **limits))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gateway(settings: Settings, worker_api: ServedApp) -> Iterator[ServedAiohttp]:
    """A gateway with small caps, so that going over them is quick."""
    with _gateway(
        settings, ws_max_sockets_per_user=CAP_PER_USER, ws_hello_timeout_seconds=1.0
    ) as server:
        yield server


@pytest.fixture
def user(api: httpx.Client, ledger: Ledger) -> Provisioned:
    return provision(api, ledger)


@dataclasses.dataclass
class StoreReads:
    """Calls of the gateway's replay query (``GatewayStore.user_messages``)."""

    count: int = 0
    delay: float = 0.0


@pytest.fixture
def reads(gateway: ServedAiohttp, monkeypatch: pytest.MonkeyPatch) -> StoreReads:
    store = gateway.app[HUB].store
    counted = StoreReads()
    original = store.user_messages

    async def user_messages(*args: Any) -> list[dict[str, Any]]:
        counted.count += 1
        await asyncio.sleep(counted.delay)  # a slow history: resumes land mid-replay
        page: list[dict[str, Any]] = await original(*args)
        return page

    monkeypatch.setattr(store, "user_messages", user_messages)
    return counted


@pytest.fixture
def gateway_errors(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Errors the gateway logged (an unhandled handler exception logs a traceback)."""
    errors: list[logging.LogRecord] = []
    yield errors
    errors += [
        r
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR and r.name.startswith(("aiohttp", "ws_gateway"))
    ]
    assert not errors, [r.getMessage() for r in errors]


def _spend(api: httpx.Client, user: Provisioned, value: int) -> None:
    response = api.post(
        "/api/transactions",
        headers=user.headers,
        json=transaction_body(
            user.account_id, amount={"value": value, "currency": "BRL"}, memo="limits"
        ),
    )
    assert response.status_code == 201, response.text


async def _history(api: httpx.Client, live: LiveClient, user: Provisioned, count: int) -> list[int]:
    """Record ``count`` transactions and wait until they are live (so in ``live_log``)."""
    for i in range(count):
        _spend(api, user, -(i + 1))
    positions: list[int] = []
    while len(positions) < count:
        message = await live.receive(timeout=15)
        if message["type"].startswith("transaction."):
            positions.append(message["position"])
    return positions


@contextlib.asynccontextmanager
async def _socket(url: str, **kwargs: Any) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url, **kwargs) as ws:
        yield ws


async def _frames_until_close(
    ws: aiohttp.ClientWebSocketResponse, quiet: float = 5.0
) -> tuple[list[dict[str, Any]], int | None, str]:
    """Every frame until the server closes (or says nothing for ``quiet`` seconds)."""
    frames: list[dict[str, Any]] = []
    while True:
        try:
            message = await ws.receive(timeout=quiet)
        except TimeoutError:
            return frames, None, "still open"
        if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
            frames.append(orjson.loads(message.data))
            continue
        code = message.data if message.type == aiohttp.WSMsgType.CLOSE else ws.close_code
        return frames, code, str(message.extra or "")


def _bearer(user: Provisioned) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.token}"}


# Finding 1: a 28-byte resume frame replayed the user's whole history, without limit.


def test_resume_flood_costs_one_replay(
    api: httpx.Client, gateway: ServedAiohttp, user: Provisioned, reads: StoreReads
) -> None:
    async def run() -> None:
        async with LiveClient(gateway.ws_url, user.token) as live:
            positions = await _history(api, live, user, 6)
            middle = positions[2]
            reads.count, reads.delay = 0, 1.0
            await live.resume(0)  # its replay is still reading when the next ones arrive
            for _ in range(RESUME_BURST - 1):
                await live.resume(middle)
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1]["type"] != "caught_up":
                frames.append(await live.receive(timeout=15))
            with pytest.raises(TimeoutError):
                frames.append(await live.receive(timeout=2.5))  # no second caught_up
        # The replay from 0 was superseded before sending anything; only the latest ran.
        assert [f["position"] for f in frames[:-1]] == positions[3:]
        assert reads.count <= 2

    asyncio.run(run())


def test_resumes_beyond_the_budget_close_with_4429(
    api: httpx.Client, gateway: ServedAiohttp, user: Provisioned, reads: StoreReads
) -> None:
    flood = 200

    async def run() -> None:
        async with _socket(gateway.ws_url, headers=_bearer(user)) as ws:
            assert orjson.loads((await ws.receive(timeout=10)).data)["type"] == "welcome"
            reads.count = 0
            with contextlib.suppress(ConnectionError):
                for _ in range(flood):
                    await ws.send_str('{"type":"resume","after":0}')
            frames, code, reason = await _frames_until_close(ws)
        assert code == 4429, (code, reason)
        assert "too many resumes" in reason
        assert reads.count <= RESUME_BURST
        assert sum(f["type"] == "caught_up" for f in frames) <= RESUME_BURST + 1

    asyncio.run(run())


# Finding 2: no cap on sockets per user, nor on unauthenticated sockets per address.


def test_socket_over_the_per_user_cap_is_refused(
    api: httpx.Client, ledger: Ledger, gateway: ServedAiohttp, user: Provisioned
) -> None:
    other = provision(api, ledger)

    async def run() -> None:
        async with contextlib.AsyncExitStack() as stack:
            opened = [
                await stack.enter_async_context(
                    LiveClient(gateway.ws_url, user.token, token_in_header=i % 2 == 0)
                )
                for i in range(CAP_PER_USER)
            ]
            with pytest.raises(StreamClosedError) as refused:
                async with LiveClient(gateway.ws_url, user.token):
                    pass
            assert refused.value.code == 4429
            assert "too many sockets for this user" in refused.value.reason
            async with LiveClient(gateway.ws_url, other.token):
                pass  # the cap is per user: others are not affected
            await opened[0].__aexit__(None, None, None)
            await _connects_again(gateway.ws_url, user.token)

    asyncio.run(run())


async def _connects_again(url: str, token: str) -> None:
    """A freed slot is reusable (the gateway notices the close a moment later)."""
    for _ in range(50):
        try:
            async with LiveClient(url, token):
                return
        except StreamClosedError as refused:
            if refused.code != 4429:
                raise
            await asyncio.sleep(0.1)
    pytest.fail("the freed slot was never reusable")


def test_unauthenticated_sockets_over_the_per_address_cap_get_429(
    settings: Settings, worker_api: ServedApp, user: Provisioned
) -> None:
    async def run(server: ServedAiohttp) -> None:
        async with aiohttp.ClientSession() as session:
            waiting = [await session.ws_connect(server.ws_url) for _ in range(3)]
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(server.ws_url)
            assert refused.value.status == 429
            # Sockets that authenticate by header never wait for a hello: not counted.
            async with LiveClient(server.ws_url, user.token):
                pass
            # A hello ends the wait, and frees a place for another pending socket.
            hello = {"type": "hello", "token": user.token, "after": None}
            await waiting[0].send_str(orjson.dumps(hello).decode())
            assert orjson.loads((await waiting[0].receive(timeout=10)).data)["type"] == "welcome"
            waiting.append(await _pending_again(session, server.ws_url))
            for ws in waiting:
                await ws.close()

    with _gateway(settings, ws_max_pending_per_address=3, ws_hello_timeout_seconds=30) as server:
        asyncio.run(run(server))


async def _pending_again(
    session: aiohttp.ClientSession, url: str
) -> aiohttp.ClientWebSocketResponse:
    for _ in range(50):
        try:
            return await session.ws_connect(url)
        except aiohttp.WSServerHandshakeError as refused:
            if refused.status != 429:
                raise
            await asyncio.sleep(0.1)
    pytest.fail("an authenticated socket still counted as pending")


def test_silent_socket_is_closed_after_the_hello_timeout(gateway: ServedAiohttp) -> None:
    async def run() -> None:
        async with _socket(gateway.ws_url) as ws:
            # The gateway waits 1 s here (it waited 10 s before the setting existed).
            frames, code, reason = await _frames_until_close(ws, quiet=8)
        assert (frames, code, reason) == ([], 4401, "Unauthenticated.")

    asyncio.run(run())


# Finding 3: positions that crashed the handler (1006 and a traceback) or overflowed bigint.

BAD_TEXT_POSITIONS = [
    pytest.param("²", id="superscript-two"),  # str.isdigit() accepts it, int() refuses it
    pytest.param("٣", id="arabic-indic-three"),  # a Unicode digit that int() would accept
    pytest.param("1" * 20, id="20-digits"),
    pytest.param("9" * 5000, id="5000-digits"),  # int() refuses over 4,300 digits
    pytest.param(str(2**63), id="past-bigint"),
    pytest.param(str(MAX_POSITION + 1), id="10**18"),
    pytest.param("-1", id="negative"),
    pytest.param("", id="empty"),
    pytest.param("+1", id="plus-sign"),
    pytest.param(" 1", id="leading-space"),
    pytest.param("1e3", id="exponent"),
]


@pytest.mark.parametrize("raw", BAD_TEXT_POSITIONS)
def test_bad_after_query_closes_with_4400(
    gateway: ServedAiohttp, user: Provisioned, raw: str, gateway_errors: list[Any]
) -> None:
    async def run() -> None:
        async with _socket(gateway.ws_url, headers=_bearer(user), params={"after": raw}) as ws:
            frames, code, reason = await _frames_until_close(ws)
        assert (frames, code) == ([], 4400)
        assert "'after' must be an integer position" in reason

    asyncio.run(run())


def test_unicode_digit_after_closes_with_4400(
    gateway: ServedAiohttp, user: Provisioned, gateway_errors: list[Any]
) -> None:
    async def run() -> None:
        async with _socket(f"{gateway.ws_url}?after=%C2%B2", headers=_bearer(user)) as ws:
            assert (await _frames_until_close(ws))[1] == 4400

    asyncio.run(run())


BAD_JSON_POSITIONS = [
    "true",
    "-1",
    "1.5",
    '"12"',
    '"²"',
    str(MAX_POSITION + 1),
    "1" + "0" * 30,
    "[]",
]


@pytest.mark.parametrize("raw", BAD_JSON_POSITIONS)
@pytest.mark.parametrize("kind", ["hello", "resume"])
def test_bad_after_in_a_message_closes_with_4400(
    gateway: ServedAiohttp, user: Provisioned, kind: str, raw: str, gateway_errors: list[Any]
) -> None:
    frame = f'{{"type": "{kind}", "token": "{user.token}", "after": {raw}}}'

    async def run() -> None:
        headers = _bearer(user) if kind == "resume" else {}
        async with _socket(gateway.ws_url, headers=headers) as ws:
            await ws.send_str(frame)
            frames, code, _ = await _frames_until_close(ws)
        assert code == 4400
        assert [f["type"] for f in frames if f["type"] != "caught_up"] in ([], ["welcome"])

    asyncio.run(run())


def test_largest_position_is_accepted(gateway: ServedAiohttp, user: Provisioned) -> None:
    async def run() -> None:
        async with LiveClient(gateway.ws_url, user.token, after=MAX_POSITION) as live:
            assert live.position == MAX_POSITION
            assert await live.receive(timeout=10) == {
                "type": "caught_up",
                "position": MAX_POSITION,
            }
            await live.resume(MAX_POSITION)
            assert (await live.receive(timeout=10))["type"] == "caught_up"

    asyncio.run(run())
