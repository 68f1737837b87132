"""``valorize migrate``: the only place tables are created, and reference data seeded.

Serving processes never create tables: concurrent cold starts racing on CREATE TABLE fail
with "tuple concurrently updated". Migrations hold an advisory lock, so running several
at once (e.g. two deploys) is safe.
"""

from __future__ import annotations

import logging

import psycopg
from eventsourcing.persistence import IntegrityError

from shared.adapters.eventstore import Ledger, open_ledger
from shared.adapters.readmodel_schema import auth_tokens_ddl, readmodel_ddl
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
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK + 1,))
    logger.info("migrated event store and read models")


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
