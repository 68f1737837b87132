"""POST/PUT/PATCH/DELETE /api/accounts (contract 2.1, 2.4, 3.2)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from eventsourcing.domain import Aggregate

from shared.adapters.eventstore import Ledger
from shared.domain.accounts import Account
from shared.domain.banks import bank_id_for
from tests.integration import helpers
from tests.integration.helpers import Provisioned


def _open(api: httpx.Client, user: Provisioned, **overrides: Any) -> dict[str, Any]:
    response = api.post(
        "/api/accounts", json=helpers.account_body(**overrides), headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- create -------------------------------------------------------------------------------


def test_open_account_returns_201_with_the_account_resource(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()
    response = api.post(
        "/api/accounts",
        json=helpers.account_body(name="Nubank", number="0001-2", currency="USD", type="savings"),
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == helpers.ACCOUNT_KEYS
    helpers.assert_uuid(body["id"])
    assert body["name"] == "Nubank"
    assert body["number"] == "0001-2"
    assert body["balance"] == helpers.money(0, "$0.00", "USD")
    assert list(body["balance"]) == helpers.MONEY_KEYS
    assert body["currency"] == "USD"
    assert body["type"] == "savings"
    assert body["bank"] == {
        "id": helpers.LOAD_TEST_BANK_ID,
        "code": "999",
        "name": "Load Test Bank",
    }
    assert list(body["bank"]) == helpers.BANK_KEYS
    assert helpers.position_of(response) > before
    stored: Aggregate = ledger.repository.get(uuid.UUID(body["id"]))
    assert isinstance(stored, Account)
    assert stored.user_id == user.user_id


def test_open_account_ignores_a_balance_in_the_body(api: httpx.Client, user: Provisioned) -> None:
    body = _open(api, user, balance={"value": 99999, "currency": "BRL"}, currency="EUR")
    assert body["balance"] == helpers.money(0, "€0.00", "EUR")


def test_open_account_trims_strings_and_turns_empty_into_null(
    api: httpx.Client, user: Provisioned
) -> None:
    body = _open(api, user, name="  Conta  ", number="")
    assert body["name"] == "Conta"
    assert body["number"] is None


def test_open_account_number_may_be_omitted(api: httpx.Client, user: Provisioned) -> None:
    payload = helpers.account_body()
    del payload["number"]
    response = api.post("/api/accounts", json=payload, headers=user.headers)
    assert response.status_code == 201, response.text
    assert response.json()["number"] is None


def test_open_account_accepts_a_sixteen_character_number(
    api: httpx.Client, user: Provisioned
) -> None:
    assert _open(api, user, number="1" * 16)["number"] == "1" * 16


def test_open_account_with_empty_body_lists_every_required_field(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post("/api/accounts", json={}, headers=user.headers)
    helpers.assert_validation(response, "name", "currency", "type", "bank_id", exact=True)
    assert response.json()["message"].endswith("(and 3 more errors)")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "ab"}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 123}, "name"),
        ({"number": "12"}, "number"),
        # Defect fixed: the original let 255 characters into a varchar(16) (a 500).
        ({"number": "1" * 17}, "number"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "brl"}, "currency"),
        ({"type": "loan"}, "type"),
        # Defect fixed: a non-UUID bank_id was a Postgres cast error (a 500).
        ({"bank_id": "abc"}, "bank_id"),
        ({"bank_id": str(uuid.uuid4())}, "bank_id"),
    ],
    ids=[
        "name-too-short",
        "name-too-long",
        "name-not-string",
        "number-too-short",
        "number-over-16",
        "unknown-currency",
        "lowercase-currency",
        "unknown-type",
        "non-uuid-bank",
        "unknown-bank",
    ],
)
def test_open_account_with_invalid_field_is_422_and_appends_nothing(
    api: httpx.Client, user: Provisioned, ledger: Ledger, overrides: dict[str, Any], field: str
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/accounts", json=helpers.account_body(**overrides), headers=user.headers
        )
    helpers.assert_validation(response, field, exact=True)


# --- auth -----------------------------------------------------------------------------------


def _auth_cases(user: Provisioned) -> dict[str, dict[str, str]]:
    token_id, secret = user.token.split("|")
    return {
        "missing": {},
        "garbage": {"Authorization": "Bearer garbage"},
        "wrong-secret": {"Authorization": f"Bearer {token_id}|{'x' * len(secret)}"},
        "unknown-token-id": {"Authorization": f"Bearer {uuid.uuid4()}|{secret}"},
        "no-bearer-prefix": {"Authorization": user.token},
        "basic-scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "token-id-only": {"Authorization": f"Bearer {token_id}"},
        "empty-secret": {"Authorization": f"Bearer {token_id}|"},
        "bare-scheme": {"Authorization": "Bearer"},
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "garbage",
        "wrong-secret",
        "unknown-token-id",
        "no-bearer-prefix",
        "basic-scheme",
        "token-id-only",
        "empty-secret",
        "bare-scheme",
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_account_writes_without_a_valid_token_are_401(
    api: httpx.Client, user: Provisioned, ledger: Ledger, case: str, method: str
) -> None:
    headers = _auth_cases(user)[case]
    url = "/api/accounts" if method == "POST" else f"/api/accounts/{user.account_id}"
    body = None if method == "DELETE" else helpers.account_body()
    with helpers.no_new_events(ledger):
        response = api.request(method, url, json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json() == helpers.UNAUTHENTICATED


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_missing_token_is_401_before_unknown_id_and_invalid_body(
    api: httpx.Client, method: str
) -> None:
    response = api.request(method, "/api/accounts/not-a-uuid", json={"name": 1})
    assert response.status_code == 401
    assert response.json() == helpers.UNAUTHENTICATED


def test_missing_token_is_401_even_with_a_malformed_body(api: httpx.Client) -> None:
    # Check order: authentication comes first (contract 2.1), whatever the body holds.
    response = api.post(
        "/api/accounts", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401, response.text
    assert response.json() == helpers.UNAUTHENTICATED


def test_unknown_account_is_404_even_with_a_malformed_body(
    api: httpx.Client, user: Provisioned
) -> None:
    # Check order: 404 (route binding) comes before anything the body could cause.
    missing = str(uuid.uuid4())
    response = api.put(
        f"/api/accounts/{missing}",
        content=b"{not json",
        headers={**user.headers, "Content-Type": "application/json"},
    )
    helpers.assert_not_found(response, "Account", missing)


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_account_replaces_its_fields(
    api: httpx.Client, user: Provisioned, ledger: Ledger, method: str
) -> None:
    opened = _open(api, user)
    nubank = str(bank_id_for("260"))
    before = ledger.head()
    response = api.request(
        method,
        f"/api/accounts/{opened['id']}",
        json=helpers.account_body(name="Renamed", number=None, type="credit", bank_id=nubank),
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == helpers.ACCOUNT_KEYS
    assert body["id"] == opened["id"]
    assert body["name"] == "Renamed"
    assert body["number"] is None
    assert body["type"] == "credit"
    assert body["currency"] == "BRL"
    assert body["bank"]["id"] == nubank
    assert body["bank"]["code"] == "260"
    assert helpers.position_of(response) > before


def test_update_provisioned_account(api: httpx.Client, user: Provisioned) -> None:
    response = api.put(
        f"/api/accounts/{user.account_id}",
        json=helpers.account_body(name="k6 Account Renamed"),
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "k6 Account Renamed"


def test_update_account_cannot_change_its_currency_once_used(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    # A fresh account may change it: tests/integration/test_account_currency.py.
    txn = api.post(
        "/api/transactions",
        json=helpers.transaction_body(user.account_id),
        headers=user.headers,
    )
    assert txn.status_code == 201, txn.text
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/accounts/{user.account_id}",
            json=helpers.account_body(currency="USD"),
            headers=user.headers,
        )
    helpers.assert_validation(response, "currency", exact=True)


def test_update_account_with_invalid_body_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/accounts/{user.account_id}",
            json={"name": "ok name", "number": "1" * 17, "bank_id": "abc"},
            headers=user.headers,
        )
    helpers.assert_validation(response, "number", "currency", "type", "bank_id", exact=True)


def test_update_unknown_account_is_404_before_validation(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    missing = str(uuid.uuid4())
    with helpers.no_new_events(ledger):
        response = api.put(f"/api/accounts/{missing}", json={}, headers=user.headers)
    helpers.assert_not_found(response, "Account", missing)


@pytest.mark.parametrize("raw", ["abc", "123", "01234567-89ab-cdef-0123-456789abcdeX"])
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_non_uuid_account_id_is_404(
    api: httpx.Client, user: Provisioned, raw: str, method: str
) -> None:
    body = None if method == "DELETE" else helpers.account_body()
    response = api.request(method, f"/api/accounts/{raw}", json=body, headers=user.headers)
    helpers.assert_not_found(response, "Account", raw)


def test_update_another_users_account_with_invalid_body_is_422(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/accounts/{other.account_id}", json={"name": "x"}, headers=user.headers
        )
    helpers.assert_validation(response, "name", "currency", "type", "bank_id", exact=True)


def test_update_another_users_account_with_valid_body_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.patch(
            f"/api/accounts/{other.account_id}",
            json=helpers.account_body(),
            headers=user.headers,
        )
    assert response.status_code == 403, response.text
    assert response.json() == helpers.FORBIDDEN


def test_update_another_users_account_with_unknown_bank_is_422_not_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    # `bank_id` must exist: a validation rule, so it is reported before authorization.
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/accounts/{other.account_id}",
            json=helpers.account_body(bank_id=str(uuid.uuid4())),
            headers=user.headers,
        )
    helpers.assert_validation(response, "bank_id", exact=True)


# --- delete ---------------------------------------------------------------------------------


def test_delete_account_is_204_with_empty_body(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    opened = _open(api, user)
    before = ledger.head()
    response = api.delete(f"/api/accounts/{opened['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert helpers.position_of(response) > before
    stored: Aggregate = ledger.repository.get(uuid.UUID(opened["id"]))
    assert isinstance(stored, Account)
    assert stored.closed


def test_delete_account_twice_is_404(api: httpx.Client, user: Provisioned, ledger: Ledger) -> None:
    opened = _open(api, user)
    assert api.delete(f"/api/accounts/{opened['id']}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        again = api.delete(f"/api/accounts/{opened['id']}", headers=user.headers)
    helpers.assert_not_found(again, "Account", opened["id"])


def test_deleted_account_cannot_be_updated(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    opened = _open(api, user)
    assert api.delete(f"/api/accounts/{opened['id']}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/accounts/{opened['id']}", json=helpers.account_body(), headers=user.headers
        )
    helpers.assert_not_found(response, "Account", opened["id"])


def test_delete_another_users_account_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.delete(f"/api/accounts/{other.account_id}", headers=user.headers)
    assert response.status_code == 403
    assert response.json() == helpers.FORBIDDEN


def test_delete_unknown_account_is_404(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    missing = str(uuid.uuid4())
    with helpers.no_new_events(ledger):
        response = api.delete(f"/api/accounts/{missing}", headers=user.headers)
    helpers.assert_not_found(response, "Account", missing)


# --- request bodies and idempotency ----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'"a string"', 400),
        (b"\xff\xfe", 400),
        (b"{" + b'"name": "' + b"x" * helpers.MAX_BODY_BYTES + b'"}', 413),
    ],
    ids=["malformed", "array", "string", "not-utf8", "oversized"],
)
def test_unusable_account_body_is_rejected_before_anything_is_written(
    api: httpx.Client, user: Provisioned, ledger: Ledger, content: bytes, status: int
) -> None:
    headers = {**user.headers, "Content-Type": "application/json"}
    with helpers.no_new_events(ledger):
        response = api.post("/api/accounts", content=content, headers=headers)
    assert response.status_code == status, response.text
    assert list(response.json()) == ["message"]


def test_duplicate_idempotency_key_returns_the_same_account(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    payload = helpers.account_body(name="Idempotent")
    first = api.post("/api/accounts", json=payload, headers=user.idempotent("acc-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    with helpers.no_new_events(ledger):
        retry = api.post("/api/accounts", json=payload, headers=user.idempotent("acc-1"))
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    helpers.position_of(retry)


def test_idempotency_key_reused_with_another_account_body_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    first = api.post(
        "/api/accounts", json=helpers.account_body(name="First"), headers=user.idempotent("k")
    )
    assert first.status_code == 201
    with helpers.no_new_events(ledger):
        reused = api.post(
            "/api/accounts", json=helpers.account_body(name="Second"), headers=user.idempotent("k")
        )
    assert reused.status_code == 422, reused.text
    assert "message" in reused.json()
