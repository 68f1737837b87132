"""One user's memo vectors as a faiss index, held in memory by the query side (built from
the ``memo_vectors`` read model's rows, see ``query_service/suggestions.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np

from shared.adapters.embedding import Vectors


def search_on_one_thread() -> None:
    """Make faiss searches of the calling thread use one OpenMP thread (an OpenMP setting
    is per thread: call it where the searches run, e.g. the query service's event loop,
    once at start-up). One user's index is small: with OpenMP threads one search of a
    200-vector index took 16 ms on a loaded 2-core machine, instead of 0.15 ms."""
    faiss.omp_set_num_threads(1)


@dataclass
class MemoIndex:
    """One user's memos: a faiss inner-product index (vectors are normalised: cosine).

    Additions are staged and handed to faiss in one ``add_with_ids`` call when the index
    is next searched or saved (one call per vector cost more than the vector itself).
    """

    dim: int
    position: int = 0
    entries: dict[int, dict[str, str | None]] = field(default_factory=dict)
    index: Any = None
    pending: dict[int, Vectors] = field(default_factory=dict, init=False)
    # Derived from ``entries`` (never saved): the faiss id of a transaction, without a scan.
    by_txn: dict[str | None, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self.by_txn = {v["txn"]: k for k, v in self.entries.items()}

    def id_of(self, txn_id: str) -> int | None:
        return self.by_txn.get(txn_id)

    def upsert(self, faiss_id: int, txn_id: str, category_id: str | None, vector: Vectors) -> None:
        self.remove(faiss_id)
        self.pending[faiss_id] = vector
        self.entries[faiss_id] = {"txn": txn_id, "category": category_id}
        self.by_txn[txn_id] = faiss_id

    def remove(self, faiss_id: int) -> None:
        entry = self.entries.pop(faiss_id, None)
        if entry is None:
            return
        self.by_txn.pop(entry["txn"], None)
        if self.pending.pop(faiss_id, None) is None:
            self.index.remove_ids(np.array([faiss_id], dtype=np.int64))

    def settle(self) -> Any:
        """The faiss index with every staged addition in it."""
        if self.pending:
            ids = np.fromiter(self.pending.keys(), dtype=np.int64, count=len(self.pending))
            self.index.add_with_ids(np.stack(list(self.pending.values())), ids)
            self.pending.clear()
        return self.index

    def search(self, vector: Vectors, k: int) -> list[tuple[float, dict[str, str | None]]]:
        index = self.settle()
        if index.ntotal == 0:
            return []
        scores, ids = index.search(vector.reshape(1, -1), min(k, index.ntotal))
        return [
            (float(s), self.entries[int(i)])
            for s, i in zip(scores[0], ids[0], strict=True)
            if int(i) in self.entries
        ]
