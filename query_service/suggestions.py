"""Category suggestions from the ``memo_vectors`` read model (nearest memos, by vote)."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from shared.embedding import Embedder
from shared.vectors import MemoIndex, index_path, load

NEIGHBOURS = 10


@dataclass(frozen=True, slots=True)
class Suggestion:
    category_id: str
    score: float


class Suggester:
    """Searches a user's memo index; files are re-read only when the projection replaced them."""

    def __init__(self, root: Path, embedder: Embedder) -> None:
        self.root, self.embedder = root, embedder
        self._cache: dict[str, tuple[float, MemoIndex]] = {}
        self._lock = threading.Lock()

    def _index(self, user_id: str) -> MemoIndex | None:
        path = index_path(self.root, user_id)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            cached = self._cache.get(user_id)
            if cached is None or cached[0] != mtime:
                cached = self._cache[user_id] = (mtime, load(path, self.embedder.dim))
            return cached[1]

    def suggest(self, user_id: str, txn_id: str, memo: str, limit: int = 3) -> list[Suggestion]:
        """Categories of the most similar other memos, scored by summed cosine similarity."""
        index = self._index(user_id)
        if index is None or not memo:
            return []
        votes: dict[str, float] = defaultdict(float)
        for score, entry in index.search(self.embedder.embed([memo])[0], NEIGHBOURS + 1):
            category = entry["category"]
            if entry["txn"] != txn_id and category is not None and score > 0:
                votes[category] += score
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:limit]
        return [Suggestion(category, round(score, 4)) for category, score in ranked]
