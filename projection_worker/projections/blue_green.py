"""Blue-green rebuilds of PostgreSQL read models: build beside, then swap in one commit.

A rebuild fills the projection's tables in a staging schema from position 0 while the
live tables keep serving and updating. The promotion then, in ONE transaction, takes the
live projection's lock (live workers skip meanwhile), lets the staging copy apply the
last events, moves the live tables out and the staging tables in (``SET SCHEMA``), and
points the live checkpoint at the staging position. Readers wait a few milliseconds on
the table locks and never see a half-built read model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Self

import psycopg
from psycopg.sql import SQL, Identifier, Literal
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from projection_worker.projections.checkpoints import PostgresCheckpoint, Write
from projection_worker.runner import Parked, ProjectionState, split_held
from shared.adapters.readmodel_schema import readmodel_ddl


def staging_schema(live_schema: str, name: str) -> str:
    return f"{live_schema}_rebuild_{name}"


def schema_exists(pool: ConnectionPool, schema: str) -> bool:
    with pool.connection() as conn:
        row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


def create_schema(pool: ConnectionPool, schema: str) -> None:
    with pool.connection() as conn, conn.transaction():
        for statement in readmodel_ddl(schema):
            conn.execute(statement)


def drop_indexes(pool: ConnectionPool, schema: str, names: Sequence[str]) -> None:
    """Bulk loads go faster without these; ``create_schema`` puts them back (a sorted
    build, faster than growing them row by row) before the copy serves any read."""
    with pool.connection() as conn, conn.transaction():
        for name in names:
            conn.execute(
                SQL("DROP INDEX IF EXISTS {}.{}").format(Identifier(schema), Identifier(name))
            )


def drop_schema(pool: ConnectionPool, schema: str) -> None:
    with pool.connection() as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))


SWAP_LOCK_TIMEOUT = "100ms"
SWAP_ATTEMPTS = 200


def promote(
    live: PostgresCheckpoint,
    staging: PostgresCheckpoint,
    tables: Sequence[str],
    settle: Callable[[], None],
) -> None:
    """Swap ``tables`` of the staging schema into the live one, atomically.

    Readers lock the tables they join in their own order, so the swap could deadlock
    with a query and PostgreSQL would kill one of them. Instead the swap waits at most
    ``SWAP_LOCK_TIMEOUT`` for its locks and, if it cannot have them all, rolls back and
    tries again: queries are never aborted, only held back for a moment.
    """
    retired = f"{live.schema}_retired_{live.name}"
    for _ in range(SWAP_ATTEMPTS):
        drop_schema(live.pool, retired)
        try:
            _swap(live, staging, tables, settle, retired)
            break
        except psycopg.errors.LockNotAvailable:
            time.sleep(0.01)
    else:
        raise RuntimeError(f"could not swap {live.name} in: its tables stayed busy")
    drop_schema(live.pool, retired)
    drop_schema(live.pool, staging.schema)


def _swap(
    live: PostgresCheckpoint,
    staging: PostgresCheckpoint,
    tables: Sequence[str],
    settle: Callable[[], None],
    retired: str,
) -> None:
    with live.pool.connection() as conn, conn.transaction():
        live.hold(conn)
        settle()  # the staging copy applies what was written meanwhile (own connection)
        conn.execute(SQL("SET LOCAL lock_timeout = {}").format(Literal(SWAP_LOCK_TIMEOUT)))
        conn.execute(
            SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                SQL(", ").join(
                    SQL("{}.{}").format(Identifier(live.schema), Identifier(t)) for t in tables
                )
            )
        )
        conn.execute(SQL("CREATE SCHEMA {}").format(Identifier(retired)))
        for table in tables:
            conn.execute(
                SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                    Identifier(live.schema), Identifier(table), Identifier(retired)
                )
            )
            conn.execute(
                SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                    Identifier(staging.schema), Identifier(table), Identifier(live.schema)
                )
            )
        live.take_over(conn, staging)


class PostgresBlueGreen:
    """A projection whose tables live in one read-model schema: batches, parking and
    blue-green rebuilds.

    Subclasses set ``TABLES`` and implement ``clone(schema)``, ``handles(event)`` and
    ``writer(items)`` (the writes that apply ``items``, in order, in a transaction).
    """

    name: str
    store = "postgres"
    TABLES: tuple[str, ...] = ()
    # Indexes a rebuild builds only at the end: those no statement of the projection
    # itself needs (the ones its cascades look rows up by must stay).
    DEFERRED_INDEXES: tuple[str, ...] = ()
    pool: ConnectionPool
    cp: PostgresCheckpoint

    def clone(self, schema: str) -> Self:
        raise NotImplementedError

    def handles(self, event: object) -> bool:
        raise NotImplementedError

    def writer(self, items: Sequence[Positioned]) -> Write:
        raise NotImplementedError

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        live, held = split_held(batch, expected.parked, self.handles)
        return self.cp.commit_batch(expected, batch[-1].position, self.writer(live), held)

    def release(self, item: Positioned) -> bool:
        return self.cp.release(item, self.writer([item]))

    def _staging_name(self) -> str:
        return staging_schema(self.cp.schema, self.name)

    def staging_position(self) -> int | None:
        """The rebuild's position, if a rebuild is under way (or was interrupted)."""
        schema = self._staging_name()
        if not schema_exists(self.pool, schema):
            return None
        try:
            return self.clone(schema).cp.read()
        except psycopg.Error:
            return None

    def staging(self, *, restart: bool = False) -> Self:
        schema = self._staging_name()
        if restart:
            drop_schema(self.pool, schema)
        if not schema_exists(self.pool, schema):
            create_schema(self.pool, schema)
            drop_indexes(self.pool, schema, self.DEFERRED_INDEXES)
        return self.clone(schema)

    def promote(self, staging: Self, settle: Callable[[], None]) -> None:
        create_schema(self.pool, staging.cp.schema)  # the indexes dropped for the bulk load
        promote(self.cp, staging.cp, self.TABLES, settle)

    def discard_staging(self) -> None:
        drop_schema(self.pool, self._staging_name())

    def state(self) -> ProjectionState:
        return self.cp.state()

    def checkpoint(self) -> int:
        return self.cp.read()

    def park(self, item: Positioned, error: str, expected: ProjectionState) -> bool:
        return self.cp.park(item, error, expected)

    def parked(self) -> list[Parked]:
        return self.cp.parked()

    def repark(self, position: int, error: str) -> None:
        self.cp.repark(position, error)

    def quarantine(self, position: int, reason: str) -> bool:
        return self.cp.quarantine(position, reason)
