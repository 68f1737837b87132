"""The memo vector index read model: one faiss index file per user, written atomically.

File layout: 8-byte little-endian length, JSON metadata of that length, then the faiss
index serialised. Metadata holds the last applied position (per-user idempotency) and,
per faiss id (the transaction's recorded position), the transaction id and category.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import orjson

from shared.embedding import Vectors


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


def index_path(root: Path, user_id: str) -> Path:
    return root / user_id[:2] / f"{user_id}.faiss"


Parts = list[Any]  # bytes-like pieces of one file, written in order


def encode(memo: MemoIndex) -> Parts:
    """The file's bytes, as pieces (the serialised index is not copied again)."""
    meta = orjson.dumps(
        {"dim": memo.dim, "position": memo.position, "entries": memo.entries},
        option=orjson.OPT_NON_STR_KEYS,  # faiss ids as JSON keys: "123"
    )
    return [struct.pack("<Q", len(meta)), meta, faiss.serialize_index(memo.settle())]


def write(path: Path, parts: Parts) -> None:
    """Write-then-rename: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as out:
        for part in parts:
            out.write(part)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def save(path: Path, memo: MemoIndex) -> None:
    write(path, encode(memo))


def load(path: Path, dim: int) -> MemoIndex:
    if not path.exists():
        return MemoIndex(dim)
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    meta = orjson.loads(raw[8 : 8 + length])
    index = faiss.deserialize_index(np.frombuffer(raw[8 + length :], dtype=np.uint8))
    entries = {int(k): v for k, v in meta["entries"].items()}
    return MemoIndex(meta["dim"], meta["position"], entries, index)
