"""``memo_vectors``: each transaction's memo vector and category, for category suggestions.

A row holds ``Categorizer.vector(memo)`` (the memo stripped of bank noise, then embedded:
what ``shared.categorize`` searches the user's history with) and the transaction's latest
category: an amendment to another category (a correction) replaces the row, so the next
suggestion for that merchant follows it. Changing what a vector means (the embedder, or
``shared.categorize.text``) requires ``valorize projections rebuild memo_vectors`` once
after deploying (blue-green: the old rows serve until the new ones swap in).

Rows in PostgreSQL beside the projection's checkpoint (``memo_vectors`` table): a batch's
vectors and its checkpoint commit together, so the read model is exactly once like every
SQL one (duplicate, late or reordered wake-ups change nothing), rebuilt blue-green by a
table swap, and shared by every query instance: each keeps the faiss index of the users
it serves in memory, rebuilt from these rows when they change
(``query_service/suggestions.py``). No instance needs a disk of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from projection_worker.projections.blue_green import PostgresBlueGreen
from projection_worker.projections.checkpoints import Conn, PostgresCheckpoint, Write
from projection_worker.runner import ProjectionState, split_held
from shared.adapters.embedding import Embedder
from shared.categorize import Categorizer
from shared.contracts import MEMO_VECTORS, MEMO_VECTORS_TABLE
from shared.domain.transactions import Transaction
from shared.domain.users import User

Statement = tuple[Composed, tuple[Any, ...]]


class MemoVectors(PostgresBlueGreen):
    name = MEMO_VECTORS
    # Seconds between busy batches: suggestions need no read-your-writes.
    PACE = 0.05
    TABLES = (MEMO_VECTORS_TABLE,)
    DEFERRED_INDEXES = ("memo_vectors_user_idx",)
    EVENTS = (Transaction.Recorded, Transaction.Amended, Transaction.Deleted, User.Deleted)
    # Called with a batch once it is committed to this (live) read model: automatic
    # categorization (``projection_worker.auto_categorize``, set by the worker app), which
    # searches the history this batch just wrote. Clones (a rebuild's staging copy) have none.
    after_batch: Callable[[Sequence[Positioned]], None] | None = None

    def __init__(
        self,
        pool: ConnectionPool,
        schema: str,
        embedder: Embedder,
        categorizer: Categorizer | None = None,
    ) -> None:
        self.pool, self.embedder = pool, embedder
        self.categorizer = categorizer if categorizer is not None else Categorizer(embedder)
        self.cp = PostgresCheckpoint(pool, schema, self.name)
        s, t = Identifier(schema), Identifier(MEMO_VECTORS_TABLE)
        self._upsert = SQL(
            "INSERT INTO {}.{} (txn_id, user_id, category_id, vector, position) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (txn_id) DO UPDATE SET "
            "category_id = EXCLUDED.category_id, vector = EXCLUDED.vector, "
            "position = EXCLUDED.position"
        ).format(s, t)
        # The same upsert for a run of rows in one statement, from binary arrays: an
        # import's rows went one by one (executemany), a third of this lane's time.
        self._upsert_rows = SQL(
            "INSERT INTO {}.{} (txn_id, user_id, category_id, vector, position) "
            "SELECT * FROM unnest(%b::uuid[], %b::uuid[], %b::uuid[], %b::bytea[], %b::bigint[])"
            " ON CONFLICT (txn_id) DO UPDATE SET "
            "category_id = EXCLUDED.category_id, vector = EXCLUDED.vector, "
            "position = EXCLUDED.position"
        ).format(s, t)
        self._delete = SQL("DELETE FROM {}.{} WHERE txn_id = %s").format(s, t)
        self._purge = SQL("DELETE FROM {}.{} WHERE user_id = %s").format(s, t)

    def clone(self, schema: str) -> MemoVectors:
        return MemoVectors(self.pool, schema, self.embedder, self.categorizer)

    def handles(self, event: object) -> bool:
        return isinstance(event, self.EVENTS)

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        applied = super().apply(batch, expected)
        if applied and self.after_batch is not None:
            self.after_batch(split_held(batch, expected.parked, self.handles)[0])
        return applied

    def _statement(self, item: Positioned) -> Statement | None:
        e = item.event
        if isinstance(e, Transaction.Deleted):
            return self._delete, (e.originator_id,)
        if isinstance(e, User.Deleted):  # the tombstone: none of the user's memos remain
            return self._purge, (e.originator_id,)
        if not isinstance(e, (Transaction.Recorded, Transaction.Amended)):
            return None
        vector = self.categorizer.vector(e.memo or "").tobytes()
        return self._upsert, (e.originator_id, e.user_id, e.category_id, vector, item.position)

    def writer(self, items: Sequence[Positioned]) -> Write:
        statements = [s for s in map(self._statement, items) if s is not None]

        def write(conn: Conn) -> None:
            with conn.cursor() as cur:
                # Runs of the same statement go as one executemany; the order is kept (an
                # amendment after its recording, a deletion after both).
                for sql, run in itertools.groupby(statements, key=lambda s: s[0]):
                    if sql is self._upsert:
                        cur.execute(self._upsert_rows, _columns(params for _, params in run))
                    else:
                        cur.executemany(sql, [params for _, params in run])

        return write


def _columns(rows: Iterable[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """Upsert rows as columns, one row per transaction: its last, as the upserts one by
    one would leave it (a transaction twice in one statement would be refused)."""
    last = {row[0]: row for row in rows}
    return tuple(list(column) for column in zip(*last.values(), strict=True))
