"""``ledger_tables`` folds a batch (new transactions COPYed, amended and deleted in
memory, cascades ordered): the result must be that of applying each event on its own."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from projection_worker.projections.blue_green import create_schema, drop_schema
from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.runner import Runner
from shared.adapters.eventstore import Ledger
from shared.adapters.wiring import readmodel_pool
from shared.domain.accounts import Account
from shared.domain.categories import Category
from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction
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


def _random_history(ledger: Ledger, rng: random.Random, steps: int) -> None:
    """Valid, random histories of one user: accounts, categories and transactions made,
    amended, deleted and closed in any order the domain allows."""
    user, bank = str(uuid7()), str(uuid7())
    accounts: list[Account] = []
    categories: list[Category] = []
    live: list[Transaction] = []
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.08 or not accounts:
            accounts.append(
                Account(uuid7(), user, "acc", None, rng.choice(["BRL", "USD"]), "checking", bank)
            )
            ledger.save(accounts[-1])
        elif roll < 0.14:
            categories.append(Category(uuid7(), user, "cat", None, "red", False))
            ledger.save(categories[-1])
        elif roll < 0.55 or not live:
            account = rng.choice(accounts)
            category = rng.choice([None, *categories])
            live.append(
                Transaction(
                    id=uuid7(),
                    user_id=user,
                    account_id=str(account.id),
                    category_id=None if category is None else str(category.id),
                    amount=rng.randint(-500, 500),
                    currency=account.currency.value,
                    date=datetime(2025, 1, rng.randint(1, 28), tzinfo=UTC),
                    memo=rng.choice([None, "m", "tab\tand\\"]),
                    fitid=None,
                    splits=[],
                )
            )
            ledger.save(live[-1])
        elif roll < 0.75:
            txn = rng.choice(live)
            category = rng.choice([None, *categories])
            txn.amend(
                category_id=None if category is None else str(category.id),
                amount=rng.randint(-500, 500),
                date=txn.date,
                memo="amended",
                splits=[],
            )
            ledger.save(txn)
        elif roll < 0.9:
            txn = live.pop(rng.randrange(len(live)))
            txn.delete()
            ledger.save(txn)
        elif roll < 0.95 and categories:
            category = categories.pop(rng.randrange(len(categories)))
            category.delete()
            ledger.save(category)
            for txn in live:  # what the command side leaves behind: the category is gone
                if txn.category_id == str(category.id):
                    txn.category_id = None
        elif len(accounts) > 1:
            account = accounts.pop(rng.randrange(len(accounts)))
            account.close()
            ledger.save(account)
            live = [t for t in live if t.account_id != str(account.id)]


def _apply_in_chunks(
    settings: Settings, ledger: Ledger, schema: str, after: int, size: int
) -> None:
    """Every event after ``after`` applied in batches of ``size``; a failing batch fails
    the test (the runner would hide it by going on one event at a time)."""
    pool = readmodel_pool(settings, max_size=1)
    try:
        drop_schema(pool, schema)
        create_schema(pool, schema)
        tables = LedgerTables(pool, schema)
        with pool.connection() as conn:
            tables.cp.reset(conn, after)
        events = Runner(ledger, []).read(after, 1_000_000)
        for i in range(0, len(events), size):
            chunk = events[i : i + size]
            assert tables.apply(chunk, tables.state())
    finally:
        pool.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_batching_of_a_random_history_gives_the_same_tables(
    settings: Settings, ledger: Ledger, seed: int
) -> None:
    start = ledger.head()
    _random_history(ledger, random.Random(seed), 300)
    results = []
    for size in (1, 7, 50, 10_000):
        schema = f"fold_random_{size}"
        _apply_in_chunks(settings, ledger, schema, start, size)
        results.append(snapshot(settings, schema))
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        for size in (1, 7, 50, 10_000):
            conn.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(f"fold_random_{size}")))
    assert all(result == results[0] for result in results[1:])
    assert results[0]["transactions"]  # the history left something to compare
