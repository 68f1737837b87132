"""GET /api/budgets and GET /api/budgets/{id} (contract 2.2, 2.7, 3.4, 7.6)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned


def _budgets(api: httpx.Client, user: Provisioned) -> list[dict[str, Any]]:
    body = rh.get_json(api, user, "/api/budgets")
    assert isinstance(body, list), body  # a top-level array, not a paginator
    return body


def test_fresh_user_has_no_budgets(api: httpx.Client, user: Provisioned) -> None:
    assert _budgets(api, user) == []


def test_created_budget_is_listed_and_shown_immediately(
    api: httpx.Client, user: Provisioned
) -> None:
    created = rh.create_budget(api, user, user.categories["red"])
    written = helpers.position_of(created)
    listed = rh.get(api, user, "/api/budgets")
    rh.assert_fresh(listed, written)
    assert listed.json() == [created.json()]
    budget = listed.json()[0]
    rh.assert_budget_shape(budget)
    assert list(budget) == helpers.BUDGET_KEYS
    assert budget["name"] == "Alimentação"  # defaults to the category's name
    assert budget["currency"] == "BRL"  # the user's preferred currency
    assert budget["category"] == rh.get_json(api, user, f"/api/categories/{user.categories['red']}")
    shown = rh.get(api, user, f"/api/budgets/{budget['id']}")
    rh.assert_fresh(shown, written)
    assert shown.json() == budget


def test_budget_name_is_taken_from_the_request(api: httpx.Client, user: Provisioned) -> None:
    created = rh.create_budget(api, user, user.categories["blue"], name="Carro")
    assert rh.get_json(api, user, f"/api/budgets/{created.json()['id']}")["name"] == "Carro"


def test_budgets_are_listed_in_creation_order(api: httpx.Client, user: Provisioned) -> None:
    colors = ["teal", "red", "sky"]
    made = [rh.create_budget(api, user, user.categories[c]).json()["id"] for c in colors]
    assert rh.ids(_budgets(api, user)) == made


def test_a_second_budget_on_the_same_category_is_the_same_budget(
    api: httpx.Client, user: Provisioned
) -> None:
    first = rh.create_budget(api, user, user.categories["red"], name="Comida").json()
    again = rh.create_budget(api, user, user.categories["red"], name="Outro nome").json()
    assert again == first
    assert _budgets(api, user) == [first]


def test_renamed_budget_is_read_back_immediately(api: httpx.Client, user: Provisioned) -> None:
    budget_id = rh.create_budget(api, user, user.categories["red"]).json()["id"]
    response = api.put(f"/api/budgets/{budget_id}", json={"name": "Mercado"}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert rh.get_json(api, user, f"/api/budgets/{budget_id}")["name"] == "Mercado"
    assert [b["name"] for b in _budgets(api, user)] == ["Mercado"]


def test_deleted_budget_is_404_and_absent_from_the_list(
    api: httpx.Client, user: Provisioned
) -> None:
    keep = rh.create_budget(api, user, user.categories["blue"]).json()
    budget_id = rh.create_budget(api, user, user.categories["red"]).json()["id"]
    rh.delete(api, user, f"/api/budgets/{budget_id}")
    response = api.get(f"/api/budgets/{budget_id}", headers=user.headers)
    helpers.assert_not_found(response, "Budget", budget_id)
    assert _budgets(api, user) == [keep]


def test_budget_recreated_after_delete_is_listed_again(
    api: httpx.Client, user: Provisioned
) -> None:
    budget_id = rh.create_budget(api, user, user.categories["red"]).json()["id"]
    rh.delete(api, user, f"/api/budgets/{budget_id}")
    again = rh.create_budget(api, user, user.categories["red"], name="De novo").json()
    assert _budgets(api, user) == [again]
    assert rh.get_json(api, user, f"/api/budgets/{again['id']}") == again


def test_deleting_the_category_deletes_its_budget(api: httpx.Client, user: Provisioned) -> None:
    budget_id = rh.create_budget(api, user, user.categories["red"]).json()["id"]
    rh.delete(api, user, f"/api/categories/{user.categories['red']}")
    assert _budgets(api, user) == []
    response = api.get(f"/api/budgets/{budget_id}", headers=user.headers)
    helpers.assert_not_found(response, "Budget", budget_id)


def test_budget_shows_the_current_category(api: httpx.Client, user: Provisioned) -> None:
    category = rh.create_category(api, user, name="Pets", color="yellow")
    budget_id = rh.create_budget(api, user, category["id"]).json()["id"]
    response = api.put(
        f"/api/categories/{category['id']}",
        json={"name": "Animais", "description": None, "color": "yellow"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    shown = rh.get_json(api, user, f"/api/budgets/{budget_id}")
    assert shown["category"] == response.json()
    assert shown["name"] == "Pets"  # the budget keeps the name it was created with


# --- ownership and errors -----------------------------------------------------------------


def test_another_users_budget_is_forbidden_and_never_listed(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    budget_id = rh.create_budget(api, user, user.categories["red"]).json()["id"]
    # Read-your-writes is per caller: the owner's read makes the write visible to all.
    rh.get(api, user, f"/api/budgets/{budget_id}")
    response = api.get(f"/api/budgets/{budget_id}", headers=other.headers)
    assert response.status_code == 403, response.text
    assert response.json() == helpers.FORBIDDEN
    assert _budgets(api, other) == []


def test_unknown_budget_id_is_404_with_the_model_message(
    api: httpx.Client, user: Provisioned
) -> None:
    missing = str(uuid.uuid4())
    response = api.get(f"/api/budgets/{missing}", headers=user.headers)
    helpers.assert_not_found(response, "Budget", missing)


def test_non_uuid_budget_id_is_404(api: httpx.Client, user: Provisioned) -> None:
    response = api.get("/api/budgets/2025-05", headers=user.headers)
    helpers.assert_not_found(response, "Budget", "2025-05")
