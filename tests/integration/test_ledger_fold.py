"""``ledger_tables`` folds a batch (new transactions COPYed, amended and deleted in
memory, cascades ordered): the result must be that of applying each event on its own."""

from __future__ import annotations

import httpx
import psycopg
from psycopg.sql import SQL, Identifier

from shared.eventstore import Ledger
from shared.settings import Settings
from tests.integration.helpers import Provisioned
from tests.integration.projection_helpers import clean_build, snapshot
from tests.integration.read_helpers import create_account, create_category, delete, record


def _amend(api: httpx.Client, user: Provisioned, txn: str, value: int, **body: object) -> None:
    response = api.put(
        f"/api/transactions/{txn}",
        json={"amount": {"value": value, "currency": "BRL"}, "date": "2025-02-01", **body},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text


def test_one_batch_equals_one_event_at_a_time(
    api: httpx.Client, settings: Settings, ledger: Ledger, user: Provisioned
) -> None:
    start = ledger.head()
    account = create_account(api, user)["id"]
    category = create_category(api, user)["id"]
    t1 = record(api, user, account, 100, category_id=category)
    t2 = record(api, user, account, -50)
    _amend(api, user, t1, 120, category_id=category, memo="amended while new")
    delete(api, user, f"/api/transactions/{t2}")
    record(api, user, account, 70, category_id=category, memo="tab\there\\ and\nnewline")
    delete(api, user, f"/api/categories/{category}")  # cascades onto t1 and t3
    t4 = record(api, user, account, 5)
    _amend(api, user, t4, -6, category_id=user.categories["red"])
    closed = create_account(api, user)["id"]
    record(api, user, closed, 9)
    delete(api, user, f"/api/accounts/{closed}")  # cascades onto its transactions
    record(api, user, account, 11)
    _amend(api, user, t1, 130)  # a row of an earlier batch, when batches are small

    clean_build(settings, ledger, "fold_each", after=start, batch=1)
    clean_build(settings, ledger, "fold_all", after=start, batch=10_000)
    each, folded = snapshot(settings, "fold_each"), snapshot(settings, "fold_all")
    assert each == folded
    assert len(each["transactions"]) == 4  # t1, t3, t4 and the last one
    assert [row for row in each["accounts"] if str(row[0]) == closed] == []
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        memo = conn.execute(
            SQL("SELECT memo, category_id FROM {}.transactions WHERE amount = 70").format(
                Identifier("fold_all")
            )
        ).fetchone()
        for schema in ("fold_each", "fold_all"):
            conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(schema)))
    assert memo == ("tab\there\\ and\nnewline", None)
