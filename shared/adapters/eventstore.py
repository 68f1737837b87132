"""The event store: one eventsourcing Application over PostgreSQL, and its wiring.

Every aggregate lives in this one application so that all events share one global
order (the notification id, which we call the *position*).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, cast
from uuid import UUID

import orjson
from eventsourcing.application import Application, project_aggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    StoredEvent,
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

__all__ = [
    "AUTH_TOKENS_TABLE",
    "BatchReads",
    "Ledger",
    "TokenGrant",
    "eventstore_env",
    "open_ledger",
]

APPLICATION_NAME = "valorize"
EVENTS_TABLE = f"{APPLICATION_NAME}_events"


class BatchReads(Protocol):
    """What ``Ledger.aggregates`` needs of its recorder, beyond the library's interface:
    ``ValorizeRecorder`` (PostgreSQL) and ``InMemoryRecorder`` (unit tests) have it."""

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]: ...


class Ledger(Application[UUID]):
    """Valorize's event-sourced application: aggregates in, positioned events out."""

    name = APPLICATION_NAME

    def construct_transcoder(self) -> Transcoder:
        transcoder = FastJSONTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def append(self, *aggregates: Any, events: Sequence[Any] = (), **kwargs: Any) -> int:
        """Append the aggregates' pending events, then ``events`` (creation events of new
        aggregates, built without the aggregate), atomically; the last global position."""
        collected = [e for a in aggregates for e in a.collect_events()]
        return max(self.record([*collected, *events], **kwargs))

    def record(self, events: Sequence[Any], **kwargs: Any) -> list[int]:
        """Append these domain events atomically; their positions, in order.

        ``save`` minus what this application never uses (no aggregate cache, snapshots or
        ``notify`` hooks): no runtime ``Protocol`` check per event (about 25 us each on
        Python 3.11), no ``Recording`` objects, and events encoded by ``_stored``. The
        recorder, and so every invariant of an append, is the same.
        """
        if self.repository.cache is not None or self.snapshots is not None:
            return [r.notification.id for r in self.save(*events, **kwargs)]
        stored = [self._stored(e) for e in events]
        return list(self.recorder.insert_events(stored, **kwargs) or ())

    def _stored(self, event: Any) -> StoredEvent:
        """``mapper.to_stored_event``, byte for byte, with orjson encoding the states made
        only of JSON scalars and datetimes (tests/unit/test_stored_events.py compares)."""
        mapper = self.mapper
        if mapper.compressor is not None or mapper.cipher is not None:
            return mapper.to_stored_event(event)
        state = dict(vars(event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(event)),
            state=_encode(mapper.transcoder, state),
        )

    def connection(self) -> AbstractContextManager[Connection[DictRow]]:
        """A connection from the store's own pool (for the inline tables beside the events)."""
        recorder = self.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        return recorder.datastore.get_connection()

    def aggregates(self, ids: Sequence[UUID]) -> dict[UUID, Any]:
        """The current state of each of these aggregates that exists, from one query."""
        # A cast, not an isinstance check: this runs once per command (see BatchReads).
        recorder = cast(BatchReads, self.recorder)
        events: dict[UUID, list[Any]] = {}
        for stored in recorder.select_events_of(ids):
            event = self.mapper.to_domain_event(stored)
            events.setdefault(event.originator_id, []).append(event)
        found = {i: project_aggregate(None, history) for i, history in events.items()}
        return {i: aggregate for i, aggregate in found.items() if aggregate is not None}

    def head(self) -> int:
        """The highest position in the store (0 when empty)."""
        return self.recorder.max_notification_id() or 0


# Values orjson writes exactly as the library's ``json`` encoder does (compact, UTF-8).
_SCALARS = frozenset((str, int, bool, type(None)))
_INT64 = 1 << 63


def _encode(transcoder: Transcoder, state: dict[str, Any]) -> bytes:
    """The transcoder's encoding of ``state``; orjson's (about a third of the time) when
    every value is a plain scalar, a datetime, or a list of flat objects of plain scalars
    (an import's staged rows), else the library's."""
    dated = transcoder.types.get(datetime) if isinstance(transcoder, JSONTranscoder) else None
    if dated is None:
        return transcoder.encode(state)
    plain = state
    for key, value in state.items():
        kind = value.__class__
        if kind is datetime:
            if plain is state:
                plain = dict(state)
            # The library's marker, its text written by orjson when that is the same
            # text as the transcoding's (UTC), else by the transcoding.
            native = value.tzinfo is UTC and dated.__class__ is DatetimeAsISO
            text = value if native else dated.encode(value)
            plain[key] = {"_type_": dated.name, "_data_": text}
        elif kind is list:
            if not all(_flat(item) for item in value):
                return transcoder.encode(state)
        elif kind not in _SCALARS or (kind is int and not -_INT64 <= value < _INT64):
            return transcoder.encode(state)
    try:
        return orjson.dumps(plain)
    except orjson.JSONEncodeError:
        return transcoder.encode(state)  # raises as the library would (e.g. lone surrogates)


def _flat(item: Any) -> bool:
    """A JSON object of plain scalars, written alike by orjson and the library."""
    if item.__class__ is not dict:
        return False
    for key, value in item.items():
        kind = value.__class__
        if key.__class__ is not str or kind not in _SCALARS:
            return False
        if kind is int and not -_INT64 <= value < _INT64:
            return False
    return True


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
