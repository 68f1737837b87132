"""The PostgreSQL recorder behind the ledger: one round trip per append, one reader-safe order.

The library's recorder appends in a client-driven transaction (BEGIN, lock, NOTIFY, INSERT,
then COMMIT after the results come back), so its ``EXCLUSIVE`` table lock is held across a
network round trip as well as the WAL flush. ``ValorizeRecorder`` keeps the lock (it is what
lets a tailing reader never pass a gap that fills later) but takes it inside one server-side
function called in autocommit mode: the lock is held only for the server's insert and the
commit's flush, never while a packet is on the wire. That is what bounds the store's write
ceiling (see ``scenarios/bench_writes.py``, which measures it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from shared.built import built

AUTH_TOKENS_TABLE = "auth_tokens"
APPEND_FUNCTION = "valorize_append"


def notification(
    position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> Notification:
    """``Notification(...)`` for a quarter of the cost (``built``): the worker builds one
    per event it reads, in each of its processes."""
    return built(
        Notification,
        {
            "originator_id": originator_id,
            "originator_version": version,
            "topic": topic,
            "state": state,
            "id": position,
        },
    )


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """An auth token row written in the same transaction as its ``Token.Issued`` event."""

    token_id: UUID
    user_id: UUID
    secret_sha256: str
    expires_at: datetime | None


class ValorizeRecorder(PostgresApplicationRecorder):
    """The library's recorder, appending through ``valorize_append`` in one round trip.

    Invariants kept from the library: appends are serialised by the table lock, taken
    before any notification id is drawn and released only after the commit is durable,
    so ids become visible in id order; a second event at an existing
    ``(originator_id, originator_version)`` fails the whole append (optimistic
    concurrency). Plus one of ours: auth tokens are an *inline* projection, written in
    the append's transaction (issue and revocation alike), so a token works on every
    service the moment its 201 is returned, and a revocation is in the row the moment it
    is acknowledged. Everything else is projected asynchronously by projection_worker.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        function = SQL("{}.{}").format(schema, Identifier(APPEND_FUNCTION))
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {function}("
                " originator_ids uuid[], versions bigint[], topics text[], states bytea[],"
                " token_ids uuid[], token_users uuid[], token_secrets text[],"
                " token_expiries timestamptz[], revoked_ids uuid[])"
                " RETURNS SETOF bigint LANGUAGE plpgsql AS $$"
                " BEGIN"
                "  PERFORM set_config('lock_timeout', '{lock_timeout}s', true);"
                "  IF cardinality(token_ids) > 0 THEN"
                "   INSERT INTO {schema}.{tokens} (id, user_id, secret_sha256, expires_at)"
                "   SELECT * FROM unnest(token_ids, token_users, token_secrets, token_expiries);"
                "  END IF;"
                "  IF cardinality(revoked_ids) > 0 THEN"
                "   UPDATE {schema}.{tokens} SET revoked_at = now()"
                "   WHERE id = ANY(revoked_ids) AND revoked_at IS NULL;"
                "  END IF;"
                # Before the first nextval: ids are drawn and committed one append at a time.
                "  LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE;"
                "  RETURN QUERY INSERT INTO {schema}.{events}"
                "   (originator_id, originator_version, topic, state)"
                "   SELECT * FROM unnest(originator_ids, versions, topics, states)"
                "   RETURNING notification_id;"
                " END $$"
            ).format(
                function=function,
                lock_timeout=datastore.lock_timeout,
                schema=schema,
                tokens=Identifier(AUTH_TOKENS_TABLE),
                events=Identifier(self.events_table_name),
            )
        )
        # Binary parameters (%b): psycopg's text dumping of a bytea[] escaped every byte
        # of every state in Python, about 14 us per event, the recorder's largest cost.
        self.append_statement = SQL(
            "SELECT {}(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[],"
            " %b::uuid[], %b::uuid[], %b::text[], %b::timestamptz[], %b::uuid[])"
        ).format(function)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Append atomically (with any ``token_grants`` and ``token_revocations``); the
        events' ids, in their order.

        The call is a single statement on an autocommit connection: when it returns the
        transaction has committed, so the ids handed back are durable and final.
        """
        if not stored_events:
            return None
        grants: Sequence[TokenGrant] = kwargs.get("token_grants", ())
        revocations: Sequence[UUID] = kwargs.get("token_revocations", ())
        params = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
            [g.token_id for g in grants],
            [g.user_id for g in grants],
            [g.secret_sha256 for g in grants],
            [g.expires_at for g in grants],
            list(revocations),
        )
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(binary=True, row_factory=tuple_row) as curs,
        ):
            curs.execute(self.append_statement, params, prepare=True)
            # Rows are inserted, and so numbered, in the order given.
            return sorted(row[0] for row in curs.fetchall())

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates, each aggregate's in version order: one
        round trip for what a command checks (an account, its categories), where the
        library's repository makes one per aggregate."""
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {}.{} "
            "WHERE originator_id = ANY(%b::uuid[]) ORDER BY originator_id, originator_version"
        ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(binary=True, row_factory=tuple_row) as curs,
        ):
            curs.execute(statement, (list(originator_ids),), prepare=True)
            rows = curs.fetchall()
        return [
            StoredEvent(originator_id=o, originator_version=v, topic=t, state=s)
            for o, v, t, s in rows
        ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's query, fetched as binary tuples instead of dict rows: about five
        times the rows per second, which rebuilds reading millions of events live on."""
        conditions: list[SQL] = []
        params: list[object] = []
        if start is not None:
            conditions.append(
                SQL("notification_id >= %s" if inclusive_of_start else "notification_id > %s")
            )
            params.append(start)
        if stop is not None:
            conditions.append(SQL("notification_id <= %s"))
            params.append(stop)
        if topics:
            conditions.append(SQL("topic = ANY(%s)"))
            params.append(list(topics))
        params.append(limit)
        statement: Composed = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {}.{}{} ORDER BY notification_id LIMIT %s"
        ).format(
            Identifier(self.datastore.schema),
            Identifier(self.events_table_name),
            SQL(" WHERE ") + SQL(" AND ").join(conditions) if conditions else SQL(""),
        )
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(binary=True, row_factory=tuple_row) as curs,
        ):
            curs.execute(statement, params, prepare=True)
            rows = curs.fetchall()
        return [
            notification(position, originator_id, version, topic, state)
            for position, originator_id, version, topic, state in rows
        ]
