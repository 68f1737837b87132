"""GET /api/transactions, /api/transactions/{id} and /{id}/suggestions (contract 2.2, 2.6, 7).

Filters run against one small ledger per test (a fresh user each time):

    t1  k6 Account 1  red    -1000  2025-01-10 12:00  "Padaria Central"
    t2  k6 Account 2  blue   +5000  2025-01-15 23:30  "Salario Janeiro"
    t3  k6 Account 1  blue    -300  2025-01-16 00:00  "Uber padaria"
    t4  k6 Account 3  (none) -2000  2025-01-20 08:00  "Mercado"
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

T1, T2, T3, T4 = "Padaria Central", "Salario Janeiro", "Uber padaria", "Mercado"
BY_DATE_DESC = [T4, T3, T2, T1]


def _seed(api: httpx.Client, user: Provisioned) -> dict[str, str]:
    """The four transactions of the module docstring; returns symbol -> id/value."""
    a1, a2, a3 = (user.accounts[f"k6 Account {i}"] for i in (1, 2, 3))
    red, blue = user.categories["red"], user.categories["blue"]
    rows: list[tuple[str, int, str, str, str | None]] = [
        (a1, -1000, "2025-01-10T12:00:00+00:00", T1, red),
        (a2, 5000, "2025-01-15T23:30:00+00:00", T2, blue),
        (a1, -300, "2025-01-16T00:00:00+00:00", T3, blue),
        (a3, -2000, "2025-01-20T08:00:00+00:00", T4, None),
    ]
    symbols = {"A1": a1, "A2": a2, "A3": a3, "red": red, "blue": blue}
    for n, (account, value, date, memo, category) in enumerate(rows, start=1):
        symbols[f"t{n}"] = rh.record(
            api, user, account, value, date=date, memo=memo, category_id=category
        )
    return symbols


def _resolve(params: list[tuple[str, str]], symbols: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, symbols.get(value, value)) for key, value in params]


# --- shapes -------------------------------------------------------------------------------


def test_listed_transaction_has_the_transaction_resource_shape(
    api: httpx.Client, user: Provisioned
) -> None:
    category_id = user.categories["red"]
    created = rh.create_transaction(
        api,
        user,
        user.account_id,
        -2500,
        date="2025-01-15T10:30:00+00:00",
        memo="Groceries",
        category_id=category_id,
    ).json()
    page = rh.list_transactions(api, user)
    rh.assert_paginator(page, page=1, per_page=15, total=1, last_page=1, count=1)
    txn = page["data"][0]
    rh.assert_transaction_shape(txn)
    assert list(txn) == helpers.TRANSACTION_KEYS
    assert txn["id"] == created["id"]
    assert txn["amount_formatted"] == "-R$25.00"
    rh.assert_money(txn["amount"], -2500, "-R$25.00")
    assert txn["fitid"] is None
    assert txn["memo"] == "Groceries"
    assert txn["type"] == "debit"
    assert txn["date"] == "2025-01-15T10:30:00+00:00"
    assert txn["category"] == {
        "id": category_id,
        "name": "Alimentação",
        "color": "red",
        "description": "Restaurantes, supermercados e delivery.",
        "is_default": True,
    }
    assert list(txn["category"]) == helpers.CATEGORY_KEYS
    account = txn["account"]
    assert list(account) == helpers.ACCOUNT_KEYS
    assert account["id"] == user.account_id
    assert account["name"] == "k6 Account 1"
    rh.assert_money(account["balance"], -2500, "-R$25.00")
    assert list(account["bank"]) == helpers.BANK_KEYS
    assert txn["splits"] == []


def test_show_returns_the_same_resource_as_the_list(api: httpx.Client, user: Provisioned) -> None:
    txn_id = rh.record(api, user, user.account_id, 123456, memo=None)
    listed = rh.list_transactions(api, user)["data"][0]
    shown = rh.get_json(api, user, f"/api/transactions/{txn_id}")
    assert shown == listed
    assert list(shown) == helpers.TRANSACTION_KEYS
    assert shown["memo"] is None
    assert shown["category"] is None
    assert shown["type"] == "credit"
    assert shown["amount_formatted"] == "R$1,234.56"


def test_zero_amount_is_a_credit(api: httpx.Client, user: Provisioned) -> None:
    txn_id = rh.record(api, user, user.account_id, 0)
    shown = rh.get_json(api, user, f"/api/transactions/{txn_id}")
    assert shown["type"] == "credit"
    rh.assert_money(shown["amount"], 0, "R$0.00")


def test_amount_is_in_the_transactions_currency(api: httpx.Client, user: Provisioned) -> None:
    account = rh.create_account(api, user, currency="EUR")
    txn_id = rh.record(api, user, account["id"], -7890, currency="EUR")
    shown = rh.get_json(api, user, f"/api/transactions/{txn_id}")
    rh.assert_money(shown["amount"], -7890, "-€78.90", "EUR")
    assert shown["amount_formatted"] == "-€78.90"
    rh.assert_money(shown["account"]["balance"], -7890, "-€78.90", "EUR")


def test_split_transaction_lists_its_splits(api: httpx.Client, user: Provisioned) -> None:
    red, blue = user.categories["red"], user.categories["blue"]
    response = api.post(
        "/api/transactions",
        json={
            "account_id": user.account_id,
            "amount": {"value": -10000, "currency": "BRL"},
            "date": "2025-02-01T09:00:00+00:00",
            "memo": "Split",
            "splits": [
                {"category_id": red, "amount": -6000},
                {"category_id": blue, "amount": -4000, "memo": "Taxi"},
            ],
        },
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    shown = rh.get_json(api, user, f"/api/transactions/{response.json()['id']}")
    splits = shown["splits"]
    assert len(splits) == 2
    for split in splits:
        assert list(split) == helpers.SPLIT_KEYS
        helpers.assert_uuid(split["id"])
        rh.assert_category_shape(split["category"])
    assert [s["amount_formatted"] for s in splits] == ["-R$60.00", "-R$40.00"]
    rh.assert_money(splits[0]["amount"], -6000, "-R$60.00")
    assert [s["category"]["id"] for s in splits] == [red, blue]
    assert [s["memo"] for s in splits] == [None, "Taxi"]
    assert rh.list_transactions(api, user)["data"][0]["splits"] == splits


# --- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([], BY_DATE_DESC),
        ([("accounts[]", "A1")], [T3, T1]),
        ([("accounts[]", "A1"), ("accounts[]", "A2")], [T3, T2, T1]),
        ([("accounts[0]", "A2"), ("accounts[1]", "A3")], [T4, T2]),
        ([("categories[]", "red")], [T1]),
        ([("categories[]", "red"), ("categories[]", "blue")], [T3, T2, T1]),
        ([("accounts[]", "A1"), ("categories[]", "blue")], [T3]),
        ([("accounts[]", "A3"), ("categories[]", "red")], []),
        ([("start_date", "2025-01-15")], [T4, T3, T2]),
        ([("end_date", "2025-01-15")], [T2, T1]),
        ([("start_date", "2025-01-15"), ("end_date", "2025-01-15")], [T2]),
        ([("start_date", "2025-01-16"), ("end_date", "2025-01-16")], [T3]),
        ([("start_date", "2025-01-11"), ("end_date", "2025-01-19")], [T3, T2]),
        ([("start_date", "2025-01-21")], []),
        ([("type", "credit")], [T2]),
        ([("type", "debit")], [T4, T3, T1]),
        ([("search", "adaria")], [T3, T1]),
        ([("search", "Padaria")], [T1]),  # LIKE is case-sensitive
        ([("search", "padaria")], [T3]),
        ([("search", "Janeiro"), ("type", "debit")], []),
        ([("accounts[]", "A1"), ("type", "debit"), ("end_date", "2025-01-15")], [T1]),
        ([("search", ""), ("type", ""), ("start_date", "")], BY_DATE_DESC),
    ],
    ids=str,
)
def test_list_filters(
    api: httpx.Client, user: Provisioned, params: list[tuple[str, str]], expected: list[str]
) -> None:
    symbols = _seed(api, user)
    page = rh.list_transactions(api, user, _resolve(params, symbols))
    assert rh.memos(page) == expected
    assert page["total"] == len(expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("order_by[column]", "amount"), ("order_by[direction]", "asc")], [T4, T1, T3, T2]),
        ([("order_by[column]", "amount")], [T2, T3, T1, T4]),  # direction defaults to desc
        ([("order_by[column]", "amount"), ("order_by[direction]", "desc")], [T2, T3, T1, T4]),
        ([("order_by[column]", "date"), ("order_by[direction]", "asc")], [T1, T2, T3, T4]),
        ([("order_by[column]", "memo"), ("order_by[direction]", "asc")], [T4, T1, T2, T3]),
    ],
    ids=str,
)
def test_list_order_by(
    api: httpx.Client, user: Provisioned, params: list[tuple[str, str]], expected: list[str]
) -> None:
    _seed(api, user)
    assert rh.memos(rh.list_transactions(api, user, params)) == expected


def test_filtering_by_another_users_account_returns_nothing(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    rh.record(api, user, user.account_id, -100)
    assert rh.list_transactions(api, user)["total"] == 1  # projected, as the owner sees
    page = rh.list_transactions(api, other, {"accounts[]": user.account_id})
    assert page["data"] == []
    assert page["total"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([("order_by[column]", "password")], "order_by.column"),
        ([("order_by[column]", "amount; DROP TABLE x")], "order_by.column"),
        ([("order_by[direction]", "sideways")], "order_by.direction"),
        ([("accounts[]", "not-a-uuid")], "accounts.0"),
        ([("accounts[]", str(uuid.uuid4())), ("accounts[]", "42")], "accounts.1"),
        ([("categories[]", "xyz")], "categories.0"),
        ([("start_date", "2025-13-45")], "start_date"),
        ([("start_date", "yesterday")], "start_date"),
        ([("end_date", "15/01/2025")], "end_date"),
        ([("type", "foo")], "type"),
        ([("type", "CREDIT")], "type"),
        ([("per_page", "0")], "per_page"),
        ([("per_page", "101")], "per_page"),
        ([("per_page", "abc")], "per_page"),
        ([("per_page", "-5")], "per_page"),
        ([("page", "0")], "page"),
        ([("page", "abc")], "page"),
        ([("search", "x" * 256)], "search"),
    ],
    ids=str,
)
def test_invalid_query_parameters_are_422_not_500(
    api: httpx.Client, user: Provisioned, params: list[tuple[str, str]], field: str
) -> None:
    response = api.get("/api/transactions", params=tuple(params), headers=user.headers)
    helpers.assert_validation(response, field, exact=True)


@pytest.mark.parametrize("raw", ["2025-01-15garbage", "2025-01-15T10:00:00+99:00"])
def test_date_with_trailing_garbage_is_422(api: httpx.Client, user: Provisioned, raw: str) -> None:
    response = api.get("/api/transactions", params={"start_date": raw}, headers=user.headers)
    helpers.assert_validation(response, "start_date", exact=True)


@pytest.mark.parametrize("path", ["/api/transactions", "/api/accounts", "/api/categories"])
def test_nul_byte_in_search_is_not_a_server_error(
    api: httpx.Client, user: Provisioned, path: str
) -> None:
    response = api.get(path, params={"search": "Pad\x00aria"}, headers=user.headers)
    assert response.status_code in (200, 422), (response.status_code, response.text)
    if response.status_code == 422:
        helpers.assert_validation(response, "search", exact=True)


def test_every_invalid_parameter_is_reported(api: httpx.Client, user: Provisioned) -> None:
    response = api.get(
        "/api/transactions",
        params={"type": "foo", "per_page": "0", "start_date": "nope"},
        headers=user.headers,
    )
    helpers.assert_validation(response, "type", "per_page", "start_date")


# --- read-your-writes ---------------------------------------------------------------------


def test_created_transaction_is_listed_immediately(api: httpx.Client, user: Provisioned) -> None:
    created = rh.create_transaction(api, user, user.account_id, -1000, memo="Lunch")
    written = helpers.position_of(created)
    listed = rh.get(api, user, "/api/transactions")
    rh.assert_fresh(listed, written)
    assert rh.ids(listed.json()["data"]) == [created.json()["id"]]
    shown = rh.get(api, user, f"/api/transactions/{created.json()['id']}")
    rh.assert_fresh(shown, written)
    assert shown.json()["memo"] == "Lunch"


def test_account_balance_reflects_a_new_transaction_immediately(
    api: httpx.Client, user: Provisioned
) -> None:
    created = rh.create_transaction(api, user, user.account_id, -1000)
    shown = rh.get(api, user, f"/api/accounts/{user.account_id}")
    rh.assert_fresh(shown, helpers.position_of(created))
    rh.assert_money(shown.json()["balance"], -1000, "-R$10.00")
    listed = rh.get_json(api, user, "/api/accounts")["data"]
    assert {a["id"]: a["balance"]["value"] for a in listed}[user.account_id] == -1000


def test_amended_amount_moves_the_balance_by_new_minus_old(
    api: httpx.Client, user: Provisioned
) -> None:
    rh.record(api, user, user.account_id, 5000, memo="Salary")
    txn_id = rh.record(api, user, user.account_id, -1000, memo="Dinner")
    before = rh.get_json(api, user, f"/api/accounts/{user.account_id}")
    rh.assert_money(before["balance"], 4000, "R$40.00")
    response = api.put(
        f"/api/transactions/{txn_id}",
        json={
            "amount": {"value": -400, "currency": "BRL"},
            "date": "2025-01-15T10:30:00+00:00",
            "memo": "Dinner (shared)",
            "category_id": user.categories["red"],
        },
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    after = rh.get(api, user, f"/api/accounts/{user.account_id}")
    rh.assert_fresh(after, helpers.position_of(response))
    rh.assert_money(after.json()["balance"], 4600, "R$46.00")
    shown = rh.get_json(api, user, f"/api/transactions/{txn_id}")
    rh.assert_money(shown["amount"], -400, "-R$4.00")
    assert shown["memo"] == "Dinner (shared)"
    assert shown["category"]["id"] == user.categories["red"]
    assert shown["type"] == "debit"
    filtered = rh.list_transactions(api, user, {"categories[]": user.categories["red"]})
    assert rh.ids(filtered["data"]) == [txn_id]


def test_amending_debit_to_credit_changes_the_type_filter(
    api: httpx.Client, user: Provisioned
) -> None:
    txn_id = rh.record(api, user, user.account_id, -1000)
    response = api.patch(
        f"/api/transactions/{txn_id}",
        json={"amount": {"value": 300, "currency": "BRL"}, "date": "2025-01-15"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert rh.ids(rh.list_transactions(api, user, {"type": "credit"})["data"]) == [txn_id]
    assert rh.list_transactions(api, user, {"type": "debit"})["data"] == []
    balance = rh.get_json(api, user, f"/api/accounts/{user.account_id}")["balance"]
    rh.assert_money(balance, 300, "R$3.00")


def test_deleted_transaction_is_gone_and_its_amount_leaves_the_balance(
    api: httpx.Client, user: Provisioned
) -> None:
    keep = rh.record(api, user, user.account_id, 5000)
    txn_id = rh.record(api, user, user.account_id, -1000)
    rh.delete(api, user, f"/api/transactions/{txn_id}")
    assert rh.ids(rh.list_transactions(api, user)["data"]) == [keep]
    response = api.get(f"/api/transactions/{txn_id}", headers=user.headers)
    helpers.assert_not_found(response, "Transaction", txn_id)
    balance = rh.get_json(api, user, f"/api/accounts/{user.account_id}")["balance"]
    rh.assert_money(balance, 5000, "R$50.00")


def test_deleting_an_account_removes_its_transactions_from_the_list(
    api: httpx.Client, user: Provisioned
) -> None:
    symbols = _seed(api, user)
    rh.delete(api, user, f"/api/accounts/{symbols['A1']}")
    page = rh.list_transactions(api, user)
    assert rh.memos(page) == [T4, T2]
    assert page["total"] == 2
    response = api.get(f"/api/transactions/{symbols['t1']}", headers=user.headers)
    helpers.assert_not_found(response, "Transaction", symbols["t1"])
    assert rh.list_transactions(api, user, {"categories[]": symbols["blue"]})["total"] == 1


# --- ownership and errors -----------------------------------------------------------------


def test_another_users_transaction_is_forbidden_and_never_listed(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    txn_id = rh.record(api, user, user.account_id, -1000, memo="Private")
    # Read-your-writes is per caller: the owner's read makes the write visible to all.
    rh.get(api, user, f"/api/transactions/{txn_id}")
    for path in [f"/api/transactions/{txn_id}", f"/api/transactions/{txn_id}/suggestions"]:
        response = api.get(path, headers=other.headers)
        assert response.status_code == 403, (path, response.text)
        assert response.json() == helpers.FORBIDDEN
    page = rh.list_transactions(api, other)
    assert page["data"] == []
    assert page["total"] == 0
    assert rh.list_transactions(api, other, {"search": "Private"})["data"] == []


@pytest.mark.parametrize("suffix", ["", "/suggestions"])
def test_unknown_transaction_is_404_with_the_model_message(
    api: httpx.Client, user: Provisioned, suffix: str
) -> None:
    missing = str(uuid.uuid4())
    response = api.get(f"/api/transactions/{missing}{suffix}", headers=user.headers)
    helpers.assert_not_found(response, "Transaction", missing)


@pytest.mark.parametrize("suffix", ["", "/suggestions"])
def test_non_uuid_transaction_id_is_404(api: httpx.Client, user: Provisioned, suffix: str) -> None:
    response = api.get(f"/api/transactions/latest{suffix}", headers=user.headers)
    helpers.assert_not_found(response, "Transaction", "latest")


def test_unauthenticated_comes_before_validation(api: httpx.Client) -> None:
    response = api.get("/api/transactions", params={"per_page": "0", "type": "foo"})
    assert response.status_code == 401, response.text
    assert response.json() == helpers.UNAUTHENTICATED


# --- suggestions --------------------------------------------------------------------------


def test_suggestions_rank_the_category_of_similar_memos_first(
    api: httpx.Client, user: Provisioned
) -> None:
    bakery, rides = user.categories["red"], user.categories["blue"]
    for _ in range(3):
        rh.record(api, user, user.account_id, -1200, memo="Padaria Pão Quente", category_id=bakery)
        rh.record(api, user, user.account_id, -3500, memo="Uber trip", category_id=rides)
    new_id = rh.record(api, user, user.account_id, -900, memo="Padaria do Zé")

    def suggestions() -> list[dict[str, Any]] | None:
        body = rh.get_json(api, user, f"/api/transactions/{new_id}/suggestions")
        assert list(body) == ["data"], body
        data: list[dict[str, Any]] = body["data"]
        # The memo_vectors projection lags (not part of read-your-writes): wait for all six.
        return data if data and data[0]["category"]["id"] == bakery else None

    data = rh.poll(suggestions, timeout=10)
    for item in data:
        assert list(item) == ["category", "score", "confidence", "source"], item
        rh.assert_category_shape(item["category"])
        assert isinstance(item["score"], float), item
    assert data[0]["category"] == rh.get_json(api, user, f"/api/categories/{bakery}")
    scores = [item["score"] for item in data]
    assert scores == sorted(scores, reverse=True)
    assert len({item["category"]["id"] for item in data}) == len(data)


def test_suggestions_for_a_memo_with_no_neighbours_are_empty(
    api: httpx.Client, user: Provisioned
) -> None:
    txn_id = rh.record(api, user, user.account_id, -900, memo=None)
    body = rh.get_json(api, user, f"/api/transactions/{txn_id}/suggestions")
    assert body == {"data": []}
