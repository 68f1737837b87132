"""Shared helpers for the command side's integration tests (real HTTP, real PostgreSQL).

Every test provisions its own users through ``POST /api/testing/load-test-user``, so tests
never share state. Ids the command API does not return (the provisioned accounts and the
default categories) are read back from the event store, which is the source of truth.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx

from shared.adapters.eventstore import Ledger
from shared.adapters.http import POSITION_HEADER
from shared.domain.accounts import Account
from shared.domain.banks import LOAD_TEST_BANK, bank_id_for
from shared.domain.categories import Category

LOAD_TEST_BANK_ID = str(bank_id_for(LOAD_TEST_BANK[0]))
UNAUTHENTICATED = {"message": "Unauthenticated."}
FORBIDDEN = {"message": "This action is unauthorized."}
MAX_BODY_BYTES = 64 * 1024
# Events written by one provisioning commit (user, accounts, palette, categories, token)
# are far fewer than this: the window we scan backwards from its position.
_PROVISIONING_WINDOW = 200

MONEY_KEYS = ["value", "formatted", "currency"]
BANK_KEYS = ["id", "code", "name"]
ACCOUNT_KEYS = ["id", "name", "number", "balance", "currency", "type", "bank"]
CATEGORY_KEYS = ["id", "name", "color", "description", "is_default"]
TRANSACTION_KEYS = [
    "amount_formatted",
    "id",
    "amount",
    "fitid",
    "memo",
    "type",
    "date",
    "category",
    "account",
    "splits",
]
SPLIT_KEYS = ["amount_formatted", "id", "amount", "memo", "category"]
BUDGET_KEYS = ["id", "name", "currency", "category"]


@dataclass(frozen=True)
class Provisioned:
    """A user made by the load-test endpoint, with what a test needs to act as them."""

    token: str
    user_id: str
    email: str
    expires_at: str
    position: int
    # "k6 Account 1".."k6 Account 3" -> id, and default category color -> id.
    accounts: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def account_id(self) -> str:
        return self.accounts["k6 Account 1"]

    def idempotent(self, key: str) -> dict[str, str]:
        return {**self.headers, "Idempotency-Key": key}


def events_between(ledger: Ledger, after: int, upto: int | None = None) -> list[Any]:
    """Domain events at positions ``after < p <= upto`` (or to the head)."""
    events: list[Any] = []
    start = after + 1
    while True:
        batch = ledger.recorder.select_notifications(start=start, limit=1000, stop=upto)
        events.extend(ledger.mapper.to_domain_event(n) for n in batch)
        if len(batch) < 1000:
            return events
        start = batch[-1].id + 1


def provision(api: httpx.Client, ledger: Ledger) -> Provisioned:
    response = api.post("/api/testing/load-test-user")
    assert response.status_code == 201, response.text
    body = response.json()
    position = int(response.headers[POSITION_HEADER])
    accounts: dict[str, str] = {}
    categories: dict[str, str] = {}
    for event in events_between(ledger, max(0, position - _PROVISIONING_WINDOW), position):
        if getattr(event, "user_id", None) != body["user_id"]:
            continue
        if isinstance(event, Account.Opened):
            accounts[event.name] = str(event.originator_id)
        elif isinstance(event, Category.Created):
            categories[event.color] = str(event.originator_id)
    assert len(accounts) == 3, accounts
    assert len(categories) == 10, categories
    return Provisioned(
        token=body["token"],
        user_id=body["user_id"],
        email=body["email"],
        expires_at=body["expires_at"],
        position=position,
        accounts=accounts,
        categories=categories,
    )


@contextlib.contextmanager
def no_new_events(ledger: Ledger) -> Iterator[None]:
    """Assert the block appends nothing to the event store."""
    before = ledger.head()
    yield
    after = ledger.head()
    assert after == before, f"expected no new events, head moved {before} -> {after}"


def position_of(response: httpx.Response) -> int:
    raw = response.headers.get(POSITION_HEADER)
    assert raw is not None, f"no {POSITION_HEADER} header: {response.headers}"
    assert raw.isdigit(), raw
    return int(raw)


def assert_validation(response: httpx.Response, *fields: str, exact: bool = False) -> None:
    """A Laravel-shaped 422: ``{"message": first[ (and N more)], "errors": {field: [...]}}``."""
    assert response.status_code == 422, (response.status_code, response.text)
    body = response.json()
    assert list(body) == ["message", "errors"], body
    errors = body["errors"]
    assert isinstance(errors, dict), body
    assert errors, body
    for name, messages in errors.items():
        assert isinstance(messages, list), (name, messages)
        assert messages, (name, messages)
        assert all(isinstance(m, str) and m for m in messages), (name, messages)
    if exact:
        assert list(errors) == list(fields), body
    else:
        missing = [f for f in fields if f not in errors]
        assert not missing, (missing, body)
    all_messages = [m for messages in errors.values() for m in messages]
    more = len(all_messages) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    assert body["message"] == all_messages[0] + suffix, body


def assert_not_found(response: httpx.Response, model: str, resource_id: str) -> None:
    assert response.status_code == 404, (response.status_code, response.text)
    assert response.json() == {
        "message": f"No query results for model [App\\Models\\{model}] {resource_id}"
    }


def assert_uuid(value: Any) -> None:
    assert isinstance(value, str), value
    assert str(UUID(value)) == value, value


def without_balance(resource: dict[str, Any]) -> dict[str, Any]:
    """A transaction or account resource minus the (eventually consistent) balance."""
    if "account" in resource:
        return {**resource, "account": without_balance(resource["account"])}
    return {k: v for k, v in resource.items() if k != "balance"}


def money(value: int, formatted: str, currency: str = "BRL") -> dict[str, Any]:
    return {"value": value, "formatted": formatted, "currency": currency}


def account_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Conta Corrente",
        "number": "12345-6",
        "currency": "BRL",
        "type": "checking",
        "bank_id": LOAD_TEST_BANK_ID,
    }
    body.update(overrides)
    return body


def category_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Pets",
        "description": "Ração e veterinário.",
        "color": "yellow",
    }
    body.update(overrides)
    return body


def transaction_body(account_id: str, /, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "account_id": account_id,
        "amount": {"value": 2500, "currency": "BRL"},
        "date": "2025-01-15",
        "memo": "Groceries",
    }
    body.update(overrides)
    return body
