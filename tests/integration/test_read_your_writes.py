"""End to end through the CQRS pipeline: write, Cloud Tasks wake-up, projection, read."""

from __future__ import annotations

import httpx
from redis import Redis

from shared.adapters.freshness import RedisWriteMarks, mark_key
from shared.domain.ids import uuid7
from shared.settings import Settings


def _user(api: httpx.Client) -> dict[str, str]:
    made = api.post("/api/testing/load-test-user")
    assert made.status_code == 201
    return {"Authorization": f"Bearer {made.json()['token']}"}


def test_read_after_write_sees_the_write_and_its_balance(api: httpx.Client) -> None:
    auth = _user(api)
    accounts = api.get("/api/accounts", headers=auth)
    assert accounts.status_code == 200, accounts.text
    account = accounts.json()["data"][0]
    categories = api.get("/api/categories", headers=auth).json()
    assert len(categories) == 10
    created = api.post(
        "/api/transactions",
        headers=auth,
        json={
            "account_id": account["id"],
            "category_id": categories[0]["id"],
            "amount": {"value": -2500, "currency": "BRL"},
            "date": "2026-01-10",
            "memo": "Lunch",
        },
    )
    assert created.status_code == 201, created.text
    listed = api.get("/api/transactions", headers=auth)
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["data"]] == [created.json()["id"]]
    assert "X-Valorize-Behind" not in listed.headers
    shown = api.get(f"/api/accounts/{account['id']}", headers=auth).json()
    assert shown["balance"] == {"value": -2500, "formatted": "-R$25.00", "currency": "BRL"}


def test_a_groups_marks_keep_each_users_highest_position(settings: Settings) -> None:
    client = Redis.from_url(settings.redis_url)
    marks = RedisWriteMarks(client)
    alice, bob = uuid7(), uuid7()
    try:
        marks.mark([(alice, 7)])
        marks.mark([(alice, 5), (bob, 3), (alice, 9), (bob, 2)])  # one pipeline
        marks.mark([(bob, 1)])  # a late, lower mark never lowers it
        assert client.get(mark_key(alice)) == b"9"
        assert client.get(mark_key(bob)) == b"3"
    finally:
        client.delete(mark_key(alice), mark_key(bob))
        client.close()
