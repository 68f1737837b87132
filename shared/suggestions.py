"""A transaction's category suggestions, one definition for the two that need them: the
query side serves them (``GET /api/transactions/{id}/suggestions``) and the projection
worker applies the first one above the user's threshold (auto-categorization). Each does
its own I/O (async there, sync here); what is read and how it is ranked is defined here
once, so both always rank alike.

Read: the user's rows of the ``memo_vectors`` read model (history: each transaction's
``Categorizer.vector`` of its memo, and its category) and the user's categories from
``ledger_tables`` (their ids, and the default names' ids for the cold-start model).
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg.sql import SQL, Composed, Identifier

from shared.adapters.embedding import Vectors
from shared.adapters.vectors import MemoIndex
from shared.categorize import DEFAULT_NAMES, Categorizer, Suggestion
from shared.contracts import MEMO_VECTORS_TABLE

CATEGORIES_TABLE = "categories"  # ledger_tables'


@dataclass(frozen=True, slots=True)
class SuggestionQueries:
    """The reads, for the read models in ``schema``; each takes the user id."""

    version: Composed  # (n, p): the user's row count and latest position
    rows: Composed  # txn_id, category_id, vector, position
    categories: Composed  # id, name, user_id: the user's own and the global ones

    @classmethod
    def of(cls, schema: str) -> SuggestionQueries:
        s, t = Identifier(schema), Identifier(MEMO_VECTORS_TABLE)
        return cls(
            SQL(
                "SELECT count(*) AS n, coalesce(max(position), 0) AS p FROM {}.{} "
                "WHERE user_id = %s"
            ).format(s, t),
            SQL(
                "SELECT txn_id, category_id, vector, position FROM {}.{} WHERE user_id = %s"
            ).format(s, t),
            SQL("SELECT id, name, user_id FROM {}.{} WHERE user_id = %s OR user_id IS NULL").format(
                s, Identifier(CATEGORIES_TABLE)
            ),
        )


@dataclass(frozen=True, slots=True)
class UserCategories:
    """The categories a user may be suggested: their ids, and the default names' ids
    (the user's own category of that name before a global one)."""

    ids: frozenset[str]
    defaults: dict[str, str]

    @classmethod
    def of(cls, rows: list[Any]) -> UserCategories:
        defaults: dict[str, str] = {}
        # Global categories (user_id NULL) first, so the user's own overwrite them.
        for row in sorted(rows, key=lambda r: r["user_id"] is not None):
            if row["name"] in DEFAULT_NAMES:
                defaults[row["name"]] = str(row["id"])
        return cls(frozenset(str(row["id"]) for row in rows), defaults)


@dataclass(frozen=True, slots=True)
class Others:
    """The user's history as seen from one of their transactions: without the transaction
    itself (its own category is no evidence for it), and with categories deleted since
    counted as none (a vote for them could never be shown)."""

    index: MemoIndex
    txn_id: str
    known: Set[str]

    def search(self, vector: Vectors, k: int) -> list[tuple[float, dict[str, str | None]]]:
        found = [
            (similarity, entry if entry["category"] in self.known else {**entry, "category": None})
            for similarity, entry in self.index.search(vector, k + 1)
            if entry["txn"] != self.txn_id
        ]
        return found[:k]


def history_index(rows: Iterable[Any], dim: int) -> MemoIndex:
    """The faiss index of a user's ``memo_vectors`` rows (``SuggestionQueries.rows``)."""
    return add_rows(MemoIndex(dim), rows)


def add_rows(index: MemoIndex, rows: Iterable[Any]) -> MemoIndex:
    """``index`` with these rows in it, each replacing its transaction's earlier row (an
    amended transaction's row moves to the amendment's position)."""
    for row in rows:
        txn_id = str(row["txn_id"])
        earlier = index.id_of(txn_id)
        if earlier is not None:
            index.remove(earlier)
        vector = np.frombuffer(row["vector"], dtype=np.float32)
        category = None if row["category_id"] is None else str(row["category_id"])
        index.upsert(int(row["position"]), txn_id, category, vector)
    index.settle()
    return index


def rank(
    categorizer: Categorizer,
    index: MemoIndex,
    categories: UserCategories,
    txn_id: str,
    memo: str,
    amount: int | None = None,
    limit: int = 3,
) -> list[Suggestion]:
    """Up to ``limit`` of the user's categories for ``memo``, most likely first, each
    with its confidence (one distribution: they sum to at most 1) and its source
    (``history``, ``rules`` or ``names``). A memo with no categorized neighbour still
    gets the cold-start model's suggestions; an empty memo gets none."""
    if not memo.strip():
        return []
    history = Others(index, txn_id, categories.ids)
    found = categorizer.suggest(
        history, memo, amount=amount, defaults=categories.defaults, limit=limit
    )
    return [s for s in found if s.category in categories.ids]
