"""Pure logic at the edges: command parsing, Laravel error bodies, paginator, embedder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from command_service.schemas import RecordTransactionBody, parse
from query_service.paginator import paginate
from shared.adapters.embedding import HashedNgrams
from shared.adapters.http import InputInvalidError, validation_body

ACCOUNT = "01900000-0000-7000-8000-000000000000"


def _txn(**overrides: Any) -> dict[str, Any]:
    body = {
        "account_id": ACCOUNT,
        "amount": {"value": -2500, "currency": "BRL"},
        "date": "2025-01-15",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-01-15", datetime(2025, 1, 15, tzinfo=UTC)),
        ("2025-01-15T10:30:00+00:00", datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
        ("2025-01-15T23:00:00-03:00", datetime(2025, 1, 16, 2, 0, tzinfo=UTC)),
        ("2025-01-15T10:30:00.123Z", datetime(2025, 1, 15, 10, 30, 0, 123000, tzinfo=UTC)),
    ],
)
def test_dates_are_parsed_to_utc_instants(raw: str, expected: datetime) -> None:
    assert parse(RecordTransactionBody, _txn(date=raw)).date == expected


@pytest.mark.parametrize("raw", ["2025-13-45", "yesterday", "", "1800-01-01", 20250115])
def test_bad_dates_are_field_errors(raw: object) -> None:
    with pytest.raises(InputInvalidError) as invalid:
        parse(RecordTransactionBody, _txn(date=raw))
    assert list(invalid.value.errors) == ["date"]


def test_errors_are_laravel_shaped() -> None:
    with pytest.raises(InputInvalidError) as invalid:
        parse(
            RecordTransactionBody, {"amount": {"value": "x", "currency": "XXX"}, "memo": "a" * 300}
        )
    body = validation_body(invalid.value.errors)
    assert set(body["errors"]) == {"account_id", "amount.value", "amount.currency", "date", "memo"}
    assert body["errors"]["account_id"] == ["The account id field is required."]
    assert body["message"] == "The account id field is required. (and 4 more errors)"


def test_amount_bounds_and_integrality() -> None:
    for value in (2**31, -(2**31), 1.5, True):
        with pytest.raises(InputInvalidError):
            parse(RecordTransactionBody, _txn(amount={"value": value, "currency": "BRL"}))


def test_paginator_matches_laravel_shape_and_window() -> None:
    page = paginate(
        [1, 2],
        total=40,
        page=2,
        per_page=15,
        path="http://h/api/transactions",
        params=[("accounts[]", "a"), ("accounts[]", "b"), ("page", "2")],
    )
    assert list(page) == [
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
    assert page["first_page_url"] == (
        "http://h/api/transactions?accounts%5B0%5D=a&accounts%5B1%5D=b&page=1"
    )
    assert (page["from"], page["to"], page["last_page"]) == (16, 17, 3)
    assert [link["label"] for link in page["links"]] == [
        "&laquo; Previous",
        "1",
        "2",
        "3",
        "Next &raquo;",
    ]
    empty = paginate([], total=0, page=1, per_page=15, path="p", params=[])
    assert (empty["from"], empty["to"], empty["last_page"]) == (None, None, 1)
    long = paginate([], total=1000, page=50, per_page=10, path="p", params=[])
    labels = [link["label"] for link in long["links"]]
    assert labels[1:4] == ["1", "2", "..."]
    assert labels[-4:-1] == ["...", "99", "100"]


def test_embedder_is_deterministic_and_folds_case_and_accents() -> None:
    embedder = HashedNgrams()
    a, b, c = embedder.embed(["Padaria Pão Quente", "padaria pao quente", "Uber trip"])
    assert np.allclose(a, b)
    assert float(a @ c) < 0.5
    assert abs(float(np.linalg.norm(a)) - 1.0) < 1e-5


def test_live_batches_survive_the_backplane_encoding() -> None:
    from shared.adapters.backplane import LiveBatch

    batch = LiveBatch(
        7,
        9,
        [
            (
                "user-1",
                {
                    "type": "transaction.recorded",
                    "position": 9,
                    "time": "2026-01-01T00:00:00+00:00",
                    "data": {"memo": "Pão"},
                },
            )
        ],
    )
    assert LiveBatch.decode(batch.encode()) == batch
    assert LiveBatch.decode(batch.encode().decode()) == batch
