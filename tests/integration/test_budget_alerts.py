"""Budget alerts over HTTP (issue 15): when a month's spending in a budget passes its
budgeted amount plus rollover, the user gets one ``budget.exceeded`` notification for
that budget and month (listed by ``GET /api/notifications``), however much more they
spend."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

KIND = "budget.exceeded"


def _alerts(api: httpx.Client, user: Provisioned) -> list[dict[str, Any]]:
    body = rh.get_json(api, user, "/api/notifications")
    return [n for n in body["data"] if n["kind"] == KIND]


def _settle(api: httpx.Client, user: Provisioned, count: int) -> list[dict[str, Any]]:
    """The alerts once ``count`` are there (they are appended after a batch is
    projected), then after a further moment, to see that no more come."""
    rh.poll(lambda: len(_alerts(api, user)) >= count or None)
    time.sleep(1.0)
    return _alerts(api, user)


def _allocate(api: httpx.Client, user: Provisioned, budget: str, value: int, month: str) -> None:
    body = {"budget_id": budget, "month": month, "amount": {"value": value, "currency": "BRL"}}
    response = api.post("/api/budgets/allocate", json=body, headers=user.headers)
    assert response.status_code == 200, response.text


def _spend(api: httpx.Client, user: Provisioned, value: int, day: str, category: str) -> None:
    rh.record(
        api, user, user.account_id, -value, date=f"{day}T12:00:00+00:00", category_id=category
    )


def test_passing_budgeted_plus_rollover_notifies_once(api: httpx.Client, user: Provisioned) -> None:
    red = user.categories["red"]
    budget = rh.create_budget(api, user, red).json()["id"]
    _allocate(api, user, budget, 4_000, "2025-04")  # 1,000 left over: rollover
    _spend(api, user, 3_000, "2025-04-10", red)
    _allocate(api, user, budget, 10_000, "2025-05")
    _spend(api, user, 6_000, "2025-05-10", red)
    _spend(api, user, 5_000, "2025-05-11", red)  # 11,000 of 11,000: not past it
    assert _settle(api, user, 0) == []
    _spend(api, user, 1, "2025-05-12", red)  # past it
    [alert] = _settle(api, user, 1)
    assert alert["type"] == "App\\Notifications\\BudgetExceededNotification"
    assert alert["read_at"] is None
    data = alert["data"]
    assert (data["budget_id"], data["category_id"], data["month"]) == (budget, red, "2025-05")
    assert (data["spent"]["value"], data["available"]["value"]) == (11_001, 11_000)
    assert data["body"] == "Alimentação: R$110.01 gastos de R$110.00 disponíveis em 2025-05"
    _spend(api, user, 9_000, "2025-05-13", red)  # more spending: still one
    assert len(_settle(api, user, 1)) == 1


def test_each_month_and_budget_alerts_on_its_own(api: httpx.Client, user: Provisioned) -> None:
    red, blue = user.categories["red"], user.categories["blue"]
    food = rh.create_budget(api, user, red).json()["id"]
    transport = rh.create_budget(api, user, blue).json()["id"]
    _spend(api, user, 500, "2025-06-01", red)  # nothing budgeted: past it at once
    _spend(api, user, 500, "2025-07-01", red)  # June's overspend rolls over negative
    _allocate(api, user, transport, 100, "2025-07")
    _spend(api, user, 100, "2025-07-02", blue)  # exactly covered: no alert
    alerts = _settle(api, user, 2)
    got = sorted((a["data"]["budget_id"], a["data"]["month"]) for a in alerts)
    assert got == sorted([(food, "2025-06"), (food, "2025-07")])


def test_other_users_spending_never_alerts(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    rh.create_budget(api, user, user.categories["red"])
    _spend(api, other, 5_000, "2025-05-10", other.categories["red"])
    assert _settle(api, user, 0) == []
