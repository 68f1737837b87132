"""`make bench-writes`: the write path, measured beside raw psycopg INSERTs in the same run.

1. POST /api/transactions through the command service at 1, 16 and 64 concurrent clients.
2. Store appends/s: eventsourcing ``save()`` of one event per transaction, and raw
   single-row INSERTs of the same rows into a table of the same shape, at 1 and 8 threads.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
import psycopg

from scenarios.loadgen import HEADER, Result, closed_loop
from scenarios.stack import Stack, bench_stack
from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction
from shared.eventstore import open_ledger
from shared.group_commit import GroupCommitter
from shared.settings import Settings


def _provision(base: str) -> tuple[dict[str, str], str]:
    with httpx.Client(base_url=base, headers={"Accept": "application/json"}) as client:
        token = client.post("/api/testing/load-test-user").json()["token"]
        auth = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        account = client.get("/api/accounts", headers=auth).json()["data"][0]["id"]
    return auth, account


async def _http(base: str, seconds: float, levels: list[int]) -> list[Result]:
    results = []
    for concurrency in levels:
        users = [_provision(base) for _ in range(min(concurrency, 8))]

        async def post(
            session: aiohttp.ClientSession, n: int, users: list[tuple[dict[str, str], str]] = users
        ) -> bool:
            auth, account = users[n % len(users)]
            body = {
                "account_id": account,
                "amount": {"value": 1000 + n % 5000, "currency": "BRL"},
                "date": "2026-01-15",
                "memo": f"bench {n}",
            }
            async with session.post(f"{base}/api/transactions", json=body, headers=auth) as r:
                await r.read()
                return r.status == 201

        results.append(await closed_loop("POST /api/transactions", concurrency, seconds, post))
    return results


def _threads(label: str, threads: int, seconds: float, one: Any) -> Result:
    result = Result(label, threads, seconds)
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def run() -> None:
        mine = []
        while (start := time.perf_counter()) < stop_at:
            one()
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            result.latencies_ms.extend(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return result


def _transaction(user: str, account: str) -> Transaction:
    return Transaction(
        id=uuid7(),
        user_id=user,
        account_id=account,
        category_id=None,
        amount=1234,
        currency="BRL",
        date=datetime.now(UTC),
        memo="bench",
        fitid=None,
        splits=[],
    )


def store_saves(settings: Settings, threads: int, seconds: float) -> Result:
    """The library's ``save()`` of one single-event aggregate per transaction."""
    ledger = open_ledger(settings)
    user, account = str(uuid7()), str(uuid7())
    try:
        return _threads(
            "store save() 1 event/txn",
            threads,
            seconds,
            lambda: ledger.save(_transaction(user, account)),
        )
    finally:
        ledger.close()


def grouped_saves(settings: Settings, threads: int, seconds: float) -> Result:
    """What the command service does: concurrent single-command appends, group-committed."""
    ledger = open_ledger(settings)
    committer = GroupCommitter(ledger)
    user, account = str(uuid7()), str(uuid7())
    try:
        return _threads(
            "group commit, 1 command/call",
            threads,
            seconds,
            lambda: committer.append(_transaction(user, account)),
        )
    finally:
        committer.close()
        ledger.close()


def raw_inserts(settings: Settings, threads: int, seconds: float) -> Result:
    """The baseline: raw psycopg INSERTs of the same rows into a table of the same shape."""
    ledger = open_ledger(settings)
    stored = ledger.mapper.to_stored_event(
        _transaction(str(uuid7()), str(uuid7())).collect_events()[0]
    )
    ledger.close()
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_events (originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
    local = threading.local()
    opened: list[psycopg.Connection[Any]] = []

    def insert_one() -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(settings.postgres_dsn, autocommit=True)
            opened.append(conn)
        conn.execute(
            "INSERT INTO bench_raw_events (originator_id, originator_version, topic, "
            "state) VALUES (%s, 1, %s, %s) RETURNING notification_id",
            (uuid7(), stored.topic, stored.state),
            prepare=True,
        ).fetchone()

    try:
        return _threads("raw psycopg INSERT 1 row/txn", threads, seconds, insert_one)
    finally:
        for conn in opened:
            conn.close()


def _appends(stack: Stack, seconds: float, levels: list[int]) -> list[Result]:
    results = []
    for threads in levels:
        results.append(grouped_saves(stack.settings, threads, seconds))
        results.append(store_saves(stack.settings, threads, seconds))
        results.append(raw_inserts(stack.settings, threads, seconds))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="command-service processes")
    args = parser.parse_args()
    with bench_stack({"edge": args.workers, "worker": 1}) as stack:
        http = asyncio.run(_http(stack.urls["edge"], args.seconds, [1, 16, 64]))
        appends = _appends(stack, args.seconds, [1, 16, 64, 256])
    print(f"\nValorize write path on {os.cpu_count()} cores, {args.seconds:.0f} s per row")
    print(HEADER)
    for row in http + appends:
        print(row.row())
    print("\nratios (same run), appends/s against raw psycopg INSERTs at the same concurrency:")
    for i in range(0, len(appends), 3):
        grouped, save, raw = appends[i : i + 3]
        print(
            f"  {grouped.concurrency:>3} callers: group commit {grouped.rate / raw.rate:.2f}x, "
            f"library save() {save.rate / raw.rate:.2f}x ({grouped.rate:.0f} / "
            f"{save.rate:.0f} / {raw.rate:.0f} per s)"
        )
    fast = [r for r in http if r.pct(95) <= 100]
    best = max(fast or http, key=lambda r: r.rate)
    print(
        f"  POST /api/transactions: {best.rate:.0f} req/s at {best.concurrency} clients, "
        f"p95 {best.pct(95):.1f} ms"
    )


if __name__ == "__main__":
    main()
