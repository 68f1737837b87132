"""The event store: one eventsourcing Application over PostgreSQL, and its wiring.

Every aggregate lives in this one application so that all events share one global
order (the notification id, which we call the *position*).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import (
    InterfaceError,
    Notification,
    OperationalError,
    Recording,
    Transcoder,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic, retry
from psycopg import Connection, Cursor
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier

from shared.settings import Settings
from shared.transcoder import FastJSONTranscoder

APPLICATION_NAME = "valorize"
EVENTS_TABLE = f"{APPLICATION_NAME}_events"
AUTH_TOKENS_TABLE = "auth_tokens"


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """An auth token row written in the same transaction as its ``Token.Issued`` event."""

    token_id: UUID
    user_id: UUID
    secret_sha256: str
    expires_at: datetime | None


class ValorizeRecorder(PostgresApplicationRecorder):
    """The library's locking recorder, plus inline rows written in the append's transaction.

    Auth tokens must work on every service the moment their 201 is returned, so their
    lookup table is an *inline* projection: committed atomically with the event, never
    lagging. Everything else is projected asynchronously by projection_worker.
    """

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[Any], **kwargs: Any
    ) -> None:
        grants: Sequence[TokenGrant] = kwargs.get("token_grants", ())
        if grants:
            statement = SQL(
                "INSERT INTO {}.{} (id, user_id, secret_sha256, expires_at) VALUES (%s, %s, %s, %s)"
            ).format(Identifier(self.datastore.schema), Identifier(AUTH_TOKENS_TABLE))
            curs.executemany(
                statement,
                [(g.token_id, g.user_id, g.secret_sha256, g.expires_at) for g in grants],
            )
        super()._insert_events(curs, stored_events, **kwargs)

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
            Notification(
                id=position,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=state,
            )
            for position, originator_id, version, topic, state in rows
        ]


class Ledger(Application[UUID]):
    """Valorize's event-sourced application: aggregates in, positioned events out."""

    name = APPLICATION_NAME

    def construct_transcoder(self) -> Transcoder:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def append(self, *aggregates: Any, **kwargs: Any) -> int:
        """Save the aggregates' pending events atomically; return the last global position."""
        recordings: list[Recording[UUID]] = self.save(*aggregates, **kwargs)
        return max(r.notification.id for r in recordings)

    def connection(self) -> AbstractContextManager[Connection[DictRow]]:
        """A connection from the store's own pool (for the inline tables beside the events)."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        return recorder.datastore.get_connection()

    def head(self) -> int:
        """The highest position in the store (0 when empty)."""
        return self.recorder.max_notification_id() or 0


def eventstore_env(settings: Settings, *, create_table: bool = False) -> dict[str, str]:
    """eventsourcing's environment for our PostgreSQL store, derived from ``POSTGRES_DSN``."""
    params = conninfo_to_dict(settings.postgres_dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": get_topic(ValorizeRecorder),
        "POSTGRES_DBNAME": str(params.get("dbname", "postgres")),
        "POSTGRES_HOST": str(params.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(params.get("port", "5432")),
        "POSTGRES_USER": str(params.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(params.get("password", "")),
        "POSTGRES_SCHEMA": settings.eventstore_schema,
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_max_overflow),
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        # Tables are created by `valorize migrate` only: concurrent cold starts creating
        # them race ("tuple concurrently updated").
        "CREATE_TABLE": "y" if create_table else "n",
        # Never POSTGRES_ENABLE_DB_FUNCTIONS: without the table lock, tailing readers
        # were measured to miss events committed out of order.
    }


def open_ledger(settings: Settings, *, create_table: bool = False) -> Ledger:
    return Ledger(env=eventstore_env(settings, create_table=create_table))
