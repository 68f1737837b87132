"""``live_stream``: the public messages of each user's events, for ws_gateway.

Written to ``live_log`` (PostgreSQL) exactly once, with its checkpoint, so gateways can
replay any user's stream from a position; then published to the backplane, at most once
per commit and best effort (a gateway that misses a batch reads ``live_log``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from psycopg import Connection
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from projection_worker.projections.blue_green import PostgresBlueGreen
from projection_worker.projections.checkpoints import PostgresCheckpoint, Write
from projection_worker.runner import ProjectionState, split_held
from shared.adapters.backplane import LiveBatch, Publisher
from shared.adapters.copy_text import json_field
from shared.contracts import LIVE_LOG_TABLE, LIVE_STREAM
from shared.domain.users import User
from shared.live import PUBLIC, encode, public_message

logger = logging.getLogger(__name__)


class LiveStream(PostgresBlueGreen):
    name = LIVE_STREAM
    PACE = 0.01  # seconds between busy batches: live sockets wait on it
    TABLES = (LIVE_LOG_TABLE,)
    DEFERRED_INDEXES = ("live_log_user_idx",)

    def __init__(self, pool: ConnectionPool, schema: str, publisher: Publisher | None) -> None:
        self.pool, self.publisher = pool, publisher
        self.cp = PostgresCheckpoint(pool, schema, self.name)
        # COPY, not INSERT: positions are unique and a batch commits with its checkpoint,
        # so no row can be written twice, and COPY is several times faster to rebuild.
        self._copy = SQL("COPY {}.{} (position, user_id, message) FROM STDIN").format(
            Identifier(schema), Identifier(LIVE_LOG_TABLE)
        )
        # The tombstone of a user (``User.Deleted``): none of their messages remain.
        self._purge = SQL("DELETE FROM {}.{} WHERE user_id = ANY(%s)").format(
            Identifier(schema), Identifier(LIVE_LOG_TABLE)
        )

    def clone(self, schema: str) -> LiveStream:
        # A rebuild never publishes: clients already received these messages live.
        return LiveStream(self.pool, schema, None)

    def handles(self, event: object) -> bool:
        return type(event) in PUBLIC or type(event) is User.Deleted

    def writer(self, items: Sequence[Positioned]) -> Write:
        return self._writer(_messages(items), _deleted(items))

    def _writer(self, messages: list[tuple[str, dict[str, Any]]], deleted: list[Any]) -> Write:
        lines = b"".join(
            b"%d\t%s\t%s\n" % (m["position"], user.encode(), json_field(encode(m)))
            for user, m in messages
        )

        def write(conn: Connection[tuple[object, ...]]) -> None:
            if lines:
                with conn.cursor() as cur, cur.copy(self._copy) as copy:
                    copy.write(lines)
            if deleted:  # after the copy: a deleted user's messages of this batch go too
                conn.execute(self._purge, (deleted,))

        return write

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        live, held = split_held(batch, expected.parked, self.handles)
        messages = _messages(live)
        write = self._writer(messages, _deleted(live))
        if not self.cp.commit_batch(expected, batch[-1].position, write, held):
            return False
        self._publish(LiveBatch(expected.position, batch[-1].position, messages))
        return True

    def release(self, item: Positioned) -> bool:
        """A released event reaches ``live_log`` late, below positions its user's sockets
        may have passed: gateways replay that user's sockets from just before it."""
        messages = _messages([item])
        if not self.cp.release(item, self._writer(messages, _deleted([item]))):
            return False
        if messages:
            user = messages[0][0]
            self._publish(LiveBatch(0, 0, [], resync={user: item.position - 1}))
        return True

    def _publish(self, batch: LiveBatch) -> None:
        if self.publisher is None:
            return
        try:
            self.publisher.publish(batch)
        except Exception:
            logger.warning(
                "live batch (%d, %d] not published", batch.after, batch.upto, exc_info=True
            )


def _messages(items: Sequence[Positioned]) -> list[tuple[str, dict[str, Any]]]:
    messages = []
    for item in items:
        public = public_message(item.event, item.position)
        if public is not None:
            messages.append(public)
    return messages


def _deleted(items: Sequence[Positioned]) -> list[Any]:
    return [item.event.originator_id for item in items if type(item.event) is User.Deleted]
