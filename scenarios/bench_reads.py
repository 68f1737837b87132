"""`make bench-reads`: the read side, each figure beside a baseline from the same run.

1. Projection throughput on a 51,580-event backlog (the paper's queue-drain size), per
   read model, beside raw ``select_notifications`` reads of the same events.
2. Commit-to-visible latency (p50/p95/p99): from a POST's 201 to its position in the
   ``ledger_tables`` checkpoint, while 16 clients write through Cloud Tasks wake-ups.
3. GET /api/transactions (k6 C1 query shapes) at 1, 64 and 256 clients, beside GET /up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
from redis import Redis

from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.projections.live_stream import LiveStream
from projection_worker.projections.memo_vectors import MemoVectors
from projection_worker.projections.redis_cache import RedisCache
from projection_worker.runner import Projection, Runner
from scenarios.data import append_transactions, opened_accounts
from scenarios.loadgen import HEADER, Result, closed_loop
from scenarios.stack import Stack, bench_stack
from shared.embedding import HashedNgrams
from shared.eventstore import Ledger, open_ledger
from shared.readmodel_schema import readmodel_ddl
from shared.wiring import readmodel_pool

BACKLOG = 51_580


def _timed(run: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    count = run()
    return count, time.perf_counter() - start


def _raw_reads(ledger: Ledger) -> int:
    count, after = 0, 0
    while batch := ledger.recorder.select_notifications(
        start=after, limit=500, inclusive_of_start=False
    ):
        count += len(batch)
        after = batch[-1].id
    return count


def projection_throughput(stack: Stack) -> list[str]:
    ledger = open_ledger(stack.settings)
    provision = [httpx.post(f"{stack.urls['edge']}/api/testing/load-test-user") for _ in range(50)]
    assert all(r.status_code == 201 for r in provision)
    append_transactions(ledger, opened_accounts(ledger), BACKLOG, per_save=200)
    head = ledger.head()
    rows = []
    raw, seconds = _timed(lambda: _raw_reads(ledger))
    rows.append(f"{'raw select_notifications':<28} {raw:>8} {raw / seconds:>12.0f}      1.00x")
    pool = readmodel_pool(stack.settings, max_size=2)
    redis = Redis.from_url(stack.settings.redis_url)
    candidates: list[Callable[[], Projection]] = [
        lambda: LedgerTables(pool, _fresh_schema(stack, "bench_ledger")),
        lambda: LiveStream(pool, _fresh_schema(stack, "bench_live"), None),
        lambda: (redis.flushall(), RedisCache(redis))[1],
        lambda: MemoVectors(Path(stack.root) / f"vectors-{time.time_ns()}", HashedNgrams()),
    ]
    for make in candidates:
        projection = make()
        runner = Runner(ledger, [projection])
        applied, took = _timed(partial(runner.catch_up_one, projection))
        assert projection.checkpoint() == head, projection.name
        rows.append(
            f"{projection.name:<28} {applied:>8} {applied / took:>12.0f} "
            f"{(applied / took) / (raw / seconds):>9.2f}x"
        )
    pool.close()
    redis.close()
    ledger.close()
    return rows


def _fresh_schema(stack: Stack, schema: str) -> str:
    with psycopg.connect(stack.settings.readmodel_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        for statement in readmodel_ddl(schema):
            conn.execute(statement)
    return schema


def _user(base: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post("/api/testing/load-test-user").json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        accounts = [a["id"] for a in client.get("/api/accounts", headers=headers).json()["data"]]
        categories = [c["id"] for c in client.get("/api/categories", headers=headers).json()]
    return {"headers": headers, "accounts": accounts, "categories": categories}


def visibility_latency(stack: Stack, seconds: float) -> Result:
    base, user = stack.urls["edge"], _user(stack.urls["edge"])
    committed: dict[int, float] = {}
    visible: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        with psycopg.connect(stack.settings.readmodel_dsn, autocommit=True) as conn:
            while not done.is_set():
                row = conn.execute(
                    "SELECT position FROM readmodel.projection_checkpoints "
                    "WHERE name = 'ledger_tables'"
                ).fetchone()
                now, position = time.perf_counter(), int(row[0]) if row else 0
                # list() copies in one step: the POST loop adds to the dict meanwhile.
                for p in [p for p in list(committed) if p not in visible and p <= position]:
                    visible[p] = now
                time.sleep(0.001)

    async def post(session: aiohttp.ClientSession, n: int) -> bool:
        body = {
            "account_id": random.choice(user["accounts"]),
            "category_id": random.choice(user["categories"]),
            "amount": {"value": 500 + n % 8000, "currency": "BRL"},
            "date": "2026-01-20",
            "memo": f"latency {n}",
        }
        async with session.post(
            f"{base}/api/transactions", json=body, headers=user["headers"]
        ) as response:
            await response.read()
            committed[int(response.headers["X-Valorize-Position"])] = time.perf_counter()
            return response.status == 201

    watcher = threading.Thread(target=watch)
    watcher.start()
    asyncio.run(closed_loop("POST load (16 clients)", 16, seconds, post))
    time.sleep(2)
    done.set()
    watcher.join()
    result = Result("commit-to-visible (ledger_tables)", 16, seconds)
    result.latencies_ms = [(visible[p] - committed[p]) * 1000 for p in committed if p in visible]
    result.errors = len(committed) - len(result.latencies_ms)
    return result


async def read_load(stack: Stack, seconds: float, levels: list[int]) -> list[Result]:
    base = stack.urls["edge"]
    users = [_user(base) for _ in range(4)]
    with httpx.Client(base_url=base, timeout=30) as client:
        for user in users:
            for i in range(60):
                client.post(
                    "/api/transactions",
                    headers=user["headers"],
                    json={
                        "account_id": user["accounts"][i % 3],
                        "category_id": user["categories"][i % 10],
                        "amount": {"value": -100 * (i + 1), "currency": "BRL"},
                        "date": f"2026-01-{1 + i % 28:02d}",
                        "memo": f"read bench {i}",
                    },
                )

    async def listing(session: aiohttp.ClientSession, n: int) -> bool:
        user = users[n % len(users)]
        key, pool = random.choice(
            [("accounts[]", user["accounts"]), ("categories[]", user["categories"])]
        )
        params = [(key, value) for value in random.sample(pool, random.randint(1, 2))]
        params += [("page", "1"), ("per_page", "15")]
        async with session.get(
            f"{base}/api/transactions", params=params, headers=user["headers"]
        ) as response:
            await response.read()
            return response.status == 200

    async def trivial(session: aiohttp.ClientSession, n: int) -> bool:
        async with session.get(f"{base}/up") as response:
            await response.read()
            return response.status == 200

    results = []
    for concurrency in levels:
        results.append(await closed_loop("GET /up (HTTP ceiling)", concurrency, seconds, trivial))
        results.append(await closed_loop("GET /api/transactions", concurrency, seconds, listing))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="edge (API) processes")
    args = parser.parse_args()
    with bench_stack({"edge": args.workers}) as stack:
        projections = projection_throughput(stack)
    with bench_stack({"edge": args.workers, "worker": 1}) as stack:
        latency = visibility_latency(stack, args.seconds)
        reads = asyncio.run(read_load(stack, args.seconds, [1, 64, 256]))
    print(f"\nValorize read side on {os.cpu_count()} cores")
    print(f"\nprojecting a {BACKLOG:,}-event backlog (events/s, ratio to raw reads):")
    print(f"{'read model':<28} {'events':>8} {'events/s':>12} {'ratio':>10}")
    print("\n".join(projections))
    print("\n" + HEADER)
    print(latency.row())
    for row in reads:
        print(row.row())
    for trivial, listing in zip(reads[::2], reads[1::2], strict=True):
        print(
            f"  {listing.concurrency:>3} clients: GET /api/transactions = "
            f"{listing.rate / trivial.rate:.2f}x GET /up ({listing.rate:.0f} vs "
            f"{trivial.rate:.0f} req/s)"
        )


if __name__ == "__main__":
    main()
