"""C4, the queue drain: a burst of transaction events, then the time until every read model
has applied them, with a count and a checksum that prove nothing was lost or doubled."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from scenarios.data import append_transactions
from shared.adapters.eventstore import Ledger


@dataclass
class Drain:
    total: int
    burst_seconds: float = 0.0
    drained_seconds: dict[str, float] = field(default_factory=dict)
    curve: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0
    checked_accounts: int = 0


def _users(base: str, count: int) -> list[dict[str, Any]]:
    made = []
    with httpx.Client(base_url=base, timeout=30, headers={"Accept": "application/json"}) as c:
        for _ in range(count):
            body = c.post("/api/testing/load-test-user").json()
            headers = {"Authorization": f"Bearer {body['token']}", "Accept": "application/json"}
            accounts = [a["id"] for a in c.get("/api/accounts", headers=headers).json()["data"]]
            made.append({"user_id": body["user_id"], "headers": headers, "accounts": accounts})
    return made


def _lags(worker: str) -> dict[str, int]:
    report = httpx.get(f"{worker}/projections", timeout=30).json()["projections"]
    return {row["name"]: row["lag_events"] for row in report}


def run(base: str, worker: str, ledger: Ledger, total: int, users: int = 20) -> Drain:
    people = _users(base, users)
    expected: dict[str, list[int]] = defaultdict(list)
    result = Drain(total)
    start = time.perf_counter()
    owners = [(p["user_id"], account) for p in people for account in p["accounts"]]
    for account, amount in append_transactions(
        ledger, owners, total, spread=99_999, memo="queue drain"
    ):
        expected[account].append(amount)
    result.burst_seconds = time.perf_counter() - start
    httpx.post(f"{worker}/tasks/wake", json={}, timeout=30)
    while True:
        now = time.perf_counter() - start
        lags = _lags(worker)
        result.curve.append((now, lags))
        for name, lag in lags.items():
            if lag == 0 and name not in result.drained_seconds:
                result.drained_seconds[name] = now
        if all(lag == 0 for lag in lags.values()) or now > 1800:
            break
        time.sleep(0.25)
    _check(base, people, expected, result)
    return result


def _check(
    base: str, people: list[dict[str, Any]], expected: dict[str, list[int]], result: Drain
) -> None:
    """Count and checksum per account, through the public API."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for person in people:
            for account in person["accounts"]:
                amounts = expected.get(account, [])
                shown = client.get(f"/api/accounts/{account}", headers=person["headers"]).json()
                listed = client.get(
                    "/api/transactions",
                    headers=person["headers"],
                    params=[("accounts[]", account), ("per_page", "1")],
                ).json()
                diff = listed["total"] - len(amounts)
                result.lost += max(0, -diff)
                result.doubled += max(0, diff)
                if shown["balance"]["value"] != sum(amounts):
                    result.lost += 1 if diff <= 0 else 0
                    result.doubled += 1 if diff > 0 else 0
                result.checked_accounts += 1
