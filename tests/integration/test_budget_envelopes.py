"""Budget envelopes over HTTP (contract 3.4): every test vector, each quirk fixed, the
conventions (401, 422 bodies, 404 for another user's budget, Idempotency-Key on a move,
read-your-writes) and a rebuild that changes no answer."""

from __future__ import annotations

import io
from typing import Any
from uuid import uuid4

import httpx
import pytest

from projection_worker.rebuild import rebuild
from shared.adapters.eventstore import Ledger
from shared.domain.categories import Category
from shared.domain.ids import uuid7
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned, assert_validation

MAY, APRIL = "2025-05", "2025-04"


def _brl(value: int) -> dict[str, Any]:
    return {"value": value, "currency": "BRL"}


def _post(
    api: httpx.Client, user: Provisioned, path: str, body: Any, **headers: str
) -> httpx.Response:
    return api.post(f"/api/budgets/{path}", json=body, headers={**user.headers, **headers})


def _budget(api: httpx.Client, user: Provisioned, color: str = "red") -> str:
    budget_id: str = rh.create_budget(api, user, user.categories[color]).json()["id"]
    return budget_id


def _allocate(
    api: httpx.Client, user: Provisioned, budget_id: str, value: int, month: str = MAY
) -> httpx.Response:
    body = {"budget_id": budget_id, "month": month, "amount": _brl(value)}
    return _post(api, user, "allocate", body)


def _allocated(api: httpx.Client, user: Provisioned, budget_id: str, value: int, **kw: Any) -> Any:
    response = _allocate(api, user, budget_id, value, **kw)
    assert response.status_code == 200, response.text
    return response.json()


def _income(api: httpx.Client, user: Provisioned, value: int, month: str) -> Any:
    response = _post(api, user, "monthly-income", {"month": month, "amount": _brl(value)})
    assert response.status_code == 200, response.text
    return response.json()


def _move(
    api: httpx.Client, user: Provisioned, source: str, target: str, amount: Any, **headers: str
) -> httpx.Response:
    body = {"from_budget_id": source, "to_budget_id": target, "month": MAY, "amount": amount}
    return _post(api, user, "move", body, **headers)


def _page(api: httpx.Client, user: Provisioned, month: str = MAY) -> Any:
    return rh.get_json(api, user, "/api/budgets/overview", {"month": month})


def _line(page: Any, budget_id: str) -> dict[str, int]:
    (line,) = [o for o in page["overview"] if o["id"] == budget_id]
    keys = ("budgeted_amount", "spent_amount", "rollover_amount", "remaining_amount")
    return {k.removesuffix("_amount"): line[k]["value"] for k in keys}


# --- allocate -----------------------------------------------------------------------------


def test_allocating_again_updates_the_same_month(api: httpx.Client, user: Provisioned) -> None:
    food = _budget(api, user)
    _allocated(api, user, food, 25_000)
    body = _allocated(api, user, food, 40_000)
    assert body == {
        "budget_id": food,
        "month": "2025-05-01",
        "budgeted_amount": helpers.money(40_000, "R$400.00"),
    }
    assert _line(_page(api, user), food)["budgeted"] == 40_000  # read-your-writes
    assert _page(api, user)["monthly_summary"]["assigned"]["value"] == 40_000


def test_a_currency_mismatch_is_422_not_500(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    food, transport = _budget(api, user), _budget(api, user, "blue")
    usd = {"value": 100, "currency": "USD"}
    with helpers.no_new_events(ledger):
        allocate = _post(api, user, "allocate", {"budget_id": food, "month": MAY, "amount": usd})
        moved = _move(api, user, food, transport, usd)
    assert_validation(allocate, "amount.currency", exact=True)
    assert_validation(moved, "amount.currency", exact=True)


def test_the_cap_counts_what_other_budgets_hold(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    food, transport = _budget(api, user), _budget(api, user, "blue")
    _income(api, user, 50_000, MAY)
    _allocated(api, user, transport, 30_000)
    with helpers.no_new_events(ledger):
        refused = _allocate(api, user, food, 25_000)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    message = "Você ultrapassou o valor disponível para alocar neste mês (R$200.00 restantes)."
    assert body["message"] == message
    assert body["errors"] == {"amount.value": [message]}
    assert body["remaining"] == {"value": 20_000, "formatted": "R$200.00", "currency": "BRL"}
    assert _allocated(api, user, food, 20_000)["budgeted_amount"]["value"] == 20_000


def test_an_inherited_income_caps_later_months(api: httpx.Client, user: Provisioned) -> None:
    food = _budget(api, user)
    _income(api, user, 50_000, APRIL)
    assert _allocate(api, user, food, 55_000).status_code == 422
    _allocated(api, user, food, 45_000)
    summary = _page(api, user)["monthly_summary"]
    assert summary == {
        "has_income": True,
        "is_inherited": True,
        "income_month": APRIL,
        "income": helpers.money(50_000, "R$500.00"),
        "assigned": helpers.money(45_000, "R$450.00"),
        "unassigned": helpers.money(5_000, "R$50.00"),
    }
    own = _page(api, user, APRIL)["monthly_summary"]
    assert (own["is_inherited"], own["income_month"], own["assigned"]["value"]) == (
        False,
        APRIL,
        0,
    )


def test_without_income_there_is_no_cap_and_no_summary_income(
    api: httpx.Client, user: Provisioned
) -> None:
    food = _budget(api, user)
    _allocated(api, user, food, 2_000_000_000)
    assert _page(api, user)["monthly_summary"] == {
        "has_income": False,
        "is_inherited": False,
        "income_month": None,
        "income": None,
        "assigned": helpers.money(2_000_000_000, "R$20,000,000.00"),
        "unassigned": None,
    }


# --- move ---------------------------------------------------------------------------------


def test_moving_money_between_budgets(api: httpx.Client, user: Provisioned) -> None:
    food, transport = _budget(api, user), _budget(api, user, "blue")
    _allocated(api, user, food, 40_000)
    _allocated(api, user, transport, 5_000)
    response = _move(api, user, food, transport, _brl(10_000))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"]["budgeted_amount"]["value"], body["to"]["budgeted_amount"]["value"]) == (
        30_000,
        15_000,
    )
    page = _page(api, user)
    assert (_line(page, food)["budgeted"], _line(page, transport)["budgeted"]) == (30_000, 15_000)


@pytest.mark.parametrize("value", [0, -10_000])
def test_a_zero_or_negative_move_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger, value: int
) -> None:
    food, transport = _budget(api, user), _budget(api, user, "blue")
    with helpers.no_new_events(ledger):
        response = _move(api, user, food, transport, _brl(value))
    assert_validation(response, "amount.value", exact=True)
    assert response.json()["errors"]["amount.value"] == [
        "The transfer amount must be greater than zero."
    ]


def test_a_move_to_the_same_budget_is_422(api: httpx.Client, user: Provisioned) -> None:
    food = _budget(api, user)
    assert_validation(_move(api, user, food, food, _brl(100)), "to_budget_id", exact=True)


def test_a_move_with_an_idempotency_key_is_made_once(api: httpx.Client, user: Provisioned) -> None:
    food, transport = _budget(api, user), _budget(api, user, "blue")
    key = f"move-{uuid4()}"
    first = _move(api, user, food, transport, _brl(1_000), **{"Idempotency-Key": key})
    again = _move(api, user, food, transport, _brl(1_000), **{"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert _line(_page(api, user), transport)["budgeted"] == 1_000
    other = _move(api, user, food, transport, _brl(2_000), **{"Idempotency-Key": key})
    assert other.status_code == 422, other.text


# --- overview -----------------------------------------------------------------------------


def test_the_overview_vector(api: httpx.Client, user: Provisioned) -> None:
    """Allocations 100,000 (April) and 50,000 (May); debits -30,000 (April) and -20,000
    (May); a May transaction without category split 15,000 into the category: budgeted
    50,000, spent 35,000, rollover 70,000, remaining 85,000."""
    food, red, account = _budget(api, user), user.categories["red"], user.account_id
    _allocated(api, user, food, 100_000, month=APRIL)
    _allocated(api, user, food, 50_000)
    rh.record(api, user, account, -30_000, date="2025-04-10T12:00:00+00:00", category_id=red)
    rh.record(api, user, account, -20_000, date="2025-05-10T12:00:00+00:00", category_id=red)
    split = helpers.transaction_body(
        account,
        amount=_brl(-15_000),
        date="2025-05-11T12:00:00+00:00",
        splits=[{"category_id": red, "amount": -15_000}],
    )
    assert api.post("/api/transactions", json=split, headers=user.headers).status_code == 201
    # Not counted: a credit, another currency, another category, another month.
    rh.record(api, user, account, 9_999, date="2025-05-12T12:00:00+00:00", category_id=red)
    usd = rh.create_account(api, user, currency="USD")["id"]
    rh.record(
        api, user, usd, -777, date="2025-05-12T12:00:00+00:00", category_id=red, currency="USD"
    )
    rh.record(
        api,
        user,
        account,
        -555,
        date="2025-05-12T12:00:00+00:00",
        category_id=user.categories["blue"],
    )
    rh.record(api, user, account, -444, date="2025-06-01T00:00:00+00:00", category_id=red)
    page = _page(api, user)
    assert _line(page, food) == {
        "budgeted": 50_000,
        "spent": 35_000,
        "rollover": 70_000,
        "remaining": 85_000,
    }
    (line,) = page["overview"]
    assert list(line) == [
        "id",
        "currency",
        "category",
        "budgeted_amount",
        "spent_amount",
        "rollover_amount",
        "remaining_amount",
    ]
    assert line["currency"] == "BRL"
    assert line["category"] == rh.get_json(api, user, f"/api/categories/{red}")
    assert line["remaining_amount"] == helpers.money(85_000, "R$850.00")
    assert page["filters"] == {"month": MAY}
    assert page["budgets"] == rh.get_json(api, user, "/api/budgets")
    assert [c["id"] for c in page["categories"]] == [
        c["id"] for c in rh.get_json(api, user, "/api/categories")
    ]


def test_spending_on_a_global_category_is_the_users_own(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    shared = Category(
        id=uuid7(),
        user_id=None,
        name=f"Global {uuid4().hex[:6]}",
        description=None,
        color="maroon",
        is_default=False,
    )
    ledger.save(shared)  # global categories are seeded, never posted
    try:
        when = "2025-05-10T12:00:00+00:00"
        rh.record(api, other, other.account_id, -90_000, date=when, category_id=str(shared.id))
        created = rh.create_budget(api, user, str(shared.id))
        rh.record(api, user, user.account_id, -1_000, date=when, category_id=str(shared.id))
        assert _line(_page(api, user), created.json()["id"])["spent"] == 1_000
    finally:  # every other user sees global categories: leave none behind
        shared.delete()
        ledger.save(shared)


def test_lines_are_in_natural_category_name_order(api: httpx.Client, user: Provisioned) -> None:
    names = ["item 10", "Item 2", "apple"]
    colors = ["yellow", "flamingo", "rosewater"]
    for name, color in zip(names, colors, strict=True):
        category = rh.create_category(api, user, name=name, color=color)
        rh.create_budget(api, user, category["id"])
    page = _page(api, user)
    assert [o["category"]["name"] for o in page["overview"]] == ["apple", "Item 2", "item 10"]


def test_a_deleted_budget_leaves_the_page_and_the_assigned_sum(
    api: httpx.Client, user: Provisioned
) -> None:
    food, transport = _budget(api, user), _budget(api, user, "blue")
    _allocated(api, user, food, 1_000)
    _allocated(api, user, transport, 2_000)
    rh.delete(api, user, f"/api/budgets/{food}")
    page = _page(api, user)
    assert [o["id"] for o in page["overview"]] == [transport]
    assert page["monthly_summary"]["assigned"]["value"] == 2_000
    assert _budget(api, user) == food  # created again: it starts empty
    assert _line(_page(api, user), food)["budgeted"] == 0


# --- conventions --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["allocate", "move", "monthly-income"])
def test_writes_need_a_token_first(api: httpx.Client, path: str) -> None:
    response = api.post(f"/api/budgets/{path}", json={})
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}


def test_the_overview_needs_a_token(api: httpx.Client) -> None:
    assert api.get("/api/budgets/overview").status_code == 401


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("allocate", ["budget_id", "month", "amount"]),
        ("move", ["from_budget_id", "to_budget_id", "month", "amount"]),
        ("monthly-income", ["month", "amount"]),
    ],
)
def test_an_empty_body_is_422_on_every_field(
    api: httpx.Client, user: Provisioned, path: str, fields: list[str]
) -> None:
    assert_validation(_post(api, user, path, {}), *fields, exact=True)


@pytest.mark.parametrize("month", ["2025-13", "2025-5", "may", "2025-05-01", ""])
def test_a_malformed_month_is_422(api: httpx.Client, user: Provisioned, month: str) -> None:
    response = _post(api, user, "monthly-income", {"month": month, "amount": _brl(1)})
    assert_validation(response, "month", exact=True)


def test_a_month_is_its_first_day_whatever_the_day(api: httpx.Client, user: Provisioned) -> None:
    # The original read "2025-02" on the 30th as March; this holds on any day.
    food = _budget(api, user)
    assert _allocated(api, user, food, 1, month="2025-02")["month"] == "2025-02-01"
    assert _income(api, user, 1, "2024-02")["month"] == "2024-02"


def test_a_negative_income_is_422(api: httpx.Client, user: Provisioned) -> None:
    response = _post(api, user, "monthly-income", {"month": MAY, "amount": _brl(-1)})
    assert_validation(response, "amount.value", exact=True)


def test_another_users_budget_is_404_an_unknown_one_422(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    theirs, mine = _budget(api, other), _budget(api, user)
    with helpers.no_new_events(ledger):
        helpers.assert_not_found(_allocate(api, user, theirs, 1), "Budget", theirs)
        helpers.assert_not_found(_move(api, user, mine, theirs, _brl(1)), "Budget", theirs)
        unknown = _allocate(api, user, str(uuid4()), 1)
    assert_validation(unknown, "budget_id", exact=True)
    assert _line(_page(api, other), theirs)["budgeted"] == 0


def test_the_overview_is_the_callers_only(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    _allocated(api, other, _budget(api, other), 5_000)
    page = _page(api, user)
    assert page["overview"] == []
    assert page["monthly_summary"]["assigned"]["value"] == 0


# --- rebuild ------------------------------------------------------------------------------


def test_a_rebuild_changes_no_budget_answer(
    api: httpx.Client, user: Provisioned, ledger: Ledger, ledger_tables: Any
) -> None:
    food, transport = _budget(api, user), _budget(api, user, "blue")
    gone = _budget(api, user, "green")
    _income(api, user, 300_000, APRIL)
    _allocated(api, user, food, 100_000, month=APRIL)
    _allocated(api, user, food, 50_000)
    _allocated(api, user, transport, 20_000)
    _allocated(api, user, gone, 10_000)
    assert _move(api, user, food, transport, _brl(5_000)).status_code == 200
    rh.delete(api, user, f"/api/budgets/{gone}")
    red = user.categories["red"]
    rh.record(
        api, user, user.account_id, -30_000, date="2025-04-10T12:00:00+00:00", category_id=red
    )
    rh.record(api, user, user.account_id, -7_000, date="2025-05-10T12:00:00+00:00", category_id=red)
    months = [APRIL, MAY, "2025-06"]

    def answers() -> list[Any]:
        return [_page(api, user, m) for m in months] + [rh.get_json(api, user, "/api/budgets")]

    before = answers()
    assert _line(before[1], food) == {
        "budgeted": 45_000,
        "spent": 7_000,
        "rollover": 70_000,
        "remaining": 108_000,
    }
    rebuild(ledger, ledger_tables, restart=True, stream=io.StringIO())
    assert answers() == before
