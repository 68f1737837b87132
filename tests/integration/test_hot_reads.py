"""The hot read model answers exactly what the SQL read model answers, and never anything
older than the caller's last write or than what it answered before."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import redis
from psycopg.sql import SQL, Identifier

from query_service.app import create_app as query_app
from query_service.freshness import CheckpointWatch
from query_service.hot import HotReads, kept_key
from query_service.hot_lua import MONEY
from shared.adapters.eventstore import Ledger
from shared.adapters.redis_pipe import PipelinedRedis
from shared.adapters.wiring import async_pool
from shared.contracts import HOT_PREFIXES, READ_MODEL_HEADER, REDIS_CACHE, parked_partitions_key
from shared.domain.categories import Category
from shared.domain.ids import uuid7
from shared.domain.money import Currency, format_money
from shared.settings import Settings
from tests.harness import ServedApp
from tests.integration.helpers import Provisioned, provision, transaction_body
from tests.integration.projection_helpers import checkpoint_only_schema, wait_for


@pytest.fixture(scope="module")
def sql_only(settings: Settings, worker_api: ServedApp) -> Iterator[httpx.Client]:
    """A query service that never reads the hot model: what every answer must equal."""
    server = ServedApp(query_app(dataclasses.replace(settings, hot_reads=False))).start()
    with httpx.Client(base_url=server.url, headers={"Accept": "application/json"}) as client:
        yield client
    server.stop()


def _post(api: httpx.Client, user: Provisioned, path: str, body: dict[str, Any]) -> str:
    response = api.post(path, headers=user.headers, json=body)
    assert response.status_code == 201, response.text
    made: str = response.json()["id"]
    return made


def _history(api: httpx.Client, user: Provisioned, ledger: Ledger) -> dict[str, Any]:
    """A user with every kind of change the hot model folds: ties on dates, splits,
    amendments (category, date, amount), deletions, a renamed and a deleted category, a
    closed account, budgets renamed, deleted and reopened, a global category."""
    h = user.headers
    rng = random.Random(7)
    accounts = list(user.accounts.values())
    pets = _post(api, user, "/api/categories", {"name": "Pets", "color": "yellow"})
    gone = _post(api, user, "/api/categories", {"name": "Gone", "color": "flamingo"})
    shared = Category(
        id=uuid7(),
        user_id=None,
        name="Split Transactions",
        description=None,
        color="maroon",
        is_default=False,
    )
    ledger.save(shared)  # global categories are seeded, never posted
    cats = [*user.categories.values(), pets, gone, str(shared.id)]
    txns = []
    for i in range(60):
        category = rng.choice([*cats, None])
        body = transaction_body(
            rng.choice(accounts),
            amount={"value": rng.choice([-1, 1]) * rng.randint(1, 10**9), "currency": "BRL"},
            date=f"2026-0{1 + i % 3}-{1 + i % 5:02d}" + ("" if i % 4 else "T13:05:09.123456-03:00"),
            memo=f"memo {i} ção",
            category_id=category,
        )
        if i % 7 == 0:
            half = body["amount"]["value"] // 2
            body["splits"] = [
                {"category_id": pets, "amount": half, "memo": "a"},
                {"category_id": cats[0], "amount": body["amount"]["value"] - half},
            ]
        txns.append((_post(api, user, "/api/transactions", body), body))
    for txn_id, body in txns[:12]:
        changed = {**body, "category_id": rng.choice(cats), "date": "2026-02-03", "memo": "amended"}
        changed["amount"] = {"value": body["amount"]["value"] + 5, "currency": "BRL"}
        changed["splits"] = []
        assert api.put(f"/api/transactions/{txn_id}", headers=h, json=changed).status_code == 200
    for txn_id, _ in txns[12:18]:
        assert api.delete(f"/api/transactions/{txn_id}", headers=h).status_code == 204
    renamed = {"name": "Pets & Vets", "color": "yellow", "description": "renamed"}
    assert api.put(f"/api/categories/{pets}", headers=h, json=renamed).status_code == 200
    assert api.delete(f"/api/categories/{gone}", headers=h).status_code == 204
    closing = _post(
        api,
        user,
        "/api/accounts",
        {
            "name": "Closing",
            "currency": "BRL",
            "type": "savings",
            "bank_id": _bank(api, user),
        },
    )
    _post(api, user, "/api/transactions", transaction_body(closing, memo="on a closed account"))
    assert api.delete(f"/api/accounts/{closing}", headers=h).status_code == 204
    budgets = [
        _post(api, user, "/api/budgets", {"category_id": cats[i], "name": f"B{i}"})
        for i in range(3)
    ]
    assert (
        api.put(f"/api/budgets/{budgets[0]}", headers=h, json={"name": "Renamed"}).status_code
        == 200
    )
    assert api.delete(f"/api/budgets/{budgets[1]}", headers=h).status_code == 204
    api.post("/api/budgets", headers=h, json={"category_id": cats[1], "name": "Back"})
    return {
        "accounts": accounts,
        "categories": cats,
        "txns": [t for t, _ in txns],
        "budgets": budgets,
        "gone": gone,
        "closing": closing,
        "global": shared,
    }


def _bank(api: httpx.Client, user: Provisioned) -> str:
    accounts = api.get("/api/accounts", headers=user.headers).json()["data"]
    bank: str = accounts[0]["bank"]["id"]
    return bank


def _shapes(made: dict[str, Any]) -> list[str]:
    a, c = made["accounts"], made["categories"]
    listings = [
        "/api/transactions",
        "/api/transactions?page=2&per_page=7",
        f"/api/transactions?accounts[]={a[0]}&page=1&per_page=15",
        f"/api/transactions?accounts[]={a[0]}&accounts[]={a[1]}&per_page=15",
        f"/api/transactions?accounts[]={a[1]}&accounts[]={a[1]}",
        f"/api/transactions?categories[]={c[0]}&per_page=15",
        f"/api/transactions?categories[]={c[10]}&categories[]={c[-1]}&per_page=20",
        f"/api/transactions?categories[]={made['gone']}",
        f"/api/transactions?accounts[]={a[0]}&categories[]={c[0]}&categories[]={c[10]}",
        f"/api/transactions?accounts[]={a[2]}&type=debit&per_page=40",
        "/api/transactions?type=credit&page=3&per_page=5",
        f"/api/transactions?accounts[]={a[0]}&start_date=2026-02-01&end_date=2026-02-03",
        f"/api/transactions?accounts[]={a[1]}&accounts[]={a[2]}&start_date=2026-01-02"
        f"&end_date=2026-03-04&type=credit&per_page=59",
        "/api/transactions?end_date=2026-01-03",
        "/api/transactions?start_date=2026-03-05",
        f"/api/transactions?accounts[]={made['closing']}",
        "/api/transactions?page=99",
        "/api/accounts",
        "/api/accounts?type=checking",
        "/api/accounts?currency=USD",
        "/api/accounts?page=2",
        "/api/categories",
        "/api/categories?is_default=1",
        "/api/categories?is_default=0",
        "/api/budgets",
    ]
    ones = [f"/api/transactions/{t}" for t in made["txns"][::5]]
    ones += [f"/api/accounts/{x}" for x in [*a, made["closing"]]]
    ones += [f"/api/categories/{x}" for x in [*c, made["gone"]]]
    ones += [f"/api/budgets/{x}" for x in made["budgets"]]
    return listings + ones


def _compare(
    api: httpx.Client, sql_only: httpx.Client, paths: list[str], users: list[Provisioned]
) -> None:
    compared, hot = 0, 0
    for path in paths:
        for who in users:
            same_host = {**who.headers, "Host": "api.valorize.test"}  # links name the host
            fast = api.get(path, headers=same_host)
            slow = sql_only.get(path, headers=same_host)
            assert fast.status_code == slow.status_code, (path, fast.text, slow.text)
            assert fast.json() == slow.json(), path
            if fast.status_code == 200:
                hot += fast.headers.get(READ_MODEL_HEADER) == REDIS_CACHE
                compared += 1
    assert hot == compared  # each 200 came from the hot model (and equals the SQL one's)


def _hot_again(api: httpx.Client, user: Provisioned) -> None:
    """Until the hot model has the user's last write (a read of it answers hot)."""
    wait_for(
        lambda: (
            api.get("/api/budgets", headers=user.headers).headers.get(READ_MODEL_HEADER)
            == REDIS_CACHE
        )
    )


def test_every_hot_read_answers_what_the_sql_read_model_answers(
    api: httpx.Client, ledger: Ledger, sql_only: httpx.Client
) -> None:
    user, stranger = provision(api, ledger), provision(api, ledger)
    made = _history(api, user, ledger)
    try:
        _hot_again(api, user)
        _compare(api, sql_only, _shapes(made), [user, stranger])
    finally:
        # Global categories are everyone's: the one made for this test goes again (and
        # its deletion, which the SQL model cascades into every user's rows, is compared).
        made["global"].delete()
        ledger.save(made["global"])
    wait_for(
        lambda: (
            not any(
                c["id"] == str(made["global"].id)
                for c in sql_only.get("/api/categories", headers=user.headers).json()
            )
        )
    )
    api.post("/api/transactions", headers=user.headers, json=transaction_body(user.account_id))
    _hot_again(api, user)
    shared = str(made["global"].id)
    _compare(
        api,
        sql_only,
        [
            "/api/categories",
            f"/api/transactions?categories[]={shared}",
            f"/api/transactions?accounts[]={made['accounts'][0]}&categories[]={shared}",
            f"/api/categories/{shared}",
            *(f"/api/transactions/{t}" for t in made["txns"]),
        ],
        [user],
    )


def test_a_kept_page_is_never_served_after_a_write_is_acknowledged(
    api: httpx.Client, ledger: Ledger
) -> None:
    user = provision(api, ledger)
    page = f"/api/transactions?accounts[]={user.account_id}&page=1&per_page=15"
    stop = threading.Event()

    def keep_reading() -> None:  # another client of the same user, keeping the page warm
        with httpx.Client(base_url=str(api.base_url), headers=user.headers) as other:
            while not stop.is_set():
                other.get(page)

    reader = threading.Thread(target=keep_reading)
    reader.start()
    try:
        for i in range(25):
            made = _post(
                api,
                user,
                "/api/transactions",
                transaction_body(user.account_id, memo=f"write {i}", date=f"2030-01-{1 + i:02d}"),
            )
            first = api.get(page, headers=user.headers)  # the writer's first read after its 201
            assert first.json()["data"][0]["id"] == made, i
            assert first.json()["total"] == i + 1
            balance = api.get(f"/api/accounts/{user.account_id}", headers=user.headers).json()
            assert balance["balance"]["value"] == 2500 * (i + 1)
    finally:
        stop.set()
        reader.join()


def test_a_flushed_hot_model_never_answers_less_than_it_did(
    api: httpx.Client, ledger: Ledger, settings: Settings, worker_api: ServedApp
) -> None:
    user = provision(api, ledger)
    for i in range(5):
        _post(api, user, "/api/transactions", transaction_body(user.account_id, memo=f"m{i}"))
    path = "/api/transactions?per_page=50"
    before = api.get(path, headers=user.headers)
    wait_for(
        lambda: api.get(path, headers=user.headers).headers.get(READ_MODEL_HEADER) == REDIS_CACHE
    )
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.flushdb()  # marks and the hot model gone at once, as in a restart without disk
        for _ in range(20):
            assert api.get(path, headers=user.headers).json() == before.json()
        httpx.post(f"{worker_api.url}/tasks/wake", timeout=30)
        wait_for(
            lambda: (
                api.get(path, headers=user.headers).headers.get(READ_MODEL_HEADER) == REDIS_CACHE
            ),
            timeout=60,
        )
        assert api.get(path, headers=user.headers).json() == before.json()
    finally:
        client.close()


@pytest.mark.parametrize("currency", list(Currency))
def test_balances_are_formatted_in_lua_as_in_python(settings: Settings, currency: Currency) -> None:
    rng = random.Random(11)
    values = [0, 1, -1, 5, 99, 100, -100, 1000, 123456, -1234567, 10**15, -(2**63) + 1, 2**63 - 1]
    values += [rng.randint(-(10**12), 10**12) for _ in range(200)]
    client = redis.Redis.from_url(settings.redis_url)
    script = client.register_script(
        MONEY + "local out = {} for i = 1, #ARGV - 1 do "
        "out[i] = formatted(ARGV[i], ARGV[#ARGV]) end return out"
    )
    try:
        got = [v.decode() for v in script(args=[*values, currency.value])]
    finally:
        client.close()
    assert got == [format_money(v, currency) for v in values]


def test_dates_sort_as_postgresql_orders_them() -> None:
    from shared.contracts import date_key

    moments = [
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    keys = [date_key(m) for m in moments]
    assert keys == sorted(keys)
    assert all(len(k) == 17 for k in keys)


class _Counting(HotReads):
    """The hot reads, counting the reads that ran the script."""

    scripted = 0

    async def _run(self, key: str | None, *args: object) -> list[object] | None:
        self.scripted += 1
        return await super()._run(key, *args)


def test_a_kept_page_is_served_by_plain_commands_and_only_when_the_script_would(
    api: httpx.Client, ledger: Ledger, settings: Settings
) -> None:
    user = provision(api, ledger)
    _post(api, user, "/api/transactions", transaction_body(user.account_id, memo="kept"))
    page = f"/api/transactions?accounts[]={user.account_id}&page=1&per_page=15"
    wait_for(
        lambda: api.get(page, headers=user.headers).headers.get(READ_MODEL_HEADER) == REDIS_CACHE
    )
    args = (1, 15, "-", "+", "", 1, user.account_id, 0)
    owner = UUID(user.user_id)
    key = kept_key("transactions", user.user_id, args)
    client = redis.Redis.from_url(settings.redis_url)

    async def run() -> None:
        connection = PipelinedRedis(settings.redis_url)
        hot = _Counting(connection)
        try:
            client.delete(key or "")
            rendered = await hot.read("transactions", owner, 0, args)
            assert rendered is not None
            assert hot.scripted == 1
            assert client.exists(key or "")  # ... and kept where the plain commands look
            kept = await hot.read("transactions", owner, 0, args)
            assert kept == rendered
            assert hot.scripted == 1
            # Behind what the caller has seen: neither the kept page nor the script.
            assert await hot.read("transactions", owner, 0, args, seen=10**12) is None
            client.sadd(parked_partitions_key(REDIS_CACHE), user.user_id)
            try:  # the caller has events parked in the model: PostgreSQL answers
                assert await hot.read("transactions", owner, 0, args) is None
            finally:
                client.srem(parked_partitions_key(REDIS_CACHE), user.user_id)
            assert hot.scripted == 1  # both declined by the plain commands
            client.incr(HOT_PREFIXES["version"] + user.user_id)  # as a projected batch
            again = await hot.read("transactions", owner, 0, args)
            assert again == rendered
            assert hot.scripted == 2
        finally:
            await connection.close()

    try:
        asyncio.run(run())
    finally:
        client.close()


def test_a_floor_this_process_saw_is_waited_for_even_when_redis_lost_the_head_mark(
    settings: Settings,
) -> None:
    """The cause of a stale read after a flush: the hot model's floor was passed as a
    client's position, clamped to the head mark that the flush had taken with it."""
    schema = "readmodel_floor"
    checkpoint_only_schema(settings, schema, "p", 10)
    empty = settings.redis_url.rsplit("/", 1)[0] + "/9"  # no marks at all, as after a flush

    async def run() -> None:
        pool = await async_pool(settings.readmodel_dsn, 2, dict_rows=True)
        pipe = PipelinedRedis(empty)
        watch = CheckpointWatch(pool, schema, "p", pipe, timeout=0.2)
        user = uuid4()
        try:
            # A client's position beyond every acknowledged one holds nothing...
            assert (await watch.wait(user, explicit=50)).behind == 0
            # ... a position this process saw applied is waited for (then flagged behind).
            assert (await watch.wait(user, floor=50)).behind == 40
            async with pool.connection() as conn:
                await conn.execute(
                    SQL("UPDATE {}.projection_checkpoints SET position = 60").format(
                        Identifier(schema)
                    )
                )
            assert (await watch.wait(user, floor=50)).behind == 0
        finally:
            await pipe.close()
            await pool.close()

    asyncio.run(run())
