"""The account currency rule over HTTP (issue 15): the original test suite changes a fresh
account from BRL to USD and expects 200; once anything was recorded into the account,
the change is the clear 422. Both read models (PostgreSQL and the Redis hot model) show
the new currency right after the write."""

from __future__ import annotations

from typing import Any

import httpx

from shared.adapters.eventstore import Ledger
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned


def _change(api: httpx.Client, user: Provisioned, account_id: str, currency: str) -> Any:
    body = helpers.account_body(name="Conta Dólar", currency=currency)
    return api.put(f"/api/accounts/{account_id}", json=body, headers=user.headers)


def test_a_fresh_account_changes_currency_everywhere(api: httpx.Client, user: Provisioned) -> None:
    account = rh.create_account(api, user, currency="BRL")
    response = _change(api, user, account["id"], "USD")
    assert response.status_code == 200, response.text
    assert response.json()["currency"] == "USD"
    assert response.json()["balance"] == helpers.money(0, "$0.00", "USD")
    shown = rh.get_json(api, user, f"/api/accounts/{account['id']}")
    assert (shown["name"], shown["currency"]) == ("Conta Dólar", "USD")
    assert shown["balance"] == helpers.money(0, "$0.00", "USD")
    listed = rh.get_json(api, user, "/api/accounts")["data"]
    assert [a["currency"] for a in listed if a["id"] == account["id"]] == ["USD"]
    # Transactions now follow the new currency.
    rh.record(api, user, account["id"], -1500, currency="USD")
    shown = rh.get_json(api, user, f"/api/accounts/{account['id']}")
    assert shown["balance"] == helpers.money(-1500, "-$15.00", "USD")


def test_an_account_with_a_transaction_keeps_its_currency(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    account = rh.create_account(api, user, currency="BRL")
    txn = rh.record(api, user, account["id"], -1500)
    with helpers.no_new_events(ledger):
        response = _change(api, user, account["id"], "USD")
    helpers.assert_validation(response, "currency", exact=True)
    assert response.json()["errors"]["currency"] == [
        "The currency of an account cannot be changed."
    ]
    # Deleting its only transaction does not make it fresh again: it was used.
    rh.delete(api, user, f"/api/transactions/{txn}")
    with helpers.no_new_events(ledger):
        response = _change(api, user, account["id"], "USD")
    assert response.status_code == 422, response.text
    assert rh.get_json(api, user, f"/api/accounts/{account['id']}")["currency"] == "BRL"


def test_another_users_fresh_account_is_still_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    account = rh.create_account(api, other, currency="BRL")
    with helpers.no_new_events(ledger):
        response = _change(api, user, account["id"], "USD")
    assert response.status_code == 403, response.text
