"""The hot read model's documents: markers unquoted by plain replacement are exactly what
the pattern alone makes of the same resource."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import uuid4

import orjson
import pytest

from projection_worker.projections import hot_documents as docs
from shared import resources
from shared.domain.money import Currency


def _by_pattern(e: SimpleNamespace, fitid: object) -> bytes:
    """The document as the pattern alone renders it (what ``transaction`` did before)."""
    currency = Currency(e.currency)
    body = resources.transaction_shape(
        id=str(e.originator_id),
        amount=e.amount,
        currency=currency,
        fitid=fitid,
        memo=e.memo,
        date=e.date,
        category=docs.category_ref(e.category_id),
        account=docs.mark("a", e.account_id),
        splits=[
            resources.split_shape(
                id=s["id"],
                amount=s["amount"],
                currency=currency,
                memo=s["memo"],
                category=docs.category_ref(s["category_id"]),
            )
            for s in e.splits
        ],
    )
    return docs._QUOTED_MARK.sub(b"\x01\\1\\2", orjson.dumps(body))


def _event(**changes: object) -> SimpleNamespace:
    fields: dict[str, object] = {
        "originator_id": uuid4(),
        "account_id": str(uuid4()),
        "category_id": None,
        "amount": -12_345,
        "currency": "BRL",
        "memo": "PAG*PADARIA",
        "date": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "fitid": "F1",
        "splits": [],
    }
    return SimpleNamespace(**{**fields, **changes})


SPLITS = [
    {"id": str(uuid4()), "amount": -5, "memo": None, "category_id": str(uuid4())},
    {"id": str(uuid4()), "amount": -7, "memo": "x", "category_id": str(uuid4())},
]


@pytest.mark.parametrize(
    "event",
    [
        _event(),
        _event(category_id=str(uuid4()), amount=0, memo=None, fitid=None),
        _event(category_id=str(uuid4()), splits=SPLITS, currency="USD"),
        _event(account_id="NOT-AN-ID"),  # no plain replacement: the pattern's way
        _event(memo=docs.mark("a", "0" * 36)),  # text that reads as a marker
    ],
)
@pytest.mark.parametrize("fitid", ["own", docs.mark("F")])
def test_transaction_documents_are_the_patterns(event: SimpleNamespace, fitid: str) -> None:
    fitid_value = event.fitid if fitid == "own" else fitid
    document = docs.transaction(event, fitid=fitid_value)
    assert document == _by_pattern(event, fitid_value)
    assert b'"\\u0001a' not in document or event.account_id == "NOT-AN-ID"
