"""The event store: one eventsourcing Application over PostgreSQL, and its wiring.

Every aggregate lives in this one application so that all events share one global
order (the notification id, which we call the *position*).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, project_aggregate
from eventsourcing.persistence import (
    Recording,
    Transcoder,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic
from psycopg import Connection
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow

from shared.adapters.recorder import AUTH_TOKENS_TABLE, TokenGrant, ValorizeRecorder
from shared.adapters.transcoder import FastJSONTranscoder
from shared.settings import Settings

__all__ = ["AUTH_TOKENS_TABLE", "Ledger", "TokenGrant", "eventstore_env", "open_ledger"]

APPLICATION_NAME = "valorize"
EVENTS_TABLE = f"{APPLICATION_NAME}_events"


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

    def aggregates(self, ids: Sequence[UUID]) -> dict[UUID, Any]:
        """The current state of each of these aggregates that exists, from one query."""
        recorder = self.recorder
        assert isinstance(recorder, ValorizeRecorder)
        events: dict[UUID, list[Any]] = {}
        for stored in recorder.select_events_of(ids):
            events.setdefault(stored.originator_id, []).append(self.mapper.to_domain_event(stored))
        found = {i: project_aggregate(None, history) for i, history in events.items()}
        return {i: aggregate for i, aggregate in found.items() if aggregate is not None}

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
