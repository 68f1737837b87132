"""`make bench-rebuild`: rebuild every read model from N events (default 1,000,000,
generated through the application's aggregates), beside raw ``select_notifications``
reads of the same events in the same run."""

from __future__ import annotations

import argparse
import io
import os
import time

import httpx
from psycopg.sql import SQL, Identifier
from redis import Redis

from projection_worker.catalog import projections
from projection_worker.rebuild import rebuild
from projection_worker.rebuild_processes import groups, rebuild_in_processes
from scenarios.data import append_transactions, opened_accounts
from scenarios.stack import bench_stack
from shared.adapters.eventstore import EVENTS_TABLE, Ledger, open_ledger
from shared.adapters.wiring import readmodel_pool


def generate(ledger: Ledger, base: str, total: int) -> float:
    """Users through the API, then ``total`` transactions through the aggregates."""
    for _ in range(100):
        httpx.post(f"{base}/api/testing/load-test-user", timeout=30).raise_for_status()
    start = time.perf_counter()
    append_transactions(ledger, opened_accounts(ledger), total, per_save=1000)
    return time.perf_counter() - start


def raw_read(ledger: Ledger) -> tuple[int, float]:
    start, count, after = time.perf_counter(), 0, 0
    while batch := ledger.recorder.select_notifications(
        start=after, limit=5000, inclusive_of_start=False
    ):
        count, after = count + len(batch), batch[-1].id
    return count, time.perf_counter() - start


def settle_store(ledger: Ledger) -> None:
    """A store that just took a million inserts is not one that has served for a while:
    vacuum it once (hint bits, visibility map, statistics), as autovacuum would have."""
    with ledger.connection() as conn:
        conn.execute(SQL("VACUUM ANALYZE {}").format(Identifier(EVENTS_TABLE)))


def quiesce(ledger: Ledger) -> None:
    """Start each measurement on a quiet machine: the writes of the one before (files in
    the page cache, PostgreSQL's dirty buffers) are flushed first, not during it."""
    os.sync()
    with ledger.connection() as conn:
        conn.execute("CHECKPOINT")
    time.sleep(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--skip", action="append", default=[], help="a read model to leave out")
    args = parser.parse_args()
    with bench_stack({"edge": 1}) as stack:
        ledger = open_ledger(stack.settings)
        generated = generate(ledger, stack.urls["edge"], args.events)
        head = ledger.head()
        settle_store(ledger)
        raw, raw_seconds = raw_read(ledger)
        pool = readmodel_pool(stack.settings, max_size=4)
        redis = Redis.from_url(stack.settings.redis_url)
        rows, total_seconds = [], 0.0
        catalog = projections(stack.settings, pool, redis, None)
        chosen = [p for p in catalog if p.name not in args.skip]
        # What `valorize projections rebuild --all` does: one process per group of read
        # models (as many as cores), each reading the history once; timed start to end,
        # process start-up included.
        names = [p.name for p in chosen]
        quiesce(ledger)
        began = time.perf_counter()
        rebuild_in_processes(stack.settings, names, restart=True, stream=io.StringIO())
        together = time.perf_counter() - began
        for projection in chosen:
            quiesce(ledger)
            began = time.perf_counter()
            rebuild(ledger, projection, restart=True, stream=io.StringIO())
            took = time.perf_counter() - began
            total_seconds += took
            rows.append((projection.name, head / took))
        redis.close()
        pool.close()
        ledger.close()
    print(
        f"\nRebuild of every read model from {head:,} events on {os.cpu_count()} cores "
        f"(generated in {generated:.0f} s through the aggregates)"
    )
    print(f"{'what':<34} {'events/s':>12} {'ratio to raw':>14}")
    print(f"{'raw select_notifications':<34} {raw / raw_seconds:>12,.0f} {1:>13.2f}x")
    for name, rate in rows:
        print(f"{'rebuild ' + name:<34} {rate:>12,.0f} {rate / (raw / raw_seconds):>13.2f}x")
    combined = head / total_seconds
    label = "rebuild these, one after another" if args.skip else "rebuild all, one after another"
    print(
        f"{label:<34} {combined:>12,.0f} "
        f"{combined / (raw / raw_seconds):>13.2f}x   ({total_seconds:.0f} s)"
    )
    split = " | ".join("+".join(g) for g in groups(names, os.cpu_count() or 1))
    rate = head / together
    print(
        f"{'rebuild --all, side by side':<34} {rate:>12,.0f} "
        f"{rate / (raw / raw_seconds):>13.2f}x   ({together:.0f} s; processes: {split})"
    )
    print(f"target 30,000 events/s: {'met' if rate >= 30_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
