"""Dashboards and insights (contract 3.7) over HTTP: the month's summary, the trend, the
category shares, insights, account spending and the list's summary, kept exact by the
``ledger_tables`` projection through amendments, deletions, closed accounts and deleted
categories, and unchanged by a rebuild."""

from __future__ import annotations

import io
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from projection_worker.rebuild import rebuild
from shared.adapters.eventstore import Ledger
from shared.adapters.readmodel_schema import flows_build
from shared.contracts import POSITION_HEADER, READ_MODEL_HEADER
from shared.settings import Settings
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned, assert_validation

MAY = "2025-05"


def _dashboard(api: httpx.Client, user: Provisioned, month: str = MAY) -> Any:
    response = api.get("/api/dashboard", params={"month": month}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


def _values(items: list[dict[str, Any]], *keys: str) -> list[Any]:
    return [tuple(item[k]["value"] for k in keys) for item in items]


def _at(day: str) -> str:
    return f"{day}T12:00:00+00:00"


@pytest.fixture
def ledger_user(api: httpx.Client, user: Provisioned) -> dict[str, str]:
    """The user's history: BRL on two accounts (one transaction split), USD on a third."""
    a1, a2 = user.accounts["k6 Account 1"], user.accounts["k6 Account 2"]
    red, green, blue = user.categories["red"], user.categories["green"], user.categories["blue"]
    usd = rh.create_account(api, user, currency="USD")["id"]
    made = {
        "groceries": rh.record(api, user, a1, -30000, date=_at("2025-05-10"), category_id=red),
        "salary": rh.record(api, user, a1, 500000, date=_at("2025-05-12")),
        "april": rh.record(api, user, a1, -10000, date=_at("2025-04-03"), category_id=green),
        "january": rh.record(api, user, a1, -2000, date=_at("2025-01-15"), category_id=blue),
        "old": rh.record(api, user, a1, -4000, date=_at("2024-10-01"), category_id=red),
        "dollars": rh.record(
            api, user, usd, -99999, date=_at("2025-05-11"), category_id=red, currency="USD"
        ),
    }
    splits = [
        {"category_id": red, "amount": -5000},
        {"category_id": green, "amount": -2890},
    ]
    body = helpers.transaction_body(
        a2, amount={"value": -7890, "currency": "BRL"}, date=_at("2025-05-20"), splits=splits
    )
    response = api.post("/api/transactions", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    made["split"] = response.json()["id"]
    return {"a1": a1, "a2": a2, "usd": usd, "red": red, "green": green, "blue": blue, **made}


def test_overview_of_a_month(
    api: httpx.Client, user: Provisioned, ledger_user: dict[str, str]
) -> None:
    body = _dashboard(api, user)
    assert list(body) == [
        "summary",
        "monthly_trend",
        "category_spending",
        "accounts",
        "recent_transactions",
        "selected_month",
        "month_options",
    ]
    summary = body["summary"]
    accounts = api.get("/api/accounts", headers=user.headers).json()["data"]
    brl_balance = sum(a["balance"]["value"] for a in accounts if a["currency"] == "BRL")
    assert summary["total_balance"]["value"] == brl_balance
    assert summary["monthly_income"] == helpers.money(500000, "R$5,000.00")
    assert summary["monthly_expense"]["value"] == 30000 + 7890  # USD left out
    assert summary["monthly_profit"]["value"] == 500000 - 37890
    trend = body["monthly_trend"]
    assert [t["month"] for t in trend] == [
        "2024-12-01",
        "2025-01-01",
        "2025-02-01",
        "2025-03-01",
        "2025-04-01",
        "2025-05-01",
    ]
    assert _values(trend, "income", "expense", "profit") == [
        (0, 0, 0),
        (0, 2000, -2000),
        (0, 0, 0),
        (0, 0, 0),
        (0, 10000, -10000),
        (500000, 37890, 462110),
    ]
    # Splits count by their categories and only there (the original counted them twice).
    shares = body["category_spending"]
    assert [(s["category"]["id"], s["total"]["value"], s["percentage"]) for s in shares] == [
        (ledger_user["red"], 35000, 92.37),
        (ledger_user["green"], 2890, 7.63),
    ]
    assert [t["id"] for t in body["recent_transactions"]] == [
        ledger_user["split"],
        ledger_user["salary"],
        ledger_user["dollars"],
        ledger_user["groceries"],
        ledger_user["april"],
        ledger_user["january"],
        ledger_user["old"],
    ]
    assert [a["name"] for a in body["accounts"]] == sorted(a["name"] for a in accounts)
    assert body["selected_month"] == MAY
    assert len(body["month_options"]) == 6
    assert body["month_options"][0]["value"] > body["month_options"][-1]["value"]


def test_the_sums_follow_amendments_deletions_closings_and_category_deletions(
    api: httpx.Client, user: Provisioned, ledger_user: dict[str, str], settings: Settings
) -> None:
    moved = {
        "amount": {"value": -31000, "currency": "BRL"},
        "date": _at("2025-03-05"),
        "memo": "moved",
        "category_id": ledger_user["red"],
    }
    path = f"/api/transactions/{ledger_user['groceries']}"
    assert api.put(path, json=moved, headers=user.headers).status_code == 200
    rh.delete(api, user, f"/api/transactions/{ledger_user['april']}")
    trend = _dashboard(api, user)["monthly_trend"]
    assert _values(trend, "expense") == [(0,), (2000,), (0,), (31000,), (0,), (7890,)]

    rh.delete(api, user, f"/api/categories/{ledger_user['green']}")
    shares = _dashboard(api, user)["category_spending"]
    assert [(s["category"]["id"], s["percentage"]) for s in shares] == [(ledger_user["red"], 100.0)]
    rh.delete(api, user, f"/api/accounts/{ledger_user['a2']}")  # the split goes with it
    body = _dashboard(api, user)
    assert body["summary"]["monthly_expense"]["value"] == 0
    assert body["category_spending"] == []
    assert _flows(settings) == _flows(settings, derived_again=True)


def _flows(settings: Settings, *, derived_again: bool = False) -> list[tuple[Any, ...]]:
    """``monthly_flows`` as the projection keeps it, or derived afresh from
    ``transactions`` (in a transaction rolled back)."""
    schema = settings.readmodel_schema
    select = SQL(
        "SELECT user_id, month, account_id, category_id, currency, debits, credits "
        "FROM {}.monthly_flows ORDER BY 1, 2, 3, 4, 5"
    ).format(Identifier(schema))
    with psycopg.connect(settings.readmodel_dsn) as conn, conn.transaction(force_rollback=True):
        if derived_again:
            for statement in flows_build(schema):
                conn.execute(statement)
        return conn.execute(select).fetchall()


def test_category_insights(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger_user: dict[str, str]
) -> None:
    path = f"/api/categories/{ledger_user['red']}/insights"
    response = api.get(path, params={"month": MAY}, headers=user.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total_debits"]["value"] == 30000 + 5000 + 4000
    assert body["total_credits"]["value"] == 0
    assert body["net_total"]["value"] == -39000
    assert [m["month"] for m in body["monthly"]][-1] == "2025-05-01"
    assert _values(body["monthly"], "debits")[-1] == (35000,)
    assert [(a["account_id"], a["debits"]["value"]) for a in body["accounts"]] == [
        (ledger_user["a1"], 34000),
        (ledger_user["a2"], 5000),
    ]
    assert api.get(path, headers=other.headers).status_code == 403
    assert api.get("/api/categories/nope/insights", headers=user.headers).status_code == 404


def test_account_spending_largest_first(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger_user: dict[str, str]
) -> None:
    path = f"/api/accounts/{ledger_user['a2']}/spending"
    response = api.get(path, params={"month": MAY}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert [(s["category"]["id"], s["amount"]["value"]) for s in response.json()] == [
        (ledger_user["red"], 5000),
        (ledger_user["green"], 2890),
    ]
    usd = api.get(
        f"/api/accounts/{ledger_user['usd']}/spending", params={"month": MAY}, headers=user.headers
    ).json()
    assert [(s["category"]["id"], s["amount"]) for s in usd] == [
        (ledger_user["red"], helpers.money(99999, "$999.99", "USD"))
    ]
    assert api.get(path, headers=other.headers).status_code == 403


def test_transactions_summary_for_the_lists_filters(
    api: httpx.Client, user: Provisioned, ledger_user: dict[str, str]
) -> None:
    def summary(params: Any) -> Any:
        response = api.get("/api/transactions/summary", params=params, headers=user.headers)
        assert response.status_code == 200, response.text
        return response.json()

    everything = summary({})
    assert everything["credits"] == helpers.money(500000, "R$5,000.00")
    assert everything["debits"]["value"] == -(30000 + 10000 + 2000 + 4000 + 7890)
    assert everything["balance"]["value"] == 500000 - 53890
    may_a1 = summary(
        {"accounts[]": ledger_user["a1"], "start_date": "2025-05-01", "end_date": "2025-05-31"}
    )
    assert (may_a1["credits"]["value"], may_a1["debits"]["value"]) == (500000, -30000)
    assert summary({"type": "credit"}) == everything  # the type filter does not apply


@pytest.mark.parametrize("month", ["2025-13", "25-05", "2025-5", "may", "2025-05-01"])
def test_a_malformed_month_is_422(api: httpx.Client, user: Provisioned, month: str) -> None:
    response = api.get("/api/dashboard", params={"month": month}, headers=user.headers)
    assert_validation(response, "month")


def test_a_rebuild_changes_no_dashboard_answer(
    api: httpx.Client,
    user: Provisioned,
    ledger_user: dict[str, str],
    ledger: Ledger,
    ledger_tables: Any,
) -> None:
    paths = [
        ("/api/dashboard", {"month": MAY}),
        (f"/api/categories/{ledger_user['red']}/insights", {"month": MAY}),
        (f"/api/accounts/{ledger_user['a2']}/spending", {"month": MAY}),
        ("/api/transactions/summary", {}),
    ]

    def answers() -> list[Any]:
        return [api.get(p, params=q, headers=user.headers).json() for p, q in paths]

    before = answers()
    rebuild(ledger, ledger_tables, restart=True, stream=io.StringIO())
    assert answers() == before


def test_a_kept_dashboard_is_served_until_the_users_next_write(
    api: httpx.Client, user: Provisioned, ledger_user: dict[str, str]
) -> None:
    """The second read is a kept answer (served before routing, by the fast path): the
    same body and headers as the computed one; the user's next write ends it."""
    params = {"month": MAY}
    first = api.get("/api/dashboard", params=params, headers=user.headers)
    again = api.get("/api/dashboard", params=params, headers=user.headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    for header in (POSITION_HEADER, READ_MODEL_HEADER, "content-type"):
        assert again.headers[header] == first.headers[header], header
    a1 = user.accounts["k6 Account 1"]
    rh.record(api, user, a1, -500, date=_at("2025-05-20"), category_id=user.categories["red"])
    after = api.get("/api/dashboard", params=params, headers=user.headers).json()
    expense = after["summary"]["monthly_expense"]["value"]
    assert expense == first.json()["summary"]["monthly_expense"]["value"] + 500
