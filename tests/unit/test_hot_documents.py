"""The hot read model's documents: markers unquoted by plain replacement are exactly what
the pattern alone makes of the same resource."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import uuid4

import pytest

from projection_worker.projections import hot_documents as docs


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
@pytest.mark.parametrize("own_fitid", [True, False])
def test_transaction_documents_are_the_patterns(event: SimpleNamespace, own_fitid: bool) -> None:
    fitid = event.fitid if own_fitid else docs.mark("F")
    body = docs.transaction_body(event, fitid=fitid)[0]
    document = docs.transaction(event, fitid=fitid)
    assert document == docs.template(body)  # the pattern alone
    if event.account_id != "NOT-AN-ID":
        assert docs.mark("a", event.account_id).encode() in document  # unquoted
