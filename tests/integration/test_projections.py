"""Exactly-once projections under duplicated, reordered and concurrent deliveries,
worker crashes, poison events and a lost Redis."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import redis

from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.runner import ProjectionState, Runner
from scenarios.data import append_transactions
from shared.adapters.eventstore import Ledger
from shared.adapters.readmodel_schema import readmodel_ddl
from shared.adapters.wiring import readmodel_pool
from shared.contracts import HOT_PREFIXES
from shared.local.devstack import free_port
from shared.settings import Settings
from tests.harness import ServedApp
from tests.integration.projection_helpers import (
    checkpoint,
    clean_build,
    snapshot,
    unbalanced_accounts,
    wait_for,
)


def _user(api: httpx.Client) -> tuple[dict[str, str], str, list[str]]:
    made = api.post("/api/testing/load-test-user").json()
    auth = {"Authorization": f"Bearer {made['token']}"}
    accounts = [a["id"] for a in api.get("/api/accounts", headers=auth).json()["data"]]
    return auth, made["user_id"], accounts


def _backlog(ledger: Ledger, user_id: str, account_id: str, count: int) -> None:
    """Append ``count`` transactions straight to the store, 100 per commit."""
    append_transactions(ledger, [(user_id, account_id)], count, per_save=100, spread=50_000)


def _caught_up(settings: Settings, ledger: Ledger) -> None:
    head = ledger.head()
    wait_for(lambda: checkpoint(settings) >= head, timeout=60)


def test_duplicate_and_reordered_wakeups_apply_each_event_once(
    api: httpx.Client, settings: Settings, ledger: Ledger, worker_api: ServedApp
) -> None:
    auth, _, accounts = _user(api)
    amounts = [random.randint(-9_999, 9_999) for _ in range(100)]

    def write(amount: int) -> None:
        response = api.post(
            "/api/transactions",
            headers=auth,
            json={
                "account_id": accounts[0],
                "amount": {"value": amount, "currency": "BRL"},
                "date": "2026-02-01",
                "memo": "dup test",
            },
        )
        assert response.status_code == 201

    def wake(_: int) -> None:
        position = random.choice([0, 1, ledger.head(), 10**9])
        httpx.post(f"{worker_api.url}/tasks/wake", json={"position": position}, timeout=30)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(write, amounts))
        list(pool.map(wake, range(300)))
    _caught_up(settings, ledger)
    account = api.get(f"/api/accounts/{accounts[0]}", headers=auth).json()
    assert account["balance"]["value"] == sum(amounts)
    listed = api.get("/api/transactions", params={"per_page": 100}, headers=auth).json()
    assert listed["total"] == 100
    assert unbalanced_accounts(settings) == []


def test_two_concurrent_workers_end_equal_to_a_clean_build(
    api: httpx.Client, settings: Settings, ledger: Ledger, worker_api: ServedApp
) -> None:
    from projection_worker.app import create_app

    _, user_id, accounts = _user(api)
    _backlog(ledger, user_id, accounts[1], 2_000)
    second = ServedApp(create_app(settings)).start()
    try:
        urls = [worker_api.url, second.url] * 20
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda url: httpx.post(f"{url}/tasks/wake", json={}, timeout=60), urls))
        _caught_up(settings, ledger)
    finally:
        second.stop()
    clean_build(settings, ledger, "readmodel_clean")
    assert snapshot(settings, "readmodel") == snapshot(settings, "readmodel_clean")
    assert unbalanced_accounts(settings) == []


def test_worker_killed_mid_batch_then_restarted_matches_a_clean_build(
    api: httpx.Client,
    settings: Settings,
    ledger: Ledger,
    servers: dict[str, str],
    tmp_path: Path,
) -> None:
    _, user_id, accounts = _user(api)
    _backlog(ledger, user_id, accounts[2], 20_000)
    target = ledger.head()
    # The worker under test gets read models of its own (schema, Redis database, vector
    # directory), so the session's worker cannot finish the work before it is killed.
    schema = "readmodel_killed"
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        for statement in readmodel_ddl(schema):
            conn.execute(statement)
    env = {
        **os.environ,
        **servers,
        "PROJECTION_SWEEP_SECONDS": "0.05",
        "READMODEL_SCHEMA": schema,
        "REDIS_URL": servers["REDIS_URL"].rsplit("/", 1)[0] + "/7",
        "VALORIZE_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "valorize.cli", "serve", "worker", "--port", str(free_port())]
    worker = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: checkpoint(settings, schema=schema) > 0, timeout=60)
    finally:
        worker.send_signal(signal.SIGKILL)  # mid-batch: no chance to clean up
        worker.wait(timeout=10)
    assert checkpoint(settings, schema=schema) < target  # it really was stopped half-way
    restarted = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: checkpoint(settings, schema=schema) >= target, timeout=180)
    finally:
        restarted.terminate()
        restarted.wait(timeout=10)
    clean_build(settings, ledger, "readmodel_clean")
    assert snapshot(settings, schema) == snapshot(settings, "readmodel_clean")


def test_redis_flushed_then_rebuilt_answers_the_same(
    api: httpx.Client, settings: Settings, ledger: Ledger, worker_api: ServedApp
) -> None:
    auth, user_id, accounts = _user(api)
    api.post(
        "/api/transactions",
        headers=auth,
        json={
            "account_id": accounts[0],
            "amount": {"value": 1234, "currency": "BRL"},
            "date": "2026-02-01",
            "memo": "before flush",
        },
    )
    client = redis.Redis.from_url(settings.redis_url)
    head = ledger.head()
    wait_for(lambda: int(client.get("proj:redis_cache") or 0) >= head)
    before = api.get("/api/categories", headers=auth).json()
    owned = HOT_PREFIXES["owner_categories"] + user_id
    cached_before = client.smembers(owned)
    client.flushall()
    httpx.post(f"{worker_api.url}/tasks/wake", json={}, timeout=60)
    wait_for(lambda: int(client.get("proj:redis_cache") or 0) >= head, timeout=60)
    assert api.get("/api/categories", headers=auth).json() == before
    assert client.smembers(owned) == cached_before
    assert len(cached_before) == 10
    client.close()


def test_a_batch_already_applied_elsewhere_is_refused_not_poison(
    settings: Settings, ledger: Ledger
) -> None:
    schema = "readmodel_cas"
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        for statement in readmodel_ddl(schema):
            conn.execute(statement)
    pool = readmodel_pool(settings, max_size=2)
    try:
        tables = LedgerTables(pool, schema)
        batch = Runner(ledger, [tables]).read(0, 10)
        assert tables.apply(batch, ProjectionState(0))
        # A second worker that read the same checkpoint before the first committed:
        assert not tables.apply(batch, ProjectionState(0))
        assert tables.checkpoint() == batch[-1].position
        assert not tables.parked()
    finally:
        pool.close()
