"""``memo_vectors``: each transaction's memo embedding, for category suggestions.

Rows in PostgreSQL beside the projection's checkpoint (``memo_vectors`` table): a batch's
vectors and its checkpoint commit together, so the read model is exactly once like every
SQL one (duplicate, late or reordered wake-ups change nothing), rebuilt blue-green by a
table swap, and shared by every query instance: each keeps the faiss index of the users
it serves in memory, rebuilt from these rows when they change
(``query_service/suggestions.py``). No instance needs a disk of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.projections.blue_green import PostgresBlueGreen
from projection_worker.projections.checkpoints import Conn, PostgresCheckpoint, Write
from projection_worker.runner import Positioned
from shared.adapters.embedding import Embedder
from shared.contracts import MEMO_VECTORS, MEMO_VECTORS_TABLE
from shared.domain.transactions import Transaction

Statement = tuple[Composed, tuple[Any, ...]]


class MemoVectors(PostgresBlueGreen):
    name = MEMO_VECTORS
    # Seconds between busy batches: suggestions need no read-your-writes.
    PACE = 0.05
    TABLES = (MEMO_VECTORS_TABLE,)
    DEFERRED_INDEXES = ("memo_vectors_user_idx",)
    EVENTS = (Transaction.Recorded, Transaction.Amended, Transaction.Deleted)

    def __init__(self, pool: ConnectionPool, schema: str, embedder: Embedder) -> None:
        self.pool, self.embedder = pool, embedder
        self.cp = PostgresCheckpoint(pool, schema, self.name)
        s, t = Identifier(schema), Identifier(MEMO_VECTORS_TABLE)
        self._upsert = SQL(
            "INSERT INTO {}.{} (txn_id, user_id, category_id, vector, position) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (txn_id) DO UPDATE SET "
            "category_id = EXCLUDED.category_id, vector = EXCLUDED.vector, "
            "position = EXCLUDED.position"
        ).format(s, t)
        self._delete = SQL("DELETE FROM {}.{} WHERE txn_id = %s").format(s, t)

    def clone(self, schema: str) -> MemoVectors:
        return MemoVectors(self.pool, schema, self.embedder)

    def handles(self, event: object) -> bool:
        return isinstance(event, self.EVENTS)

    def _statement(self, item: Positioned) -> Statement | None:
        e = item.event
        if isinstance(e, Transaction.Deleted):
            return self._delete, (e.originator_id,)
        if not isinstance(e, (Transaction.Recorded, Transaction.Amended)):
            return None
        vector = self.embedder.vector(e.memo or "").tobytes()
        return self._upsert, (e.originator_id, e.user_id, e.category_id, vector, item.position)

    def writer(self, items: Sequence[Positioned]) -> Write:
        statements = [s for s in map(self._statement, items) if s is not None]

        def write(conn: Conn) -> None:
            with conn.cursor() as cur:
                # Runs of the same statement go as one executemany; the order is kept (an
                # amendment after its recording, a deletion after both).
                for sql, run in itertools.groupby(statements, key=lambda s: s[0]):
                    cur.executemany(sql, [params for _, params in run])

        return write
