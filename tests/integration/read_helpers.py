"""Helpers for the query side's integration tests (GET endpoints, contract 2.2-2.7).

Writes go through the public API (the edge routes them to command_service); reads are
asserted right after, with no sleep and no extra header: read-your-writes must hold.
Users are provisioned with ``helpers.provision`` (one fresh user per test).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx

from shared.adapters.auth import new_secret
from shared.adapters.eventstore import Ledger, TokenGrant
from shared.domain.ids import uuid7
from shared.domain.users import Token
from tests.integration import helpers
from tests.integration.helpers import Provisioned

T = TypeVar("T")

STALE_HEADER = "X-Valorize-Behind"
PAGINATOR_KEYS = [
    "current_page",
    "data",
    "first_page_url",
    "from",
    "last_page",
    "last_page_url",
    "links",
    "next_page_url",
    "path",
    "per_page",
    "prev_page_url",
    "to",
    "total",
]
LINK_KEYS = ["url", "label", "page", "active"]
ELLIPSIS_KEYS = ["url", "label", "active"]
PREVIOUS_LABEL = "&laquo; Previous"
NEXT_LABEL = "Next &raquo;"

# Contract 3.3, in the original's order: (name, description, color).
DEFAULT_CATEGORIES = [
    ("Alimentação", "Restaurantes, supermercados e delivery.", "red"),
    ("Transporte", "Combustível, transporte público e manutenção.", "blue"),
    ("Compras", "Vestuário, eletrônicos e outras compras.", "mauve"),
    ("Lazer", "Cinema, jogos e atividades de lazer.", "pink"),
    ("Contas & Utilidades", "Energia, água, internet e telefone.", "peach"),
    ("Saúde", "Consultas médicas, farmácia e plano de saúde.", "green"),
    ("Educação", "Cursos, livros e materiais de estudo.", "sapphire"),
    ("Viagens", "Passagens, hospedagens e passeios.", "teal"),
    ("Receitas", "Salários, freelas e outras entradas.", "sky"),
    ("Poupança", "Reservas, investimentos e objetivos.", "lavender"),
]


# --- reads --------------------------------------------------------------------------------


def get(
    api: httpx.Client, user: Provisioned, path: str, params: Any = None, status: int = 200
) -> httpx.Response:
    """A GET as ``user`` that must answer ``status``, and carry a position when it is 200."""
    response = api.get(path, params=params, headers=user.headers)
    assert response.status_code == status, (response.status_code, response.text)
    if status == 200:
        helpers.position_of(response)
    return response


def get_json(api: httpx.Client, user: Provisioned, path: str, params: Any = None) -> Any:
    return get(api, user, path, params).json()


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def memos(page: dict[str, Any]) -> list[str | None]:
    return [t["memo"] for t in page["data"]]


def list_transactions(api: httpx.Client, user: Provisioned, params: Any = None) -> Any:
    return get_json(api, user, "/api/transactions", params)


def assert_fresh(response: httpx.Response, written_at: int | None = None) -> None:
    """Not a stale read: no ``X-Valorize-Behind``, and a position at or past the write."""
    assert STALE_HEADER not in response.headers, response.headers
    if written_at is not None:
        assert helpers.position_of(response) >= written_at


# --- writes -------------------------------------------------------------------------------


def create_account(api: httpx.Client, user: Provisioned, **overrides: Any) -> dict[str, Any]:
    body = helpers.account_body(**{"name": f"Conta {uuid4().hex[:8]}", **overrides})
    response = api.post("/api/accounts", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_category(api: httpx.Client, user: Provisioned, **overrides: Any) -> dict[str, Any]:
    response = api.post(
        "/api/categories", json=helpers.category_body(**overrides), headers=user.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_transaction(
    api: httpx.Client,
    user: Provisioned,
    account_id: str,
    value: int,
    *,
    date: str = "2025-01-15T10:30:00+00:00",
    memo: str | None = "Groceries",
    category_id: str | None = None,
    currency: str = "BRL",
) -> httpx.Response:
    body: dict[str, Any] = {
        "account_id": account_id,
        "amount": {"value": value, "currency": currency},
        "date": date,
        "memo": memo,
    }
    if category_id is not None:
        body["category_id"] = category_id
    response = api.post("/api/transactions", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response


def record(api: httpx.Client, user: Provisioned, account_id: str, value: int, **kwargs: Any) -> str:
    """Create a transaction and return its id."""
    txn_id: str = create_transaction(api, user, account_id, value, **kwargs).json()["id"]
    return txn_id


def create_budget(
    api: httpx.Client, user: Provisioned, category_id: str, name: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"category_id": category_id}
    if name is not None:
        body["name"] = name
    response = api.post("/api/budgets", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response


def delete(api: httpx.Client, user: Provisioned, path: str) -> httpx.Response:
    response = api.delete(path, headers=user.headers)
    assert response.status_code == 204, (response.status_code, response.text)
    assert response.content == b""
    return response


# --- shapes -------------------------------------------------------------------------------


def assert_money(value: Any, cents: int, formatted: str, currency: str = "BRL") -> None:
    assert list(value) == helpers.MONEY_KEYS, value
    assert value == helpers.money(cents, formatted, currency), value
    assert type(value["value"]) is int, value


def assert_bank_shape(bank: Any) -> None:
    assert list(bank) == helpers.BANK_KEYS, bank
    helpers.assert_uuid(bank["id"])
    assert isinstance(bank["code"], str), bank
    assert isinstance(bank["name"], str), bank


def assert_account_shape(account: Any) -> None:
    assert list(account) == helpers.ACCOUNT_KEYS, account
    helpers.assert_uuid(account["id"])
    assert isinstance(account["name"], str), account
    assert account["number"] is None or isinstance(account["number"], str), account
    assert list(account["balance"]) == helpers.MONEY_KEYS, account
    assert account["balance"]["currency"] == account["currency"], account
    assert account["currency"] in ("BRL", "USD", "EUR"), account
    assert account["type"] in ("checking", "savings", "investment", "credit"), account
    assert_bank_shape(account["bank"])


def assert_category_shape(category: Any) -> None:
    assert list(category) == helpers.CATEGORY_KEYS, category
    helpers.assert_uuid(category["id"])
    assert isinstance(category["name"], str), category
    assert isinstance(category["color"], str), category
    assert category["description"] is None or isinstance(category["description"], str)
    assert isinstance(category["is_default"], bool), category


def assert_transaction_shape(txn: Any) -> None:
    assert list(txn) == helpers.TRANSACTION_KEYS, txn
    helpers.assert_uuid(txn["id"])
    assert list(txn["amount"]) == helpers.MONEY_KEYS, txn
    assert txn["amount_formatted"] == txn["amount"]["formatted"], txn
    assert txn["type"] == ("credit" if txn["amount"]["value"] >= 0 else "debit"), txn
    assert isinstance(txn["date"], str), txn
    assert txn["date"].endswith("+00:00"), txn
    if txn["category"] is not None:
        assert_category_shape(txn["category"])
    assert_account_shape(txn["account"])
    assert isinstance(txn["splits"], list), txn


def assert_budget_shape(budget: Any) -> None:
    assert list(budget) == helpers.BUDGET_KEYS, budget
    helpers.assert_uuid(budget["id"])
    assert isinstance(budget["name"], str), budget
    assert budget["currency"] in ("BRL", "USD", "EUR"), budget
    assert_category_shape(budget["category"])


def assert_paginator(
    body: Any, *, page: int, per_page: int, total: int, last_page: int, count: int
) -> None:
    """The flat ``LengthAwarePaginator::toArray()`` body, keys in Laravel's order."""
    assert list(body) == PAGINATOR_KEYS, list(body)
    assert body["current_page"] == page
    assert body["per_page"] == per_page
    assert body["total"] == total
    assert body["last_page"] == last_page
    assert isinstance(body["data"], list)
    assert len(body["data"]) == count, body["data"]
    if count:
        assert body["from"] == (page - 1) * per_page + 1
        assert body["to"] == (page - 1) * per_page + count
    else:
        assert body["from"] is None
        assert body["to"] is None
    links = body["links"]
    assert links[0]["label"] == PREVIOUS_LABEL
    assert links[-1]["label"] == NEXT_LABEL
    for link in links:
        expected = ELLIPSIS_KEYS if link["label"] == "..." else LINK_KEYS
        assert list(link) == expected, link


def link_labels(body: Any) -> list[str]:
    return [link["label"] for link in body["links"]]


def page_url(body: Any, query: str) -> str:
    """The URL the paginator should emit: its own ``path`` plus ``query``."""
    return f"{body['path']}?{query}"


# --- waiting ------------------------------------------------------------------------------


def poll(probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.1) -> T:
    """``probe()`` until it returns something truthy, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"condition not met within {timeout}s"
        time.sleep(interval)


# --- tokens -------------------------------------------------------------------------------


def issue_token(ledger: Ledger, user: Provisioned, expires_at: datetime | None) -> str:
    """A token written as provisioning writes one (event plus inline auth row)."""
    secret = new_secret()
    token = Token(
        id=uuid7(),
        user_id=user.user_id,
        name="test",
        secret_sha256=secret.sha256,
        expires_at=expires_at,
    )
    grant = TokenGrant(token.id, UUID(user.user_id), secret.sha256, expires_at)
    ledger.append(token, token_grants=[grant])
    return f"{token.id}|{secret.plain}"


def expired_token(ledger: Ledger, user: Provisioned) -> str:
    return issue_token(ledger, user, datetime.now(UTC) - timedelta(minutes=1))
