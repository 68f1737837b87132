"""POST/PUT/PATCH/DELETE /api/transactions (contract 2.1.1, 2.6, 3.1, 7.9)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from shared.adapters.eventstore import Ledger
from shared.domain.transactions import Transaction
from tests.harness import ServedApp
from tests.integration import helpers
from tests.integration.helpers import Provisioned

CONCURRENT_POSTS = 200


def _record(api: httpx.Client, user: Provisioned, **overrides: Any) -> dict[str, Any]:
    response = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id, **overrides),
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _amount(value: int, currency: str = "BRL") -> dict[str, Any]:
    return {"value": value, "currency": currency}


def _recorded(ledger: Ledger, after: int, account_id: str) -> list[Any]:
    return [
        e
        for e in helpers.events_between(ledger, after)
        if isinstance(e, Transaction.Recorded) and e.account_id == account_id
    ]


# --- create: the resource -------------------------------------------------------------------


def test_record_transaction_returns_201_with_the_transaction_resource(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()
    response = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id, type="debit", fitid="ignored"),
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == helpers.TRANSACTION_KEYS
    helpers.assert_uuid(body["id"])
    assert body["amount_formatted"] == "R$25.00"
    assert body["amount"] == helpers.money(2500, "R$25.00")
    assert list(body["amount"]) == helpers.MONEY_KEYS
    assert body["fitid"] is None
    assert body["memo"] == "Groceries"
    assert body["type"] == "credit"  # derived from the sign; the body's `type` is ignored
    assert body["date"] == "2025-01-15T00:00:00+00:00"
    assert body["category"] is None
    assert body["splits"] == []
    account = body["account"]
    assert list(account) == helpers.ACCOUNT_KEYS
    assert account["id"] == user.account_id
    assert account["name"] == "k6 Account 1"
    assert account["currency"] == "BRL"
    assert account["type"] == "checking"
    assert list(account["balance"]) == helpers.MONEY_KEYS
    assert account["balance"]["currency"] == "BRL"
    assert account["bank"] == {
        "id": helpers.LOAD_TEST_BANK_ID,
        "code": "999",
        "name": "Load Test Bank",
    }
    assert helpers.position_of(response) > before
    [event] = _recorded(ledger, before, user.account_id)
    assert str(event.originator_id) == body["id"]
    assert event.user_id == user.user_id
    assert event.amount == 2500
    assert event.currency == "BRL"


@pytest.mark.parametrize(
    ("value", "kind", "formatted"),
    [
        (2500, "credit", "R$25.00"),
        (-7890, "debit", "-R$78.90"),
        (0, "credit", "R$0.00"),
        (-1, "debit", "-R$0.01"),
        (123456789, "credit", "R$1,234,567.89"),
        (2**31 - 1, "credit", "R$21,474,836.47"),
        (-(2**31 - 1), "debit", "-R$21,474,836.47"),
    ],
)
def test_transaction_type_and_formatting_follow_the_signed_amount(
    api: httpx.Client, user: Provisioned, value: int, kind: str, formatted: str
) -> None:
    body = _record(api, user, amount=_amount(value))
    assert body["type"] == kind
    assert body["amount_formatted"] == formatted
    assert body["amount"] == helpers.money(value, formatted)


def test_transaction_in_a_usd_account_is_formatted_in_dollars(
    api: httpx.Client, user: Provisioned
) -> None:
    account = api.post(
        "/api/accounts", json=helpers.account_body(currency="USD"), headers=user.headers
    ).json()
    response = api.post(
        "/api/transactions",
        json=helpers.transaction_body(account["id"], amount=_amount(-123456, "USD")),
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["amount_formatted"] == "-$1,234.56"
    assert response.json()["amount"] == helpers.money(-123456, "-$1,234.56", "USD")


def test_transaction_embeds_its_category(api: httpx.Client, user: Provisioned) -> None:
    body = _record(api, user, category_id=user.categories["red"])
    assert list(body["category"]) == helpers.CATEGORY_KEYS
    assert body["category"] == {
        "id": user.categories["red"],
        "name": "Alimentação",
        "color": "red",
        "description": "Restaurantes, supermercados e delivery.",
        "is_default": True,
    }


def test_transaction_memo_is_trimmed_and_blank_becomes_null(
    api: httpx.Client, user: Provisioned
) -> None:
    assert _record(api, user, memo="  Padaria  ")["memo"] == "Padaria"
    assert _record(api, user, memo="   ")["memo"] is None
    payload = helpers.transaction_body(user.account_id)
    del payload["memo"]
    response = api.post("/api/transactions", json=payload, headers=user.headers)
    assert response.status_code == 201
    assert response.json()["memo"] is None


def test_memo_of_255_characters_is_accepted(api: httpx.Client, user: Provisioned) -> None:
    assert _record(api, user, memo="m" * 255)["memo"] == "m" * 255


# --- create: dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        # Bare dates are midnight UTC (the original filled in the wall-clock time).
        ("2025-01-15", "2025-01-15T00:00:00+00:00"),
        # The instant is kept (the original dropped the offset).
        ("2025-01-15T23:00:00-03:00", "2025-01-16T02:00:00+00:00"),
        ("2025-01-15T10:30:00+00:00", "2025-01-15T10:30:00+00:00"),
        ("2025-01-15T10:30:00Z", "2025-01-15T10:30:00+00:00"),
        ("2025-01-15T10:30:00.123Z", "2025-01-15T10:30:00+00:00"),
        ("2025-01-15T10:30:00.123456+00:00", "2025-01-15T10:30:00+00:00"),
        # The original answered 500 to this one; a naive time is read as UTC.
        ("2025-01-15 10:30:00", "2025-01-15T10:30:00+00:00"),
        ("2025-01-15T10:30:00", "2025-01-15T10:30:00+00:00"),
        ("  2025-01-15  ", "2025-01-15T00:00:00+00:00"),
        ("1900-01-01", "1900-01-01T00:00:00+00:00"),
        ("2199-12-31", "2199-12-31T00:00:00+00:00"),
    ],
)
def test_transaction_date_formats_are_stored_as_utc_instants(
    api: httpx.Client, user: Provisioned, raw: str, stored: str
) -> None:
    assert _record(api, user, date=raw)["date"] == stored


@pytest.mark.parametrize(
    "raw",
    [
        "2025-13-45",
        "2025-02-30",
        "yesterday",
        "15/01/2025",
        "",
        20250115,
        None,
        ["2025-01-15"],
        "1899-12-31",
        "2200-01-01",
        "2025-01-15T25:00:00Z",
    ],
    ids=str,
)
def test_invalid_transaction_date_is_422_not_500(
    api: httpx.Client, user: Provisioned, ledger: Ledger, raw: Any
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, date=raw),
            headers=user.headers,
        )
    helpers.assert_validation(response, "date", exact=True)


# --- create: validation ---------------------------------------------------------------------


def test_record_transaction_with_empty_body_lists_required_fields(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post("/api/transactions", json={}, headers=user.headers)
    helpers.assert_validation(response, "account_id", "amount", "date", exact=True)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        # Defect fixed: an unknown currency was a 500 in the original.
        ({"amount": _amount(2500, "XXX")}, "amount.currency"),
        ({"amount": {"value": 2500}}, "amount.currency"),
        ({"amount": {"currency": "BRL"}}, "amount.value"),
        ({"amount": _amount(2**31)}, "amount.value"),
        ({"amount": _amount(-(2**31))}, "amount.value"),
        ({"amount": {"value": 25.5, "currency": "BRL"}}, "amount.value"),
        ({"amount": {"value": True, "currency": "BRL"}}, "amount.value"),
        ({"amount": 2500}, "amount"),
        ({"amount": "R$25.00"}, "amount"),
        # Defect fixed: non-UUID ids were Postgres cast errors (500s).
        ({"account_id": "abc"}, "account_id"),
        ({"account_id": str(uuid.uuid4())}, "account_id"),
        ({"category_id": "abc"}, "category_id"),
        ({"category_id": str(uuid.uuid4())}, "category_id"),
        ({"memo": "m" * 256}, "memo"),
        ({"memo": 42}, "memo"),
    ],
    ids=[
        "unknown-currency",
        "missing-currency",
        "missing-value",
        "value-2**31",
        "value-minus-2**31",
        "value-float",
        "value-bool",
        "amount-not-object",
        "amount-string",
        "non-uuid-account",
        "unknown-account",
        "non-uuid-category",
        "unknown-category",
        "memo-too-long",
        "memo-not-string",
    ],
)
def test_record_transaction_with_invalid_field_is_422_and_appends_nothing(
    api: httpx.Client, user: Provisioned, ledger: Ledger, overrides: dict[str, Any], field: str
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, **overrides),
            headers=user.headers,
        )
    helpers.assert_validation(response, field, exact=True)


def test_amount_beyond_64_bits_is_a_client_error(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, amount=_amount(2**70)),
            headers=user.headers,
        )
    assert response.status_code in (400, 422), response.text


def test_transaction_into_another_users_account_is_422_and_appends_nothing(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    # Defect fixed: the original let anyone post into any account whose id they knew.
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(other.account_id),
            headers=user.headers,
        )
    helpers.assert_validation(response, "account_id", exact=True)


def test_transaction_with_another_users_category_is_422(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, category_id=other.categories["red"]),
            headers=user.headers,
        )
    helpers.assert_validation(response, "category_id", exact=True)


def test_transaction_currency_must_match_the_accounts(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    # Defect fixed: the original stored the row, then failed to update the balance.
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, amount=_amount(2500, "USD")),
            headers=user.headers,
        )
    helpers.assert_validation(response, "amount.currency", exact=True)


def test_transaction_into_a_deleted_account_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    assert api.delete(f"/api/accounts/{user.account_id}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id),
            headers=user.headers,
        )
    helpers.assert_validation(response, "account_id", exact=True)


def test_transaction_with_a_deleted_category_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    category_id = user.categories["blue"]
    assert api.delete(f"/api/categories/{category_id}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, category_id=category_id),
            headers=user.headers,
        )
    helpers.assert_validation(response, "category_id", exact=True)


# --- create: splits -------------------------------------------------------------------------


def test_splits_that_add_up_are_recorded_with_their_categories(
    api: httpx.Client, user: Provisioned
) -> None:
    splits = [
        {"category_id": user.categories["red"], "amount": -5000, "memo": "Mercado"},
        {"category_id": user.categories["green"], "amount": -2890},
    ]
    body = _record(api, user, amount=_amount(-7890), splits=splits)
    assert body["type"] == "debit"
    assert body["amount_formatted"] == "-R$78.90"
    assert len(body["splits"]) == 2
    first, second = body["splits"]
    assert list(first) == helpers.SPLIT_KEYS
    helpers.assert_uuid(first["id"])
    assert first["amount_formatted"] == "-R$50.00"
    assert first["amount"] == helpers.money(-5000, "-R$50.00")
    assert first["memo"] == "Mercado"
    assert list(first["category"]) == helpers.CATEGORY_KEYS
    assert first["category"]["id"] == user.categories["red"]
    assert first["category"]["name"] == "Alimentação"
    assert second["amount"] == helpers.money(-2890, "-R$28.90")
    assert second["memo"] is None
    assert second["category"]["id"] == user.categories["green"]
    assert first["id"] != second["id"]


@pytest.mark.parametrize(
    ("amount", "split_amounts", "field"),
    [
        (-7890, [-5000, -2000], "splits"),
        (-7890, [-8890, 1000], "splits"),
        (1000, [500, 400], "splits"),
    ],
    ids=["short", "mixed-signs", "credit-short"],
)
def test_splits_that_do_not_divide_the_amount_are_422(
    api: httpx.Client,
    user: Provisioned,
    ledger: Ledger,
    amount: int,
    split_amounts: list[int],
    field: str,
) -> None:
    splits = [{"category_id": user.categories["red"], "amount": a} for a in split_amounts]
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, amount=_amount(amount), splits=splits),
            headers=user.headers,
        )
    helpers.assert_validation(response, field, exact=True)


@pytest.mark.parametrize(
    ("split", "field"),
    [
        ({"amount": -100}, "splits.0.category_id"),
        ({"category_id": "abc", "amount": -100}, "splits.0.category_id"),
        ({"category_id": "OTHER", "amount": -100}, "splits.0.category_id"),
        ({"category_id": "OWN", "amount": "-100"}, "splits.0.amount"),
        ({"category_id": "OWN"}, "splits.0.amount"),
        ({"category_id": "OWN", "amount": -100, "memo": "m" * 256}, "splits.0.memo"),
    ],
    ids=[
        "missing-category",
        "non-uuid-category",
        "another-users-category",
        "amount-string",
        "missing-amount",
        "memo-too-long",
    ],
)
def test_invalid_split_is_422_on_the_splits_field(
    api: httpx.Client,
    user: Provisioned,
    other: Provisioned,
    ledger: Ledger,
    split: dict[str, Any],
    field: str,
) -> None:
    replace = {"OWN": user.categories["red"], "OTHER": other.categories["red"]}
    if split.get("category_id") in replace:
        split = {**split, "category_id": replace[split["category_id"]]}
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, amount=_amount(-100), splits=[split]),
            headers=user.headers,
        )
    helpers.assert_validation(response, field, exact=True)


def test_more_than_fifty_splits_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    splits = [{"category_id": user.categories["red"], "amount": -1}] * 51
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, amount=_amount(-51), splits=splits),
            headers=user.headers,
        )
    helpers.assert_validation(response, "splits", exact=True)


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer garbage", "Bearer not-a-uuid|secret"], ids=str
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_transaction_writes_without_a_valid_token_are_401(
    api: httpx.Client,
    user: Provisioned,
    ledger: Ledger,
    authorization: str | None,
    method: str,
) -> None:
    txn = _record(api, user)
    url = "/api/transactions" if method == "POST" else f"/api/transactions/{txn['id']}"
    headers = {} if authorization is None else {"Authorization": authorization}
    body = None if method == "DELETE" else helpers.transaction_body(user.account_id)
    with helpers.no_new_events(ledger):
        response = api.request(method, url, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == helpers.UNAUTHENTICATED


def test_another_users_token_is_401_after_nothing_but_a_wrong_secret(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    # A real token id with another real token's secret is still unauthenticated.
    token_id = user.token.split("|")[0]
    secret = other.token.split("|")[1]
    response = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id),
        headers={"Authorization": f"Bearer {token_id}|{secret}"},
    )
    assert response.status_code == 401
    assert response.json() == helpers.UNAUTHENTICATED


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_transaction_replaces_amount_date_memo_and_category(
    api: httpx.Client, user: Provisioned, ledger: Ledger, method: str
) -> None:
    txn = _record(api, user, category_id=user.categories["red"])
    before = ledger.head()
    response = api.request(
        method,
        f"/api/transactions/{txn['id']}",
        json={
            "amount": _amount(-7890),
            "date": "2025-02-01T12:00:00+00:00",
            "memo": "Farmácia",
            "category_id": user.categories["green"],
            "account_id": user.accounts["k6 Account 2"],  # ignored: not updatable
        },
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == helpers.TRANSACTION_KEYS
    assert body["id"] == txn["id"]
    assert body["amount"] == helpers.money(-7890, "-R$78.90")
    assert body["amount_formatted"] == "-R$78.90"
    assert body["type"] == "debit"
    assert body["date"] == "2025-02-01T12:00:00+00:00"
    assert body["memo"] == "Farmácia"
    assert body["category"]["id"] == user.categories["green"]
    assert body["account"]["id"] == user.account_id
    assert body["splits"] == []
    assert helpers.position_of(response) > before
    amended = [
        e for e in helpers.events_between(ledger, before) if isinstance(e, Transaction.Amended)
    ]
    assert [(e.amount, e.previous_amount) for e in amended] == [(-7890, 2500)]


def test_update_transaction_omitting_memo_and_category_clears_them(
    api: httpx.Client, user: Provisioned
) -> None:
    txn = _record(api, user, category_id=user.categories["red"])
    response = api.put(
        f"/api/transactions/{txn['id']}",
        json={"amount": _amount(0), "date": "2025-01-15"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["memo"] is None
    assert body["category"] is None
    assert body["type"] == "credit"


def test_update_transaction_with_splits(api: httpx.Client, user: Provisioned) -> None:
    txn = _record(api, user)
    splits = [
        {"category_id": user.categories["sky"], "amount": 2000},
        {"category_id": user.categories["lavender"], "amount": 1000},
    ]
    response = api.put(
        f"/api/transactions/{txn['id']}",
        json={"amount": _amount(3000), "date": "2025-01-15", "splits": splits},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    got = response.json()["splits"]
    assert [s["amount"]["value"] for s in got] == [2000, 1000]
    assert [s["category"]["color"] for s in got] == ["sky", "lavender"]


def test_update_transaction_with_splits_not_adding_up_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, user)
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/transactions/{txn['id']}",
            json={
                "amount": _amount(3000),
                "date": "2025-01-15",
                "splits": [{"category_id": user.categories["sky"], "amount": 2999}],
            },
            headers=user.headers,
        )
    helpers.assert_validation(response, "splits", exact=True)


def test_update_transaction_cannot_change_its_currency(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, user)
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/transactions/{txn['id']}",
            json={"amount": _amount(100, "EUR"), "date": "2025-01-15"},
            headers=user.headers,
        )
    helpers.assert_validation(response, "amount.currency", exact=True)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ("amount", "date")),
        ({"amount": _amount(1), "date": "2025-13-45"}, ("date",)),
        ({"amount": _amount(2**31, "BRL"), "date": "2025-01-15"}, ("amount.value",)),
        ({"amount": _amount(1, "XXX"), "date": "2025-01-15"}, ("amount.currency",)),
        ({"amount": _amount(1), "date": "2025-01-15", "category_id": "abc"}, ("category_id",)),
    ],
    ids=["empty", "bad-date", "out-of-range", "unknown-currency", "non-uuid-category"],
)
def test_update_transaction_with_invalid_body_is_422(
    api: httpx.Client,
    user: Provisioned,
    ledger: Ledger,
    body: dict[str, Any],
    fields: tuple[str, ...],
) -> None:
    txn = _record(api, user)
    with helpers.no_new_events(ledger):
        response = api.put(f"/api/transactions/{txn['id']}", json=body, headers=user.headers)
    helpers.assert_validation(response, *fields, exact=True)


def test_update_unknown_transaction_is_404_before_validation(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    missing = str(uuid.uuid4())
    with helpers.no_new_events(ledger):
        response = api.put(f"/api/transactions/{missing}", json={}, headers=user.headers)
    helpers.assert_not_found(response, "Transaction", missing)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_non_uuid_transaction_id_is_404(api: httpx.Client, user: Provisioned, method: str) -> None:
    body = None if method == "DELETE" else helpers.transaction_body(user.account_id)
    response = api.request(method, "/api/transactions/42", json=body, headers=user.headers)
    helpers.assert_not_found(response, "Transaction", "42")


def test_update_another_users_transaction_with_invalid_body_is_422(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, other)
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/transactions/{txn['id']}",
            json={"amount": _amount(1), "date": "yesterday"},
            headers=user.headers,
        )
    helpers.assert_validation(response, "date", exact=True)


def test_update_another_users_transaction_with_valid_body_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, other)
    with helpers.no_new_events(ledger):
        response = api.patch(
            f"/api/transactions/{txn['id']}",
            json={"amount": _amount(1), "date": "2025-01-15"},
            headers=user.headers,
        )
    assert response.status_code == 403
    assert response.json() == helpers.FORBIDDEN


def test_update_another_users_transaction_with_unknown_category_is_422_not_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    # `category_id` must exist: a validation rule, reported before authorization (2.1).
    txn = _record(api, other)
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/transactions/{txn['id']}",
            json={"amount": _amount(1), "date": "2025-01-15", "category_id": str(uuid.uuid4())},
            headers=user.headers,
        )
    helpers.assert_validation(response, "category_id", exact=True)


def test_transactions_of_a_deleted_account_are_gone(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    # Deleting an account deletes its transactions (contract 2.4, 3.2).
    txn = _record(api, user)
    assert api.delete(f"/api/accounts/{user.account_id}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        updated = api.put(
            f"/api/transactions/{txn['id']}",
            json={"amount": _amount(1), "date": "2025-01-15"},
            headers=user.headers,
        )
        deleted = api.delete(f"/api/transactions/{txn['id']}", headers=user.headers)
    helpers.assert_not_found(updated, "Transaction", txn["id"])
    helpers.assert_not_found(deleted, "Transaction", txn["id"])


# --- delete ---------------------------------------------------------------------------------


def test_delete_transaction_is_204_with_empty_body(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, user, amount=_amount(-4200))
    before = ledger.head()
    response = api.delete(f"/api/transactions/{txn['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert helpers.position_of(response) > before
    deleted = [
        e for e in helpers.events_between(ledger, before) if isinstance(e, Transaction.Deleted)
    ]
    assert [(str(e.originator_id), e.amount) for e in deleted] == [(txn["id"], -4200)]


def test_delete_transaction_twice_is_404(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, user)
    assert api.delete(f"/api/transactions/{txn['id']}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        again = api.delete(f"/api/transactions/{txn['id']}", headers=user.headers)
        update = api.put(
            f"/api/transactions/{txn['id']}",
            json={"amount": _amount(1), "date": "2025-01-15"},
            headers=user.headers,
        )
    helpers.assert_not_found(again, "Transaction", txn["id"])
    helpers.assert_not_found(update, "Transaction", txn["id"])


def test_delete_another_users_transaction_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, other)
    with helpers.no_new_events(ledger):
        response = api.delete(f"/api/transactions/{txn['id']}", headers=user.headers)
    assert response.status_code == 403
    assert response.json() == helpers.FORBIDDEN


def test_delete_unknown_transaction_is_404(api: httpx.Client, user: Provisioned) -> None:
    missing = str(uuid.uuid4())
    response = api.delete(f"/api/transactions/{missing}", headers=user.headers)
    helpers.assert_not_found(response, "Transaction", missing)


# --- request bodies -------------------------------------------------------------------------


def test_oversized_body_is_413(api: httpx.Client, user: Provisioned, ledger: Ledger) -> None:
    payload = helpers.transaction_body(user.account_id, memo="m" * (helpers.MAX_BODY_BYTES + 1))
    with helpers.no_new_events(ledger):
        response = api.post("/api/transactions", json=payload, headers=user.headers)
    assert response.status_code == 413, response.text
    assert list(response.json()) == ["message"]


def test_oversized_chunked_body_without_content_length_is_413(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"memo": "'
        for _ in range(20):
            yield b"m" * 4096
        yield b'"}'

    headers = {**user.headers, "Content-Type": "application/json"}
    with helpers.no_new_events(ledger):
        response = api.post("/api/transactions", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text


def test_body_just_under_the_limit_is_accepted(api: httpx.Client, user: Provisioned) -> None:
    # Large but legal: validation (not the size limit) decides; a long memo is a 422.
    payload = helpers.transaction_body(user.account_id, memo="m" * 60_000)
    response = api.post("/api/transactions", json=payload, headers=user.headers)
    helpers.assert_validation(response, "memo", exact=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"account_id": ', "The request body is not valid JSON."),
        (b"{'single': 'quotes'}", "The request body is not valid JSON."),
        (b"[]", "The request body must be a JSON object."),
        (b'[{"account_id": "x"}]', "The request body must be a JSON object."),
        (b"42", "The request body must be a JSON object."),
        (b"true", "The request body must be a JSON object."),
    ],
    ids=["truncated", "single-quotes", "empty-array", "array", "number", "boolean"],
)
def test_unusable_transaction_body_is_400(
    api: httpx.Client, user: Provisioned, ledger: Ledger, content: bytes, message: str
) -> None:
    headers = {**user.headers, "Content-Type": "application/json"}
    with helpers.no_new_events(ledger):
        response = api.post("/api/transactions", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json() == {"message": message}


@pytest.mark.parametrize("content", [b"", b"null", b"  "], ids=["empty", "null", "blank"])
def test_empty_or_null_body_is_validated_as_an_empty_object(
    api: httpx.Client, user: Provisioned, content: bytes
) -> None:
    headers = {**user.headers, "Content-Type": "application/json"}
    response = api.post("/api/transactions", content=content, headers=headers)
    helpers.assert_validation(response, "account_id", "amount", "date", exact=True)


def test_deeply_nested_json_is_a_client_error_not_a_500(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    # ~2 KB of nesting: well under the size limit, within orjson's depth limit.
    depth = 1000
    content = b'{"memo": ' + b"[" * depth + b"]" * depth + b"}"
    headers = {**user.headers, "Content-Type": "application/json"}
    with helpers.no_new_events(ledger):
        response = api.post("/api/transactions", content=content, headers=headers)
    assert response.status_code in (400, 422), (response.status_code, response.text)


def test_missing_token_is_401_even_with_an_array_body(api: httpx.Client) -> None:
    response = api.post(
        "/api/transactions", content=b"[]", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401, response.text
    assert response.json() == helpers.UNAUTHENTICATED


# --- idempotency ----------------------------------------------------------------------------


def test_duplicate_idempotency_key_returns_same_transaction(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    payload = helpers.transaction_body(user.account_id)
    first = api.post("/api/transactions", json=payload, headers=user.idempotent("txn-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    with helpers.no_new_events(ledger):
        retry = api.post("/api/transactions", json=payload, headers=user.idempotent("txn-1"))
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    # The replay shows the transaction as it is now; only the embedded account balance,
    # a projection that may have caught up in between, is allowed to differ.
    assert helpers.without_balance(retry.json()) == helpers.without_balance(first.json())
    assert helpers.position_of(retry) >= helpers.position_of(first)


def test_idempotency_key_reused_with_a_different_body_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    first = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id),
        headers=user.idempotent("txn-2"),
    )
    assert first.status_code == 201
    with helpers.no_new_events(ledger):
        reused = api.post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, amount=_amount(9999)),
            headers=user.idempotent("txn-2"),
        )
    assert reused.status_code == 422, reused.text
    assert reused.json() == {
        "message": "This Idempotency-Key was already used with a different request body."
    }


def test_two_users_may_use_the_same_idempotency_key_independently(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()
    mine = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id),
        headers=user.idempotent("shared-key"),
    )
    theirs = api.post(
        "/api/transactions",
        json=helpers.transaction_body(other.account_id),
        headers=other.idempotent("shared-key"),
    )
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert len(_recorded(ledger, before, user.account_id)) == 1
    assert len(_recorded(ledger, before, other.account_id)) == 1


def test_different_idempotency_keys_create_different_transactions(
    api: httpx.Client, user: Provisioned
) -> None:
    payload = helpers.transaction_body(user.account_id)
    a = api.post("/api/transactions", json=payload, headers=user.idempotent("a"))
    b = api.post("/api/transactions", json=payload, headers=user.idempotent("b"))
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]


def test_a_failed_request_does_not_claim_its_idempotency_key(
    api: httpx.Client, user: Provisioned
) -> None:
    bad = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id, date="yesterday"),
        headers=user.idempotent("retry-me"),
    )
    assert bad.status_code == 422
    good = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id),
        headers=user.idempotent("retry-me"),
    )
    assert good.status_code == 201, good.text
    assert "Idempotent-Replayed" not in good.headers


def test_concurrent_retries_with_one_idempotency_key_create_one_transaction(
    command_api: ServedApp, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()
    payload = helpers.transaction_body(user.account_id)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=command_api.url, timeout=30) as client:
            return client.post("/api/transactions", json=payload, headers=user.idempotent("racing"))

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(post, range(10)))
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(_recorded(ledger, before, user.account_id)) == 1


# --- concurrency ----------------------------------------------------------------------------


def test_concurrent_posts_to_one_account_are_all_recorded(
    command_api: ServedApp, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()
    local = threading.local()
    clients: list[httpx.Client] = []

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=command_api.url,
                headers={**user.headers, "Accept": "application/json"},
                timeout=60,
            )
            clients.append(local.client)
        made: httpx.Client = local.client
        return made

    def post(i: int) -> httpx.Response:
        return client().post(
            "/api/transactions",
            json=helpers.transaction_body(user.account_id, amount=_amount(i - 100), memo=f"#{i}"),
        )

    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            responses = list(pool.map(post, range(CONCURRENT_POSTS)))
    finally:
        for made in clients:
            made.close()
    assert [r.status_code for r in responses] == [201] * CONCURRENT_POSTS, {
        r.status_code: r.text for r in responses if r.status_code != 201
    }
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == CONCURRENT_POSTS
    recorded = _recorded(ledger, before, user.account_id)
    assert len(recorded) == CONCURRENT_POSTS
    assert {str(e.originator_id) for e in recorded} == ids
    assert sorted(e.amount for e in recorded) == [i - 100 for i in range(CONCURRENT_POSTS)]


def test_concurrent_updates_of_one_transaction_never_lose_an_amendment(
    command_api: ServedApp, api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    txn = _record(api, user)
    before = ledger.head()

    def put(i: int) -> httpx.Response:
        with httpx.Client(base_url=command_api.url, headers=user.headers, timeout=30) as client:
            return client.put(
                f"/api/transactions/{txn['id']}",
                json={"amount": _amount(i + 1), "date": "2025-01-15"},
            )

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(put, range(10)))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 409}, [(r.status_code, r.text) for r in responses]
    assert 200 in statuses
    amended = [
        e for e in helpers.events_between(ledger, before) if isinstance(e, Transaction.Amended)
    ]
    assert len(amended) == statuses.count(200)
    # Each amendment saw the state the previous one left: a chain, nothing lost.
    previous = 2500
    for event in sorted(amended, key=lambda e: e.originator_version):
        assert event.previous_amount == previous
        previous = event.amount
