"""The live backplane on real servers: every case runs on Redis pub/sub and on Google
Pub/Sub (its emulator, started by the harness), with the gateways' safety-net poll of
``live_log`` turned off, so that what reaches a socket came through the backplane, or
through the gap repair that a later batch set off.

Each backplane gets a stack of its own (a database on the session's PostgreSQL, a Redis
server, a worker and an edge), so that its worker is the only one publishing, and its
outages hurt no other test; the Pub/Sub emulator is one for the module (a fresh topic per
stack). The worker's publisher is wrapped to lose or repeat batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.sql import SQL, Identifier
from redis import Redis

from shared.adapters.backplane import LiveBatch, Publisher
from shared.adapters.http import POSITION_HEADER
from shared.adapters.migrate import migrate
from shared.adapters.wiring import publisher_from
from shared.contracts import CHECKPOINTS_TABLE, LIVE_STREAM
from shared.local import pubsub_emulator
from shared.local.devstack import Started, free_port, start_redis, stop
from shared.settings import Settings
from tests.harness import ServedAiohttp, ServedApp, fresh_database
from valorize.edge import MethodSplit
from ws_gateway.client import LiveClient

NO_POLL = 3600.0  # the gateways' live_log poll, off for these tests
PROJECT = "valorize-test"


@dataclasses.dataclass
class Faults:
    """What the worker's publisher does to the next batches it is given."""

    drop: int = 0
    repeat: int = 0


class FaultyPublisher:
    def __init__(self, inner: Publisher, faults: Faults) -> None:
        self.inner, self.faults = inner, faults

    def publish(self, batch: LiveBatch) -> None:
        if self.faults.drop and batch.messages:
            self.faults.drop -= 1
            return
        self.inner.publish(batch)
        if self.faults.repeat and batch.messages:
            self.faults.repeat -= 1
            self.inner.publish(batch)

    def close(self) -> None:
        self.inner.close()


@dataclasses.dataclass
class Backplane:
    """One backplane's stack, and how to take its server down and bring it back."""

    name: str
    settings: Settings  # the stack's
    live: Settings  # the gateways': the stack's, with the backplane's server
    api: httpx.Client
    faults: Faults
    stop_server: Callable[[], None]
    start_server: Callable[[], None]

    def gateway(self) -> ServedAiohttp:
        from ws_gateway.app import create_app

        return ServedAiohttp(create_app(self.live, repair_poll_seconds=NO_POLL)).start()

    def live_stream_at(self) -> int:
        query = SQL("SELECT position FROM {}.{} WHERE name = %s").format(
            Identifier(self.settings.readmodel_schema), Identifier(CHECKPOINTS_TABLE)
        )
        with psycopg.connect(self.settings.readmodel_dsn, autocommit=True) as conn:
            row = conn.execute(query, (LIVE_STREAM,)).fetchone()
        return int(row[0]) if row else 0

    def settle(self, position: int, timeout: float = 15) -> None:
        """Wait until the live_stream projection has passed ``position`` (published it)."""
        deadline = time.monotonic() + timeout
        while self.live_stream_at() < position:
            assert time.monotonic() < deadline, f"live_stream never reached {position}"
            time.sleep(0.02)


@contextlib.contextmanager
def _redis_server(root: Path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    port = free_port()
    running: list[Started] = [start_redis(root, port)]

    def down() -> None:
        stop(running.pop().pid)

    def up() -> None:
        running.append(start_redis(root, port))

    try:
        yield running[0].url, down, up
    finally:
        for server in running:
            stop(server.pid)


class PubSubServer:
    """The module's one Pub/Sub emulator, stopped and started again on the same port. It
    keeps nothing across a restart: the topics made here are made again, as Terraform
    would; the subscriptions are the gateways' to make again."""

    def __init__(self, root: Path) -> None:
        self.port, self.log = free_port(), root / "pubsub-emulator.log"
        self.host = f"127.0.0.1:{self.port}"
        self.topics: set[str] = set()
        self.running: pubsub_emulator.PubSubEmulator | None = None
        self.start()

    def topic(self, name: str) -> None:
        pubsub_emulator.ensure_topic(self.host, PROJECT, name)
        self.topics.add(name)

    def start(self) -> None:
        if self.running is None:
            self.running = pubsub_emulator.start_emulator(self.port, self.log)
            for name in self.topics:
                pubsub_emulator.ensure_topic(self.host, PROJECT, name)

    def stop(self) -> None:
        if self.running is not None:
            pubsub_emulator.stop_emulator(self.running)
            self.running = None


@pytest.fixture(scope="module")
def pubsub(settings: Settings) -> Iterator[PubSubServer]:
    server = PubSubServer(settings.data_dir / "pubsub")
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["redis", "pubsub"])
def backplane(
    request: pytest.FixtureRequest, settings: Settings, servers: dict[str, str]
) -> Iterator[Backplane]:
    """A stack whose live batches go through the backplane named by the parameter, on a
    server of its own (the stack's data stays on a Redis that never restarts)."""
    from command_service.app import create_app as command_app
    from projection_worker.app import create_app as worker_app
    from query_service.app import create_app as query_app

    name: str = request.param
    root = settings.data_dir / f"backplane-{name}"
    topic = f"live-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        data_redis = start_redis(root / "data-redis", free_port())
        stack.callback(stop, data_redis.pid)
        worker_port = free_port()
        database = fresh_database(servers["POSTGRES_DSN"], f"backplane_{name}")
        local = dataclasses.replace(
            settings,
            postgres_dsn=database,
            readmodel_dsn=database,
            redis_url=data_redis.url,
            backplane=name,
            pubsub_project=PROJECT,
            pubsub_topic=topic,
            worker_url=f"http://127.0.0.1:{worker_port}/tasks/wake",
            pool_size=5,
            pool_max_overflow=5,
        )
        if name == "pubsub":
            server: PubSubServer = request.getfixturevalue("pubsub")
            server.topic(topic)
            down, up = server.stop, server.start
            local = dataclasses.replace(local, pubsub_emulator_host=server.host)
            live = local  # what the worker's publisher and the gateways connect to
        else:
            url, down, up = stack.enter_context(_redis_server(root / "backplane-redis"))
            live = dataclasses.replace(local, redis_url=url)
        migrate(local)
        faults = Faults()

        def publisher(_: Settings, redis: Redis) -> Publisher:
            client = redis if name == "pubsub" else Redis.from_url(live.redis_url)
            return FaultyPublisher(publisher_from(live, client), faults)

        worker = ServedApp(worker_app(local, publisher=publisher), port=worker_port).start()
        stack.callback(worker.stop)
        edge = ServedApp(MethodSplit(query_app(local), command_app(local))).start()
        stack.callback(edge.stop)
        api = stack.enter_context(
            httpx.Client(base_url=edge.url, headers={"Accept": "application/json"}, timeout=30)
        )
        yield Backplane(name, local, live, api, faults, down, up)


@dataclasses.dataclass
class User:
    token: str
    headers: dict[str, str]
    account: str


def _user(api: httpx.Client) -> User:
    made = api.post("/api/testing/load-test-user").json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    account = api.get("/api/accounts", headers=headers).json()["data"][0]["id"]
    return User(made["token"], headers, account)


def _spend(backplane: Backplane, user: User, value: int) -> tuple[str, int]:
    """Record a transaction: its id and its position."""
    response = backplane.api.post(
        "/api/transactions",
        headers=user.headers,
        json={
            "account_id": user.account,
            "amount": {"value": value, "currency": "BRL"},
            "date": "2026-03-01",
            "memo": "backplane",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["id"], int(response.headers[POSITION_HEADER])


async def _transactions(live: LiveClient, count: int, timeout: float) -> list[dict[str, Any]]:
    """The next ``count`` transaction messages (fewer if ``timeout`` passes first)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and (left := deadline - time.monotonic()) > 0:
        try:
            message = await live.receive(timeout=left)
        except TimeoutError:
            break
        if message["type"].startswith("transaction."):
            got.append(message)
    return got


async def _exactly(live: LiveClient, count: int, timeout: float = 15) -> list[str]:
    """The ids of the next ``count`` transaction messages, and then no more."""
    got = await _transactions(live, count, timeout)
    got += await _transactions(live, 1, timeout=0.5)
    return [m["data"]["id"] for m in got]


def _ready(backplane: Backplane, user: User) -> int:
    """Everything up to the returned position published (the user's provisioning too):
    sockets opened after it start there."""
    _, position = _spend(backplane, user, -1)
    backplane.settle(position)
    return position


def test_two_gateways_both_deliver_every_batch(backplane: Backplane) -> None:
    one, two = backplane.gateway(), backplane.gateway()
    user = _user(backplane.api)

    async def run() -> None:
        async with (
            LiveClient(one.ws_url, user.token) as first,
            LiveClient(two.ws_url, user.token) as second,
        ):
            made = [_spend(backplane, user, -10 * (i + 1))[0] for i in range(3)]
            for live in (first, second):
                assert await _exactly(live, 3) == made

    try:
        asyncio.run(run())
    finally:
        one.stop()
        two.stop()


def test_a_lost_batch_is_repaired_when_the_next_one_arrives(backplane: Backplane) -> None:
    gateway = backplane.gateway()
    user = _user(backplane.api)
    start = _ready(backplane, user)

    async def run() -> None:
        async with LiveClient(gateway.ws_url, user.token, after=start) as live:
            backplane.faults.drop = 1
            lost, position = _spend(backplane, user, -2)
            backplane.settle(position)
            assert await _transactions(live, 1, timeout=1.0) == []  # no poll: nothing yet
            after, _ = _spend(backplane, user, -3)
            assert await _exactly(live, 2) == [lost, after]

    try:
        asyncio.run(run())
    finally:
        backplane.faults.drop = 0
        gateway.stop()


def test_a_repeated_batch_is_delivered_once(backplane: Backplane) -> None:
    gateway = backplane.gateway()
    user = _user(backplane.api)
    start = _ready(backplane, user)

    async def run() -> None:
        async with LiveClient(gateway.ws_url, user.token, after=start) as live:
            backplane.faults.repeat = 1
            twice, position = _spend(backplane, user, -2)
            backplane.settle(position)
            once, _ = _spend(backplane, user, -3)
            assert await _exactly(live, 2) == [twice, once]

    try:
        asyncio.run(run())
    finally:
        backplane.faults.repeat = 0
        gateway.stop()


def test_a_backplane_restart_loses_nothing(backplane: Backplane) -> None:
    gateway = backplane.gateway()
    user = _user(backplane.api)
    start = _ready(backplane, user)

    async def run() -> None:
        async with LiveClient(gateway.ws_url, user.token, after=start) as live:
            made = [_spend(backplane, user, -2)[0]]
            assert len(await _transactions(live, 1, timeout=15)) == 1
            backplane.stop_server()
            made += [_spend(backplane, user, -3)[0], _spend(backplane, user, -4)[0]]
            backplane.start_server()
            # Once the gateway has subscribed again, the next batch reaches it and shows
            # the gap, which it repairs from live_log: write until something arrives.
            got: list[dict[str, Any]] = []
            deadline = time.monotonic() + 30
            while not got and time.monotonic() < deadline:
                made.append(_spend(backplane, user, -5)[0])
                got = await _transactions(live, 1, timeout=1.0)
            got += await _transactions(live, len(made) - 1 - len(got), timeout=10)
            assert [m["data"]["id"] for m in got] == made[1:]
            assert await _transactions(live, 1, timeout=0.5) == []  # and nothing twice

    try:
        asyncio.run(run())
    finally:
        gateway.stop()


def test_a_failed_pubsub_publish_does_not_stop_later_batches(pubsub: PubSubServer) -> None:
    """A publish the service refuses pauses the client library's ordering key; unless the
    publisher resumes it, every later batch would fail at once, for good."""
    import grpc
    from google.pubsub_v1.services.subscriber import SubscriberClient
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    from shared.adapters.backplane import PubSubPublisher

    pubsub.start()  # should a restart test have left it down
    topic = f"late-{uuid.uuid4().hex[:8]}"
    channel = grpc.insecure_channel(pubsub.host)
    publisher = PubSubPublisher(PROJECT, topic, pubsub.host)
    try:
        publisher.publish(LiveBatch(0, 1, []))  # no such topic yet: refused, key paused
        time.sleep(0.5)
        pubsub.topic(topic)
        subscriber = SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))
        subscription = f"projects/{PROJECT}/subscriptions/{topic}"
        subscriber.create_subscription(
            request={
                "name": subscription,
                "topic": publisher.topic,
                "enable_message_ordering": True,
            }
        )
        batch = LiveBatch(1, 2, [("u", {"type": "t", "position": 2})])
        deadline, got = time.monotonic() + 15, list[LiveBatch]()
        while not got and time.monotonic() < deadline:
            publisher.publish(batch)  # raises at once while the ordering key stays paused
            pulled = subscriber.pull(
                request={"subscription": subscription, "max_messages": 10}, timeout=2
            )
            got = [LiveBatch.decode(m.message.data) for m in pulled.received_messages]
        assert got[:1] == [batch]
    finally:
        publisher.close()
        channel.close()
