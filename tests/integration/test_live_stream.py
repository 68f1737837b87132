"""The live stream over real sockets: isolation, resume, instances, slow clients, outages."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.adapters.auth import new_secret
from shared.adapters.eventstore import Ledger, TokenGrant
from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction
from shared.domain.users import Token
from shared.local.devstack import free_port, start_redis, stop
from shared.settings import Settings
from tests.harness import ServedAiohttp, ServedApp
from ws_gateway.app import create_app
from ws_gateway.client import LiveClient, StreamClosedError


@pytest.fixture(scope="module")
def gateway(settings: Settings, worker_api: ServedApp) -> Iterator[ServedAiohttp]:
    server = ServedAiohttp(create_app(settings)).start()
    yield server
    server.stop()


@dataclasses.dataclass
class User:
    token: str
    user_id: str
    headers: dict[str, str]
    account: str


def _user(api: httpx.Client) -> User:
    made = api.post("/api/testing/load-test-user").json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    account = api.get("/api/accounts", headers=headers).json()["data"][0]["id"]
    return User(made["token"], made["user_id"], headers, account)


def _spend(api: httpx.Client, user: User, value: int, memo: str = "live") -> dict[str, Any]:
    response = api.post(
        "/api/transactions",
        headers=user.headers,
        json={
            "account_id": user.account,
            "amount": {"value": value, "currency": "BRL"},
            "date": "2026-03-01",
            "memo": memo,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _take(
    live: LiveClient, count: int, timeout: float = 15, prefix: str = "transaction."
) -> list[dict[str, Any]]:
    """The next ``count`` messages of one kind (a fresh user's own provisioning events,
    committed just before it connected, may still arrive first)."""
    got: list[dict[str, Any]] = []

    async def collect() -> None:
        async for message in live.messages():
            if message["type"].startswith(prefix):
                got.append(message)
            if len(got) == count:
                return

    await asyncio.wait_for(collect(), timeout)
    return got


async def _nothing_more(live: LiveClient, wait: float = 1.0) -> bool:
    while True:
        try:
            message = await live.receive(timeout=wait)
        except TimeoutError:
            return True
        if message["type"].startswith("transaction."):
            return False


async def _until_closed(live: LiveClient) -> StreamClosedError:
    while True:
        try:
            await live.receive(timeout=30)
        except StreamClosedError as closed:
            return closed


def test_each_user_sees_only_their_own_events(api: httpx.Client, gateway: ServedAiohttp) -> None:
    alice, bob = _user(api), _user(api)

    async def run() -> None:
        async with (
            LiveClient(gateway.ws_url, alice.token) as a,
            LiveClient(gateway.ws_url, bob.token, token_in_header=False) as b,
        ):
            made_a = _spend(api, alice, -100, "alice")
            made_b = _spend(api, bob, -200, "bob")
            (got_a,), (got_b,) = await _take(a, 1), await _take(b, 1)
            assert (got_a["type"], got_a["data"]["id"]) == ("transaction.recorded", made_a["id"])
            assert got_b["data"]["id"] == made_b["id"]
            assert got_a["data"]["balance_delta"] == -100
            assert set(got_a) == {"type", "position", "time", "data"}
            assert await _nothing_more(a)

    asyncio.run(run())


def test_resume_after_disconnect_yields_exactly_the_missed_events_in_order(
    api: httpx.Client, gateway: ServedAiohttp
) -> None:
    user = _user(api)

    async def run() -> None:
        async with LiveClient(gateway.ws_url, user.token) as live:
            _spend(api, user, -1)
            (first,) = await _take(live, 1)
            seen = live.position
        missed = [_spend(api, user, -(i + 2))["id"] for i in range(5)]
        async with LiveClient(gateway.ws_url, user.token, after=seen) as again:
            got = await _take(again, 5)
            assert [m["data"]["id"] for m in got] == missed
            positions = [m["position"] for m in got]
            assert positions == sorted(positions)
            assert positions[0] > first["position"]
            assert await _nothing_more(again)
            await again.resume(first["position"] - 1)  # replay on demand, same order
            replayed = await _take(again, 6)
            assert [m["data"]["id"] for m in replayed][1:] == missed

    asyncio.run(run())


def test_two_gateway_instances_both_deliver(
    api: httpx.Client, settings: Settings, gateway: ServedAiohttp
) -> None:
    second = ServedAiohttp(create_app(settings)).start()
    user = _user(api)

    async def run() -> None:
        async with (
            LiveClient(gateway.ws_url, user.token) as one,
            LiveClient(second.ws_url, user.token) as two,
        ):
            made = [_spend(api, user, -10 * (i + 1))["id"] for i in range(3)]
            for live in (one, two):
                assert [m["data"]["id"] for m in await _take(live, 3)] == made

    try:
        asyncio.run(run())
    finally:
        second.stop()


def test_slow_consumer_is_cut_off_without_delaying_a_fast_one(
    api: httpx.Client, settings: Settings, ledger: Ledger, worker_api: ServedApp
) -> None:
    small = ServedAiohttp(create_app(dataclasses.replace(settings, ws_queue_size=50))).start()
    slow, fast = _user(api), _user(api)

    async def run() -> None:
        async with (
            LiveClient(small.ws_url, slow.token) as lagging,
            LiveClient(small.ws_url, fast.token) as quick,
        ):
            # The slow client never reads while ~8 MB of events arrive for it.
            for start in range(0, 12_000, 500):
                ledger.save(
                    *[
                        Transaction(
                            id=uuid7(),
                            user_id=slow.user_id,
                            account_id=slow.account,
                            category_id=None,
                            amount=-1,
                            currency="BRL",
                            date=datetime(2026, 3, 1, tzinfo=UTC),
                            memo="x" * 200,
                            fitid=None,
                            splits=[],
                        )
                        for _ in range(start, start + 500)
                    ]
                )
            httpx.post(f"{worker_api.url}/tasks/wake", json={}, timeout=120)
            made = _spend(api, fast, -5, "fast")
            (got,) = await _take(quick, 1, timeout=10)
            assert got["data"]["id"] == made["id"]
            assert (await _until_closed(lagging)).code == 4001

    try:
        asyncio.run(run())
    finally:
        small.stop()


def test_redis_restart_loses_nothing(
    api: httpx.Client, settings: Settings, worker_api: ServedApp
) -> None:
    port = free_port()
    redis = start_redis(settings.data_dir / "redis-restart", port)
    local = dataclasses.replace(settings, redis_url=redis.url)
    gateway = ServedAiohttp(create_app(local)).start()
    user = _user(api)

    async def run() -> None:
        nonlocal redis
        async with LiveClient(gateway.ws_url, user.token) as live:
            made = [_spend(api, user, -1)["id"]]
            await _take(live, 1)
            stop(redis.pid)
            made += [_spend(api, user, -2)["id"], _spend(api, user, -3)["id"]]
            redis = start_redis(settings.data_dir / "redis-restart", port)
            made.append(_spend(api, user, -4)["id"])
            got = await _take(live, 3, timeout=20)
            assert [m["data"]["id"] for m in got] == made[1:]
            seen = live.position
        made.append(_spend(api, user, -5)["id"])
        async with LiveClient(gateway.ws_url, user.token, after=seen) as again:
            assert [m["data"]["id"] for m in await _take(again, 1)] == made[-1:]

    try:
        asyncio.run(run())
    finally:
        gateway.stop()
        stop(redis.pid)


def test_expired_token_closes_the_open_socket(
    api: httpx.Client, settings: Settings, ledger: Ledger
) -> None:
    quick = ServedAiohttp(create_app(dataclasses.replace(settings, ws_auth_check_seconds=0.2)))
    quick.start()
    owner = _user(api)
    secret = new_secret()
    expires = datetime.now(UTC) + timedelta(seconds=2)
    token = Token(
        id=uuid7(),
        user_id=owner.user_id,
        name="short",
        secret_sha256=secret.sha256,
        expires_at=expires,
    )
    ledger.append(
        token, token_grants=[TokenGrant(token.id, owner_id(owner), secret.sha256, expires)]
    )

    async def run() -> None:
        async with LiveClient(quick.ws_url, f"{token.id}|{secret.plain}") as live:
            assert (await _until_closed(live)).code == 4401

    try:
        asyncio.run(run())
    finally:
        quick.stop()


def owner_id(user: User) -> Any:
    from uuid import UUID

    return UUID(user.user_id)


def test_bad_token_is_refused_and_shutdown_says_where_to_resume(
    api: httpx.Client, settings: Settings
) -> None:
    leaving = ServedAiohttp(create_app(settings)).start()
    user = _user(api)

    async def run() -> None:
        with pytest.raises(StreamClosedError) as refused:
            async with LiveClient(leaving.ws_url, "nope|nope") as live:
                await live.receive(timeout=5)
        assert refused.value.code in (4401, None)
        async with LiveClient(leaving.ws_url, user.token) as live:
            _spend(api, user, -7)
            await _take(live, 1)
            position = live.position
            stopper = asyncio.get_running_loop().run_in_executor(None, leaving.stop)
            bye = await live.receive(timeout=10)
            assert bye == {"type": "bye", "position": position}
            with pytest.raises(StreamClosedError) as closed:
                await live.receive(timeout=10)
            assert closed.value.code == 1001
            await stopper

    asyncio.run(run())
