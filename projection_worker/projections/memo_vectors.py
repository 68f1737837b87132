"""``memo_vectors``: per-user faiss indexes of transaction memos (for category suggestions).

Exactly once without a database: each user's file records the last position applied to
it and is replaced atomically, and the projection's checkpoint file moves only after
every file of the batch is written. A crash in between re-applies the batch, and each
file skips the events it already has.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from projection_worker.runner import Positioned
from shared.domain.transactions import Transaction
from shared.embedding import Embedder
from shared.vectors import MemoIndex, index_path, load, save


class MemoVectors:
    name = "memo_vectors"

    def __init__(self, root: Path, embedder: Embedder) -> None:
        self.root, self.embedder = root, embedder
        root.mkdir(parents=True, exist_ok=True)
        self._checkpoint = root / "checkpoint.json"
        self._failed = root / "failed.json"

    def checkpoint(self) -> int:
        if not self._checkpoint.exists():
            return 0
        position: int = orjson.loads(self._checkpoint.read_bytes())["position"]
        return position

    def failed(self) -> bool:
        return self._failed.exists()

    def fail(self, event: Positioned, error: str) -> None:
        self._failed.write_bytes(
            orjson.dumps({"position": event.position, "topic": event.topic, "error": error})
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[bool]:
        with (self.root / ".lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def apply(self, batch: Sequence[Positioned], expected: int) -> bool:
        with self._locked() as locked:
            if not locked or self.checkpoint() != expected:
                return False
            by_user: dict[str, list[Positioned]] = defaultdict(list)
            for item in batch:
                if isinstance(
                    item.event, (Transaction.Recorded, Transaction.Amended, Transaction.Deleted)
                ):
                    by_user[item.event.user_id].append(item)
            for user_id, items in by_user.items():
                self._apply_user(user_id, items)
            self._write_checkpoint(batch[-1].position)
        return True

    def _apply_user(self, user_id: str, items: list[Positioned]) -> None:
        path = index_path(self.root, user_id)
        memo = load(path, self.embedder.dim)
        fresh = [i for i in items if i.position > memo.position]
        if not fresh:
            return
        texts = [i.event.memo or "" for i in fresh if not isinstance(i.event, Transaction.Deleted)]
        vectors = iter(self.embedder.embed(texts))
        for item in fresh:
            self._apply_one(memo, item, vectors)
        memo.position = fresh[-1].position
        save(path, memo)

    @staticmethod
    def _apply_one(memo: MemoIndex, item: Positioned, vectors: Iterator[Any]) -> None:
        e, txn_id = item.event, str(item.event.originator_id)
        if isinstance(e, Transaction.Deleted):
            faiss_id = memo.id_of(txn_id)
            if faiss_id is not None:
                memo.remove(faiss_id)
            return
        vector = next(vectors)
        faiss_id = memo.id_of(txn_id) if isinstance(e, Transaction.Amended) else None
        memo.upsert(faiss_id or item.position, txn_id, e.category_id, vector)

    def _write_checkpoint(self, position: int) -> None:
        tmp = self._checkpoint.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(orjson.dumps({"position": position}))
        tmp.replace(self._checkpoint)
