"""One base URL: the live stream through the local edge (``/ws`` passed through to the
gateway, as the load balancer routes it in production), beside the REST API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import aiohttp
import httpx
import pytest

from shared.adapters.eventstore import Ledger
from shared.settings import Settings
from tests.harness import ServedAiohttp, ServedApp
from tests.integration.helpers import Provisioned, provision, transaction_body
from valorize.edge import MethodSplit
from valorize.live_proxy import WebSocketProxy
from valorize.localstack import SERVICES
from ws_gateway.app import create_app as gateway_app
from ws_gateway.client import LiveClient, StreamClosedError


@pytest.fixture(scope="module")
def edge(settings: Settings, worker_api: ServedApp, stack: dict[str, str] | None) -> Iterator[str]:
    """The edge's host:port, with a gateway behind its /ws (``--stack``: the stack's)."""
    from command_service.app import create_app as command_app
    from query_service.app import create_app as query_app

    if stack is not None:
        yield f"127.0.0.1:{SERVICES['edge']}"
        return
    gateway = ServedAiohttp(gateway_app(settings)).start()
    live = WebSocketProxy(f"ws://127.0.0.1:{gateway.port}")
    server = ServedApp(MethodSplit(query_app(settings), command_app(settings), live)).start()
    yield f"127.0.0.1:{server.port}"
    server.stop()
    gateway.stop()


@pytest.fixture
def client(edge: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{edge}", timeout=30) as made:
        yield made


def _spend(client: httpx.Client, user: Provisioned) -> str:
    response = client.post(
        "/api/transactions", headers=user.headers, json=transaction_body(user.account_id)
    )
    assert response.status_code == 201, response.text
    made: str = response.json()["id"]
    return made


async def _next_transaction(live: LiveClient) -> dict[str, object]:
    while True:
        message = await live.receive(timeout=15)
        if str(message["type"]).startswith("transaction."):
            return message


@pytest.mark.parametrize("token_in_header", [True, False])
def test_the_live_stream_is_at_the_api_base_url(
    edge: str, client: httpx.Client, ledger: Ledger, token_in_header: bool
) -> None:
    user = provision(client, ledger)

    async def run() -> None:
        url = f"ws://{edge}/ws"
        async with LiveClient(url, user.token, token_in_header=token_in_header) as live:
            made = _spend(client, user)
            got = await _next_transaction(live)
            assert got["data"] == {**got["data"], "id": made}  # type: ignore[dict-item]
            seen = live.position
        again = _spend(client, user)
        async with LiveClient(url, user.token, after=seen) as resumed:
            assert (await _next_transaction(resumed))["data"]["id"] == again  # type: ignore[index]

    asyncio.run(run())


def test_the_gateways_close_codes_reach_the_client(edge: str) -> None:
    async def run() -> None:
        with pytest.raises(StreamClosedError) as refused:
            async with LiveClient(f"ws://{edge}/ws", "nope|nope") as live:
                await live.receive(timeout=10)
        assert refused.value.code == 4401
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://{edge}/ws?after=-1") as ws,
        ):
            closed = await ws.receive(timeout=10)
            assert closed.type == aiohttp.WSMsgType.CLOSE
            assert closed.data == 4400
            assert "'after' must be an integer position" in str(closed.extra)

    asyncio.run(run())


def test_websockets_anywhere_else_are_refused(edge: str) -> None:
    async def run() -> None:
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"ws://{edge}/api/transactions")
            assert refused.value.status == 403

    asyncio.run(run())
