"""GET /api/accounts and GET /api/accounts/{id} (contract 2.1, 2.2, 2.4, 7)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from shared.adapters.freshness import POSITION_HEADER_IN
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

PROVISIONED = ["k6 Account 1", "k6 Account 2", "k6 Account 3"]
CREATED = ["Nubank Conta", "Itau Poupanca", "Wise Dollars", "Card Euro"]


def _names(body: dict[str, object]) -> list[str]:
    data = body["data"]
    assert isinstance(data, list)
    return [a["name"] for a in data]


# --- shapes -------------------------------------------------------------------------------


def test_index_lists_the_three_provisioned_accounts_as_account_resources(
    api: httpx.Client, user: Provisioned
) -> None:
    body = rh.get_json(api, user, "/api/accounts")
    rh.assert_paginator(body, page=1, per_page=10, total=3, last_page=1, count=3)
    assert _names(body) == PROVISIONED
    for account in body["data"]:
        rh.assert_account_shape(account)
        assert account["id"] == user.accounts[account["name"]]
        rh.assert_money(account["balance"], 0, "R$0.00")
        assert account["currency"] == "BRL"
        assert account["type"] == "checking"
        assert re.fullmatch(r"[A-Z0-9]{8}", account["number"]), account["number"]


def test_show_returns_the_same_account_resource_as_the_index(
    api: httpx.Client, user: Provisioned
) -> None:
    listed = rh.get_json(api, user, "/api/accounts")["data"][0]
    shown = rh.get_json(api, user, f"/api/accounts/{listed['id']}")
    rh.assert_account_shape(shown)
    assert shown == listed


def test_created_account_shows_its_currency_bank_and_null_number(
    api: httpx.Client, user: Provisioned
) -> None:
    created = rh.create_account(
        api, user, name="Dollar Savings", number=None, currency="USD", type="savings"
    )
    shown = rh.get_json(api, user, f"/api/accounts/{created['id']}")
    assert shown == created
    assert list(shown) == helpers.ACCOUNT_KEYS
    assert shown["name"] == "Dollar Savings"
    assert shown["number"] is None
    rh.assert_money(shown["balance"], 0, "$0.00", "USD")
    assert shown["currency"] == "USD"
    assert shown["type"] == "savings"
    assert shown["bank"] == {
        "id": helpers.LOAD_TEST_BANK_ID,
        "code": "999",
        "name": "Load Test Bank",
    }
    assert list(shown["bank"]) == helpers.BANK_KEYS


@pytest.mark.parametrize(
    ("currency", "amounts", "expected", "formatted"),
    [
        ("BRL", [123456], 123456, "R$1,234.56"),
        ("BRL", [-7890], -7890, "-R$78.90"),
        ("EUR", [100000, -7890], 92110, "€921.10"),
        ("USD", [-123456789], -123456789, "-$1,234,567.89"),
    ],
)
def test_balance_is_signed_cents_formatted_in_icu_en_style(
    api: httpx.Client,
    user: Provisioned,
    currency: str,
    amounts: list[int],
    expected: int,
    formatted: str,
) -> None:
    account = rh.create_account(api, user, currency=currency)
    for value in amounts:
        rh.create_transaction(api, user, account["id"], value, currency=currency)
    shown = rh.get_json(api, user, f"/api/accounts/{account['id']}")
    rh.assert_money(shown["balance"], expected, formatted, currency)


# --- filters ------------------------------------------------------------------------------


def _filter_fixture(api: httpx.Client, user: Provisioned) -> None:
    rh.create_account(api, user, name="Nubank Conta", number="NU-0042", type="checking")
    rh.create_account(api, user, name="Itau Poupanca", number="IT-7788", type="savings")
    rh.create_account(
        api, user, name="Wise Dollars", number="WS-0042", type="investment", currency="USD"
    )
    rh.create_account(api, user, name="Card Euro", number=None, type="credit", currency="EUR")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search": "Nubank"}, ["Nubank Conta"]),
        ({"search": "nubank"}, []),  # LIKE is case-sensitive
        ({"search": "ank"}, ["Nubank Conta"]),
        ({"search": "0042"}, ["Nubank Conta", "Wise Dollars"]),  # number matches too
        ({"search": "IT-77"}, ["Itau Poupanca"]),
        ({"search": "k6 Account"}, PROVISIONED),
        ({"type": "savings"}, ["Itau Poupanca"]),
        ({"type": "checking"}, [*PROVISIONED, "Nubank Conta"]),
        ({"type": "credit"}, ["Card Euro"]),
        ({"currency": "USD"}, ["Wise Dollars"]),
        ({"currency": "EUR"}, ["Card Euro"]),
        ({"currency": "BRL", "search": "0042"}, ["Nubank Conta"]),
        ({"currency": "USD", "type": "checking"}, []),
        ({"search": "", "type": "", "currency": ""}, [*PROVISIONED, *CREATED]),  # no filter
    ],
    ids=str,
)
def test_index_filters_by_search_type_and_currency(
    api: httpx.Client, user: Provisioned, params: dict[str, str], expected: list[str]
) -> None:
    _filter_fixture(api, user)
    body = rh.get_json(api, user, "/api/accounts", params)
    assert sorted(_names(body)) == sorted(expected)
    assert body["total"] == len(expected)
    if not expected:
        rh.assert_paginator(body, page=1, per_page=10, total=0, last_page=1, count=0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "wallet"}, "type"),
        ({"type": "CHECKING"}, "type"),
        ({"currency": "GBP"}, "currency"),
        ({"currency": "brl"}, "currency"),
        ({"search": "x" * 256}, "search"),
    ],
    ids=str,
)
def test_index_rejects_unknown_type_or_currency_with_422(
    api: httpx.Client, user: Provisioned, params: dict[str, str], field: str
) -> None:
    response = api.get("/api/accounts", params=params, headers=user.headers)
    helpers.assert_validation(response, field, exact=True)


def test_index_reports_every_invalid_filter_at_once(api: httpx.Client, user: Provisioned) -> None:
    response = api.get(
        "/api/accounts", params={"type": "wallet", "currency": "GBP"}, headers=user.headers
    )
    helpers.assert_validation(response, "type", "currency", exact=True)


# --- ownership and errors -----------------------------------------------------------------


def test_another_users_account_is_forbidden_and_never_listed(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    mine = rh.create_account(api, user, name="Minha Conta")
    # Read-your-writes is per caller: the owner's read makes the write visible to all.
    rh.get(api, user, f"/api/accounts/{mine['id']}")
    response = api.get(f"/api/accounts/{mine['id']}", headers=other.headers)
    assert response.status_code == 403, response.text
    assert response.json() == helpers.FORBIDDEN
    theirs = rh.get_json(api, other, "/api/accounts", {"search": "Minha"})
    assert theirs["data"] == []
    listed = rh.get_json(api, other, "/api/accounts")
    assert set(rh.ids(listed["data"])) == set(other.accounts.values())


def test_unknown_account_id_is_404_with_the_model_message(
    api: httpx.Client, user: Provisioned
) -> None:
    missing = str(uuid.uuid4())
    response = api.get(f"/api/accounts/{missing}", headers=user.headers)
    helpers.assert_not_found(response, "Account", missing)


@pytest.mark.parametrize("raw", ["not-a-uuid", "123", "0198f0c2-zzzz-7000-8000-000000000000"])
def test_non_uuid_account_id_is_404(api: httpx.Client, user: Provisioned, raw: str) -> None:
    response = api.get(f"/api/accounts/{raw}", headers=user.headers)
    helpers.assert_not_found(response, "Account", raw)


def test_unauthenticated_comes_before_not_found(api: httpx.Client) -> None:
    response = api.get("/api/accounts/not-a-uuid")
    assert response.status_code == 401, response.text
    assert response.json() == helpers.UNAUTHENTICATED


def test_unauthenticated_comes_before_validation_on_the_index(api: httpx.Client) -> None:
    response = api.get("/api/accounts", params={"type": "wallet"})
    assert response.status_code == 401, response.text
    assert response.json() == helpers.UNAUTHENTICATED


def test_not_found_comes_before_forbidden(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    missing = str(uuid.uuid4())
    response = api.get(f"/api/accounts/{missing}", headers=other.headers)
    helpers.assert_not_found(response, "Account", missing)


@pytest.mark.parametrize("raw", ["abc", "-1", "\u00b2"], ids=repr)
def test_unusable_min_position_header_is_ignored(
    api: httpx.Client, user: Provisioned, raw: str
) -> None:
    # Raw UTF-8 bytes: a superscript digit passes str.isdigit() but is not a position.
    header = raw.encode()
    response = api.get(
        "/api/accounts", headers={**_raw(user.headers), POSITION_HEADER_IN.encode(): header}
    )
    assert response.status_code == 200, (response.status_code, response.text)
    rh.assert_fresh(response)


# --- read-your-writes ---------------------------------------------------------------------


def test_created_account_is_listed_and_shown_immediately(
    api: httpx.Client, user: Provisioned
) -> None:
    response = api.post(
        "/api/accounts", json=helpers.account_body(name="Nova Conta"), headers=user.headers
    )
    assert response.status_code == 201, response.text
    written = helpers.position_of(response)
    listed = rh.get(api, user, "/api/accounts")
    rh.assert_fresh(listed, written)
    assert _names(listed.json()) == [*PROVISIONED, "Nova Conta"]
    shown = rh.get(api, user, f"/api/accounts/{response.json()['id']}")
    rh.assert_fresh(shown, written)
    assert shown.json() == response.json()


def test_updated_account_is_read_back_immediately(api: httpx.Client, user: Provisioned) -> None:
    body = helpers.account_body(name="Renomeada", number="RN-1", type="savings")
    response = api.put(f"/api/accounts/{user.account_id}", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    shown = rh.get_json(api, user, f"/api/accounts/{user.account_id}")
    assert shown["name"] == "Renomeada"
    assert shown["number"] == "RN-1"
    assert shown["type"] == "savings"
    assert shown == response.json()


def test_deleted_account_is_gone_immediately(api: httpx.Client, user: Provisioned) -> None:
    rh.delete(api, user, f"/api/accounts/{user.account_id}")
    response = api.get(f"/api/accounts/{user.account_id}", headers=user.headers)
    helpers.assert_not_found(response, "Account", user.account_id)
    assert _names(rh.get_json(api, user, "/api/accounts")) == PROVISIONED[1:]


def _raw(headers: dict[str, str]) -> dict[bytes, bytes]:
    return {name.encode(): value.encode() for name, value in headers.items()}
