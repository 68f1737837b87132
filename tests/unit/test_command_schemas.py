"""The edge: request bodies and headers into commands, errors in the original's shapes
(contract 2.1, 2.1.1), with no server: Starlette requests over an in-memory receive."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from starlette.requests import Request
from starlette.types import Message

from command_service import schemas
from command_service.commands import (
    AccountDetails,
    CategoryChanges,
    Rejected,
    RenameBudget,
    SplitLine,
    TransactionDetails,
)
from command_service.endpoints import idempotency_key
from shared.adapters.http import (
    BadRequestError,
    InputInvalidError,
    path_uuid,
    read_json_object,
    validation_body,
)
from shared.domain.accounts import AccountType
from shared.domain.categories import Color
from shared.domain.errors import Model, NotFoundError
from shared.domain.money import Currency, Money

USER, THING = uuid4(), uuid4()
MAX_BODY = 64 * 1024
ACCOUNT = {"name": "Conta", "currency": "BRL", "type": "checking", "bank_id": str(THING)}
CATEGORY = {"name": "Pets", "color": "yellow"}
TXN = {
    "account_id": str(THING),
    "amount": {"value": -2500, "currency": "BRL"},
    "date": "2025-01-15",
}
AMEND = {k: v for k, v in TXN.items() if k != "account_id"}


def _request(
    body: bytes | list[bytes], headers: dict[str, str] | None = None, **scope: Any
) -> Request:
    """A request whose body arrives in these chunks (a list: chunked, no Content-Length)."""
    chunks = list(body) if isinstance(body, list) else [body]

    async def receive() -> Message:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "headers": raw, **scope}, receive)


def payload(body: bytes | list[bytes]) -> dict[str, Any]:
    return asyncio.run(read_json_object(_request(body), MAX_BODY))


def fields_of(error: InputInvalidError) -> list[str]:
    return list(error.errors)


# --- reading a body -------------------------------------------------------------------------


def test_strings_are_trimmed_and_blank_ones_become_null() -> None:
    assert payload(b'{"name": "  Conta  ", "number": "", "memo": "   ", "n": 1}') == {
        "name": "Conta",
        "number": None,
        "memo": None,
        "n": 1,
    }


@pytest.mark.parametrize("body", [b"", b"null", b"  "], ids=["empty", "null", "blank"])
def test_an_empty_or_null_body_is_an_empty_object(body: bytes) -> None:
    assert payload(body) == {}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"account_id": ', 400, "The request body is not valid JSON."),
        (b"{'single': 'quotes'}", 400, "The request body is not valid JSON."),
        (b"\xff\xfe", 400, "The request body is not valid JSON."),
        (b"[]", 400, "The request body must be a JSON object."),
        (b"42", 400, "The request body must be a JSON object."),
        (b'{"memo": "' + b"m" * MAX_BODY + b'"}', 413, f"must not exceed {MAX_BODY} bytes"),
        ([b'{"memo": "', *[b"m" * 4096] * 20, b'"}'], 413, f"must not exceed {MAX_BODY} bytes"),
        (b'{"memo": ' + b"[" * 1000 + b"]" * 1000 + b"}", 400, "must not nest deeper"),
    ],
    ids=[
        "truncated",
        "single-quotes",
        "not-utf8",
        "array",
        "number",
        "oversized",
        "oversized-chunked",
        "deeply-nested",
    ],
)
def test_an_unusable_body_is_400_or_413(
    body: bytes | list[bytes], status: int, message: str
) -> None:
    with pytest.raises(BadRequestError) as unusable:
        payload(body)
    assert unusable.value.status == status
    assert message in unusable.value.message


def test_a_lone_surrogate_is_a_422_naming_its_field() -> None:
    with pytest.raises(InputInvalidError) as invalid:
        payload(b'{"memo": "\\ud800"}')
    assert invalid.value.errors == {"memo": ["The memo field must be valid Unicode text."]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (" ", "must not be empty"),
        ("k" * 256, "must not exceed 255 characters"),
        ("caf\u00e9", "must be visible ASCII characters"),
    ],
)
def test_a_bad_idempotency_key_header_is_a_422(raw: str, message: str) -> None:
    request = _request(b"", {"Idempotency-Key": raw})
    with pytest.raises(InputInvalidError) as invalid:
        idempotency_key(request)
    assert message in invalid.value.errors["idempotency_key"][0]


def test_a_visible_ascii_idempotency_key_is_kept() -> None:
    assert idempotency_key(_request(b"", {"Idempotency-Key": "k6-abc_123"})) == "k6-abc_123"
    assert idempotency_key(_request(b"")) is None


@pytest.mark.parametrize("raw", ["abc", "42", "01234567-89ab-cdef-0123-456789abcdeX"])
@pytest.mark.parametrize("model", list(Model))
def test_an_id_that_is_not_a_uuid_is_a_404_naming_the_model(raw: str, model: Model) -> None:
    with pytest.raises(NotFoundError) as missing:
        path_uuid(_request(b"", path_params={"id": raw}), model)
    assert str(missing.value) == f"No query results for model [App\\Models\\{model}] {raw}"


# --- into commands --------------------------------------------------------------------------


def test_bodies_become_commands_with_the_caller_and_the_key() -> None:
    opened = schemas.open_account(USER, {**ACCOUNT, "balance": 99}, "k")
    assert opened.details == AccountDetails(
        "Conta", None, Currency.BRL, AccountType.CHECKING, THING
    )
    assert (opened.user_id, opened.idempotency_key) == (USER, "k")
    created = schemas.create_category(USER, {**CATEGORY, "is_default": True}, None)
    assert (created.name, created.color, created.description) == ("Pets", Color.YELLOW, None)
    split = {"category_id": str(THING), "amount": -2500}
    body = {**TXN, "type": "debit", "fitid": "ignored", "splits": [split]}
    recorded = schemas.record_transaction(USER, body, None)
    assert recorded.account_id == THING
    assert recorded.details == TransactionDetails(
        Money(-2500, Currency.BRL),
        datetime(2025, 1, 15, tzinfo=UTC),
        splits=(SplitLine(THING, -2500),),
    )
    budget = schemas.create_budget(USER, {"category_id": str(THING), "name": None})
    assert (budget.category_id, budget.name) == (THING, None)


@pytest.mark.parametrize(
    ("make", "body", "changes"),
    [
        (schemas.update_account, ACCOUNT, AccountDetails),
        (schemas.update_category, CATEGORY, CategoryChanges),
        (schemas.amend_transaction, AMEND, TransactionDetails),
        (schemas.rename_budget, {"name": "Comida"}, str),
    ],
    ids=["account", "category", "transaction", "budget"],
)
def test_an_update_carries_its_changes_or_the_error_its_body_earned(
    make: Callable[[UUID, UUID, schemas.Payload], Any], body: dict[str, Any], changes: type
) -> None:
    assert isinstance(_changes(make(USER, THING, body)), changes)
    invalid = _changes(make(USER, THING, {}))
    unusable = _changes(make(USER, THING, BadRequestError(400, "not JSON")))
    assert isinstance(invalid, Rejected)
    assert isinstance(invalid.error, InputInvalidError)
    assert isinstance(unusable, Rejected)
    assert isinstance(unusable.error, BadRequestError)


def _changes(command: Any) -> Any:
    return command.name if isinstance(command, RenameBudget) else command.changes


# --- the rules on fields (422, field by field, in the rules' order) --------------------------

Case = tuple[Callable[[dict[str, Any]], Any], dict[str, Any], list[str]]


def _account(body: dict[str, Any]) -> Any:
    return schemas.open_account(USER, body, None)


def _category(body: dict[str, Any]) -> Any:
    return schemas.create_category(USER, body, None)


def _record(body: dict[str, Any]) -> Any:
    return schemas.record_transaction(USER, body, None)


def _amend(body: dict[str, Any]) -> Any:
    changes = schemas.amend_transaction(USER, THING, body).changes
    if isinstance(changes, Rejected):
        raise changes.error
    return changes


def _budget(body: dict[str, Any]) -> Any:
    return schemas.create_budget(USER, body)


def _rename(body: dict[str, Any]) -> Any:
    name = schemas.rename_budget(USER, THING, body).name
    if isinstance(name, Rejected):
        raise name.error
    return name


def _amount(value: Any, currency: Any = "BRL") -> dict[str, Any]:
    return {"value": value, "currency": currency}


def _split(**split: Any) -> list[dict[str, Any]]:
    return [{"category_id": str(THING), "amount": -2500, **split}]


CASES: dict[str, Case] = {
    "account-empty": (_account, {}, ["name", "currency", "type", "bank_id"]),
    "account-name-too-short": (_account, {**ACCOUNT, "name": "ab"}, ["name"]),
    "account-name-too-long": (_account, {**ACCOUNT, "name": "x" * 256}, ["name"]),
    "account-name-not-string": (_account, {**ACCOUNT, "name": 123}, ["name"]),
    "account-number-too-short": (_account, {**ACCOUNT, "number": "12"}, ["number"]),
    "account-number-over-16": (_account, {**ACCOUNT, "number": "1" * 17}, ["number"]),
    "account-unknown-currency": (_account, {**ACCOUNT, "currency": "XXX"}, ["currency"]),
    "account-lowercase-currency": (_account, {**ACCOUNT, "currency": "brl"}, ["currency"]),
    "account-unknown-type": (_account, {**ACCOUNT, "type": "loan"}, ["type"]),
    "account-non-uuid-bank": (_account, {**ACCOUNT, "bank_id": "abc"}, ["bank_id"]),
    "account-control-character": (_account, {**ACCOUNT, "name": "Con\x00ta"}, ["name"]),
    "category-empty": (_category, {}, ["name", "color"]),
    "category-name-too-long": (_category, {**CATEGORY, "name": "x" * 256}, ["name"]),
    "category-name-null": (_category, {**CATEGORY, "name": None}, ["name"]),
    "category-description-over-255": (
        _category,
        {**CATEGORY, "description": "x" * 256},
        ["description"],
    ),
    "category-unknown-color": (_category, {**CATEGORY, "color": "purple"}, ["color"]),
    "category-uppercase-color": (_category, {**CATEGORY, "color": "YELLOW"}, ["color"]),
    "category-is-default-not-boolean": (
        _category,
        {**CATEGORY, "is_default": "yes"},
        ["is_default"],
    ),
    "txn-empty": (_record, {}, ["account_id", "amount", "date"]),
    "txn-unknown-currency": (_record, {**TXN, "amount": _amount(1, "XXX")}, ["amount.currency"]),
    "txn-missing-currency": (_record, {**TXN, "amount": {"value": 1}}, ["amount.currency"]),
    "txn-missing-value": (_record, {**TXN, "amount": {"currency": "BRL"}}, ["amount.value"]),
    "txn-value-2**31": (_record, {**TXN, "amount": _amount(2**31)}, ["amount.value"]),
    "txn-value-minus-2**31": (_record, {**TXN, "amount": _amount(-(2**31))}, ["amount.value"]),
    "txn-value-2**70": (_record, {**TXN, "amount": _amount(2**70)}, ["amount.value"]),
    "txn-value-float": (_record, {**TXN, "amount": _amount(25.5)}, ["amount.value"]),
    "txn-value-bool": (_record, {**TXN, "amount": _amount(True)}, ["amount.value"]),
    "txn-amount-not-object": (_record, {**TXN, "amount": 2500}, ["amount"]),
    "txn-amount-string": (_record, {**TXN, "amount": "R$25.00"}, ["amount"]),
    "txn-non-uuid-account": (_record, {**TXN, "account_id": "abc"}, ["account_id"]),
    "txn-non-uuid-category": (_record, {**TXN, "category_id": "abc"}, ["category_id"]),
    "txn-memo-too-long": (_record, {**TXN, "memo": "m" * 256}, ["memo"]),
    "txn-memo-not-string": (_record, {**TXN, "memo": 42}, ["memo"]),
    "txn-split-missing-category": (
        _record,
        {**TXN, "splits": [{"amount": -1}]},
        ["splits.0.category_id"],
    ),
    "txn-split-non-uuid-category": (
        _record,
        {**TXN, "splits": _split(category_id="abc")},
        ["splits.0.category_id"],
    ),
    "txn-split-amount-string": (
        _record,
        {**TXN, "splits": _split(amount="-1")},
        ["splits.0.amount"],
    ),
    "txn-split-memo-too-long": (
        _record,
        {**TXN, "splits": _split(memo="m" * 256)},
        ["splits.0.memo"],
    ),
    "txn-more-than-50-splits": (_record, {**TXN, "splits": _split() * 51}, ["splits"]),
    "amend-empty": (_amend, {}, ["amount", "date"]),
    "amend-bad-date": (_amend, {**AMEND, "date": "2025-13-45"}, ["date"]),
    "amend-non-uuid-category": (_amend, {**AMEND, "category_id": "abc"}, ["category_id"]),
    "budget-missing-category": (_budget, {}, ["category_id"]),
    "budget-null-category": (_budget, {"category_id": None}, ["category_id"]),
    "budget-non-uuid-category": (_budget, {"category_id": "abc"}, ["category_id"]),
    "budget-name-too-long": (_budget, {"category_id": str(THING), "name": "x" * 256}, ["name"]),
    "budget-name-not-string": (_budget, {"category_id": str(THING), "name": 7}, ["name"]),
    "rename-missing": (_rename, {}, ["name"]),
    "rename-null": (_rename, {"name": None}, ["name"]),
    "rename-too-long": (_rename, {"name": "x" * 256}, ["name"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_field_that_breaks_its_rule_is_a_422_on_that_field(case: str) -> None:
    make, body, expected = CASES[case]
    with pytest.raises(InputInvalidError) as invalid:
        make(body)
    assert fields_of(invalid.value) == expected


def test_the_422_body_is_laravels() -> None:
    with pytest.raises(InputInvalidError) as invalid:
        _record({"amount": {"value": "x", "currency": "XXX"}, "memo": "a" * 300})
    body = validation_body(invalid.value.errors)
    assert list(body) == ["message", "errors"]
    assert list(body["errors"]) == ["account_id", "amount.value", "amount.currency", "date", "memo"]
    assert body["message"] == "The account id field is required. (and 4 more errors)"
    assert body["errors"]["account_id"] == ["The account id field is required."]


@pytest.mark.parametrize(
    ("make", "body"),
    [
        (_account, {**ACCOUNT, "name": "x" * 255, "number": "1" * 16}),
        (_account, {**ACCOUNT, "name": "abc", "number": "123"}),
        (_category, {**CATEGORY, "name": "x" * 255, "description": "x" * 255}),
        (_record, {**TXN, "memo": "m" * 255, "amount": _amount(2**31 - 1)}),
        (_record, {**TXN, "amount": _amount(-(2**31 - 1)), "splits": _split() * 50}),
        (_record, {**TXN, "memo": "tab\tand\nnewline"}),
        (_budget, {"category_id": str(THING), "name": "x" * 255}),
    ],
    ids=[
        "account-longest",
        "account-shortest",
        "category-longest",
        "txn-longest-memo-largest-amount",
        "txn-fifty-splits",
        "txn-ordinary-whitespace",
        "budget-longest-name",
    ],
)
def test_values_at_their_limits_are_accepted(
    make: Callable[[dict[str, Any]], Any], body: dict[str, Any]
) -> None:
    make(body)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2025-01-15", datetime(2025, 1, 15, tzinfo=UTC)),
        ("2025-01-15T23:00:00-03:00", datetime(2025, 1, 16, 2, tzinfo=UTC)),
        ("2025-01-15T10:30:00Z", datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
        ("2025-01-15 10:30:00", datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
        ("1900-01-01", datetime(1900, 1, 1, tzinfo=UTC)),
        ("2199-12-31", datetime(2199, 12, 31, tzinfo=UTC)),
    ],
)
def test_dates_are_kept_as_utc_instants(raw: str, stored: datetime) -> None:
    assert _record({**TXN, "date": raw}).details.date == stored


@pytest.mark.parametrize(
    "raw",
    [
        "2025-02-30",
        "yesterday",
        "15/01/2025",
        20250115,
        None,
        ["2025-01-15"],
        "1899-12-31",
        "2200-01-01",
        "2025-01-15T25:00:00Z",
    ],
    ids=str,
)
def test_a_date_that_is_not_one_is_a_422(raw: Any) -> None:
    with pytest.raises(InputInvalidError) as invalid:
        _record({**TXN, "date": raw})
    assert fields_of(invalid.value) == ["date"]
