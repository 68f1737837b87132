"""Finding 1: one user's bad event must never stop anyone else's read models.

An event a read model cannot apply is parked; that user's later events wait behind it
(in order); every other user's events, live sockets and new users flow on; the parked
user's reads say they are degraded; an operator retries after a fix or quarantines the
poison with an audit record; a rebuild passes over it the same way. Events stored before
input hygiene existed (text with NUL) are projectable.

The first test leaves its poison event in the session's store, quarantined in the live
read models: a clean build of them from history parks it again, so tests that compare a
clean build with the live models run before these (pytest's order: tests/integration
first).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
import redis
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.catalog import projections
from projection_worker.feed import Positioned
from projection_worker.projections.blue_green import create_schema, drop_schema
from projection_worker.projections.checkpoints import Write
from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.projections.memo_vectors import MemoVectors
from projection_worker.projections.redis_cache import RedisCache
from projection_worker.rebuild import rebuild
from projection_worker.runner import Parked, Projection, Runner, release_partition
from shared.adapters.embedding import HashedNgrams
from shared.adapters.eventstore import Ledger
from shared.adapters.wiring import publisher_from, readmodel_pool
from shared.contracts import DEGRADED_HEADER, HOT_PREFIXES, LEDGER_TABLES, LIVE_STREAM
from shared.domain.categories import Category
from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction
from shared.settings import Settings
from tests.harness import ServedAiohttp, ServedApp
from tests.integration.helpers import Provisioned, provision, transaction_body
from tests.integration.projection_helpers import wait_for
from ws_gateway.app import create_app as gateway_app
from ws_gateway.client import LiveClient


def _poison_for(ledger: Ledger, user: Provisioned, txn_id: str) -> int:
    """An event no read model can apply (an amendment without its previous amount, as a
    buggy writer or a hand-edited import might store), for ``user``'s transaction."""
    txn: object = ledger.repository.get(UUID(txn_id))
    assert isinstance(txn, Transaction)
    event = Transaction.Amended(  # type: ignore[call-arg]
        originator_id=txn.id,
        originator_version=txn.version + 1,
        timestamp=datetime.now(UTC),
        user_id=user.user_id,
        account_id=txn.account_id,
        currency="BRL",
        category_id=None,
        amount=1,
        previous_amount=None,
        date=txn.date,
        memo="poison",
        splits=[],
        categorized_by=None,
    )
    return max(r.notification.id for r in ledger.save(event))


def _memos(api: httpx.Client, user: Provisioned) -> tuple[list[str], httpx.Response]:
    response = api.get("/api/transactions", headers=user.headers, params={"per_page": 100})
    assert response.status_code == 200, response.text
    return [t["memo"] for t in response.json()["data"]], response


@pytest.fixture
def gateway(settings: Settings, worker_api: ServedApp) -> Iterator[ServedAiohttp]:
    server = ServedAiohttp(gateway_app(settings)).start()
    yield server
    server.stop()


class _Listening:
    """A live socket kept open in a thread of its own, collecting every frame."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.frames: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.task: Any = None
        self.stopping = False

    def __enter__(self) -> _Listening:
        self.thread.start()
        ready = threading.Event()

        async def listen() -> None:
            async with LiveClient(self.url, self.token) as live:
                ready.set()
                while not self.stopping:
                    with contextlib.suppress(TimeoutError):
                        self.frames.append(await live.receive(timeout=0.1))

        self.task = asyncio.run_coroutine_threadsafe(listen(), self.loop)
        assert ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping = True  # the loop ends, and the client's context closes the socket
        self.task.result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def _next_transaction(url: str, token: str, after: int) -> dict[str, Any]:
    async with LiveClient(url, token, after=after) as live:
        async for message in live.messages():
            if message["type"] == "transaction.recorded":
                return message
    raise AssertionError("stream ended")


def test_a_poison_event_parks_its_user_and_everyone_else_flows_on(
    api: httpx.Client,
    ledger: Ledger,
    settings: Settings,
    worker_api: ServedApp,
    gateway: ServedAiohttp,
) -> None:
    victim, bystander = provision(api, ledger), provision(api, ledger)
    with _Listening(gateway.ws_url, victim.token) as socket:
        _poison_scenario(api, ledger, settings, worker_api, gateway, victim, bystander, socket)


def _poison_scenario(
    api: httpx.Client,
    ledger: Ledger,
    settings: Settings,
    worker_api: ServedApp,
    gateway: ServedAiohttp,
    victim: Provisioned,
    bystander: Provisioned,
    socket: _Listening,
) -> None:
    first = api.post(
        "/api/transactions",
        headers=victim.headers,
        json=transaction_body(victim.account_id, memo="before"),
    )
    assert first.status_code == 201, first.text
    poison = _poison_for(ledger, victim, first.json()["id"])
    after_poison = api.post(
        "/api/transactions",
        headers=victim.headers,
        json=transaction_body(victim.account_id, memo="behind the poison"),
    )
    assert after_poison.status_code == 201

    # Everyone else: writes visible on the first read, not stale, not degraded.
    start = ledger.head()
    written = api.post(
        "/api/transactions",
        headers=bystander.headers,
        json=transaction_body(bystander.account_id, memo="bystander"),
    )
    assert written.status_code == 201
    memos, response = _memos(api, bystander)
    assert memos == ["bystander"]
    assert "X-Valorize-Behind" not in response.headers
    assert DEGRADED_HEADER not in response.headers
    newcomer = provision(api, ledger)
    accounts = api.get("/api/accounts", headers=newcomer.headers).json()["data"]
    assert len(accounts) == 3
    message = asyncio.run(_next_transaction(gateway.ws_url, bystander.token, start))
    assert message["data"]["memo"] == "bystander"

    # The victim: what was applied before, nothing of what waits, and told so.
    memos, response = _memos(api, victim)
    assert memos == ["before"]
    assert response.headers[DEGRADED_HEADER] == LEDGER_TABLES
    assert "X-Valorize-Behind" not in response.headers  # not stale: degraded

    # Public status: positions and error types, never the error's text.
    report = {
        r["name"]: r for r in httpx.get(f"{worker_api.url}/projections").json()["projections"]
    }
    for name in (LEDGER_TABLES, LIVE_STREAM):
        assert report[name]["state"] == "degraded"
        assert report[name]["parked"] == [
            {
                "position": poison,
                "topic": "shared.domain.transactions:Transaction.Amended",
                "error": "TypeError",
                "waiting": 1,
            }
        ]
        assert report[name]["checkpoint"] >= ledger.head() - 5

    # The operator quarantines the poison (audited); the waiting event then applies.
    _quarantine_everywhere(settings, ledger, poison, "hand-written amendment, see #12")
    memos, response = _memos(api, victim)
    assert memos == ["behind the poison", "before"]
    # Reads learn of the release from their next snapshot (query_service.freshness).
    wait_for(lambda: DEGRADED_HEADER not in _memos(api, victim)[1].headers, timeout=5)
    with psycopg.connect(settings.readmodel_dsn) as conn:
        audit = conn.execute(
            "SELECT name, partition, reason FROM readmodel.quarantined_events "
            "WHERE position = %s ORDER BY name",
            (poison,),
        ).fetchall()
    assert audit == [
        (LEDGER_TABLES, victim.user_id, "hand-written amendment, see #12"),
        (LIVE_STREAM, victim.user_id, "hand-written amendment, see #12"),
    ]
    # The victim's open socket: told to resync, then the released event, in order.
    wait_for(lambda: any(f["type"] == "caught_up" for f in _after_resync(socket)), timeout=10)
    tail = _after_resync(socket)
    waited = int(after_poison.headers["X-Valorize-Position"])
    assert tail[0] == {"type": "resync", "position": waited - 1}
    assert [f["data"]["memo"] for f in tail if f["type"] == "transaction.recorded"] == [
        "behind the poison"
    ]


def _after_resync(socket: _Listening) -> list[dict[str, Any]]:
    frames = list(socket.frames)
    starts = [i for i, f in enumerate(frames) if f["type"] == "resync"]
    return frames[starts[-1] :] if starts else []


def _quarantine_everywhere(settings: Settings, ledger: Ledger, position: int, reason: str) -> None:
    pool = readmodel_pool(settings, max_size=2)
    client = redis.Redis.from_url(settings.redis_url)
    try:
        catalog = projections(settings, pool, client, publisher_from(settings, client))
        runner = Runner(ledger, catalog)
        for projection in catalog:
            heads = [p for p in projection.parked() if p.position == position]
            if heads:
                assert projection.quarantine(position, reason)
                outcome = release_partition(runner, projection, heads[0].partition)
                assert outcome.stuck is None
    finally:
        client.close()
        pool.close()


def test_text_stored_with_nul_before_input_hygiene_is_projected(
    api: httpx.Client, ledger: Ledger, settings: Settings, worker_api: ServedApp
) -> None:
    user = provision(api, ledger)
    legacy = Category(
        id=uuid7(),
        user_id=user.user_id,
        name="Caf\x00e",
        description="a\x00b",
        color="blue",
        is_default=False,
    )
    ledger.save(legacy)  # straight to the store, as events written before the check were
    response = api.get("/api/categories", headers=user.headers)  # waits for our write? no:
    wait_for(
        lambda: any(
            c["id"] == str(legacy.id)
            for c in api.get("/api/categories", headers=user.headers).json()
        )
    )
    names = {
        c["id"]: (c["name"], c["description"])
        for c in api.get("/api/categories", headers=user.headers).json()
    }
    assert names[str(legacy.id)] == ("Caf\ufffde", "a\ufffdb")
    assert response.status_code == 200
    report = httpx.get(f"{worker_api.url}/projections").json()["projections"]
    assert all(not r["parked"] for r in report), report


class _Fragile(LedgerTables):
    """``ledger_tables`` with a bug on some positions, fixed by emptying ``broken``."""

    name = "fragile_tables"
    broken: set[int] = set()

    def clone(self, schema: str) -> _Fragile:
        return _Fragile(self.pool, schema)

    def writer(self, items: Sequence[Positioned]) -> Write:
        if any(item.position in self.broken for item in items):
            raise ValueError("cannot project this event")
        return super().writer(items)


@contextlib.contextmanager
def _scratch(settings: Settings, schema: str) -> Iterator[ConnectionPool]:
    """A pool on a fresh read-model schema, dropped after (with any rebuild's staging)."""
    pool = readmodel_pool(settings, max_size=4)
    try:
        drop_schema(pool, schema)
        create_schema(pool, schema)
        yield pool
    finally:
        drop_schema(pool, schema)
        drop_schema(pool, f"{schema}_rebuild_{_Fragile.name}")
        pool.close()


def _of(projection: Projection, user: Provisioned) -> list[Parked]:
    return [p for p in projection.parked() if p.partition == user.user_id]


def _user_rows(settings: Settings, schema: str, user_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.readmodel_dsn) as conn:
        return conn.execute(
            SQL("SELECT memo FROM {}.transactions WHERE user_id = %s ORDER BY memo").format(
                Identifier(schema)
            ),
            (user_id,),
        ).fetchall()


def test_retry_after_a_fix_applies_the_parked_events_in_order(
    api: httpx.Client, ledger: Ledger, settings: Settings
) -> None:
    victim, bystander = provision(api, ledger), provision(api, ledger)
    positions = []
    for memo in ("one", "two", "three"):
        made = api.post(
            "/api/transactions",
            headers=victim.headers,
            json=transaction_body(victim.account_id, memo=memo),
        )
        positions.append(int(made.headers["X-Valorize-Position"]))
    api.post(
        "/api/transactions",
        headers=bystander.headers,
        json=transaction_body(bystander.account_id, memo="other"),
    )
    schema = "readmodel_fragile"
    with _scratch(settings, schema) as pool:
        fragile = _Fragile(pool, schema)
        fragile.broken = {positions[1]}
        Runner(ledger, [fragile], batch=1000).catch_up()
        assert fragile.checkpoint() == ledger.head()
        assert _user_rows(settings, schema, victim.user_id) == [("one",)]
        assert _user_rows(settings, schema, bystander.user_id) == [("other",)]
        # (Other tests' poison events are in the same store: look at this user only.)
        parked = _of(fragile, victim)
        assert [(p.position, p.partition) for p in parked] == [
            (positions[1], victim.user_id),
            (positions[2], victim.user_id),
        ]
        assert parked[0].error == "ValueError: cannot project this event"
        assert parked[1].error is None
        runner = Runner(ledger, [fragile])
        still = release_partition(runner, fragile, victim.user_id)  # not fixed yet
        assert still.released == 0
        assert still.stuck is not None
        assert still.stuck.position == positions[1]
        fragile.broken = set()  # the fix is deployed
        done = release_partition(runner, fragile, victim.user_id)
        assert done == (2, None)
        assert _of(fragile, victim) == []
        assert _user_rows(settings, schema, victim.user_id) == [("one",), ("three",), ("two",)]
        with psycopg.connect(settings.readmodel_dsn) as conn:
            balance = conn.execute(
                SQL("SELECT balance FROM {}.accounts WHERE id = %s").format(Identifier(schema)),
                (victim.account_id,),
            ).fetchone()
        assert balance == (3 * 2500,)


def test_a_rebuild_passes_over_a_poison_event_and_promotes_it_parked(
    api: httpx.Client, ledger: Ledger, settings: Settings
) -> None:
    victim = provision(api, ledger)
    made = api.post(
        "/api/transactions",
        headers=victim.headers,
        json=transaction_body(victim.account_id, memo="bad"),
    )
    position = int(made.headers["X-Valorize-Position"])
    schema = "readmodel_fragile_rebuild"
    with _scratch(settings, schema) as pool:
        live = _Fragile(pool, schema)
        _Fragile.broken = {position}
        rebuild(ledger, live, batch=5_000)
        assert live.checkpoint() >= position
        assert [(p.position, p.error) for p in _of(live, victim)] == [
            (position, "ValueError: cannot project this event")
        ]
        assert _user_rows(settings, schema, victim.user_id) == []
    _Fragile.broken = set()


class _FragileCache(RedisCache):
    broken: set[int] = set()

    def _ops(self, items: Sequence[Positioned]) -> list[str]:
        if any(item.position in self.broken for item in items):
            raise ValueError("cannot cache this event")
        return super()._ops(items)


class _FragileVectors(MemoVectors):
    broken: set[int] = set()

    def _statement(self, item: Positioned) -> Any:
        if item.position in self.broken:
            raise ValueError("cannot embed this event")
        return super()._statement(item)


def _park_and_release(
    ledger: Ledger,
    projection: Projection,
    user: Provisioned,
    broken: set[int],
    positions: list[int],
) -> None:
    Runner(ledger, [projection], batch=1000).catch_up()
    assert [p.position for p in _of(projection, user)] == positions
    assert projection.checkpoint() == ledger.head()
    broken.clear()
    assert release_partition(Runner(ledger, [projection]), projection, user.user_id) == (
        len(positions),
        None,
    )
    assert _of(projection, user) == []
    assert user.user_id not in projection.state().parked


def test_redis_and_vector_read_models_park_and_release_the_same_way(
    api: httpx.Client, ledger: Ledger, settings: Settings, tmp_path: Any
) -> None:
    user = provision(api, ledger)
    first = api.post(
        "/api/categories", headers=user.headers, json={"name": "Pets", "color": "yellow"}
    )
    second = api.post(
        "/api/categories", headers=user.headers, json={"name": "Kids", "color": "rosewater"}
    )
    category_positions = [int(r.headers["X-Valorize-Position"]) for r in (first, second)]
    live = redis.Redis.from_url(settings.redis_url).connection_pool.connection_kwargs
    client = redis.Redis(host=live["host"], port=live["port"], db=7)  # not the live db
    client.flushdb()
    try:
        _FragileCache.broken = {category_positions[0]}
        _park_and_release(
            ledger, _FragileCache(client), user, _FragileCache.broken, category_positions
        )
        owned = HOT_PREFIXES["owner_categories"] + user.user_id
        assert len(client.smembers(owned)) == 12  # the 10 defaults and both new ones
    finally:
        client.flushdb()
        client.close()
    txn_positions = []
    for memo in ("padaria", "farmacia"):
        made = api.post(
            "/api/transactions",
            headers=user.headers,
            json=transaction_body(user.account_id, memo=memo),
        )
        txn_positions.append(int(made.headers["X-Valorize-Position"]))
    _FragileVectors.broken = {txn_positions[0]}
    with _scratch(settings, "readmodel_fragile_vectors") as pool:
        vectors = _FragileVectors(pool, "readmodel_fragile_vectors", HashedNgrams())
        _park_and_release(ledger, vectors, user, _FragileVectors.broken, txn_positions)
