"""GET /api/transactions/{id}/suggestions: automatic categorization over HTTP (issue 16.5).

``shared.categorize`` ranks the caller's categories for a transaction's memo: cold start
(keyword rules mapped to the user's own default categories, by name), the user's history
(the ``memo_vectors`` read model) and corrections (an amended category replaces its row).
The memo_vectors projection lags the write (it is not part of read-your-writes): tests
that need history poll until the answer shows it, never sleep a fixed time.

Merchants are invented ("Zorblax", "Kovalski") so that no keyword rule knows them: what
the answer says about them can only come from the user's history.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned

SUGGESTION_KEYS = ["category", "score", "confidence", "source"]
SOURCES = {"history", "rules", "names"}


def _suggest(api: httpx.Client, user: Provisioned, txn_id: str) -> list[dict[str, Any]]:
    body = rh.get_json(api, user, f"/api/transactions/{txn_id}/suggestions")
    assert list(body) == ["data"], body
    data: list[dict[str, Any]] = body["data"]
    for item in data:
        assert list(item) == SUGGESTION_KEYS, item
        rh.assert_category_shape(item["category"])
        assert isinstance(item["confidence"], float), item
        assert 0.0 <= item["confidence"] <= 1.0, item
        assert item["score"] == item["confidence"], item
        assert item["source"] in SOURCES, item
    confidences = [item["confidence"] for item in data]
    assert confidences == sorted(confidences, reverse=True), data
    assert sum(confidences) <= 1.0 + 1e-6, data  # one distribution
    assert len({item["category"]["id"] for item in data}) == len(data), data
    return data


def _until_first(
    api: httpx.Client, user: Provisioned, txn_id: str, category_id: str, source: str
) -> list[dict[str, Any]]:
    """The suggestions once ``category_id`` leads them from ``source`` (memo_vectors lags)."""

    def probe() -> list[dict[str, Any]] | None:
        data = _suggest(api, user, txn_id)
        leads = data and data[0]["category"]["id"] == category_id
        return data if leads and data[0]["source"] == source else None

    return rh.poll(probe, timeout=15)


def _custom(api: httpx.Client, user: Provisioned, name: str, color: str) -> str:
    category_id: str = rh.create_category(api, user, name=name, color=color)["id"]
    return category_id


def _amend(api: httpx.Client, user: Provisioned, txn_id: str, memo: str, category: str) -> None:
    body = helpers.transaction_body(
        user.account_id,
        amount={"value": -4200, "currency": "BRL"},
        date="2025-02-01T10:00:00+00:00",
        memo=memo,
        category_id=category,
    )
    response = api.put(f"/api/transactions/{txn_id}", json=body, headers=user.headers)
    assert response.status_code == 200, response.text


# --- cold start ---------------------------------------------------------------------------


def test_a_new_users_ride_memo_suggests_their_transport_category_first(
    api: httpx.Client, user: Provisioned
) -> None:
    transport = user.categories["blue"]  # the default "Transporte"
    txn_id = rh.record(api, user, user.account_id, -2350, memo="PAG*UBER TRIP SAO PAULO")
    data = _suggest(api, user, txn_id)  # no history at all: no waiting for memo_vectors
    assert data, "a memo with no history neighbour still gets cold-start suggestions"
    best = data[0]
    assert best["category"] == rh.get_json(api, user, f"/api/categories/{transport}")
    assert best["source"] == "rules"
    assert best["confidence"] >= 0.5, data
    mine = set(user.categories.values())
    assert {item["category"]["id"] for item in data} <= mine


def test_a_renamed_default_category_loses_its_cold_start_suggestions(
    api: httpx.Client, user: Provisioned
) -> None:
    transport = user.categories["blue"]
    response = api.put(
        f"/api/categories/{transport}",
        json={"name": "Mobilidade", "description": None, "color": "blue", "is_default": True},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    txn_id = rh.record(api, user, user.account_id, -2350, memo="PAG*UBER TRIP SAO PAULO")
    data = _suggest(api, user, txn_id)
    assert data, "the other defaults still answer"
    assert transport not in {item["category"]["id"] for item in data}


# --- history and corrections --------------------------------------------------------------


def test_the_users_history_teaches_a_merchant_no_rule_knows(
    api: httpx.Client, user: Provisioned
) -> None:
    crafts = _custom(api, user, "Artesanato", "yellow")
    new = rh.record(api, user, user.account_id, -4200, memo="ZORBLAX ARTESAN 22/04")
    before = _suggest(api, user, new)
    assert crafts not in {item["category"]["id"] for item in before}  # cold start: a guess
    assert all(item["source"] != "history" for item in before)
    for memo in ["COMPRA CARTAO 02/01 ZORBLAX ARTESANATO SP", "PAG*ZORBLAX ARTESANATO 15/03"]:
        rh.record(api, user, user.account_id, -3100, memo=memo, category_id=crafts)
    after = _until_first(api, user, new, crafts, "history")
    assert after[0]["confidence"] >= 0.5, after


def test_a_transaction_is_not_its_own_evidence(api: httpx.Client, user: Provisioned) -> None:
    crafts = _custom(api, user, "Artesanato", "yellow")
    txn_id = rh.record(
        api, user, user.account_id, -4200, memo="ZORBLAX ARTESANATO", category_id=crafts
    )
    probe = rh.record(api, user, user.account_id, -4200, memo="ZORBLAX ARTESANATO 03/05")
    _until_first(api, user, probe, crafts, "history")  # the row is projected by now
    own = _suggest(api, user, txn_id)
    assert own, "cold start answers"
    assert all(item["source"] != "history" for item in own), own


def test_a_correction_teaches_the_next_suggestion(api: httpx.Client, user: Provisioned) -> None:
    grocer = _custom(api, user, "Mercearia", "yellow")
    pets = _custom(api, user, "Pets", "maroon")
    memo = "MERCEARIA KOVALSKI 01/02"
    first = rh.record(api, user, user.account_id, -4200, memo=memo, category_id=grocer)
    new = rh.record(api, user, user.account_id, -1800, memo="MERCEARIA KOVALSKI 05/03")
    _until_first(api, user, new, grocer, "history")
    _amend(api, user, first, memo, pets)  # the user re-categorizes: Transaction.Amended
    after = _until_first(api, user, new, pets, "history")
    assert grocer not in {item["category"]["id"] for item in after}, after


def test_a_deleted_category_in_the_history_leaves_the_cold_start_confident(
    api: httpx.Client, user: Provisioned
) -> None:
    rides = _custom(api, user, "Corridas", "yellow")
    for day in ("01", "02"):
        rh.record(api, user, user.account_id, -2000, memo=f"UBER TRIP {day}/03", category_id=rides)
    new = rh.record(api, user, user.account_id, -2350, memo="PAG*UBER TRIP SAO PAULO")
    _until_first(api, user, new, rides, "history")
    rh.delete(api, user, f"/api/categories/{rides}")
    data = _suggest(api, user, new)
    assert data[0]["category"]["id"] == user.categories["blue"], data
    # The deleted category's votes are not counted (they could never be shown).
    assert data[0]["confidence"] >= 0.5, data


# --- isolation ------------------------------------------------------------------------------


def test_another_users_history_never_leaks(
    api: httpx.Client, user: Provisioned, other: Provisioned
) -> None:
    theirs = _custom(api, other, "Artesanato", "yellow")
    memo = "PAG*ZORBLAX ARTESANATO 15/03"
    for _ in range(3):
        rh.record(api, other, other.account_id, -3100, memo=memo, category_id=theirs)
    probe = rh.record(api, other, other.account_id, -3100, memo="ZORBLAX ARTESAN 22/04")
    _until_first(api, other, probe, theirs, "history")  # their rows are projected
    mine = rh.record(api, user, user.account_id, -3100, memo="ZORBLAX ARTESAN 22/04")
    data = _suggest(api, user, mine)
    assert data, "cold start answers"
    assert all(item["source"] != "history" for item in data), data
    assert {item["category"]["id"] for item in data} <= set(user.categories.values())
