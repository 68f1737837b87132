"""Findings 1 and 8 at the door: every forbidden character in every string field of every
command is a 422 naming the field, and nothing is appended; out-of-range dates are 422."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.adapters.eventstore import Ledger
from tests.integration.helpers import (
    Provisioned,
    account_body,
    assert_validation,
    category_body,
    no_new_events,
    provision,
    transaction_body,
)

# NUL, the other C0 controls but tab/newline/carriage return, and lone UTF-16 surrogates.
FORBIDDEN = [
    *(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"),
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
]
ALLOWED = ["a\tb", "a\nb", "a\r\nb", "Pão de açúcar 😀"]


def _body_text(body: dict[str, Any]) -> str:
    # json escapes every control and surrogate as \uXXXX, as a hostile client would send.
    return json.dumps(body)


Route = tuple[str, str, Callable[[Provisioned, dict[str, str]], dict[str, Any]]]


def _routes(user: Provisioned, made: dict[str, str]) -> list[Route]:
    account, category = made["account"], made["category"]
    txn, budget = made["transaction"], made["budget"]

    def split(memo: str | None = None) -> dict[str, Any]:
        return {"category_id": user.categories["red"], "amount": 2500, "memo": memo}

    return [
        ("POST", "/api/accounts", lambda u, m: account_body()),
        ("PUT", f"/api/accounts/{account}", lambda u, m: account_body()),
        ("POST", "/api/categories", lambda u, m: category_body(color="flamingo")),
        ("PUT", f"/api/categories/{category}", lambda u, m: category_body(color="maroon")),
        (
            "POST",
            "/api/transactions",
            lambda u, m: transaction_body(u.account_id, splits=[split()]),
        ),
        (
            "PUT",
            f"/api/transactions/{txn}",
            lambda u, m: transaction_body(u.account_id, splits=[split()]),
        ),
        ("POST", "/api/budgets", lambda u, m: {"category_id": u.categories["blue"], "name": "x"}),
        ("PUT", f"/api/budgets/{budget}", lambda u, m: {"name": "x"}),
    ]


# Every free-text field of each command (path of the field in the body).
FIELDS: dict[str, list[tuple[Any, ...]]] = {
    "/api/accounts": [("name",), ("number",)],
    "/api/categories": [("name",), ("description",)],
    "/api/transactions": [("memo",), ("splits", 0, "memo")],
    "/api/budgets": [("name",)],
}


def _fields(path: str) -> list[tuple[Any, ...]]:
    return next(fields for prefix, fields in FIELDS.items() if path.startswith(prefix))


def _set(body: dict[str, Any], field: tuple[Any, ...], value: str) -> dict[str, Any]:
    target: Any = body
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    return body


@pytest.fixture(scope="module")
def owner(api_module: httpx.Client, ledger: Ledger) -> tuple[Provisioned, dict[str, str]]:
    user = provision(api_module, ledger)
    h = user.headers
    made = {
        "account": api_module.post("/api/accounts", headers=h, json=account_body()).json()["id"],
        "category": api_module.post(
            "/api/categories", headers=h, json=category_body(color="yellow")
        ).json()["id"],
        "transaction": api_module.post(
            "/api/transactions", headers=h, json=transaction_body(user.account_id)
        ).json()["id"],
        "budget": api_module.post(
            "/api/budgets", headers=h, json={"category_id": user.categories["green"]}
        ).json()["id"],
    }
    return user, made


@pytest.fixture(scope="module")
def api_module(edge_api: Any) -> Any:
    with httpx.Client(base_url=edge_api.url, headers={"Accept": "application/json"}) as client:
        yield client


def test_every_forbidden_character_in_every_text_field_is_refused_and_nothing_stored(
    api_module: httpx.Client, ledger: Ledger, owner: tuple[Provisioned, dict[str, str]]
) -> None:
    user, made = owner
    tried = 0
    with no_new_events(ledger):
        for method, path, body_of in _routes(user, made):
            for field in _fields(path):
                for char in FORBIDDEN:
                    body = _set(body_of(user, made), field, f"a{char}b")
                    response = api_module.request(
                        method,
                        path,
                        headers={**user.headers, "Content-Type": "application/json"},
                        content=_body_text(body),
                    )
                    name = ".".join(str(part) for part in field)
                    assert_validation(response, name)
                    tried += 1
    assert tried == 8 * 2 * len(FORBIDDEN) - len(FORBIDDEN) * 2  # budgets have one field


def test_tab_newline_and_any_other_text_are_accepted(
    api_module: httpx.Client, owner: tuple[Provisioned, dict[str, str]]
) -> None:
    user, _ = owner
    for text in ALLOWED:
        response = api_module.post(
            "/api/transactions",
            headers=user.headers,
            json=transaction_body(user.account_id, memo=text),
        )
        assert response.status_code == 201, response.text
        assert response.json()["memo"] == text.strip()


def test_a_lone_surrogate_in_an_ignored_field_or_a_key_is_a_4xx_never_a_500(
    api_module: httpx.Client, ledger: Ledger, owner: tuple[Provisioned, dict[str, str]]
) -> None:
    user, _ = owner
    headers = {**user.headers, "Content-Type": "application/json", "Idempotency-Key": "k-1"}
    with no_new_events(ledger):
        extra = {**transaction_body(user.account_id), "note": "\ud800"}
        response = api_module.post("/api/transactions", headers=headers, content=json.dumps(extra))
        assert_validation(response, "note")
        key = '{"\\ud800": 1, "memo": "x"}'
        response = api_module.post("/api/transactions", headers=headers, content=key)
        assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "moment",
    [
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59.999999-00:01",
        "0001-01-01",
        "2200-01-01",
    ],
)
def test_dates_out_of_range_are_422_on_post_and_put(
    api_module: httpx.Client,
    ledger: Ledger,
    owner: tuple[Provisioned, dict[str, str]],
    moment: str,
) -> None:
    user, made = owner
    body = transaction_body(user.account_id, date=moment)
    with no_new_events(ledger):
        assert_validation(
            api_module.post("/api/transactions", headers=user.headers, json=body), "date"
        )
        assert_validation(
            api_module.put(
                f"/api/transactions/{made['transaction']}", headers=user.headers, json=body
            ),
            "date",
        )
