"""Checkpoints and parked events of PostgreSQL-backed projections.

A batch commits in ONE transaction: the projection's advisory lock, a compare-and-set of
the checkpoint row on (position, parked_version), the rows of events held behind a parked
one, and the read model's own writes. Parking, releasing and quarantining take the same
lock and bump ``parked_version``, so a batch that chose its held events before a park or
release can never commit after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from psycopg import Connection
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from projection_worker.runner import Parked, ProjectionState, partition_of
from shared.contracts import (
    CHECKPOINTS_TABLE,
    PARKED_TABLE,
    QUARANTINE_TABLE,
    projection_lock_key,
)

Conn = Connection[tuple[object, ...]]
Write = Callable[[Conn], None]


class _Sql:
    def __init__(self, schema: str) -> None:
        s, c = Identifier(schema), Identifier(CHECKPOINTS_TABLE)
        p, q = Identifier(PARKED_TABLE), Identifier(QUARANTINE_TABLE)

        def f(text: str) -> Composed:
            return SQL(text).format(s=s, c=c, p=p, q=q)

        self.ensure = f("INSERT INTO {s}.{c} (name) VALUES (%s) ON CONFLICT DO NOTHING")
        self.state = f(
            "SELECT c.position, c.parked_version, ARRAY(SELECT DISTINCT partition "
            "FROM {s}.{p} WHERE name = c.name) FROM {s}.{c} c WHERE c.name = %s"
        )
        self.cas = f(
            "UPDATE {s}.{c} SET position = %s, updated_at = now() "
            "WHERE name = %s AND position = %s AND parked_version = %s"
        )
        self.park_cas = f(
            "UPDATE {s}.{c} SET position = %s, parked_version = parked_version + 1, "
            "updated_at = now() WHERE name = %s AND position = %s AND parked_version = %s"
        )
        self.bump = f("UPDATE {s}.{c} SET parked_version = parked_version + 1 WHERE name = %s")
        self.hold = f(
            "INSERT INTO {s}.{p} (name, position, partition, topic, error) "
            "VALUES (%s, %s, %s, %s, %s)"
        )
        self.parked = f(
            "SELECT position, partition, topic, error FROM {s}.{p} WHERE name = %s "
            "ORDER BY partition, position"
        )
        self.head = f(
            "SELECT position, partition, topic, error FROM {s}.{p} "
            "WHERE name = %s AND partition = %s ORDER BY position LIMIT 1"
        )
        self.unpark = f("DELETE FROM {s}.{p} WHERE name = %s AND position = %s")
        self.left = f("SELECT 1 FROM {s}.{p} WHERE name = %s AND partition = %s LIMIT 1")
        self.repark = f("UPDATE {s}.{p} SET error = %s WHERE name = %s AND position = %s")
        self.audit = f(
            "INSERT INTO {s}.{q} (name, position, partition, topic, error, reason) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name, position) DO NOTHING"
        )
        self.reset = f(
            "UPDATE {s}.{c} SET position = %s, parked_version = parked_version + 1, "
            "updated_at = now() WHERE name = %s"
        )
        self.clear_parked = f("DELETE FROM {s}.{p} WHERE name = %s")
        self.copy_parked = SQL(
            "INSERT INTO {s}.{p} (name, position, partition, topic, error, parked_at) "
            "SELECT name, position, partition, topic, error, parked_at FROM {staging}.{p} "
            "WHERE name = %s"
        )
        self.schema = s


class PostgresCheckpoint:
    """The checkpoint row and parked events of one projection in one schema."""

    def __init__(self, pool: ConnectionPool, schema: str, name: str) -> None:
        self.pool, self.name, self.schema = pool, name, schema
        # One lock per (schema, projection): a rebuild in a staging schema never waits
        # on the live projection, and the switch can hold the live one.
        self.lock_key = projection_lock_key(schema, name)
        self.sql = _Sql(schema)
        with pool.connection() as conn:
            conn.execute(self.sql.ensure, (name,))

    def state(self) -> ProjectionState:
        with self.pool.connection() as conn:
            row = conn.execute(self.sql.state, (self.name,), prepare=True).fetchone()
        if row is None:
            return ProjectionState(0)
        position, version, parked = row
        assert isinstance(parked, list)
        return ProjectionState(int(str(position)), frozenset(parked), int(str(version)))

    def read(self) -> int:
        return self.state().position

    def lock(self, conn: Conn) -> bool:
        """Take this projection's transaction-scoped lock without waiting."""
        row = conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", (self.lock_key,))
        found = row.fetchone()
        return bool(found and found[0])

    def hold(self, conn: Conn) -> None:
        """Wait for this projection's lock (the live workers then skip until commit)."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.lock_key,))

    def commit_batch(
        self,
        expected: ProjectionState,
        upto: int,
        write: Write,
        held: Sequence[Positioned] = (),
    ) -> bool:
        """Lock, compare-and-set the checkpoint to ``upto``, record ``held``, ``write``:
        one transaction.

        Returns False, with nothing applied, when another worker holds the lock or the
        state is no longer ``expected``. The compare-and-set comes first so that a batch
        someone else already applied is never written again: writes are plain COPYs and
        INSERTs, which would fail on it.
        """
        with self.pool.connection() as conn, conn.transaction():
            if not self.lock(conn):
                return False
            cas = (upto, self.name, expected.position, expected.version)
            if conn.execute(self.sql.cas, cas).rowcount != 1:
                return False
            self._hold(conn, held, None)
            write(conn)  # an error here rolls the checkpoint back with the batch
        return True

    def park(self, item: Positioned, error: str, expected: ProjectionState) -> bool:
        with self.pool.connection() as conn, conn.transaction():
            if not self.lock(conn):
                return False
            cas = (item.position, self.name, expected.position, expected.version)
            if conn.execute(self.sql.park_cas, cas).rowcount != 1:
                return False
            self._hold(conn, [item], error)
        return True

    def _hold(self, conn: Conn, items: Sequence[Positioned], error: str | None) -> None:
        if items:
            rows = [(self.name, i.position, partition_of(i.event), i.topic, error) for i in items]
            with conn.cursor() as cur:
                cur.executemany(self.sql.hold, rows)

    def parked(self) -> list[Parked]:
        with self.pool.connection() as conn:
            rows = conn.execute(self.sql.parked, (self.name,)).fetchall()
        return [Parked(int(str(r[0])), str(r[1]), str(r[2]), _opt(r[3])) for r in rows]

    def _head(self, conn: Conn, partition: str) -> Parked | None:
        row = conn.execute(self.sql.head, (self.name, partition)).fetchone()
        return (
            None
            if row is None
            else Parked(int(str(row[0])), str(row[1]), str(row[2]), _opt(row[3]))
        )

    def _unpark(self, conn: Conn, head: Parked) -> None:
        conn.execute(self.sql.unpark, (self.name, head.position))
        if conn.execute(self.sql.left, (self.name, head.partition)).fetchone() is None:
            conn.execute(self.sql.bump, (self.name,))  # the partition flows again

    def release(self, item: Positioned, write: Write) -> bool:
        """Apply a parked head (``write``) and unpark it, under the lock (waited for)."""
        partition = partition_of(item.event)
        with self.pool.connection() as conn, conn.transaction():
            self.hold(conn)
            head = self._head(conn, partition)
            if head is None or head.position != item.position:
                return False
            write(conn)
            self._unpark(conn, head)
        return True

    def repark(self, position: int, error: str) -> None:
        with self.pool.connection() as conn:
            conn.execute(self.sql.repark, (error, self.name, position))

    def quarantine(self, position: int, reason: str) -> bool:
        with self.pool.connection() as conn, conn.transaction():
            self.hold(conn)
            head = _head_at(self.parked_in(conn), position)
            if head is None:
                return False  # only a partition's head (its poison) is quarantined
            conn.execute(
                self.sql.audit,
                (self.name, position, head.partition, head.topic, head.error, reason),
            )
            self._unpark(conn, head)
        return True

    def parked_in(self, conn: Conn) -> list[Parked]:
        rows = conn.execute(self.sql.parked, (self.name,)).fetchall()
        return [Parked(int(str(r[0])), str(r[1]), str(r[2]), _opt(r[3])) for r in rows]

    def reset(self, conn: Conn, position: int) -> None:
        """Point the projection at ``position`` with nothing parked (a fresh build)."""
        conn.execute(self.sql.clear_parked, (self.name,))
        conn.execute(self.sql.reset, (position, self.name))

    def take_over(self, conn: Conn, staging: PostgresCheckpoint) -> None:
        """Point the live checkpoint at the staging one's position and parked events
        (a rebuild's promotion, inside its transaction)."""
        position = staging.state().position
        conn.execute(self.sql.clear_parked, (self.name,))
        conn.execute(
            self.sql.copy_parked.format(
                s=self.sql.schema,
                p=Identifier(PARKED_TABLE),
                staging=Identifier(staging.schema),
            ),
            (self.name,),
        )
        conn.execute(self.sql.reset, (position, self.name))


def _head_at(parked: Sequence[Parked], position: int) -> Parked | None:
    """The parked event at ``position`` if it heads its partition, else None."""
    found = next((p for p in parked if p.position == position), None)
    if found is None:
        return None
    first = min(p.position for p in parked if p.partition == found.partition)
    return found if first == position else None


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
