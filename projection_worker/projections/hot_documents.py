"""The hot read model's documents: each resource's JSON, rendered once when its event is
projected, with markers where a part changes on its own (an account's balance, a
category renamed) and is filled in when read (``shared.contracts.MARK``).

The shapes come from ``shared.resources``, so a document here is byte for byte what the
query side would render from the PostgreSQL read model.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from shared import resources
from shared.contracts import MARK
from shared.domain.money import Currency

# orjson writes the marker character inside a JSON string as \u0001: the quoted marker
# becomes the bare marker (a control character never appears raw in orjson's output).
_QUOTED_MARK = re.compile(rb'"\\u0001([A-Za-z])([0-9a-f-]*)"')
_QUOTED_PREFIX = b'"\\u0001'


def mark(kind: str, ref: object = "") -> str:
    return f"{MARK}{kind}{ref}"


# A marker the pattern above unquotes (its kind letter, then an id's characters).
_MARK = re.compile("\x01[A-Za-z][0-9a-f-]*")


def template(body: Any, marks: tuple[str | None, ...] = ()) -> bytes:
    """``body`` as JSON, its markers unquoted. ``marks``: markers the body holds, each
    unquoted by a plain replacement (a fraction of the pattern's scan of the whole
    document); the pattern finds any other."""
    raw = orjson.dumps(body)
    for marker in marks:
        if marker is not None and _MARK.fullmatch(marker):
            raw = raw.replace(orjson.dumps(marker), marker.encode())
    if _QUOTED_PREFIX in raw:
        raw = _QUOTED_MARK.sub(b"\x01\\1\\2", raw)
    return raw


def category_ref(category_id: str | None) -> str | None:
    return None if category_id is None else mark("c", category_id)


def transaction(e: Any, *, fitid: Any) -> bytes:
    return template(*transaction_body(e, fitid=fitid))


def transaction_body(e: Any, *, fitid: Any) -> tuple[Any, tuple[str | None, ...]]:
    """The transaction resource with its markers, and the markers to unquote by plain
    replacement (split categories and a fitid marker, rarer, are left to the pattern)."""
    currency = Currency(e.currency)
    category, account = category_ref(e.category_id), mark("a", e.account_id)
    splits = [
        resources.split_shape(
            id=s["id"],
            amount=s["amount"],
            currency=currency,
            memo=s["memo"],
            category=category_ref(s["category_id"]),
        )
        for s in e.splits
    ]
    body = resources.transaction_shape(
        id=str(e.originator_id),
        amount=e.amount,
        currency=currency,
        fitid=fitid,
        memo=e.memo,
        date=e.date,
        category=category,
        account=account,
        splits=splits,
    )
    return body, (account, category)


def account(e: Any) -> bytes:
    return template(
        resources.account_shape(
            id=str(e.originator_id),
            name=e.name,
            number=e.number,
            balance=mark("B"),
            currency=mark("Y") if getattr(e, "currency", None) is None else e.currency,
            type=e.type,
            bank=mark("k", e.bank_id),
        )
    )


def category(e: Any) -> bytes:
    return orjson.dumps(
        {
            "id": str(e.originator_id),
            "name": e.name,
            "color": e.color,
            "description": e.description,
            "is_default": e.is_default,
        }
    )


def budget(budget_id: str, name: str, category_id: str | None, currency: str | None) -> bytes:
    """``category_id`` or ``currency`` None: the stored one (a rename or a reopening does
    not carry them; the write fills them in from the budget's hash)."""
    return template(
        resources.budget_shape(
            id=budget_id,
            name=name,
            currency=mark("Y") if currency is None else currency,
            category=mark("C") if category_id is None else mark("c", category_id),
        )
    )


def bank(e: Any) -> bytes:
    return orjson.dumps({"id": str(e.originator_id), "code": e.code, "name": e.name})
