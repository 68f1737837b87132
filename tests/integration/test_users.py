"""Users over HTTP (contract 3.8): registration with the original's rules and the 10
default categories, login issuing a bearer token, logout revoking it on every service,
the profile, the password, the preferred currency, and deletion: a tombstone after which
nothing of the user is readable through the API or any read model (SQL tables, the Redis
hot model, the live log, the memo vectors)."""

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
from redis import Redis

from shared.adapters.eventstore import Ledger
from shared.contracts import (
    CHECKPOINTS_TABLE,
    HOT_PREFIXES,
    LEDGER_TABLES,
    LIVE_LOG_TABLE,
    LIVE_STREAM,
    MEMO_VECTORS,
    MEMO_VECTORS_TABLE,
    REDIS_CACHE,
    checkpoint_key,
)
from shared.domain.credentials import Credentials, credentials_id_for
from shared.settings import Settings
from tests.harness import ServedAiohttp
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned, assert_validation
from ws_gateway.app import create_app as gateway_app
from ws_gateway.client import LiveClient, StreamClosedError

PASSWORD = "correct horse battery"
AUTH_BOUND = 5.0  # seconds: AUTH_CACHE_SECONDS is 1 in the tests, with room to spare


def _email() -> str:
    return f"user+{uuid4().hex[:12]}@valorize.test"


def _register(api: httpx.Client, email: str | None = None, **overrides: Any) -> httpx.Response:
    body = {
        "name": "Ana Souza",
        "email": email or _email(),
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
        "preferred_currency": "BRL",
        **overrides,
    }
    return api.post("/api/register", json=body)


def _member(api: httpx.Client, email: str | None = None, **overrides: Any) -> Provisioned:
    response = _register(api, email, **overrides)
    assert response.status_code == 201, response.text
    body = response.json()
    return Provisioned(body["token"], body["user_id"], body["email"], body["expires_at"], 0, {}, {})


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(api: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api.post("/api/login", json={"email": email, "password": password})


def _rejected_within(probe: Any, bound: float = AUTH_BOUND) -> float:
    """Seconds until ``probe()`` answers 401 (fails past ``bound``)."""
    start = time.monotonic()
    while True:
        status = probe().status_code
        if status == 401:
            return time.monotonic() - start
        assert time.monotonic() - start < bound, f"still {status} after {bound}s"
        time.sleep(0.1)


# --- registration -------------------------------------------------------------------------


def test_registration_signs_in_with_the_default_categories(
    api: httpx.Client, ledger: Ledger
) -> None:
    email = _email()
    response = _register(api, email, preferred_currency="EUR")
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["token", "user_id", "email", "expires_at"]
    assert body["email"] == email
    token = body["token"]
    categories = api.get("/api/categories", headers=_as(token))
    assert categories.status_code == 200, categories.text
    got = [(c["name"], c["description"], c["color"], c["is_default"]) for c in categories.json()]
    # The user's own: the 10 defaults, each once (global categories are listed too).
    assert sorted(g for g in got if g[2] != "maroon") == sorted(
        (*c, True) for c in rh.DEFAULT_CATEGORIES
    )
    profile = api.get("/api/settings/profile", headers=_as(token))
    assert profile.json() == {
        "id": body["user_id"],
        "name": "Ana Souza",
        "email": email,
        "preferred_currency": "EUR",
        "auto_apply_threshold": None,  # auto-categorization is off by default
    }
    # The password is stored only as an Argon2id hash.
    stored: Any = ledger.repository.get(credentials_id_for(email))
    assert isinstance(stored, Credentials)
    assert stored.user_id == body["user_id"]
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_a_budget_of_a_registered_user_is_in_their_preferred_currency(
    api: httpx.Client,
) -> None:
    member = _member(api, preferred_currency="USD")
    categories = api.get("/api/categories", headers=member.headers).json()
    response = api.post(
        "/api/budgets", json={"category_id": categories[0]["id"]}, headers=member.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["currency"] == "USD"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": None}, "name"),
        ({"email": "Upper@Valorize.test"}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"password": "short", "password_confirmation": "short"}, "password"),
        ({"password_confirmation": "something else"}, "password"),
        ({"password_confirmation": None}, "password_confirmation"),
        ({"preferred_currency": "GBP"}, "preferred_currency"),
    ],
)
def test_registration_rules(
    api: httpx.Client, ledger: Ledger, overrides: dict[str, Any], field: str
) -> None:
    with helpers.no_new_events(ledger):
        response = _register(api, **overrides)
    assert_validation(response, field, exact=True)


def test_an_address_is_taken_once(api: httpx.Client, ledger: Ledger) -> None:
    email = _email()
    _member(api, email)
    with helpers.no_new_events(ledger):
        response = _register(api, email)
    assert_validation(response, "email", exact=True)
    assert response.json()["errors"]["email"] == ["The email has already been taken."]


def test_passwords_are_not_trimmed(api: httpx.Client) -> None:
    email = _email()
    _member(api, email, password=" padded pass ", password_confirmation=" padded pass ")
    assert _login(api, email, " padded pass ").status_code == 200
    assert _login(api, email, "padded pass").status_code == 422


# --- login and logout ---------------------------------------------------------------------


def test_login_issues_a_token_that_works_everywhere(api: httpx.Client) -> None:
    email = _email()
    member = _member(api, email)
    response = _login(api, email.upper())  # addresses match whatever their case
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["user_id"], body["email"]) == (member.user_id, email)
    assert body["token"] != member.token
    headers = _as(body["token"])
    assert api.get("/api/accounts", headers=headers).status_code == 200
    created = api.post("/api/categories", json=helpers.category_body(), headers=headers)
    assert created.status_code == 201, created.text


@pytest.mark.parametrize("password", ["wrong password", ""])
def test_a_wrong_password_or_unknown_address_is_422_on_email(
    api: httpx.Client, password: str
) -> None:
    email = _email()
    _member(api, email)
    for attempt in (_login(api, email, password), _login(api, _email())):
        assert_validation(attempt, "email", exact=True)
        assert attempt.json()["errors"]["email"] == ["These credentials do not match our records."]


def test_logins_are_throttled_per_address(api: httpx.Client) -> None:
    email = _email()
    _member(api, email)
    statuses = [_login(api, email, "wrong password").status_code for _ in range(6)]
    assert statuses == [422] * 5 + [429]
    assert _login(api, email).status_code == 429  # even the right one, for a while
    assert _login(api, _email()).status_code == 422  # another address is not held


def test_logout_revokes_the_token_on_every_service(api: httpx.Client) -> None:
    email = _email()
    _member(api, email)
    token = _login(api, email).json()["token"]
    other = _login(api, email).json()["token"]
    headers = _as(token)
    assert api.get("/api/categories", headers=headers).status_code == 200  # cached now
    response = api.post("/api/logout", headers=headers)
    assert response.status_code == 204, response.text
    _rejected_within(lambda: api.get("/api/categories", headers=headers))
    _rejected_within(
        lambda: api.post("/api/categories", json=helpers.category_body(), headers=headers)
    )
    assert api.get("/api/categories", headers=_as(other)).status_code == 200  # only that one


# --- profile and password -----------------------------------------------------------------


def test_profile_update_moves_the_address(api: httpx.Client) -> None:
    email, new = _email(), _email()
    member = _member(api, email)
    body = {"name": "Ana S.", "email": new, "preferred_currency": "USD"}
    response = api.patch("/api/settings/profile", json=body, headers=member.headers)
    assert response.status_code == 200, response.text
    expected = {"id": member.user_id, "name": "Ana S.", "email": new, "preferred_currency": "USD"}
    assert response.json() == expected
    profile = {**expected, "auto_apply_threshold": None}
    assert rh.get_json(api, member, "/api/settings/profile") == profile
    assert _login(api, new).status_code == 200
    assert _login(api, email).status_code == 422
    # The old address is free again.
    assert _register(api, email).status_code == 201


def test_profile_update_refuses_a_taken_address(api: httpx.Client, ledger: Ledger) -> None:
    taken = _email()
    _member(api, taken)
    member = _member(api)
    with helpers.no_new_events(ledger):
        response = api.put(
            "/api/settings/profile", json={"name": "X", "email": taken}, headers=member.headers
        )
    assert_validation(response, "email", exact=True)


def test_profile_needs_a_token(api: httpx.Client) -> None:
    assert api.get("/api/settings/profile").status_code == 401
    assert api.patch("/api/settings/profile", json={}).status_code == 401
    assert api.put("/api/settings/password", json={}).status_code == 401
    assert api.delete("/api/settings/profile").status_code == 401


def test_password_change_needs_the_current_one(api: httpx.Client, ledger: Ledger) -> None:
    email = _email()
    member = _member(api, email)
    new = "a brand new secret"
    wrong = {"current_password": "nope nope", "password": new, "password_confirmation": new}
    with helpers.no_new_events(ledger):
        response = api.put("/api/settings/password", json=wrong, headers=member.headers)
    assert_validation(response, "current_password", exact=True)
    right = {**wrong, "current_password": PASSWORD}
    response = api.put("/api/settings/password", json=right, headers=member.headers)
    assert response.status_code == 204, response.text
    assert _login(api, email, new).status_code == 200
    assert _login(api, email).status_code == 422


# --- deletion -----------------------------------------------------------------------------


@pytest.fixture
def readmodel(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def redis(settings: Settings) -> Iterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    client.close()


def _applied(conn: psycopg.Connection[Any], redis: Redis, schema: str, position: int) -> bool:
    names = [LEDGER_TABLES, LIVE_STREAM, MEMO_VECTORS]
    rows = conn.execute(
        SQL("SELECT position FROM {}.{} WHERE name = ANY(%s)").format(
            Identifier(schema), Identifier(CHECKPOINTS_TABLE)
        ),
        (names,),
    ).fetchall()
    hot = int(redis.get(checkpoint_key(REDIS_CACHE)) or 0)
    return len(rows) == len(names) and all(r[0] >= position for r in rows) and hot >= position


def _rows_of(conn: psycopg.Connection[Any], schema: str, user_id: str) -> dict[str, int]:
    # Every read-model table with a user_id column, found in the catalog (a table added
    # later is checked without this test knowing it), and the two kept beside them.
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = %s AND column_name = 'user_id' ORDER BY 1",
            (schema,),
        ).fetchall()
    ]
    assert {"transactions", "monthly_flows", "accounts"} <= set(tables)
    tables += [t for t in (LIVE_LOG_TABLE, MEMO_VECTORS_TABLE) if t not in tables]
    found = {}
    for table in tables:
        sql = SQL("SELECT count(*) FROM {}.{} WHERE user_id = %s").format(
            Identifier(schema), Identifier(table)
        )
        found[table] = conn.execute(sql, (user_id,)).fetchone()[0]  # type: ignore[index]
    sql = SQL("SELECT count(*) FROM {}.users WHERE id = %s").format(Identifier(schema))
    found["users"] = conn.execute(sql, (user_id,)).fetchone()[0]  # type: ignore[index]
    return found


def _hot_data(redis: Redis, user_id: str, needles: list[str]) -> list[bytes]:
    """Keys of the hot model that hold data of the user: named after the user or one of
    their resources, or (a rendered page) containing one of ``needles``. Not data: the
    user's read-your-writes mark and partition version (two counters), and a page of
    global data a query rendered for the deleted user's token within the auth cache
    bound (it expires; its content is checked like every page's)."""
    counters = {(p + user_id).encode() for p in (HOT_PREFIXES["version"], "rw:")}
    pages = HOT_PREFIXES["page"].encode()
    found: list[bytes] = []
    for pattern in [f"*{user_id}*", *(f"*{n}*" for n in needles)]:
        found += [
            k
            for k in redis.scan_iter(match=pattern, count=10_000)
            if k not in counters and not k.startswith(pages)  # pages: by content, below
        ]
    for key in redis.scan_iter(match=HOT_PREFIXES["page"] + "*", count=10_000):
        page = b"".join(v if isinstance(v, bytes) else v.encode() for v in redis.hvals(key))
        if any(n.encode() in page for n in needles):
            found.append(key)
    return found


def test_deleting_a_user_leaves_nothing_readable(
    api: httpx.Client,
    other: Provisioned,
    ledger: Ledger,
    settings: Settings,
    readmodel: psycopg.Connection[Any],
    redis: Redis,
) -> None:
    email = _email()
    member = _member(api, email)
    h = member.headers
    schema = settings.readmodel_schema
    categories = rh.get_json(api, member, "/api/categories")
    red = categories[0]["id"]
    account = rh.create_account(api, member, name="Conta Pessoal")["id"]
    txn = rh.record(api, member, account, -12_345, memo="Farmácia da Ana", category_id=red)
    budget = rh.create_budget(api, member, red).json()["id"]
    allocate = {"budget_id": budget, "month": "2025-01", "amount": {"value": 1, "currency": "BRL"}}
    assert api.post("/api/budgets/allocate", json=allocate, headers=h).status_code == 200
    income = {"month": "2025-01", "amount": {"value": 9, "currency": "BRL"}}
    assert api.post("/api/budgets/monthly-income", json=income, headers=h).status_code == 200
    resources = {
        f"/api/accounts/{account}": "Account",
        f"/api/transactions/{txn}": "Transaction",
        f"/api/categories/{red}": "Category",
        f"/api/budgets/{budget}": "Budget",
    }
    # Before: another user is refused them (403: they exist); the hot model has them.
    for path in resources:
        assert api.get(path, headers=other.headers).status_code == 403, path
    for path in ["/api/transactions", "/api/accounts", "/api/budgets", "/api/dashboard"]:
        assert rh.get(api, member, path).status_code == 200  # pages rendered and kept
    needles = [account, txn, red, budget, "Farmácia da Ana", "Conta Pessoal"]
    assert _hot_data(redis, member.user_id, needles)
    assert sum(_rows_of(readmodel, schema, member.user_id).values()) > 0

    with helpers.no_new_events(ledger):
        wrong = api.request("DELETE", "/api/settings/profile", json={"password": "nope"}, headers=h)
    assert_validation(wrong, "password", exact=True)
    response = api.request(
        "DELETE", "/api/settings/profile", json={"password": PASSWORD}, headers=h
    )
    assert response.status_code == 204, response.text
    position = helpers.position_of(response)

    # The token is revoked on both services; the address is free; login fails.
    _rejected_within(lambda: api.get("/api/categories", headers=h))
    # An empty body: 422 while a process still trusts its cached token, 401 once it no
    # longer does, and nothing created either way (a write accepted in that window would
    # be projected after the tombstone: the documented bound, see the README's "Users").
    _rejected_within(lambda: api.post("/api/categories", json={}, headers=h))
    assert _login(api, email).status_code == 422
    rh.poll(lambda: _applied(readmodel, redis, schema, position) or None)
    # Every detail endpoint: gone (404), not hidden (403).
    for path, model in resources.items():
        helpers.assert_not_found(api.get(path, headers=other.headers), model, path.rsplit("/")[-1])
    assert _rows_of(readmodel, schema, member.user_id) == dict.fromkeys(
        [*_rows_of(readmodel, schema, member.user_id)], 0
    )
    assert _hot_data(redis, member.user_id, needles) == []
    # The address can be registered again, by a new user who starts empty.
    again = _member(api, email)
    assert again.user_id != member.user_id
    assert rh.get_json(api, again, "/api/transactions")["total"] == 0
    assert rh.get_json(api, again, "/api/budgets") == []


def test_a_load_test_user_has_no_password_to_delete_with(
    api: httpx.Client, user: Provisioned
) -> None:
    response = api.request(
        "DELETE", "/api/settings/profile", json={"password": "anything"}, headers=user.headers
    )
    assert_validation(response, "password", exact=True)


# --- live sockets -------------------------------------------------------------------------


async def _closed_after(url: str, token: str, revoke: Any) -> int | None:
    """The close code of a live socket opened with ``token`` once ``revoke()`` ran."""
    async with LiveClient(url, token) as live:
        response = await asyncio.to_thread(revoke)
        assert response.status_code == 204, response.text
        try:
            while True:
                await live.receive(timeout=10)
        except StreamClosedError as closed:
            return closed.code


@pytest.mark.parametrize("how", ["logout", "deletion"])
def test_logout_and_deletion_close_live_sockets(
    api: httpx.Client, settings: Settings, how: str
) -> None:
    member = _member(api)
    h = member.headers

    def revoke() -> httpx.Response:
        if how == "logout":
            return api.post("/api/logout", headers=h)
        return api.request(
            "DELETE", "/api/settings/profile", json={"password": PASSWORD}, headers=h
        )

    check = 0.2  # WS_AUTH_CHECK_SECONDS: sockets are checked this often
    gateway = ServedAiohttp(
        gateway_app(dataclasses.replace(settings, ws_auth_check_seconds=check))
    ).start()
    try:
        started = time.monotonic()
        code = asyncio.run(_closed_after(gateway.ws_url, member.token, revoke))
    finally:
        gateway.stop()
    assert code == 4401
    assert time.monotonic() - started < settings.auth_cache_seconds + check + 3
