"""`make bench-reads`: the read side, each figure beside a baseline from the same run, on
the topology `make up` starts.

1. Projection throughput on a 51,580-event backlog (the paper's queue-drain size), per
   read model, beside raw ``select_notifications`` reads of the same events.
2. Commit-to-visible latency (p50/p95/p99) broken down by the worker's timeline, and
   commit-to-WebSocket, while 16 clients write through Cloud Tasks wake-ups.
3. GET /api/transactions (k6 C1 query shapes) at 64 and 256 connections beside GET /up,
   driven by wrk (Debian's; 12 to 21 us of CPU a request, so the server is the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import psycopg
from redis import Redis

from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.projections.live_stream import LiveStream
from projection_worker.projections.memo_vectors import MemoVectors
from projection_worker.projections.redis_cache import RedisCache
from projection_worker.runner import Projection, Runner
from scenarios.data import append_transactions, opened_accounts
from scenarios.loadgen import HEADER, closed_loop
from scenarios.stack import Stack, bench_stack
from scenarios.visibility import CheckpointWatcher, Probe, listen, pct, write
from scenarios.wrk import run_wrk, wrk_binary
from shared.adapters.embedding import HashedNgrams
from shared.adapters.eventstore import Ledger, open_ledger
from shared.adapters.readmodel_schema import readmodel_ddl
from shared.adapters.wiring import readmodel_pool

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
        lambda: MemoVectors(pool, _fresh_schema(stack, "bench_vectors"), HashedNgrams()),
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
        made = client.post("/api/testing/load-test-user").json()
        headers = {"Authorization": f"Bearer {made['token']}", "Accept": "application/json"}
        accounts = [a["id"] for a in client.get("/api/accounts", headers=headers).json()["data"]]
        categories = [c["id"] for c in client.get("/api/categories", headers=headers).json()]
    return {
        "headers": headers,
        "token": made["token"],
        "accounts": accounts,
        "categories": categories,
    }


def visibility(stack: Stack, seconds: float) -> list[str]:
    """From a POST's 201 to its transaction in the SQL read model, broken down with the
    worker's timeline (read, applied) and the wake-up tasks; and to the writer's socket.
    16 clients write through Cloud Tasks wake-ups, closed loop."""
    base, user = stack.urls["edge"], _user(stack.urls["edge"])
    probe = Probe()
    watcher = CheckpointWatcher(
        stack.settings.readmodel_dsn, stack.settings.readmodel_schema, probe
    )

    async def run() -> None:
        ready = asyncio.Event()
        ws_url = stack.urls["gateway"].replace("http", "ws") + "/ws"
        listener = asyncio.create_task(listen(ws_url, user["token"], probe, ready))
        await asyncio.wait_for(ready.wait(), 10)
        await closed_loop(
            "POST load (16 clients)", 16, seconds, lambda s, n: write(s, base, user, probe, n)
        )
        await asyncio.sleep(2)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener

    started = time.time()
    watcher.start()
    asyncio.run(run())
    watcher.done.set()
    watcher.join()
    timeline = httpx.get(
        f"{stack.urls['worker']}/projections/timeline", params={"since": started}, timeout=30
    ).json()
    return _breakdown(probe, timeline)


def _breakdown(probe: Probe, timeline: dict[str, list[Any]]) -> list[str]:
    batches = [b for b in timeline["batches"] if b[0] == "ledger_tables"]
    waits, work, seen = [], [], []
    for position, (at, _) in probe.committed.items():
        batch = next((b for b in batches if b[1] <= position <= b[2]), None)
        if batch is None or position not in probe.visible:
            continue
        read_at, applied = batch[3], batch[5]
        waits.append(max(0.0, read_at - at) * 1000)
        work.append((applied - read_at) * 1000)
        seen.append(max(0.0, probe.visible[position] - applied) * 1000)
    wakes = [(w[1] - w[0]) * 1000 for w in timeline["wakes"] if w[0] is not None]
    rows = [
        ("201 -> the worker reads it", waits),
        ("read + applied (ledger_tables batch)", work),
        ("applied -> a reader sees it", seen),
        ("commit-to-visible, in all", probe.visible_ms()),
        ("commit-to-WebSocket (the writer's socket)", probe.socket_ms()),
        ("wake-up task: enqueued -> delivered", wakes),
    ]
    lines = [f"{'stage (ms)':<42} {'n':>6} {'p50':>7} {'p95':>7} {'p99':>7}"]
    for label, values in rows:
        lines.append(
            f"{label:<42} {len(values):>6} {pct(values, 50):>7.1f} "
            f"{pct(values, 95):>7.1f} {pct(values, 99):>7.1f}"
        )
    return lines


def _c1_requests(users: list[dict[str, Any]]) -> list[tuple[str, dict[str, str]]]:
    """k6 C1's query shapes: page 1, 15 per page, 1 or 2 ``accounts[]`` or ``categories[]``."""
    rng, shapes = random.Random(1), []
    for user in users:
        for key, pool in (
            ("accounts%5B%5D", user["accounts"]),
            ("categories%5B%5D", user["categories"]),
        ):
            for _ in range(25):
                picked = rng.sample(pool, rng.randint(1, 2))
                query = "&".join(f"{key}={value}" for value in picked)
                shapes.append((f"/api/transactions?{query}&page=1&per_page=15", user["headers"]))
    return shapes


def read_load(stack: Stack, seconds: float, levels: list[int], rounds: int) -> list[str]:
    """GET /api/transactions (C1 shapes) beside GET /up, by wrk, alternating, ``rounds``
    times per level: the medians, so that one noisy slice of this shared machine does not
    decide the ratio."""
    base = stack.urls["edge"]
    users = [_user(base) for _ in range(4)]
    with httpx.Client(base_url=base, timeout=30) as client:
        for user in users:
            for i in range(120):
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
    time.sleep(1)
    listing = _c1_requests(users)
    lines = []
    for connections in levels:
        ups, lists = [], []
        for _ in range(rounds):
            ups.append(
                run_wrk("GET /up", base, [("/up", {})], connections=connections, seconds=seconds)
            )
            lists.append(
                run_wrk(
                    "GET /api/transactions (C1)",
                    base,
                    listing,
                    connections=connections,
                    seconds=seconds,
                )
            )
        up = sorted(ups, key=lambda r: r.rate)[len(ups) // 2]
        listed = sorted(lists, key=lambda r: r.rate)[len(lists) // 2]
        lines += [up.row(), listed.row()]
        lines.append(
            f"  {connections:>3} connections: GET /api/transactions = {listed.rate / up.rate:.2f}x "
            f"GET /up (medians of {rounds}: {listed.rate:,.0f} vs {up.rate:,.0f} req/s; "
            f"list rounds {', '.join(f'{r.rate:,.0f}' for r in lists)})"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    # What `make up` starts: the edge (VALORIZE_PROCESSES processes, one per core by
    # default), the worker and the gateway, on embedded PostgreSQL and Redis.
    topology = {"edge": 0, "worker": 1, "gateway": 1}
    with bench_stack({"edge": 1}) as stack:
        projections = projection_throughput(stack)
    with bench_stack(topology) as stack:
        latency = visibility(stack, args.seconds)
        reads = read_load(stack, args.seconds, [64, 256], args.rounds)
    print(f"\nValorize read side on {os.cpu_count()} cores (the `make up` topology)")
    print(f"\nprojecting a {BACKLOG:,}-event backlog (events/s, ratio to raw reads):")
    print(f"{'read model':<28} {'events':>8} {'events/s':>12} {'ratio':>10}")
    print("\n".join(projections))
    print("\ncommit-to-visible, 16 writing clients:")
    print("\n".join(latency))
    print(f"\nreads, by wrk ({wrk_binary()}):")
    print(HEADER.replace("conc", "conn"))
    print("\n".join(reads))


if __name__ == "__main__":
    main()
