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
    """One user's memos: a faiss inner-product index (vectors are normalised: cosine)."""

    dim: int
    position: int = 0
    entries: dict[int, dict[str, str | None]] = field(default_factory=dict)
    index: Any = None

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def id_of(self, txn_id: str) -> int | None:
        return next((k for k, v in self.entries.items() if v["txn"] == txn_id), None)

    def upsert(self, faiss_id: int, txn_id: str, category_id: str | None, vector: Vectors) -> None:
        self.remove(faiss_id)
        self.index.add_with_ids(vector.reshape(1, -1), np.array([faiss_id], dtype=np.int64))
        self.entries[faiss_id] = {"txn": txn_id, "category": category_id}

    def remove(self, faiss_id: int) -> None:
        if faiss_id in self.entries:
            self.index.remove_ids(np.array([faiss_id], dtype=np.int64))
            del self.entries[faiss_id]

    def search(self, vector: Vectors, k: int) -> list[tuple[float, dict[str, str | None]]]:
        if self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(vector.reshape(1, -1), min(k, self.index.ntotal))
        return [
            (float(s), self.entries[int(i)])
            for s, i in zip(scores[0], ids[0], strict=True)
            if int(i) in self.entries
        ]


def index_path(root: Path, user_id: str) -> Path:
    return root / user_id[:2] / f"{user_id}.faiss"


def save(path: Path, memo: MemoIndex) -> None:
    """Write-then-rename: readers see the old file or the new one, never half of one."""
    meta = orjson.dumps(
        {
            "dim": memo.dim,
            "position": memo.position,
            "entries": {str(k): v for k, v in memo.entries.items()},
        }
    )
    blob = faiss.serialize_index(memo.index).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as out:
        out.write(struct.pack("<Q", len(meta)) + meta + blob)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)


def load(path: Path, dim: int) -> MemoIndex:
    if not path.exists():
        return MemoIndex(dim)
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    meta = orjson.loads(raw[8 : 8 + length])
    index = faiss.deserialize_index(np.frombuffer(raw[8 + length :], dtype=np.uint8))
    entries = {int(k): v for k, v in meta["entries"].items()}
    return MemoIndex(meta["dim"], meta["position"], entries, index)
