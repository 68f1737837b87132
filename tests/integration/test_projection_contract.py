"""The ``Projection`` port's contract, run against every read model: each event applied
exactly once, whatever the deliveries (duplicated, out of order, concurrent workers, an
acknowledgement lost after the effects landed, an error half-way through a batch).

Each case builds a fresh copy of the read model in a scratch store (a PostgreSQL schema,
a Redis logical database) from a history made here through the API (every kind of
change: amendments, deletions, an account closed and a category deleted under their
transactions, budgets), and compares what it holds with a copy built once, in order.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import redis
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from projection_worker.projections.blue_green import create_schema, drop_schema
from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.projections.live_stream import LiveStream
from projection_worker.projections.memo_vectors import MemoVectors
from projection_worker.projections.redis_cache import RedisCache
from projection_worker.runner import Projection, ProjectionState, Runner, partition_of
from shared.adapters.embedding import HashedNgrams
from shared.adapters.eventstore import Ledger
from shared.adapters.wiring import readmodel_pool
from shared.contracts import GLOBAL_PARTITION, HOT_PREFIXES
from shared.domain.transactions import Transaction
from shared.settings import Settings
from tests.harness import ServedApp
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned


@dataclass
class Store:
    """A scratch store for one read model: how to make a copy on it, and read it back."""

    make: Callable[[], Projection]
    snapshot: Callable[[], Any]
    reset: Callable[[], None]


def _pg(
    settings: Settings,
    pool: ConnectionPool,
    schema: str,
    tables: Sequence[str],
    build: Callable[[], Projection],
) -> Store:
    def reset() -> None:
        drop_schema(pool, schema)
        create_schema(pool, schema)

    def snapshot() -> dict[str, list[str]]:
        with psycopg.connect(settings.readmodel_dsn) as conn:
            return {
                t: sorted(repr(row) for row in conn.execute(_select_all(schema, t)).fetchall())
                for t in tables
            }

    return Store(build, snapshot, reset)


def _select_all(schema: str, table: str) -> Composed:
    return SQL("SELECT * FROM {}.{}").format(Identifier(schema), Identifier(table))


VERSION_PREFIX = HOT_PREFIXES["version"].encode()
SCRATCH_DB = 9  # neither the live logical database nor its staging one (live + 1)


def _redis(settings: Settings) -> Store:
    # Not from_url(..., db=): a database in the URL would win over the argument.
    live = redis.ConnectionPool.from_url(settings.redis_url).connection_kwargs
    client: Any = redis.Redis(host=live["host"], port=live["port"], db=SCRATCH_DB)
    assert client.connection_pool.connection_kwargs["db"] != live.get("db", 0)

    def reset() -> None:
        client.flushdb()

    def snapshot() -> dict[bytes, Any]:
        found: dict[bytes, Any] = {}
        key: bytes
        for key in client.keys("*"):
            if key.startswith(VERSION_PREFIX):
                continue  # a partition's version counts batches, not events (kept pages)
            kind = client.type(key)
            if kind == b"hash":
                found[key] = sorted(client.hgetall(key).items())
            elif kind == b"zset":
                found[key] = client.zrange(key, 0, -1, withscores=True)
            elif kind == b"set":
                found[key] = sorted(client.smembers(key))
            elif kind == b"list":
                found[key] = client.lrange(key, 0, -1)
            else:
                found[key] = client.get(key)
        return found

    return Store(lambda: RedisCache(client), snapshot, reset)


def _changes(api: httpx.Client, user: Provisioned) -> None:
    """Every kind of change one user can make, each on data the others touch."""
    account = user.accounts["k6 Account 1"]
    doomed = rh.create_account(api, user)["id"]
    category = rh.create_category(api, user)["id"]
    ids = [
        rh.record(api, user, account, 100 * i + 7, category_id=category, memo=f"memo {i}")
        for i in range(12)
    ]
    for i in range(6):
        rh.record(api, user, doomed, -250 * i - 1, date=f"2025-02-{i + 1:02d}T08:00:00+00:00")
    for i, txn in enumerate(ids[:4]):
        body = {
            "amount": {"value": 999 - i, "currency": "BRL"},
            "date": f"2025-03-0{i + 1}T09:00:00+00:00",
            "memo": "amended",
            "category_id": user.categories["green"] if i % 2 else category,
        }
        response = api.patch(f"/api/transactions/{txn}", json=body, headers=user.headers)
        assert response.status_code == 200, response.text
    for txn in ids[4:6]:
        rh.delete(api, user, f"/api/transactions/{txn}")
    budget = rh.create_budget(api, user, category).json()["id"]
    response = api.put(f"/api/budgets/{budget}", json={"name": "Novo"}, headers=user.headers)
    assert response.status_code == 200, response.text
    rh.delete(api, user, f"/api/accounts/{doomed}")
    rh.delete(api, user, f"/api/categories/{category}")
    _auto_categorized(api, user, account)


def _auto_categorized(api: httpx.Client, user: Provisioned, account: str) -> None:
    """A threshold set (``User.AutoCategorizationSet``) and a ride the worker categorizes
    (``Transaction.Amended`` with ``categorized_by``), in the history before it is read."""
    path, body = "/api/settings/categorization", {"auto_apply_threshold": 0.5}
    assert api.put(path, json=body, headers=user.headers).status_code == 200
    assert rh.get_json(api, user, "/api/settings/profile")["auto_apply_threshold"] == 0.5
    ride = rh.record(api, user, account, -2350, memo="PAG*UBER TRIP SAO PAULO")
    rh.poll(lambda: rh.get_json(api, user, f"/api/transactions/{ride}")["category"], timeout=15)


@pytest.fixture(scope="module")
def history(edge_api: ServedApp, ledger: Ledger) -> list[Positioned]:
    """The global events (banks, default categories) and two users' own, in store order:
    a consistent history whatever else the session's store holds."""
    headers = {"Accept": "application/json"}
    with httpx.Client(base_url=edge_api.url, headers=headers, timeout=30) as api:
        return _history(api, ledger)


def _history(api: httpx.Client, ledger: Ledger) -> list[Positioned]:
    users = [helpers.provision(api, ledger) for _ in range(2)]
    for user in users:
        _changes(api, user)
    mine = {u.user_id for u in users} | {GLOBAL_PARTITION}
    runner, events, after = Runner(ledger, []), [], 0
    while page := runner.read(after, 5_000):
        events += [p for p in page if partition_of(p.event) in mine]
        after = page[-1].position
    assert sum(_recorded(p) for p in events) >= 2 * 18
    return events


PROJECTIONS = ["ledger_tables", "live_stream", "redis_cache", "memo_vectors"]


@pytest.fixture(scope="module", params=PROJECTIONS)
def store(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Store]:
    pool = readmodel_pool(settings, max_size=8)
    schema = f"contract_{request.param}"
    chosen = {
        "ledger_tables": lambda: _pg(
            settings, pool, schema, LedgerTables.TABLES, lambda: LedgerTables(pool, schema)
        ),
        "live_stream": lambda: _pg(
            settings, pool, schema, LiveStream.TABLES, lambda: LiveStream(pool, schema, None)
        ),
        "memo_vectors": lambda: _pg(
            settings,
            pool,
            schema,
            MemoVectors.TABLES,
            lambda: MemoVectors(pool, schema, HashedNgrams()),
        ),
        "redis_cache": lambda: _redis(settings),
    }[request.param]()
    yield chosen
    drop_schema(pool, schema)
    pool.close()


def _in_order(store: Store, history: list[Positioned], size: int) -> Any:
    store.reset()
    projection = store.make()
    for i in range(0, len(history), size):
        batch = history[i : i + size]
        assert projection.apply(batch, projection.state())
    assert projection.checkpoint() == history[-1].position
    return store.snapshot()


@pytest.fixture(scope="module")
def expected(store: Store, history: list[Positioned]) -> Any:
    return _in_order(store, history, 50)


def _batches(history: list[Positioned], size: int) -> list[list[Positioned]]:
    return [history[i : i + size] for i in range(0, len(history), size)]


def test_a_duplicated_batch_applies_once(
    store: Store, history: list[Positioned], expected: Any
) -> None:
    store.reset()
    projection = store.make()
    for batch in _batches(history, 25):
        state = projection.state()
        assert projection.apply(batch, state)
        assert not projection.apply(batch, state)  # the same delivery again
    assert store.snapshot() == expected


def test_a_batch_out_of_order_is_refused_and_the_order_kept(
    store: Store, history: list[Positioned], expected: Any
) -> None:
    store.reset()
    projection = store.make()
    batches = _batches(history, 25)
    for first, second in zip(batches[::2], batches[1::2], strict=False):
        ahead = ProjectionState(first[-1].position, frozenset(), projection.state().version)
        assert not projection.apply(second, ahead)  # the later batch arrives first
        assert projection.apply(first, projection.state())
        assert projection.apply(second, projection.state())
    if len(batches) % 2:
        assert projection.apply(batches[-1], projection.state())
    assert store.snapshot() == expected


def test_concurrent_workers_apply_each_event_once(
    store: Store, history: list[Positioned], expected: Any, ledger: Ledger
) -> None:
    store.reset()
    workers = [store.make() for _ in range(4)]
    stop_at = history[-1].position

    def work(projection: Projection) -> None:
        while (state := projection.state()).position < stop_at:
            batch = [e for e in history if e.position > state.position][:11]
            projection.apply(batch, state)  # False when another worker won: go on

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert store.snapshot() == expected


def test_a_lost_acknowledgement_never_applies_twice(
    store: Store, history: list[Positioned], expected: Any
) -> None:
    """The effects and the checkpoint landed, the worker crashed before hearing so: the
    next worker delivers the same batch from the same state, and nothing happens."""
    store.reset()
    projection = store.make()
    for batch in _batches(history, 33):
        state = projection.state()
        projection.apply(batch, state)  # its reply is "lost"
        restarted = store.make()
        assert not restarted.apply(batch, state)
        projection = restarted
    assert store.snapshot() == expected


def test_an_error_half_way_through_a_batch_leaves_nothing_applied(
    store: Store, history: list[Positioned], expected: Any
) -> None:
    """A worker that fails in the middle of a batch (here: an event it cannot build the
    effects of) leaves neither effects nor a moved checkpoint; the retry applies once."""
    store.reset()
    projection = store.make()
    batches = _batches(history, 40)
    failing = next(i for i, b in enumerate(batches) if i and any(_recorded(p) for p in b))
    for i, batch in enumerate(batches):
        state = projection.state()
        if i == failing:
            before = store.snapshot()
            with pytest.raises((TypeError, ValueError, AttributeError)):
                projection.apply(_failing(batch), state)
            assert store.snapshot() == before
            assert projection.state() == state
        assert projection.apply(batch, projection.state())
    assert store.snapshot() == expected


def _recorded(p: Positioned) -> bool:
    return isinstance(p.event, Transaction.Recorded)


def _failing(batch: list[Positioned]) -> list[Positioned]:
    """The batch with its last recorded transaction made impossible to project: every
    read model fails on it while building its effects (an amount that is not a number,
    a memo that is not text)."""
    last = max(i for i, p in enumerate(batch) if _recorded(p))
    bad = dataclasses.replace(batch[last].event, amount="x", memo=123)
    return [*batch[:last], batch[last]._replace(event=bad), *batch[last + 1 :]]
