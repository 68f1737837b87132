"""Checkpoints of PostgreSQL-backed projections (``projection_checkpoints`` table)."""

from __future__ import annotations

from collections.abc import Callable

from psycopg import Connection
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool


class PostgresCheckpoint:
    """The checkpoint row of one projection; locked and compare-and-set in the batch txn."""

    def __init__(self, pool: ConnectionPool, schema: str, name: str) -> None:
        self.pool, self.name, self.schema = pool, name, schema
        # One lock per (schema, projection): a rebuild in a staging schema never waits
        # on the live projection, and the switch can hold the live one.
        self.lock_key = f"projection:{schema}.{name}"
        s = Identifier(schema)
        self._ensure = SQL(
            "INSERT INTO {}.projection_checkpoints (name) VALUES (%s) ON CONFLICT DO NOTHING"
        ).format(s)
        self._read = SQL(
            "SELECT position, status FROM {}.projection_checkpoints WHERE name = %s"
        ).format(s)
        self._cas = SQL(
            "UPDATE {}.projection_checkpoints SET position = %s, updated_at = now() "
            "WHERE name = %s AND position = %s"
        ).format(s)
        self._fail = SQL(
            "UPDATE {}.projection_checkpoints SET status = 'failed', poison_position = %s, "
            "error = %s, updated_at = now() WHERE name = %s"
        ).format(s)
        self._record_failure = SQL(
            "INSERT INTO {}.projection_failures (name, position, topic, error) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (name, position) DO UPDATE SET error = "
            "EXCLUDED.error, failed_at = now()"
        ).format(s)
        self._lock_key = SQL("SELECT pg_try_advisory_xact_lock(hashtext(%s))")
        self._failure = SQL(
            "SELECT poison_position, error FROM {}.projection_checkpoints "
            "WHERE name = %s AND status = 'failed'"
        ).format(s)
        self._reset = SQL(
            "UPDATE {}.projection_checkpoints SET position = %s, status = 'running', "
            "poison_position = NULL, error = NULL, updated_at = now() WHERE name = %s"
        ).format(s)
        with pool.connection() as conn:
            conn.execute(self._ensure, (name,))

    def read(self) -> tuple[int, str]:
        with self.pool.connection() as conn:
            row = conn.execute(self._read, (self.name,)).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, "running")

    def lock(self, conn: Connection[tuple[object, ...]]) -> bool:
        """Take this projection's transaction-scoped lock without waiting."""
        row = conn.execute(self._lock_key, (self.lock_key,)).fetchone()
        return bool(row and row[0])

    def hold(self, conn: Connection[tuple[object, ...]]) -> None:
        """Wait for this projection's lock (the live workers then skip until commit)."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.lock_key,))

    def reset(self, conn: Connection[tuple[object, ...]], position: int) -> None:
        """Point the projection at ``position``, running (used when a rebuild is promoted)."""
        conn.execute(self._reset, (position, self.name))

    def failure(self) -> tuple[int, str] | None:
        with self.pool.connection() as conn:
            row = conn.execute(self._failure, (self.name,)).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def advance(self, conn: Connection[tuple[object, ...]], expected: int, to: int) -> bool:
        """Compare-and-set the position inside the caller's transaction."""
        return conn.execute(self._cas, (to, self.name, expected)).rowcount == 1

    def commit_batch(
        self, expected: int, upto: int, write: Callable[[Connection[tuple[object, ...]]], None]
    ) -> bool:
        """Lock, compare-and-set the position to ``upto``, then ``write``: one transaction.

        Returns False, with nothing applied, when another worker holds the lock or has
        already moved the checkpoint past ``expected`` (it will carry on from there). The
        compare-and-set comes first so that a batch someone else already applied is never
        written again: writes are plain COPYs and INSERTs, which would fail on it.
        """
        with self.pool.connection() as conn, conn.transaction():
            if not self.lock(conn) or not self.advance(conn, expected, upto):
                return False
            write(conn)  # an error here rolls the position back with the batch
        return True

    def fail(self, position: int, topic: str, error: str) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(self._record_failure, (self.name, position, topic, error))
            conn.execute(self._fail, (position, error, self.name))
