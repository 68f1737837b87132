"""Automatic categorization over HTTP (issue 16.5): ``PUT /api/settings/categorization``
sets a user's threshold (off by default), and the projection worker then applies the
best suggestion of each newly recorded uncategorized transaction that reaches it, once,
as a ``Transaction.Amended`` whose ``categorized_by`` says so; never for a user who did
not opt in, never over a category the user chose.

The worker applies after ``memo_vectors`` (which lags the write): tests poll the read.
A barrier proves the worker had its chance: batches are applied in order, so once a
later transaction of an opted-in user is categorized, every earlier one was considered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from projection_worker.auto_categorize import AutoCategorizer
from projection_worker.feed import Positioned
from shared.adapters.eventstore import Ledger
from shared.adapters.wiring import readmodel_pool
from shared.categorize import Categorizer
from shared.contracts import POSITION_HEADER
from shared.domain.transactions import Transaction
from shared.settings import Settings
from tests.integration import helpers
from tests.integration import read_helpers as rh
from tests.integration.helpers import Provisioned, assert_validation

RIDE = "PAG*UBER TRIP SAO PAULO"
SETTING = "/api/settings/categorization"


def _set(api: httpx.Client, user: Provisioned, threshold: Any) -> httpx.Response:
    return api.put(SETTING, json={"auto_apply_threshold": threshold}, headers=user.headers)


def _opt_in(api: httpx.Client, user: Provisioned, threshold: float = 0.5) -> None:
    response = _set(api, user, threshold)
    assert response.status_code == 200, response.text
    assert response.json() == {"auto_apply_threshold": threshold}
    # Read back (read-your-writes): the profile shows it.
    assert rh.get_json(api, user, "/api/settings/profile")["auto_apply_threshold"] == threshold


def _record(
    api: httpx.Client, ledger: Ledger, user: Provisioned, memo: str = RIDE, **kwargs: Any
) -> Positioned:
    """Record a transaction; its ``Transaction.Recorded`` as the worker got it."""
    response = rh.create_transaction(api, user, user.account_id, -2350, memo=memo, **kwargs)
    position, txn_id = int(response.headers[POSITION_HEADER]), response.json()["id"]
    (event,) = [
        e
        for e in helpers.events_between(ledger, position - 1, position)
        if isinstance(e, Transaction.Recorded) and str(e.originator_id) == txn_id
    ]
    return Positioned(position, "", event)


def _category(api: httpx.Client, user: Provisioned, txn_id: str) -> str | None:
    txn = rh.get_json(api, user, f"/api/transactions/{txn_id}")
    return None if txn["category"] is None else str(txn["category"]["id"])


def _history(ledger: Ledger, txn_id: Any) -> list[Any]:
    return list(ledger.events.get(txn_id))


def _categorized(api: httpx.Client, user: Provisioned, txn_id: str, category: str) -> None:
    rh.poll(lambda: _category(api, user, txn_id) == category, timeout=15)


@pytest.fixture
def applier(settings: Settings, ledger: Ledger) -> Iterator[AutoCategorizer]:
    """A second applier, as a redelivery (or another worker) would run it."""
    pool = readmodel_pool(settings, max_size=2)
    try:
        yield AutoCategorizer(ledger, pool, settings.readmodel_schema, Categorizer())
    finally:
        pool.close()


# --- the setting ----------------------------------------------------------------------------


def test_the_threshold_is_off_by_default_set_and_shown_in_the_profile(
    api: httpx.Client, user: Provisioned
) -> None:
    assert rh.get_json(api, user, "/api/settings/profile")["auto_apply_threshold"] is None
    _opt_in(api, user, 0.9)
    assert rh.get_json(api, user, "/api/settings/profile")["auto_apply_threshold"] == 0.9
    again = _set(api, user, None)
    assert again.status_code == 200, again.text
    assert again.json() == {"auto_apply_threshold": None}
    assert rh.get_json(api, user, "/api/settings/profile")["auto_apply_threshold"] is None


@pytest.mark.parametrize("threshold", [0.49, 0, -0.5, 1.01, 2, "0.9", True, [0.9]])
def test_a_threshold_outside_half_to_one_is_a_422(
    api: httpx.Client, user: Provisioned, threshold: Any
) -> None:
    assert_validation(_set(api, user, threshold), "auto_apply_threshold", exact=True)


def test_the_threshold_must_be_given_and_the_caller_known(
    api: httpx.Client, user: Provisioned
) -> None:
    assert_validation(api.put(SETTING, json={}, headers=user.headers), "auto_apply_threshold")
    assert api.put(SETTING, json={"auto_apply_threshold": 0.9}).status_code == 401


# --- the applier ----------------------------------------------------------------------------


def test_an_opted_in_users_ride_is_categorized_by_itself_and_says_so(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    transport = user.categories["blue"]  # the default "Transporte"
    _opt_in(api, user, 0.5)
    txn = _record(api, ledger, user).event
    _categorized(api, user, str(txn.originator_id), transport)
    _, amended = _history(ledger, txn.originator_id)
    assert isinstance(amended, Transaction.Amended)
    assert amended.category_id == transport
    assert (amended.amount, amended.memo, amended.date) == (txn.amount, txn.memo, txn.date)
    by = amended.categorized_by
    assert by is not None
    assert (by["by"], by["source"], by["threshold"]) == ("auto", "rules", 0.5)
    assert 0.5 <= by["confidence"] <= 1.0


def test_a_user_who_did_not_opt_in_keeps_it_uncategorized(
    api: httpx.Client, user: Provisioned, other: Provisioned, ledger: Ledger
) -> None:
    kept = _record(api, ledger, user).event
    _opt_in(api, other, 0.5)
    barrier = _record(api, ledger, other).event  # once it is done, ``kept`` was considered
    _categorized(api, other, str(barrier.originator_id), other.categories["blue"])
    assert _category(api, user, str(kept.originator_id)) is None
    assert len(_history(ledger, kept.originator_id)) == 1


def test_a_category_the_user_chose_is_never_overridden_and_teaches_the_next(
    api: httpx.Client, user: Provisioned, ledger: Ledger
) -> None:
    leisure = user.categories["pink"]  # the default "Lazer", not what the rules say
    _opt_in(api, user, 0.5)
    chosen = _record(api, ledger, user, category_id=leisure).event
    # The same memo again, uncategorized: the user's history now decides it (and once it
    # is done, ``chosen`` was considered).
    barrier = _record(api, ledger, user).event
    _categorized(api, user, str(barrier.originator_id), leisure)
    assert _history(ledger, barrier.originator_id)[-1].categorized_by["source"] == "history"
    assert _category(api, user, str(chosen.originator_id)) == leisure
    assert len(_history(ledger, chosen.originator_id)) == 1


def test_a_later_re_categorization_stays_and_a_redelivery_appends_nothing(
    api: httpx.Client, user: Provisioned, ledger: Ledger, applier: AutoCategorizer
) -> None:
    leisure, transport = user.categories["pink"], user.categories["blue"]
    _opt_in(api, user, 0.5)
    item = _record(api, ledger, user)
    txn_id = str(item.event.originator_id)
    _categorized(api, user, txn_id, transport)
    before = len(_history(ledger, item.event.originator_id))
    applier.after([item])  # the same batch again: version 2 now, nothing appended
    assert len(_history(ledger, item.event.originator_id)) == before == 2
    _amend(api, user, txn_id, leisure)
    applier.after([item])
    history = _history(ledger, item.event.originator_id)
    assert len(history) == 3
    assert history[-1].category_id == leisure
    assert history[-1].categorized_by is None
    assert _category(api, user, txn_id) == leisure


def test_a_change_made_before_the_applier_ran_wins(
    api: httpx.Client, user: Provisioned, ledger: Ledger, applier: AutoCategorizer
) -> None:
    """Recorded while off, changed by the user, then seen by an applier (a late batch):
    the change wins; an untouched one is categorized once, however often it is seen."""
    changed, untouched = (
        _record(api, ledger, user),
        _record(api, ledger, user, memo="UBER *TRIP HELP.UBER"),
    )
    _amend(api, user, str(changed.event.originator_id), None, memo="UBER (work)")
    _opt_in(api, user, 0.5)
    applier.after([changed, untouched])
    applier.after([changed, untouched])
    assert len(_history(ledger, changed.event.originator_id)) == 2
    assert _history(ledger, changed.event.originator_id)[-1].categorized_by is None
    done = _history(ledger, untouched.event.originator_id)
    assert len(done) == 2
    assert done[-1].categorized_by["by"] == "auto"
    assert done[-1].category_id == user.categories["blue"]


def _amend(
    api: httpx.Client,
    user: Provisioned,
    txn_id: str,
    category: str | None,
    memo: str = RIDE,
) -> None:
    body = helpers.transaction_body(
        user.account_id,
        amount={"value": -2350, "currency": "BRL"},
        date="2025-01-15T10:30:00+00:00",
        memo=memo,
        category_id=category,
    )
    response = api.put(f"/api/transactions/{txn_id}", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
