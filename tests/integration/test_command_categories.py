"""POST/PUT/PATCH/DELETE /api/categories (contract 2.5, 3.3)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from eventsourcing.domain import Aggregate

from shared.adapters.eventstore import Ledger
from shared.domain.categories import COLOR_TAKEN_MESSAGE, Category, Palette, palette_id_for
from tests.harness import ServedApp
from tests.integration import helpers
from tests.integration.helpers import Provisioned

DEFAULT_COLORS = ["red", "blue", "mauve", "pink", "peach", "green", "sapphire", "teal", "sky"]
FREE_COLORS = ["yellow", "rosewater", "flamingo", "maroon"]


def _create(api: httpx.Client, user: Provisioned, **overrides: Any) -> dict[str, Any]:
    response = api.post(
        "/api/categories", json=helpers.category_body(**overrides), headers=user.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _color_taken(response: httpx.Response) -> None:
    helpers.assert_validation(response, "color", exact=True)
    assert response.json()["errors"]["color"] == [COLOR_TAKEN_MESSAGE]


# --- create -------------------------------------------------------------------------------


def test_create_category_returns_201_with_the_category_resource(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()
    response = api.post(
        "/api/categories",
        json={"name": "Pets", "description": "Ração.", "color": "yellow"},
        headers=user.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == helpers.CATEGORY_KEYS
    helpers.assert_uuid(body["id"])
    assert body["name"] == "Pets"
    assert body["description"] == "Ração."
    assert body["color"] == "yellow"
    assert body["is_default"] is False
    assert helpers.position_of(response) > before
    stored: Aggregate = ledger.repository.get(uuid.UUID(body["id"]))
    assert isinstance(stored, Category)
    assert stored.user_id == user.user_id


def test_create_category_is_never_default_even_if_asked(
    api: httpx.Client, user: Provisioned
) -> None:
    assert _create(api, user, is_default=True)["is_default"] is False


def test_create_category_description_is_optional(api: httpx.Client, user: Provisioned) -> None:
    response = api.post(
        "/api/categories", json={"name": "Pets", "color": "maroon"}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["description"] is None


def test_every_free_color_can_be_used_once(api: httpx.Client, user: Provisioned) -> None:
    for color in FREE_COLORS:
        assert _create(api, user, color=color)["color"] == color


def test_category_names_may_repeat(api: httpx.Client, user: Provisioned) -> None:
    first = _create(api, user, name="Same", color="yellow")
    second = _create(api, user, name="Same", color="maroon")
    assert first["id"] != second["id"]


@pytest.mark.parametrize("color", [*DEFAULT_COLORS, "lavender"])
def test_create_category_with_a_default_categorys_color_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger, color: str
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/categories", json=helpers.category_body(color=color), headers=user.headers
        )
    _color_taken(response)


def test_second_category_with_the_same_color_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    _create(api, user, color="yellow")
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/categories", json=helpers.category_body(name="Other"), headers=user.headers
        )
    _color_taken(response)


def test_colors_are_unique_per_user_not_globally(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    assert _create(api, user, color="yellow")["color"] == "yellow"
    assert _create(api, other, color="yellow")["color"] == "yellow"


def test_concurrent_creates_with_one_color_make_exactly_one_category(
    command_api: ServedApp, api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    before = ledger.head()

    def create(i: int) -> httpx.Response:
        with httpx.Client(base_url=command_api.url, headers=user.headers, timeout=30) as client:
            return client.post("/api/categories", json=helpers.category_body(name=f"Race {i}"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(create, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, [(r.status_code, r.text) for r in responses]
    assert set(statuses) <= {201, 409, 422}, statuses
    created = [
        e
        for e in helpers.events_between(ledger, before)
        if isinstance(e, Category.Created) and e.user_id == user.user_id
    ]
    assert len(created) == 1


def test_create_category_with_empty_body_lists_required_fields(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post("/api/categories", json={}, headers=user.headers)
    helpers.assert_validation(response, "name", "color", exact=True)
    assert response.json()["message"].endswith("(and 1 more error)")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "x" * 256}, "name"),
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"description": "x" * 256}, "description"),
        ({"color": "purple"}, "color"),
        ({"color": "YELLOW"}, "color"),
        ({"is_default": "yes"}, "is_default"),
    ],
    ids=[
        "name-too-long",
        "name-null",
        "name-blank",
        "description-over-255",
        "unknown-color",
        "uppercase-color",
        "is-default-not-boolean",
    ],
)
def test_create_category_with_invalid_field_is_422_and_appends_nothing(
    api: httpx.Client, user: Provisioned, ledger: Ledger, overrides: dict[str, Any], field: str
) -> None:
    with helpers.no_new_events(ledger):
        response = api.post(
            "/api/categories", json=helpers.category_body(**overrides), headers=user.headers
        )
    helpers.assert_validation(response, field, exact=True)


def test_description_of_255_characters_is_accepted(api: httpx.Client, user: Provisioned) -> None:
    assert _create(api, user, description="x" * 255)["description"] == "x" * 255


# --- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer garbage", "Bearer 1|abc", "Token abc"], ids=str
)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_category_writes_without_a_valid_token_are_401(
    api: httpx.Client,
    user: Provisioned,
    ledger: Ledger,
    authorization: str | None,
    method: str,
) -> None:
    category_id = user.categories["red"]
    url = "/api/categories" if method == "POST" else f"/api/categories/{category_id}"
    headers = {} if authorization is None else {"Authorization": authorization}
    body = None if method == "DELETE" else helpers.category_body()
    with helpers.no_new_events(ledger):
        response = api.request(method, url, json=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == helpers.UNAUTHENTICATED


def test_category_token_with_a_tampered_secret_is_401(api: httpx.Client, user: Provisioned) -> None:
    token_id, secret = user.token.split("|")
    tampered = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    response = api.post(
        "/api/categories",
        json=helpers.category_body(),
        headers={"Authorization": f"Bearer {token_id}|{tampered}"},
    )
    assert response.status_code == 401
    assert response.json() == helpers.UNAUTHENTICATED


# --- update ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_category_replaces_its_fields(
    api: httpx.Client, user: Provisioned, ledger: Ledger, method: str
) -> None:
    created = _create(api, user)
    before = ledger.head()
    response = api.request(
        method,
        f"/api/categories/{created['id']}",
        json={"name": "Animais", "description": None, "color": "rosewater", "is_default": True},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == helpers.CATEGORY_KEYS
    assert body == {
        "id": created["id"],
        "name": "Animais",
        "color": "rosewater",
        "description": None,
        "is_default": True,
    }
    assert helpers.position_of(response) > before


def test_update_category_keeping_its_own_color_is_fine(
    api: httpx.Client, user: Provisioned
) -> None:
    created = _create(api, user, color="yellow")
    response = api.put(
        f"/api/categories/{created['id']}",
        json=helpers.category_body(name="Renamed", color="yellow"),
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["color"] == "yellow"
    assert response.json()["name"] == "Renamed"


def test_update_category_to_a_taken_color_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    created = _create(api, user, color="yellow")
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/categories/{created['id']}",
            json=helpers.category_body(color="red"),
            headers=user.headers,
        )
    _color_taken(response)


def test_changing_a_categorys_color_frees_the_old_one(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    created = _create(api, user, color="yellow")
    moved = api.put(
        f"/api/categories/{created['id']}",
        json=helpers.category_body(color="flamingo"),
        headers=user.headers,
    )
    assert moved.status_code == 200, moved.text
    assert _create(api, user, color="yellow", name="Reuses yellow")["color"] == "yellow"
    # ... and the new color is now taken.
    with helpers.no_new_events(ledger):
        taken = api.post(
            "/api/categories", json=helpers.category_body(color="flamingo"), headers=user.headers
        )
    _color_taken(taken)
    palette: Aggregate = ledger.repository.get(palette_id_for(user.user_id))
    assert isinstance(palette, Palette)
    assert palette.colors["flamingo"] == created["id"]


def test_default_categories_are_editable_and_update_takes_is_default_from_the_body(
    api: httpx.Client, user: Provisioned
) -> None:
    # Contract 3.3 [quirk kept]: updating a default without `is_default` clears the flag.
    category_id = user.categories["red"]
    response = api.put(
        f"/api/categories/{category_id}",
        json={"name": "Comida", "color": "red"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "id": category_id,
        "name": "Comida",
        "color": "red",
        "description": None,
        "is_default": False,
    }


def test_update_unknown_category_is_404_before_validation(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    missing = str(uuid.uuid4())
    with helpers.no_new_events(ledger):
        response = api.put(f"/api/categories/{missing}", json={}, headers=user.headers)
    helpers.assert_not_found(response, "Category", missing)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_non_uuid_category_id_is_404(api: httpx.Client, user: Provisioned, method: str) -> None:
    body = None if method == "DELETE" else helpers.category_body()
    response = api.request(method, "/api/categories/abc", json=body, headers=user.headers)
    helpers.assert_not_found(response, "Category", "abc")


def test_update_another_users_category_with_invalid_body_is_422(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/categories/{other.categories['red']}",
            json={"color": "purple"},
            headers=user.headers,
        )
    helpers.assert_validation(response, "name", "color", exact=True)


def test_update_another_users_category_with_valid_body_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/categories/{other.categories['red']}",
            json=helpers.category_body(color="yellow"),
            headers=user.headers,
        )
    assert response.status_code == 403
    assert response.json() == helpers.FORBIDDEN


def test_update_another_users_category_to_a_color_the_caller_uses_is_422_not_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    # The color rule is validation (the caller already owns a "blue" category), so it is
    # reported before authorization (contract 2.1 check order, 2.5).
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/categories/{other.categories['red']}",
            json=helpers.category_body(color="blue"),
            headers=user.headers,
        )
    _color_taken(response)


# --- delete ---------------------------------------------------------------------------------


def test_delete_category_is_204_with_empty_body(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    created = _create(api, user)
    before = ledger.head()
    response = api.delete(f"/api/categories/{created['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert helpers.position_of(response) > before


def test_deleting_a_category_frees_its_color(api: httpx.Client, user: Provisioned) -> None:
    created = _create(api, user, color="yellow")
    assert api.delete(f"/api/categories/{created['id']}", headers=user.headers).status_code == 204
    again = _create(api, user, color="yellow")
    assert again["id"] != created["id"]


def test_deleting_a_default_category_frees_its_color(api: httpx.Client, user: Provisioned) -> None:
    response = api.delete(f"/api/categories/{user.categories['red']}", headers=user.headers)
    assert response.status_code == 204
    assert _create(api, user, color="red")["color"] == "red"


def test_delete_category_twice_is_404(api: httpx.Client, user: Provisioned, ledger: Ledger) -> None:
    created = _create(api, user)
    assert api.delete(f"/api/categories/{created['id']}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        again = api.delete(f"/api/categories/{created['id']}", headers=user.headers)
    helpers.assert_not_found(again, "Category", created["id"])


def test_deleted_category_cannot_be_updated(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    created = _create(api, user)
    assert api.delete(f"/api/categories/{created['id']}", headers=user.headers).status_code == 204
    with helpers.no_new_events(ledger):
        response = api.put(
            f"/api/categories/{created['id']}",
            json=helpers.category_body(),
            headers=user.headers,
        )
    helpers.assert_not_found(response, "Category", created["id"])


def test_delete_another_users_category_is_403(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    with helpers.no_new_events(ledger):
        response = api.delete(f"/api/categories/{other.categories['red']}", headers=user.headers)
    assert response.status_code == 403
    assert response.json() == helpers.FORBIDDEN


# --- request bodies and idempotency ----------------------------------------------------------


def test_malformed_category_body_is_400(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    headers = {**user.headers, "Content-Type": "application/json"}
    with helpers.no_new_events(ledger):
        response = api.post("/api/categories", content=b'{"name": "x",', headers=headers)
    assert response.status_code == 400
    assert response.json() == {"message": "The request body is not valid JSON."}


def test_duplicate_idempotency_key_returns_the_same_category(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    payload = helpers.category_body(color="yellow")
    first = api.post("/api/categories", json=payload, headers=user.idempotent("cat-1"))
    assert first.status_code == 201, first.text
    # Without the key this would be a color clash; with it, the first result is replayed.
    with helpers.no_new_events(ledger):
        retry = api.post("/api/categories", json=payload, headers=user.idempotent("cat-1"))
    assert retry.status_code == 201, retry.text
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()


def test_idempotency_key_reused_with_another_category_body_is_422(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    first = api.post(
        "/api/categories", json=helpers.category_body(), headers=user.idempotent("cat-2")
    )
    assert first.status_code == 201
    with helpers.no_new_events(ledger):
        reused = api.post(
            "/api/categories",
            json=helpers.category_body(color="maroon"),
            headers=user.idempotent("cat-2"),
        )
    assert reused.status_code == 422, reused.text
    assert "message" in reused.json()


def test_same_idempotency_key_on_accounts_and_categories_is_independent(
    api: httpx.Client, user: Provisioned
) -> None:
    category = api.post(
        "/api/categories", json=helpers.category_body(), headers=user.idempotent("shared")
    )
    account = api.post(
        "/api/accounts", json=helpers.account_body(), headers=user.idempotent("shared")
    )
    assert category.status_code == account.status_code == 201
    assert "Idempotent-Replayed" not in account.headers
    assert category.json()["id"] != account.json()["id"]
