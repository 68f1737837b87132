"""`make bench-dashboard`: ``GET /api/dashboard`` for a user with 50,000 transactions
over 24 months, by wrk at 64 connections, beside ``GET /up`` in the same run, on the
topology `make up` starts (medians of rounds)."""

from __future__ import annotations

import argparse
import os
import time

import httpx

from scenarios.data import append_transactions
from scenarios.loadgen import HEADER
from scenarios.stack import Stack, bench_stack
from scenarios.wrk import WrkResult, run_wrk, wrk_binary
from shared.adapters.eventstore import open_ledger
from shared.contracts import POSITION_HEADER

MONTHS = [f"{year}-{month:02d}" for year in (2025, 2026) for month in range(1, 13)]


def _user(base: str, transactions: int, stack: Stack) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as client:
        made = client.post("/api/testing/load-test-user").json()
        headers = {"Authorization": f"Bearer {made['token']}", "Accept": "application/json"}
        accounts = [a["id"] for a in client.get("/api/accounts", headers=headers).json()["data"]]
        categories = [c["id"] for c in client.get("/api/categories", headers=headers).json()]
    ledger = open_ledger(stack.settings)
    try:
        owners = [(made["user_id"], account) for account in accounts]
        append_transactions(ledger, owners, transactions, per_save=1000, categories=categories)
        head = ledger.head()
    finally:
        ledger.close()
    _wait_projected(base, headers, head)
    return headers


def _wait_projected(base: str, headers: dict[str, str], head: int) -> None:
    """Until the SQL read model has every event (a read that waits for ``head``)."""
    deadline = time.monotonic() + 600
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < deadline:
            response = client.get(
                "/api/dashboard", headers={**headers, "X-Valorize-Min-Position": str(head)}
            )
            if int(response.headers.get(POSITION_HEADER, 0)) >= head:
                return
            time.sleep(1)
    raise RuntimeError("the read model did not catch up")


def _median(results: list[WrkResult]) -> WrkResult:
    return sorted(results, key=lambda r: r.rate)[len(results) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--kept-answers", default="10000", help="KEPT_ANSWERS of the query processes (0: none)"
    )
    args = parser.parse_args()
    topology = {"edge": 0, "worker": 1, "gateway": 1}  # what `make up` starts
    with bench_stack(topology, KEPT_ANSWERS=args.kept_answers) as stack:
        base = stack.urls["edge"]
        headers = _user(base, args.transactions, stack)
        dashboards = [(f"/api/dashboard?month={m}", headers) for m in MONTHS]
        ups, overviews = [], []
        for _ in range(args.rounds):
            ups.append(
                run_wrk(
                    "GET /up",
                    base,
                    [("/up", {})],
                    connections=args.connections,
                    seconds=args.seconds,
                )
            )
            overviews.append(
                run_wrk(
                    "GET /api/dashboard (24 months)",
                    base,
                    dashboards,
                    connections=args.connections,
                    seconds=args.seconds,
                )
            )
    up, overview = _median(ups), _median(overviews)
    print(
        f"\nDashboard overview, {args.transactions:,} transactions over 24 months, "
        f"{os.cpu_count()} cores, the `make up` topology, wrk ({wrk_binary()}), "
        f"medians of {args.rounds} rounds of {args.seconds:.0f} s, "
        f"KEPT_ANSWERS={args.kept_answers}"
    )
    print(HEADER.replace("conc", "conn"))
    print(up.row())
    print(overview.row())
    print(
        f"dashboard = {overview.rate / up.rate:.2f}x GET /up; p95 {overview.p95_ms:.1f} ms "
        f"(target <= 20 ms: {'met' if overview.p95_ms <= 20 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
