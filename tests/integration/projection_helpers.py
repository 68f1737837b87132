"""Helpers to compare live read models with a clean build from position 0."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.runner import Runner
from shared.adapters.eventstore import Ledger
from shared.adapters.readmodel_schema import readmodel_ddl
from shared.adapters.wiring import readmodel_pool
from shared.settings import Settings

TABLES = {
    "accounts": "id, user_id, name, number, currency, type, bank_id, balance",
    "categories": "id, user_id, name, description, color, is_default",
    "transactions": "id, user_id, account_id, category_id, amount, currency, type, date, memo",
    "budgets": "id, user_id, category_id, name, currency, deleted",
    "banks": "id, code, name",
}


def snapshot(settings: Settings, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(settings.readmodel_dsn) as conn:
        return {
            table: conn.execute(
                SQL("SELECT {} FROM {}.{} ORDER BY id").format(
                    SQL(columns), Identifier(schema), Identifier(table)
                )
            ).fetchall()
            for table, columns in TABLES.items()
        }


def clean_build(
    settings: Settings, ledger: Ledger, schema: str, *, after: int = 0, batch: int = 500
) -> None:
    """Project every event after ``after`` (default: all) into a fresh schema."""
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))
        for statement in readmodel_ddl(schema):
            conn.execute(statement)
    pool = readmodel_pool(settings, max_size=2)
    try:
        tables = LedgerTables(pool, schema)
        if after:
            with pool.connection() as conn:
                conn.execute(
                    SQL(
                        "UPDATE {}.projection_checkpoints SET position = %s WHERE name = %s"
                    ).format(Identifier(schema)),
                    (after, tables.name),
                )
        Runner(ledger, [tables], batch=batch).catch_up()
    finally:
        pool.close()


def checkpoint(settings: Settings, name: str = "ledger_tables", schema: str = "readmodel") -> int:
    with psycopg.connect(settings.readmodel_dsn) as conn:
        row = conn.execute(
            SQL("SELECT position FROM {}.projection_checkpoints WHERE name = %s").format(
                Identifier(schema)
            ),
            (name,),
        ).fetchone()
    return int(row[0]) if row else 0


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def unbalanced_accounts(settings: Settings, schema: str = "readmodel") -> list[tuple[Any, ...]]:
    """Accounts whose balance differs from the sum of their transactions (should be none)."""
    with psycopg.connect(settings.readmodel_dsn) as conn:
        return conn.execute(
            SQL(
                "SELECT a.id, a.balance, COALESCE(SUM(t.amount), 0) FROM {s}.accounts a "
                "LEFT JOIN {s}.transactions t ON t.account_id = a.id GROUP BY a.id, a.balance "
                "HAVING a.balance <> COALESCE(SUM(t.amount), 0)"
            ).format(s=Identifier(schema))
        ).fetchall()


def checkpoint_only_schema(settings: Settings, schema: str, name: str, position: int) -> None:
    """A fresh read-model schema whose only row is projection ``name``'s checkpoint."""
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))
        for statement in readmodel_ddl(schema):
            conn.execute(statement)
        conn.execute(
            SQL("INSERT INTO {}.projection_checkpoints (name, position) VALUES (%s, %s)").format(
                Identifier(schema)
            ),
            (name, position),
        )
