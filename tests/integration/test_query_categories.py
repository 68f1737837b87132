"""GET /api/categories and GET /api/categories/{id} (contract 2.2, 2.5, 3.3, 7.6)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

# The defaults by name ascending (code point order; none of them differs by case).
DEFAULTS_BY_NAME = [
    "Alimentação",
    "Compras",
    "Contas & Utilidades",
    "Educação",
    "Lazer",
    "Poupança",
    "Receitas",
    "Saúde",
    "Transporte",
    "Viagens",
]


def _categories(api: httpx.Client, user: Provisioned, params: Any = None) -> list[dict[str, Any]]:
    body = rh.get_json(api, user, "/api/categories", params)
    assert isinstance(body, list), body  # a top-level array, not a paginator
    return body


def _names(categories: list[dict[str, Any]]) -> list[str]:
    return [c["name"] for c in categories]


# --- the defaults -------------------------------------------------------------------------


def test_fresh_user_sees_exactly_its_ten_default_categories(
    api: httpx.Client, user: Provisioned
) -> None:
    categories = _categories(api, user)
    assert len(categories) == 10
    for category in categories:
        rh.assert_category_shape(category)
        assert category["is_default"] is True
    assert {(c["name"], c["description"], c["color"]) for c in categories} == set(
        rh.DEFAULT_CATEGORIES
    )
    assert {c["color"]: c["id"] for c in categories} == user.categories


def test_defaults_are_ordered_by_name_ascending(api: httpx.Client, user: Provisioned) -> None:
    names = _names(_categories(api, user))
    assert names == DEFAULTS_BY_NAME
    assert names == sorted(names)


def test_show_returns_one_category_resource(api: httpx.Client, user: Provisioned) -> None:
    shown = rh.get_json(api, user, f"/api/categories/{user.categories['red']}")
    assert list(shown) == helpers.CATEGORY_KEYS
    assert shown == {
        "id": user.categories["red"],
        "name": "Alimentação",
        "color": "red",
        "description": "Restaurantes, supermercados e delivery.",
        "is_default": True,
    }


def test_non_ascii_text_round_trips(api: httpx.Client, user: Provisioned) -> None:
    response = rh.get(api, user, f"/api/categories/{user.categories['green']}")
    # Standard JSON either way (the original escapes as \u00fa); the decoded text must match.
    assert response.json()["name"] == "Saúde"
    assert response.json()["description"] == "Consultas médicas, farmácia e plano de saúde."


# --- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("Sa", ["Receitas", "Saúde"]),  # "Saúde" by name, "Receitas" by "Salários" in its text
        ("Viagens", ["Viagens"]),
        ("viagens", []),  # case-sensitive
        ("lazer", ["Lazer"]),  # description "... atividades de lazer."
        ("&", ["Contas & Utilidades"]),
        ("ção", ["Alimentação", "Educação", "Transporte"]),  # "manutenção"
        ("nothing like this", []),
    ],
    ids=str,
)
def test_search_matches_name_or_description_case_sensitively(
    api: httpx.Client, user: Provisioned, search: str, expected: list[str]
) -> None:
    assert _names(_categories(api, user, {"search": search})) == expected


def test_is_default_filter_splits_defaults_from_own_categories(
    api: httpx.Client, user: Provisioned
) -> None:
    mine = rh.create_category(api, user, name="Pets", color="yellow")
    defaults = _categories(api, user, {"is_default": "1"})
    assert _names(defaults) == DEFAULTS_BY_NAME
    assert _categories(api, user, {"is_default": "0"}) == [mine]
    assert len(_categories(api, user)) == 11


def test_search_and_is_default_combine(api: httpx.Client, user: Provisioned) -> None:
    rh.create_category(api, user, name="Saques", description=None, color="yellow")
    assert _names(_categories(api, user, {"search": "Sa"})) == ["Receitas", "Saúde", "Saques"]
    assert _names(_categories(api, user, {"search": "Sa", "is_default": "0"})) == ["Saques"]
    assert _names(_categories(api, user, {"search": "Sa", "is_default": "1"})) == [
        "Receitas",
        "Saúde",
    ]


def test_per_page_and_page_are_accepted_but_nothing_is_paginated(
    api: httpx.Client, user: Provisioned
) -> None:
    categories = _categories(api, user, {"per_page": "2", "page": "3"})
    assert _names(categories) == DEFAULTS_BY_NAME


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"is_default": "yes"}, "is_default"),
        ({"is_default": "2"}, "is_default"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "101"}, "per_page"),
        ({"per_page": "abc"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"search": "x" * 256}, "search"),
    ],
    ids=str,
)
def test_invalid_query_parameters_are_422(
    api: httpx.Client, user: Provisioned, params: dict[str, str], field: str
) -> None:
    response = api.get("/api/categories", params=params, headers=user.headers)
    helpers.assert_validation(response, field, exact=True)


# --- own categories (read-your-writes) ----------------------------------------------------


def test_created_category_is_listed_after_the_defaults_immediately(
    api: httpx.Client, user: Provisioned
) -> None:
    response = api.post(
        "/api/categories",
        json={"name": "Aaa Pets", "description": "Ração.", "color": "yellow"},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    listed = rh.get(api, user, "/api/categories")
    rh.assert_fresh(listed, helpers.position_of(response))
    categories = listed.json()
    # "Aaa Pets" sorts before "Alimentação" by name, but is_default DESC comes first.
    assert _names(categories) == [*DEFAULTS_BY_NAME, "Aaa Pets"]
    assert categories[-1] == response.json()
    assert categories[-1]["is_default"] is False


def test_own_categories_are_ordered_by_name_after_the_defaults(
    api: httpx.Client, user: Provisioned
) -> None:
    for name, color in [("Zoo", "yellow"), ("Mercado", "rosewater"), ("Bar", "flamingo")]:
        rh.create_category(api, user, name=name, color=color)
    assert _names(_categories(api, user)) == [*DEFAULTS_BY_NAME, "Bar", "Mercado", "Zoo"]


def test_updated_default_category_loses_its_flag_and_moves_after_the_defaults(
    api: httpx.Client, user: Provisioned
) -> None:
    # Contract 3.3 quirk: an update without is_default stores is_default = false.
    category_id = user.categories["red"]
    response = api.put(
        f"/api/categories/{category_id}",
        json={"name": "Comida", "description": None, "color": "red"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    categories = _categories(api, user)
    assert categories[-1] == {
        "id": category_id,
        "name": "Comida",
        "color": "red",
        "description": None,
        "is_default": False,
    }
    assert _names(categories[:-1]) == [n for n in DEFAULTS_BY_NAME if n != "Alimentação"]
    assert rh.get_json(api, user, f"/api/categories/{category_id}") == categories[-1]


def test_deleted_category_disappears_immediately(api: httpx.Client, user: Provisioned) -> None:
    category_id = user.categories["teal"]
    rh.delete(api, user, f"/api/categories/{category_id}")
    assert "Viagens" not in _names(_categories(api, user))
    assert len(_categories(api, user)) == 9
    response = api.get(f"/api/categories/{category_id}", headers=user.headers)
    helpers.assert_not_found(response, "Category", category_id)


def test_deleting_a_category_leaves_its_transactions_uncategorised(
    api: httpx.Client, user: Provisioned
) -> None:
    category_id = user.categories["mauve"]
    txn_id = rh.record(api, user, user.account_id, -5000, category_id=category_id)
    rh.delete(api, user, f"/api/categories/{category_id}")
    shown = rh.get_json(api, user, f"/api/transactions/{txn_id}")
    assert shown["category"] is None
    filtered = rh.list_transactions(api, user, {"categories[]": category_id})
    assert filtered["data"] == []


# --- ownership and errors -----------------------------------------------------------------


def test_another_users_category_is_forbidden_and_never_listed(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    mine = rh.create_category(api, user, name="Segredo", color="maroon")
    # Read-your-writes is per caller: the owner's read makes the write visible to all.
    rh.get(api, user, f"/api/categories/{mine['id']}")
    response = api.get(f"/api/categories/{mine['id']}", headers=other.headers)
    assert response.status_code == 403, response.text
    assert response.json() == helpers.FORBIDDEN
    default = api.get(f"/api/categories/{user.categories['red']}", headers=other.headers)
    assert default.status_code == 403, default.text
    theirs = _categories(api, other)
    assert {c["id"] for c in theirs} == set(other.categories.values())
    assert _categories(api, other, {"search": "Segredo"}) == []


def test_unknown_category_id_is_404_with_the_model_message(
    api: httpx.Client, user: Provisioned
) -> None:
    missing = str(uuid.uuid4())
    response = api.get(f"/api/categories/{missing}", headers=user.headers)
    helpers.assert_not_found(response, "Category", missing)


def test_non_uuid_category_id_is_404(api: httpx.Client, user: Provisioned) -> None:
    response = api.get("/api/categories/alimentacao", headers=user.headers)
    helpers.assert_not_found(response, "Category", "alimentacao")


def test_unauthenticated_comes_before_validation(api: httpx.Client) -> None:
    response = api.get("/api/categories", params={"is_default": "yes"})
    assert response.status_code == 401, response.text
