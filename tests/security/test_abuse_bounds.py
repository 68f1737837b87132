"""Findings 2, 5, 7, 10 and 11: the load-test endpoint, revocation and expiry, position
bounds, the worker's wake endpoint, unauthenticated floods, rate limits and idempotency
keys. Each app under test runs with its own settings against the session's servers."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from command_service.app import create_app as command_app
from query_service.app import create_app as query_app
from query_service.freshness import CheckpointWatch
from shared.adapters.eventstore import Ledger
from shared.adapters.redis_pipe import PipelinedRedis
from shared.adapters.wiring import async_pool
from shared.contracts import HEAD_MARK_KEY
from shared.settings import Settings
from tests.harness import ServedAiohttp, ServedApp, served
from tests.integration.helpers import (
    Provisioned,
    assert_validation,
    no_new_events,
    provision,
    transaction_body,
)
from tests.integration.projection_helpers import checkpoint_only_schema
from valorize.edge import MethodSplit
from ws_gateway.app import create_app as gateway_app
from ws_gateway.client import LiveClient, StreamClosedError


def _edge(settings: Settings) -> MethodSplit:
    return MethodSplit(query_app(settings), command_app(settings))


def _client(server: ServedApp) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Accept": "application/json"}, timeout=30)


# Finding 2: the load-test endpoint ---------------------------------------------------------


def test_the_load_test_endpoint_is_off_unless_enabled(settings: Settings) -> None:
    default = dataclasses.replace(settings, load_test_users=False)
    with served(_edge(default)) as server, _client(server) as client:
        response = client.post("/api/testing/load-test-user")
        assert response.status_code == 404
        assert response.json() == {"message": "Not Found"}


def test_the_load_test_endpoint_is_rate_limited_per_address_when_on(settings: Settings) -> None:
    limited = dataclasses.replace(
        settings, load_test_users_per_second=1.0, rate_limit_burst_seconds=2.0
    )
    with served(_edge(limited)) as server, _client(server) as client:
        answers = [client.post("/api/testing/load-test-user") for _ in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].json() == {"message": "Too Many Attempts."}
    assert int(answers[2].headers["Retry-After"]) >= 1


# Findings 5: revocation and expiry ---------------------------------------------------------


def _until_refused(client: httpx.Client, method: str, path: str, **kwargs: Any) -> float:
    """Seconds until ``path`` answers 401 (the auth cache's bound, plus a request)."""
    started = time.monotonic()
    while time.monotonic() - started < 10:
        if client.request(method, path, **kwargs).status_code == 401:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{method} {path} still accepted after 10 s")


def test_a_revoked_token_stops_reads_writes_and_sockets_within_the_bound(
    settings: Settings, api: httpx.Client, ledger: Ledger, worker_api: ServedApp
) -> None:
    user = provision(api, ledger)
    token_id = user.token.split("|")[0]
    assert api.get("/api/transactions", headers=user.headers).status_code == 200
    assert (
        api.post(
            "/api/transactions", headers=user.headers, json=transaction_body(user.account_id)
        ).status_code
        == 201
    )
    gateway = ServedAiohttp(
        gateway_app(dataclasses.replace(settings, ws_auth_check_seconds=0.2))
    ).start()
    try:
        closed = asyncio.run(_revoked_while_listening(gateway.ws_url, user, api, token_id))
    finally:
        gateway.stop()
    assert closed == 4401
    bound = settings.auth_cache_seconds + 1
    assert _until_refused(api, "GET", "/api/accounts", headers=user.headers) <= bound
    assert (
        _until_refused(
            api,
            "POST",
            "/api/transactions",
            headers=user.headers,
            json=transaction_body(user.account_id),
        )
        <= bound
    )
    assert api.delete(f"/api/tokens/{token_id}", headers=user.headers).status_code == 401


async def _revoked_while_listening(
    url: str, user: Provisioned, api: httpx.Client, token_id: str
) -> int | None:
    async with LiveClient(url, user.token) as live:
        revoked = await asyncio.to_thread(
            api.delete, f"/api/tokens/{token_id}", headers=user.headers
        )
        assert revoked.status_code == 204
        try:
            while True:
                await live.receive(timeout=10)
        except StreamClosedError as closed:
            return closed.code  # None: closed without a close frame


def test_a_users_other_token_and_other_users_tokens_cannot_be_revoked_by_id(
    api: httpx.Client, ledger: Ledger
) -> None:
    alice, bob = provision(api, ledger), provision(api, ledger)
    bobs_token = bob.token.split("|")[0]
    with no_new_events(ledger):
        response = api.delete(f"/api/tokens/{bobs_token}", headers=alice.headers)
        assert response.status_code == 404
        assert api.delete(f"/api/tokens/{uuid4()}", headers=alice.headers).status_code == 404
    assert api.get("/api/accounts", headers=bob.headers).status_code == 200


def test_logout_revokes_the_token_it_was_sent_with(api: httpx.Client, ledger: Ledger) -> None:
    user = provision(api, ledger)
    assert api.post("/api/logout", headers=user.headers).status_code == 204
    assert _until_refused(api, "GET", "/api/categories", headers=user.headers) <= 3


def test_a_token_expired_in_the_store_stops_reading_within_the_bound(
    settings: Settings, api: httpx.Client, ledger: Ledger
) -> None:
    user = provision(api, ledger)
    assert api.get("/api/accounts", headers=user.headers).status_code == 200
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE auth_tokens SET expires_at = now() - interval '1 day' WHERE id = %s",
            (user.token.split("|")[0],),
        )
    assert _until_refused(api, "GET", "/api/accounts", headers=user.headers) <= (
        settings.auth_cache_seconds + 1
    )


# Finding 7: positions ----------------------------------------------------------------------


def test_a_min_position_beyond_the_head_does_not_hold_the_read(
    settings: Settings, api: httpx.Client, ledger: Ledger
) -> None:
    user = provision(api, ledger)
    started = time.monotonic()
    response = api.get(
        "/api/accounts",
        headers={**user.headers, "X-Valorize-Min-Position": "999999999999999999"},
    )
    assert response.status_code == 200
    assert time.monotonic() - started < settings.read_wait_seconds / 2


class _Counting(CheckpointWatch):
    refreshes = 0

    async def refresh(self) -> int:
        self.refreshes += 1
        return await super().refresh()


def test_waiting_readers_share_one_poller(settings: Settings) -> None:
    schema = "readmodel_poller"
    checkpoint_only_schema(settings, schema, "p", 10)
    refreshes = asyncio.run(_many_waiters(settings, schema))
    # 200 readers waited ~0.2 s: one poller at 5 ms makes ~40 reads, not 200 x 40.
    assert 1 <= refreshes <= 80


async def _many_waiters(settings: Settings, schema: str) -> int:
    pool = await async_pool(settings.readmodel_dsn, 4, dict_rows=True)
    client = PipelinedRedis(settings.redis_url)
    await client.call("SET", HEAD_MARK_KEY, 10**12)  # positions up to here were acknowledged
    watch = _Counting(pool, schema, "p", client, timeout=5)
    try:
        await watch.refresh()
        watch.refreshes = 0
        waiters = [asyncio.create_task(watch.wait(uuid4(), explicit=20)) for _ in range(200)]
        await asyncio.sleep(0.2)
        async with pool.connection() as conn:
            await conn.execute(
                SQL("UPDATE {}.projection_checkpoints SET position = 25").format(Identifier(schema))
            )
        done = await asyncio.gather(*waiters)
        assert all(f.applied == 25 and not f.behind for f in done), [
            f for f in done if f.applied != 25 or f.behind
        ][:3]
        return watch.refreshes
    finally:
        await client.call("DEL", HEAD_MARK_KEY)
        await client.close()
        await pool.close()


# Finding 10: the worker's wake endpoint and status -------------------------------------------


def test_the_wake_endpoint_refuses_a_body_before_reading_it(worker_api: ServedApp) -> None:
    big = b"x" * (8 * 1024 * 1024)
    response = httpx.post(f"{worker_api.url}/tasks/wake", content=big, timeout=30)
    assert response.status_code == 413
    assert httpx.post(f"{worker_api.url}/tasks/wake", json={"position": 1}).status_code == 202


# Finding 11: unauthenticated floods, rate limits, idempotency keys ----------------------------


def test_guessed_token_ids_are_cut_off_per_address_before_the_database(settings: Settings) -> None:
    with served(_edge(settings)) as server, _client(server) as client:
        answers = [
            client.get(
                "/api/accounts", headers={"Authorization": f"Bearer {uuid4()}|{'x' * 48}"}
            ).status_code
            for _ in range(40)
        ]
    assert answers[:20] == [401] * 20  # the failed-auth budget, then no lookups at all
    assert set(answers[20:]) == {429}


@pytest.fixture
def limited(settings: Settings) -> Iterator[ServedApp]:
    tight = dataclasses.replace(
        settings, rate_limit_per_token=2.0, rate_limit_per_address=6.0, rate_limit_burst_seconds=1.0
    )
    with served(_edge(tight)) as server:
        yield server


def test_requests_over_the_per_token_budget_get_429_with_retry_after(
    limited: ServedApp, api: httpx.Client, ledger: Ledger
) -> None:
    user = provision(api, ledger)
    with _client(limited) as client:
        answers = [client.get("/api/categories", headers=user.headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1


def test_requests_over_the_per_address_budget_get_429_but_health_checks_pass(
    limited: ServedApp,
) -> None:
    with _client(limited) as client:
        answers = [client.get("/api/categories").status_code for _ in range(8)]
        assert client.get("/up").status_code == 200
    assert answers[:6] == [401] * 6
    assert set(answers[6:]) == {429}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"", "must not be empty"),
        (b"k" * 256, "must not exceed 255 characters"),
        ("chave-ç".encode("latin-1"), "visible ASCII"),
        (b"two words", "visible ASCII"),
    ],
)
def test_empty_long_or_odd_idempotency_keys_are_422(
    api: httpx.Client, ledger: Ledger, key: bytes, message: str
) -> None:
    user = provision(api, ledger)
    with no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            headers={
                **{k.encode(): v.encode() for k, v in user.headers.items()},
                b"Idempotency-Key": key,
            },
            json=transaction_body(user.account_id),
        )
    assert_validation(response, "idempotency_key")
    assert message in response.json()["message"]
