"""``valorize migrate``: the only place tables are created, and reference data seeded.

Serving processes never create tables: concurrent cold starts racing on CREATE TABLE fail
with "tuple concurrently updated". Migrations hold an advisory lock, so running several
at once (e.g. two deploys) is safe.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError
from psycopg.sql import SQL, Identifier

from shared.adapters.eventstore import Ledger, open_ledger
from shared.adapters.readmodel_schema import auth_tokens_ddl, flows_build, readmodel_ddl
from shared.contracts import LEDGER_TABLES, projection_lock_key
from shared.domain.banks import BRAZILIAN_BANKS, Bank, bank_id_for
from shared.settings import Settings

logger = logging.getLogger(__name__)
MIGRATION_LOCK = 7_303_001


def migrate(settings: Settings) -> None:
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            ledger = open_ledger(settings, create_table=True)
            try:
                conn.execute(auth_tokens_ddl(settings.eventstore_schema))
                _seed_banks(ledger)
            finally:
                ledger.close()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK + 1,))
        try:
            for statement in readmodel_ddl(settings.readmodel_schema):
                conn.execute(statement)
            _backfill_flows(conn, settings.readmodel_schema)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK + 1,))
    logger.info("migrated event store and read models")


def _backfill_flows(conn: psycopg.Connection[Any], schema: str) -> None:
    """A read model that predates ``monthly_flows`` has transactions and no flows: derive
    them once, under the projection's lock (its batches wait), so the live worker goes
    on from a complete table. Later batches keep it current themselves."""
    s = Identifier(schema)
    with conn.transaction():
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            (projection_lock_key(schema, LEDGER_TABLES),),
        )
        empty = SQL(
            "SELECT NOT EXISTS (SELECT 1 FROM {s}.monthly_flows) "
            "AND EXISTS (SELECT 1 FROM {s}.transactions)"
        ).format(s=s)
        row = conn.execute(empty).fetchone()
        if row is not None and row[0]:
            for statement in flows_build(schema):
                conn.execute(statement)
            logger.info("derived monthly_flows from the existing transactions")


def _seed_banks(ledger: Ledger) -> None:
    missing = []
    for code, name in BRAZILIAN_BANKS:
        bank_id = bank_id_for(code)
        try:
            ledger.repository.get(bank_id)
        except Exception:  # AggregateNotFoundError: not seeded yet
            missing.append(Bank(id=bank_id, code=code, name=name))
    if missing:
        try:
            ledger.save(*missing)
        except IntegrityError:  # seeded concurrently by another migrator
            logger.info("banks were seeded concurrently")
