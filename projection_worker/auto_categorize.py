"""Auto-categorization: a transaction recorded without a category gets its best suggested
category by itself when its user opted in (``PUT /api/settings/categorization``) and the
suggestion's confidence reaches their threshold (``shared.categorize.should_apply``).

A process manager, not a read model (as ``budget_alerts``): after ``memo_vectors``
commits a batch (so the history the suggestion searches includes the batch, as the
suggestions endpoint would see it), each newly recorded uncategorized transaction of a
user with a threshold is ranked with ``shared.suggestions.rank``, the very code of
``GET /api/transactions/{id}/suggestions``, and the first suggestion, if it reaches the
threshold, is appended as a ``Transaction.Amended`` whose ``categorized_by`` records
``{"by": "auto", "category_id", "confidence", "source", "threshold"}`` (the audit trail).

Invariants:

* Only a transaction still as it was recorded (aggregate version 1, no category) is
  amended, and the amendment is appended at version 2 under the store's optimistic
  concurrency: a user's change made meanwhile (a category, a memo, a deletion) wins and
  the suggestion is dropped; a redelivered or concurrent batch finds version 2 (or loses
  the append) and appends nothing. So a transaction is auto-categorized at most once,
  and a later manual re-categorization is never overridden (it is never recorded again).
* Best effort: a failure is logged and the batch stays applied. A crash between the
  ``memo_vectors`` commit and the append leaves those transactions uncategorized (their
  suggestions are still served; nothing retries them).
* The categories are those ``ledger_tables`` shows once it has applied the batch (it is
  another lane, and a category it has not applied yet would drop its suggestion): the
  applier waits for that, at most ``CATEGORIES_WAIT_S``, and only for batches with an
  opted-in user's uncategorized transaction; past the bound it goes on (best effort).
* The threshold is read from the event store (the ``User`` aggregates of the batch's
  users, one query), so a threshold set before a transaction was recorded is seen
  whatever the lag of ``ledger_tables``; the categories are read from ``ledger_tables``,
  as the suggestions endpoint reads them.
* Only the live read model has the hook: a rebuild's staging copy replays history and
  applies nothing (the amendments it replays are already in the store).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from shared.adapters.eventstore import Ledger
from shared.adapters.vectors import MemoIndex
from shared.categorize import Categorizer, Suggestion, should_apply
from shared.contracts import CHECKPOINTS_TABLE, LEDGER_TABLES
from shared.domain.transactions import Transaction
from shared.domain.users import User
from shared.suggestions import (
    SuggestionQueries,
    UserCategories,
    add_rows,
    history_index,
    rank,
)

logger = logging.getLogger(__name__)

USERS_KEPT = 64  # history indexes kept between batches (an import comes in many batches)
RECORDED_VERSION = 1  # a transaction's version before any change
CATEGORIES_WAIT_S = 3.0  # how long a batch waits for ledger_tables to show its categories


class AutoCategorizer:
    def __init__(
        self, ledger: Ledger, pool: ConnectionPool, schema: str, categorizer: Categorizer
    ) -> None:
        self.ledger, self.pool, self.categorizer = ledger, pool, categorizer
        self.queries = SuggestionQueries.of(schema)
        self._rows_after = SQL("{} AND position > %s").format(self.queries.rows)
        self._ledger_position = SQL("SELECT position FROM {}.{} WHERE name = %s").format(
            Identifier(schema), Identifier(CHECKPOINTS_TABLE)
        )
        # user id -> (latest position, index) as of the last batch that needed it
        self._kept: OrderedDict[str, tuple[int, MemoIndex]] = OrderedDict()

    def after(self, items: Sequence[Positioned]) -> None:
        """Called once the batch ``items`` is committed to the live ``memo_vectors``."""
        fresh = uncategorized(items)
        if not fresh:
            return
        try:
            self._categorize(fresh, max(item.position for item in items))
        except Exception:  # the batch stays applied; see the module's docstring
            logger.warning(
                "auto-categorization of %d transactions failed", len(fresh), exc_info=True
            )

    def _categorize(self, fresh: list[Transaction.Recorded], upto: int) -> None:
        thresholds = self._opted_in({e.user_id for e in fresh})
        by_user: defaultdict[str, list[Transaction.Recorded]] = defaultdict(list)
        for e in fresh:
            if e.user_id in thresholds:
                by_user[e.user_id].append(e)
        if by_user:
            self._await_ledger(upto)
        chosen: dict[UUID, dict[str, Any]] = {}
        for user_id, events in by_user.items():
            chosen.update(self._choose(user_id, events, thresholds[user_id]))
        if chosen:
            self._amend(chosen)

    def _choose(
        self, user_id: str, events: list[Transaction.Recorded], threshold: float
    ) -> dict[UUID, dict[str, Any]]:
        """Each of the user's transactions whose first suggestion (ranked exactly as
        ``GET /api/transactions/{id}/suggestions`` ranks it) reaches ``threshold``."""
        index, categories = self._history(user_id)
        chosen: dict[UUID, dict[str, Any]] = {}
        for e in events:
            txn_id, memo = str(e.originator_id), e.memo or ""
            found = rank(self.categorizer, index, categories, txn_id, memo, e.amount)
            if found and should_apply(found[0].confidence, threshold):
                chosen[e.originator_id] = audit(found[0], threshold)
        return chosen

    def _await_ledger(self, upto: int) -> None:
        """Until ``ledger_tables`` has applied up to ``upto``, or ``CATEGORIES_WAIT_S``."""
        deadline = time.monotonic() + CATEGORIES_WAIT_S
        while True:
            with self.pool.connection() as conn:
                row = conn.execute(self._ledger_position, (LEDGER_TABLES,)).fetchone()
            if (row is not None and int(row[0]) >= upto) or time.monotonic() >= deadline:
                return
            time.sleep(0.05)

    def _opted_in(self, users: set[str]) -> dict[str, float]:
        """The thresholds of those of ``users`` who set one, from the event store (the
        authority: a threshold set just before the batch counts, whatever the lag of
        ``ledger_tables``). One query for the batch's users."""
        found = self.ledger.aggregates([UUID(u) for u in users])
        return {
            str(user_id): user.auto_apply_threshold
            for user_id, user in found.items()
            if isinstance(user, User) and not user.deleted and user.auto_apply_threshold is not None
        }

    def _history(self, user_id: str) -> tuple[MemoIndex, UserCategories]:
        """The user's history index and categories. The index is kept between batches
        and brought up to date with the rows written since (an import arrives in many
        batches); it is built again whenever rows went away (a deletion)."""
        q, dim = self.queries, self.categorizer.embedder.dim
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            version = cur.execute(q.version, (user_id,)).fetchone()
            assert version is not None  # an aggregate without GROUP BY: always one row
            count, latest = int(version["n"]), int(version["p"])
            categories = UserCategories.of(cur.execute(q.categories, (user_id,)).fetchall())
            kept = self._kept.pop(user_id, None)
            index: MemoIndex | None = None
            if kept is not None and kept[0] <= latest:
                added = cur.execute(self._rows_after, (user_id, kept[0])).fetchall()
                index = add_rows(kept[1], added)
            if index is None or len(index.entries) != count:
                index = history_index(cur.execute(q.rows, (user_id,)).fetchall(), dim)
        self._kept[user_id] = (latest, index)
        while len(self._kept) > USERS_KEPT:
            self._kept.popitem(last=False)
        return index, categories

    def _amend(self, chosen: dict[UUID, dict[str, Any]]) -> None:
        found = self.ledger.aggregates(list(chosen))
        for txn_id, categorized_by in chosen.items():
            txn = found.get(txn_id)
            if not isinstance(txn, Transaction) or not untouched(txn):
                continue  # changed (or deleted) since it was recorded: the user's wins
            txn.amend(
                category_id=categorized_by["category_id"],
                amount=txn.amount,
                date=txn.date,
                memo=txn.memo,
                splits=txn.splits,
                categorized_by=categorized_by,
            )
            try:
                self.ledger.append(txn)
            except IntegrityError:  # changed meanwhile, or another worker was first
                continue


def uncategorized(items: Sequence[Positioned]) -> list[Transaction.Recorded]:
    """The batch's newly recorded transactions without a category, with a memo."""
    return [
        item.event
        for item in items
        if type(item.event) is Transaction.Recorded
        and item.event.category_id is None
        and (item.event.memo or "").strip()
    ]


def untouched(txn: Transaction) -> bool:
    return txn.version == RECORDED_VERSION and txn.category_id is None and not txn.deleted


def audit(best: Suggestion, threshold: float) -> dict[str, Any]:
    """The amendment's ``categorized_by``: who set the category, how sure, from what."""
    return {
        "by": "auto",
        "category_id": best.category,
        "confidence": round(best.confidence, 4),
        "source": best.source,
        "threshold": threshold,
    }
