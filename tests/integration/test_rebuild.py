"""Zero-downtime rebuilds: beside the live read model, under writes, then switched."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.sql import SQL, Identifier
from redis import Redis

from projection_worker.catalog import Rebuildable, projections
from projection_worker.projections.blue_green import create_schema, drop_schema
from projection_worker.rebuild import rebuild
from projection_worker.rebuild_processes import rebuild_in_processes
from scenarios.data import append_transactions
from shared.adapters.eventstore import Ledger
from shared.adapters.wiring import readmodel_pool
from shared.settings import Settings
from tests.harness import ServedApp
from tests.integration.projection_helpers import (
    checkpoint,
    clean_build,
    snapshot,
    unbalanced_accounts,
    wait_for,
)


@pytest.fixture
def catalog(settings: Settings) -> Iterator[list[Rebuildable]]:
    pool, redis = readmodel_pool(settings, max_size=4), Redis.from_url(settings.redis_url)
    chosen = projections(settings, pool, redis, None)
    yield chosen
    for projection in chosen:  # a failed test leaves no staging copy for the next to resume
        projection.discard_staging()
    redis.close()
    pool.close()


def _user(api: httpx.Client) -> dict[str, Any]:
    made = api.post("/api/testing/load-test-user").json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    accounts = [a["id"] for a in api.get("/api/accounts", headers=headers).json()["data"]]
    return {"headers": headers, "accounts": accounts, "user_id": made["user_id"]}


def _backlog(ledger: Ledger, user: dict[str, Any], count: int) -> None:
    owners = [(user["user_id"], account) for account in user["accounts"]]
    append_transactions(ledger, owners, count, spread=9_000)


def _observe(client: httpx.Client, reader: dict[str, Any]) -> tuple[Any, ...]:
    listed = client.get("/api/transactions", headers=reader["headers"])
    cats = client.get("/api/categories", headers=reader["headers"])
    account = client.get(f"/api/accounts/{reader['accounts'][0]}", headers=reader["headers"])
    if 500 in (listed.status_code, cats.status_code, account.status_code):
        return (listed.status_code, cats.status_code, account.status_code)
    return (
        listed.status_code,
        cats.status_code,
        account.status_code,
        listed.json().get("total"),
        len(cats.json()),
        account.json().get("balance", {}).get("value"),
    )


def test_rebuild_under_writes_never_shows_partial_state_and_ends_like_a_clean_build(
    api: httpx.Client,
    settings: Settings,
    ledger: Ledger,
    catalog: list[Rebuildable],
    worker_api: ServedApp,
) -> None:
    reader, writer = _user(api), _user(api)
    for i in range(12):
        api.post(
            "/api/transactions",
            headers=reader["headers"],
            json={
                "account_id": reader["accounts"][0],
                "amount": {"value": -100 - i, "currency": "BRL"},
                "date": "2026-04-02",
                "memo": f"stable {i}",
            },
        )
    expected_balance = sum(-100 - i for i in range(12))
    stop, failures, reads = threading.Event(), [], [0]

    def write() -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client:
            while not stop.is_set():
                client.post(
                    "/api/transactions",
                    headers=writer["headers"],
                    json={
                        "account_id": writer["accounts"][1],
                        "amount": {"value": 7, "currency": "BRL"},
                        "date": "2026-04-03",
                    },
                )

    def read() -> None:
        with httpx.Client(base_url=str(api.base_url), timeout=30) as client:
            while not stop.is_set():
                listed = client.get("/api/transactions", headers=reader["headers"])
                cats = client.get("/api/categories", headers=reader["headers"])
                account = client.get(
                    f"/api/accounts/{reader['accounts'][0]}", headers=reader["headers"]
                )
                observed = (
                    listed.status_code,
                    cats.status_code,
                    account.status_code,
                    listed.json().get("total"),
                    len(cats.json()),
                    account.json().get("balance", {}).get("value"),
                )
                if observed != (200, 200, 200, 12, 10, expected_balance):
                    failures.append(observed)
                reads[0] += 1

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    try:
        # As `valorize projections rebuild --all`: processes side by side, one pass each.
        names = [p.name for p in catalog]
        rebuild_in_processes(settings, names, batch=500, processes=2, stream=io.StringIO())
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert reads[0] > 0
    assert failures == []
    httpx.post(f"{worker_api.url}/tasks/wake", json={}, timeout=60)
    head = ledger.head()
    wait_for(lambda: all(p.checkpoint() >= head for p in catalog), timeout=60)
    clean_build(settings, ledger, "readmodel_clean")
    assert snapshot(settings, "readmodel") == snapshot(settings, "readmodel_clean")
    assert unbalanced_accounts(settings) == []
    assert all(p.staging_position() is None for p in catalog)
    report = httpx.get(f"{worker_api.url}/projections", timeout=30).json()["projections"]
    assert {r["name"]: r["state"] for r in report} == {p.name: "running" for p in catalog}


def test_an_interrupted_rebuild_resumes_and_switches_cleanly(
    api: httpx.Client,
    settings: Settings,
    ledger: Ledger,
    catalog: list[Rebuildable],
    servers: dict[str, str],
) -> None:
    _backlog(ledger, _user(api), 20_000)
    (tables,) = [p for p in catalog if p.name == "ledger_tables"]
    env = {**os.environ, **servers}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "valorize.cli",
            "projections",
            "rebuild",
            "ledger_tables",
            "--restart",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: (tables.staging_position() or 0) > 0, timeout=60)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the command and its rebuild processes
        process.wait(timeout=10)
    interrupted_at = tables.staging_position()
    assert interrupted_at is not None
    assert interrupted_at < ledger.head()
    assert checkpoint(settings) > 0  # the live version kept serving all along
    rebuild(ledger, tables, stream=io.StringIO())  # resumes from its own checkpoint
    assert tables.staging_position() is None
    clean_build(settings, ledger, "readmodel_clean")
    wait_for(lambda: checkpoint(settings) >= ledger.head(), timeout=60)
    assert snapshot(settings, "readmodel") == snapshot(settings, "readmodel_clean")


def _vectors(settings: Settings, schema: str) -> list[tuple[object, ...]]:
    with psycopg.connect(settings.readmodel_dsn) as conn:
        return conn.execute(
            SQL(
                "SELECT txn_id, user_id, category_id, vector, position FROM {}.memo_vectors "
                "ORDER BY txn_id"
            ).format(Identifier(schema))
        ).fetchall()


def test_a_memo_vectors_rebuild_ends_as_its_live_copy_and_a_clean_build(
    api: httpx.Client, ledger: Ledger, settings: Settings, worker_api: ServedApp
) -> None:
    """The vectors are rows beside their checkpoint: rebuilt beside the live ones while
    two workers take turns on a backlog, they end as a clean build does."""
    from projection_worker.projections.memo_vectors import MemoVectors
    from projection_worker.runner import Runner
    from shared.adapters.embedding import HashedNgrams

    user = _user(api)
    _backlog(ledger, user, 600)
    pool = readmodel_pool(settings, max_size=4)
    try:
        for schema in ("readmodel_vectors", "readmodel_vectors_clean"):
            drop_schema(pool, schema)
            create_schema(pool, schema)
        first = MemoVectors(pool, "readmodel_vectors", HashedNgrams())
        second = MemoVectors(pool, "readmodel_vectors", HashedNgrams())
        runner = Runner(ledger, [first, second], batch=50)
        turn = 0
        while batch := runner.read(first.checkpoint(), 50):
            worker = (first, second)[turn % 2]
            assert worker.apply(batch, worker.state())
            turn += 1
        assert turn > 4
        rebuild(ledger, first, batch=700, stream=io.StringIO())
        clean = MemoVectors(pool, "readmodel_vectors_clean", HashedNgrams())
        Runner(ledger, [clean], batch=500).catch_up_one(clean)
        rows = _vectors(settings, "readmodel_vectors")
        assert any(str(r[1]) == user["user_id"] for r in rows)
        assert rows == _vectors(settings, "readmodel_vectors_clean")
    finally:
        for schema in ("readmodel_vectors", "readmodel_vectors_clean"):
            drop_schema(pool, schema)
        pool.close()
