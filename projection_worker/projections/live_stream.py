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

from projection_worker.projections.blue_green import PostgresBlueGreen
from projection_worker.projections.checkpoints import PostgresCheckpoint
from projection_worker.runner import Positioned
from shared.backplane import LiveBatch, Publisher
from shared.copy_text import json_field
from shared.live import encode, public_message

logger = logging.getLogger(__name__)


class LiveStream(PostgresBlueGreen):
    name = "live_stream"
    TABLES = ("live_log",)
    DEFERRED_INDEXES = ("live_log_user_idx",)

    def __init__(self, pool: ConnectionPool, schema: str, publisher: Publisher | None) -> None:
        self.pool, self.publisher = pool, publisher
        self.cp = PostgresCheckpoint(pool, schema, self.name)
        # COPY, not INSERT: positions are unique and a batch commits with its checkpoint,
        # so no row can be written twice, and COPY is several times faster to rebuild.
        self._copy = SQL("COPY {}.live_log (position, user_id, message) FROM STDIN").format(
            Identifier(schema)
        )

    def clone(self, schema: str) -> LiveStream:
        # A rebuild never publishes: clients already received these messages live.
        return LiveStream(self.pool, schema, None)

    def apply(self, batch: Sequence[Positioned], expected: int) -> bool:
        messages: list[tuple[str, dict[str, Any]]] = []
        for item in batch:
            public = public_message(item.event, item.position)
            if public is not None:
                messages.append(public)
        lines = b"".join(
            b"%d\t%s\t%s\n" % (m["position"], user.encode(), json_field(encode(m)))
            for user, m in messages
        )

        def write(conn: Connection[tuple[object, ...]]) -> None:
            if lines:
                with conn.cursor() as cur, cur.copy(self._copy) as copy:
                    copy.write(lines)

        if not self.cp.commit_batch(expected, batch[-1].position, write):
            return False
        self._publish(LiveBatch(expected, batch[-1].position, messages))
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
