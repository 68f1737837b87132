"""POST/PUT/PATCH/DELETE /api/budgets (contract 2.7, 3.4)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from eventsourcing.domain import Aggregate

from shared.adapters.eventstore import Ledger
from shared.domain.budgets import Budget
from tests.harness import ServedApp
from tests.integration import helpers
from tests.integration.helpers import Provisioned

CATEGORY_NOT_FOUND = {"message": "Category not found."}


def _create(api: httpx.Client, user: Provisioned, **body: Any) -> dict[str, Any]:
    payload = {"category_id": user.categories["red"], **body}
    response = api.post("/api/budgets", json=payload, headers=user.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


# --- create -------------------------------------------------------------------------------


def test_create_budget_returns_201_named_after_its_category_in_brl(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()
    response = api.post(
        "/api/budgets", json={"category_id": user.categories["red"]}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == helpers.BUDGET_KEYS
    helpers.assert_uuid(body["id"])
    assert body["name"] == "Alimentação"
    assert body["currency"] == "BRL"
    assert list(body["category"]) == helpers.CATEGORY_KEYS
    assert body["category"] == {
        "id": user.categories["red"],
        "name": "Alimentação",
        "color": "red",
        "description": "Restaurantes, supermercados e delivery.",
        "is_default": True,
    }
    assert helpers.position_of(response) > before
    stored: Aggregate = ledger.repository.get(uuid.UUID(body["id"]))
    assert isinstance(stored, Budget)
    assert stored.user_id == user.user_id
    assert stored.category_id == user.categories["red"]


def test_create_budget_with_a_name(api: httpx.Client, user: Provisioned) -> None:
    assert _create(api, user, name="  Mercado  ")["name"] == "Mercado"


def test_create_budget_with_blank_name_uses_the_category_name(
    api: httpx.Client, user: Provisioned
) -> None:
    assert _create(api, user, name="")["name"] == "Alimentação"


def test_create_budget_on_a_users_own_new_category(api: httpx.Client, user: Provisioned) -> None:
    category = api.post(
        "/api/categories", json=helpers.category_body(name="Pets"), headers=user.headers
    ).json()
    response = api.post("/api/budgets", json={"category_id": category["id"]}, headers=user.headers)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Pets"
    assert response.json()["category"] == category


def test_create_budget_again_returns_the_same_budget_unchanged_and_appends_nothing(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    first = _create(api, user, name="Original")
    with helpers.no_new_events(ledger):
        again = api.post(
            "/api/budgets",
            json={"category_id": user.categories["red"], "name": "Another name"},
            headers=user.headers,
        )
    assert again.status_code == 201, again.text
    assert again.json() == first
    helpers.position_of(again)


def test_concurrent_creates_for_one_category_make_one_budget(
    command_api: ServedApp, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=command_api.url, headers=user.headers, timeout=30) as client:
            return client.post("/api/budgets", json={"category_id": user.categories["teal"]})

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(post, range(10)))
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    created = [e for e in helpers.events_between(ledger, before) if isinstance(e, Budget.Created)]
    assert len(created) == 1


def test_budgets_of_two_users_on_their_own_categories_are_distinct(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    mine = _create(api, user)
    theirs = api.post(
        "/api/budgets", json={"category_id": other.categories["red"]}, headers=other.headers
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine["id"]


def test_budget_on_another_users_category_is_404_category_not_found(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/budgets", json={"category_id": other.categories["red"]}, headers=user.headers
        )
    assert response.status_code == 404
    assert response.json() == CATEGORY_NOT_FOUND


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "category_id"),
        ({"category_id": None}, "category_id"),
        ({"category_id": "abc"}, "category_id"),
        ({"category_id": str(uuid.uuid4())}, "category_id"),
        ({"category_id": "RED", "name": "x" * 256}, "name"),
        ({"category_id": "RED", "name": 7}, "name"),
    ],
    ids=["missing", "null", "non-uuid", "unknown", "name-too-long", "name-not-string"],
)
def test_create_budget_with_invalid_body_is_422_and_appends_nothing(
    api: httpx.Client, user: Provisioned, ledger: Ledger, body: dict[str, Any], field: str
) -> None:
    if body.get("category_id") == "RED":
        body = {**body, "category_id": user.categories["red"]}
    with helpers.no_new_events(ledger):
        response = api.post("/api/budgets", json=body, headers=user.headers)
    helpers.assert_validation(response, field, exact=True)


def test_budget_on_a_deleted_category_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    category_id = user.categories["pink"]
    assert api.delete(f"/api/categories/{category_id}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        response = api.post("/api/budgets", json={"category_id": category_id}, headers=user.headers)
    helpers.assert_validation(response, "category_id", exact=True)


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer garbage"], ids=str)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_budget_writes_without_a_valid_token_are_401(
    api: httpx.Client,
    user: Provisioned,
    ledger: Ledger,
    authorization: str | None,
    method: str,
) -> None:
    budget = _create(api, user)
    url = "/api/budgets" if method == "POST" else f"/api/budgets/{budget['id']}"
    headers = {} if authorization is None else {"Authorization": authorization}
    body = None if method == "DELETE" else {"category_id": user.categories["red"], "name": "x"}
    with helpers.no_new_events(ledger):
        response = api.request(method, url, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == helpers.UNAUTHENTICATED


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_rename_budget(api: httpx.Client, user: Provisioned, ledger: Ledger, method: str) -> None:
    budget = _create(api, user)
    before = ledger.head()
    response = api.request(
        method, f"/api/budgets/{budget['id']}", json={"name": "Comida"}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == helpers.BUDGET_KEYS
    assert body == {**budget, "name": "Comida"}
    assert helpers.position_of(response) > before


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 256}, "name")],
    ids=["missing", "blank", "too-long"],
)
def test_rename_budget_with_invalid_name_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger, body: dict[str, Any], field: str
) -> None:
    budget = _create(api, user)
    with helpers.no_new_events(ledger):
        response = api.put(f"/api/budgets/{budget['id']}", json=body, headers=user.headers)
    helpers.assert_validation(response, field, exact=True)


def test_rename_unknown_budget_is_404_before_validation(
    api: httpx.Client, user: Provisioned
) -> None:
    missing = str(uuid.uuid4())
    response = api.put(f"/api/budgets/{missing}", json={}, headers=user.headers)
    helpers.assert_not_found(response, "Budget", missing)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_non_uuid_budget_id_is_404(api: httpx.Client, user: Provisioned, method: str) -> None:
    body = None if method == "DELETE" else {"name": "x"}
    response = api.request(method, "/api/budgets/not-a-uuid", json=body, headers=user.headers)
    helpers.assert_not_found(response, "Budget", "not-a-uuid")


def test_rename_another_users_budget_with_invalid_body_is_422(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    budget = _create(api, other)
    with helpers.no_new_events(ledger):
        response = api.put(f"/api/budgets/{budget['id']}", json={}, headers=user.headers)
    helpers.assert_validation(response, "name", exact=True)


def test_rename_another_users_budget_with_valid_body_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    budget = _create(api, other)
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/budgets/{budget['id']}", json={"name": "Mine now"}, headers=user.headers
        )
    assert response.status_code == 403
    assert response.json() == helpers.FORBIDDEN


# --- delete ---------------------------------------------------------------------------------


def test_delete_budget_is_204_with_empty_body(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    budget = _create(api, user)
    before = ledger.head()
    response = api.delete(f"/api/budgets/{budget['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert helpers.position_of(response) > before


def test_delete_budget_twice_is_404(api: httpx.Client, user: Provisioned, ledger: Ledger) -> None:
    budget = _create(api, user)
    assert api.delete(f"/api/budgets/{budget['id']}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        again = api.delete(f"/api/budgets/{budget['id']}", headers=user.headers)
        rename = api.put(f"/api/budgets/{budget['id']}", json={"name": "x"}, headers=user.headers)
    helpers.assert_not_found(again, "Budget", budget["id"])
    helpers.assert_not_found(rename, "Budget", budget["id"])


def test_budget_can_be_created_again_after_delete(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    budget = _create(api, user, name="Old")
    assert api.delete(f"/api/budgets/{budget['id']}", headers=user.headers).status_code == 204
    before = ledger.head()
    again = _create(api, user)
    # One budget per (user, category): the same envelope, reopened with fresh defaults.
    assert again["id"] == budget["id"]
    assert again["name"] == "Alimentação"
    assert ledger.head() > before
    renamed = api.put(f"/api/budgets/{budget['id']}", json={"name": "New"}, headers=user.headers)
    assert renamed.status_code == 200, renamed.text


def test_delete_another_users_budget_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    budget = _create(api, other)
    with helpers.no_new_events(ledger):
        response = api.delete(f"/api/budgets/{budget['id']}", headers=user.headers)
    assert response.status_code == 403
    assert response.json() == helpers.FORBIDDEN


def test_deleting_the_category_deletes_its_budget(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    budget = _create(api, user)
    category_id = user.categories["red"]
    assert api.delete(f"/api/categories/{category_id}", headers=user.headers).status_code == 204
    stored: Aggregate = ledger.repository.get(uuid.UUID(budget["id"]))
    assert isinstance(stored, Budget)
    assert stored.deleted
    with helpers.no_new_events(ledger):
        rename = api.put(f"/api/budgets/{budget['id']}", json={"name": "x"}, headers=user.headers)
        delete = api.delete(f"/api/budgets/{budget['id']}", headers=user.headers)
    helpers.assert_not_found(rename, "Budget", budget["id"])
    helpers.assert_not_found(delete, "Budget", budget["id"])


def test_malformed_budget_body_is_400(api: httpx.Client, user: Provisioned, ledger: Ledger) -> None:
    headers = {**user.headers, "Content-Type": "application/json"}
    with helpers.no_new_events(ledger):
        response = api.post("/api/budgets", content=b"{", headers=headers)
    assert response.status_code == 400
    assert response.json() == {"message": "The request body is not valid JSON."}
