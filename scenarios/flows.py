"""The k6 scripts' request mixes, request for request (contract 5.2-5.4)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from scenarios.driver import Iteration, Recorder, Setup

JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def _days_ago(most: int) -> str:
    return (datetime.now(UTC) - timedelta(days=random.randint(1, most))).strftime("%Y-%m-%d")


def _subset(items: list[str]) -> list[str]:
    return items if len(items) == 1 else random.sample(items, random.randint(1, 2))


async def basics(
    session: aiohttp.ClientSession, recorder: Recorder, base: str, headers: dict[str, str]
) -> dict[str, Any]:
    """``ensureBasics``: the user's accounts (paginator data) and categories (an array)."""
    _, accounts = await recorder.request(
        session, "GET", f"{base}/api/accounts", "GET /api/accounts", headers=headers
    )
    _, categories = await recorder.request(
        session, "GET", f"{base}/api/categories", "GET /api/categories", headers=headers
    )
    return {
        "headers": headers,
        "accounts": [a["id"] for a in (accounts or {}).get("data", [])],
        "currency": "BRL",
        "categories": [c["id"] for c in categories or []],
    }


def c1(base: str, user: dict[str, Any]) -> Iteration:
    async def iteration(
        session: aiohttp.ClientSession, recorder: Recorder, _: dict[str, Any]
    ) -> None:
        key, pool = random.choice(
            [("accounts[]", user["accounts"]), ("categories[]", user["categories"])]
        )
        params = [(key, value) for value in _subset(pool)] + [("page", "1"), ("per_page", "15")]
        await recorder.request(
            session,
            "GET",
            f"{base}/api/transactions",
            "GET /api/transactions",
            params=params,
            headers=user["headers"],
        )

    return iteration


def _create_body(
    user: dict[str, Any], low: int, high: int, days: int, prefix: str
) -> dict[str, Any]:
    return {
        "account_id": random.choice(user["accounts"]),
        "category_id": random.choice(user["categories"]),
        "amount": {"value": random.randint(low, high), "currency": user["currency"]},
        "date": _days_ago(days),
        "memo": f"{prefix}-{int(time.time() * 1000)}",
    }


def c2(base: str, user: dict[str, Any]) -> Iteration:
    async def iteration(
        session: aiohttp.ClientSession, recorder: Recorder, _: dict[str, Any]
    ) -> None:
        await recorder.request(
            session,
            "POST",
            f"{base}/api/transactions",
            "POST /api/transactions",
            headers=user["headers"],
            json=_create_body(user, 1000, 5999, 45, "k6-transaction"),
        )

    return iteration


def c3(base: str) -> tuple[Setup, Iteration]:
    async def setup(
        session: aiohttp.ClientSession, recorder: Recorder, state: dict[str, Any]
    ) -> None:
        _, made = await recorder.request(
            session,
            "POST",
            f"{base}/api/testing/load-test-user",
            "POST /api/testing/load-test-user",
            headers={"Accept": "application/json"},
        )
        headers = {**JSON, "Authorization": f"Bearer {(made or {}).get('token', '')}"}
        state.update(await basics(session, recorder, base, headers))

    async def iteration(
        session: aiohttp.ClientSession, recorder: Recorder, state: dict[str, Any]
    ) -> None:
        if not state.get("accounts"):
            return
        roll = random.random()
        if roll < 0.65:
            params = [("accounts[]", a) for a in _subset(state["accounts"])]
            if random.random() < 0.6:
                params += [("categories[]", c) for c in _subset(state["categories"])]
            window = random.randint(1, 10)
            start = datetime.now(UTC) - timedelta(days=random.randint(10, 59))
            params += [
                ("start_date", start.strftime("%Y-%m-%d")),
                ("end_date", (start + timedelta(days=window)).strftime("%Y-%m-%d")),
            ]
            if random.random() < 0.5:
                params.append(("type", random.choice(["credit", "debit"])))
            params.append(("per_page", str(random.randint(20, 59))))
            await recorder.request(
                session,
                "GET",
                f"{base}/api/transactions",
                "GET /api/transactions",
                params=params,
                headers=state["headers"],
            )
        elif roll < 0.85:
            await recorder.request(
                session,
                "POST",
                f"{base}/api/transactions",
                "POST /api/transactions",
                headers=state["headers"],
                json=_create_body(state, 500, 8499, 60, "k6-mix"),
            )
        else:
            await recorder.request(
                session,
                "GET",
                f"{base}/api/accounts",
                "GET /api/accounts",
                headers=state["headers"],
            )

    return setup, iteration


def trivial(base: str) -> Iteration:
    """The baseline: the same driver against the cheapest endpoint (the HTTP ceiling)."""

    async def iteration(
        session: aiohttp.ClientSession, recorder: Recorder, _: dict[str, Any]
    ) -> None:
        await recorder.request(session, "GET", f"{base}/up", "GET /up")

    return iteration
