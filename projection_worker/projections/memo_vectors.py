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
import shutil
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import orjson

from projection_worker.runner import (
    Parked,
    Positioned,
    ProjectionState,
    partition_of,
    split_held,
)
from shared.contracts import MEMO_VECTORS
from shared.domain.transactions import Transaction
from shared.embedding import Embedder
from shared.vectors import MemoIndex, Parts, encode, index_path, load, save, write

LIVE, STAGING = "current", "rebuild"
LIVE_CACHE_USERS = 256  # the most recently written users' indexes kept in memory, live


def live_root(base: Path) -> Path:
    """The live index directory: ``base/current``, a symlink switched atomically."""
    current = base / LIVE
    if not current.exists():
        first = base / "v0"
        first.mkdir(parents=True, exist_ok=True)
        _point(current, first)
    return current


def _point(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.name)
    tmp.replace(link)  # rename(2): readers follow the old target or the new one


class MemoVectors:
    """Rebuilt blue-green in ``base/rebuild``, then promoted by switching the symlink.

    Live, every batch writes its users' files, then the checkpoint. A rebuild instead
    keeps the indexes in memory and writes them (on a thread) after ``flush_every``
    events, then after gaps as long as the history already written, never more often
    than every ``flush_seconds``, and before promotion (writing each touched file per
    batch would cost the square of the history);
    the checkpoint file only ever follows the files, so an interrupted rebuild resumes
    from the last flush and each file skips what it already has.
    """

    name = MEMO_VECTORS
    store = "faiss"
    EVENTS = (Transaction.Recorded, Transaction.Amended, Transaction.Deleted)

    def __init__(
        self,
        base: Path,
        embedder: Embedder,
        root: Path | None = None,
        flush_every: int = 0,
        flush_seconds: float = 60.0,
    ) -> None:
        self.base, self.embedder = base, embedder
        self.root = root or live_root(base)
        self.root.mkdir(parents=True, exist_ok=True)
        self._checkpoint = self.root / "checkpoint.json"
        self._parked = self.root / "parked.json"
        self.flush_every, self.flush_seconds = flush_every, flush_seconds
        self._flushed_when = time.monotonic()
        self._memory: dict[str, MemoIndex] = {}
        self._dirty: set[str] = set()
        self._position: int | None = None
        self._unflushed = 0
        self._flushed_at = 0
        self._writer: threading.Thread | None = None
        self._write_error: BaseException | None = None
        # Live: the indexes as this process last wrote them, most recent last, trusted only
        # while the checkpoint it wrote is the one a batch expects (nobody else applied a
        # batch in between) under the same live directory (no promotion since).
        self._cache: OrderedDict[str, MemoIndex] = OrderedDict()
        self._cache_key: tuple[str, int] | None = None

    def staging_position(self) -> int | None:
        staging = self.base / STAGING
        return (
            MemoVectors(self.base, self.embedder, staging).checkpoint()
            if staging.exists()
            else None
        )

    def staging(self, *, restart: bool = False) -> MemoVectors:
        if restart:
            shutil.rmtree(self.base / STAGING, ignore_errors=True)
        return MemoVectors(self.base, self.embedder, self.base / STAGING, flush_every=250_000)

    def promote(self, staging: MemoVectors, settle: Callable[[], None]) -> None:
        settle()
        staging.flush()
        staging.settle_writes()
        old = (self.base / LIVE).resolve()
        target = self.base / f"v{time.time_ns()}"
        staging.root.rename(target)
        _point(self.base / LIVE, target)
        shutil.rmtree(old, ignore_errors=True)

    def discard_staging(self) -> None:
        shutil.rmtree(self.base / STAGING, ignore_errors=True)

    def checkpoint(self) -> int:
        if self._position is not None:
            return self._position
        if not self._checkpoint.exists():
            return 0
        position: int = orjson.loads(self._checkpoint.read_bytes())["position"]
        return position

    # Parking: ``parked.json`` {"version", "events": [[position, partition, topic, error]]},
    # written before the checkpoint, and idempotent by position (a batch re-applied after
    # a crash between the two holds nothing twice).

    def _read_parked(self) -> tuple[int, list[Parked]]:
        if not self._parked.exists():
            return 0, []
        body = orjson.loads(self._parked.read_bytes())
        return int(body["version"]), [Parked(*row) for row in body["events"]]

    def _write_parked(self, version: int, events: list[Parked]) -> None:
        tmp = self._parked.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(orjson.dumps({"version": version, "events": [list(p) for p in events]}))
        tmp.replace(self._parked)

    def _hold(self, items: Sequence[Positioned], error: str | None, bump: bool) -> None:
        version, events = self._read_parked()
        known = {p.position for p in events}
        fresh = [
            Parked(i.position, partition_of(i.event), i.topic, error)
            for i in items
            if i.position not in known
        ]
        if fresh or bump:
            self._write_parked(version + int(bump), events + fresh)

    def state(self) -> ProjectionState:
        version, events = self._read_parked()
        return ProjectionState(self.checkpoint(), frozenset(p.partition for p in events), version)

    def handles(self, event: object) -> bool:
        return isinstance(event, self.EVENTS)

    def park(self, item: Positioned, error: str, expected: ProjectionState) -> bool:
        with self._locked() as locked:
            if not locked or self.state() != expected:
                return False
            self._hold([item], error, bump=True)
            self._advance(item.position)
            return True

    def parked(self) -> list[Parked]:
        return sorted(self._read_parked()[1], key=lambda p: (p.partition, p.position))

    def _head(self, position: int) -> tuple[int, list[Parked], Parked] | None:
        version, events = self._read_parked()
        found = next((p for p in events if p.position == position), None)
        if found is None:
            return None
        first = min(p.position for p in events if p.partition == found.partition)
        return (version, events, found) if first == position else None

    def _unpark(self, version: int, events: list[Parked], head: Parked) -> None:
        rest = [p for p in events if p.position != head.position]
        emptied = all(p.partition != head.partition for p in rest)
        self._write_parked(version + int(emptied), rest)

    def release(self, item: Positioned) -> bool:
        with self._exclusive():
            found = self._head(item.position)
            if found is None:
                return False
            self._cache.clear()  # an older event lands below what the cache holds
            self._apply_user(item.event.user_id, [item])
            self._unpark(*found)
            return True

    def repark(self, position: int, error: str) -> None:
        with self._exclusive():
            version, events = self._read_parked()
            self._write_parked(
                version, [p._replace(error=error) if p.position == position else p for p in events]
            )

    def quarantine(self, position: int, reason: str) -> bool:
        with self._exclusive():
            found = self._head(position)
            if found is None:
                return False
            audit = self.root / "quarantined.jsonl"
            with audit.open("ab") as log:
                log.write(orjson.dumps({**found[2]._asdict(), "reason": reason}) + b"\n")
            self._unpark(*found)
            return True

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The projection's lock, waited for (operator commands)."""
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        with self._locked() as locked:
            if not locked or self.state() != expected:
                return False
            if self._cache_key != (os.path.realpath(self.root), expected.position):
                self._cache.clear()
            live, held = split_held(batch, expected.parked, self.handles)
            try:
                self._hold(held, None, bump=False)
                return self._apply(live, batch[-1].position)
            except BaseException:
                self._cache.clear()  # an index may be half-applied in memory
                raise

    def _apply(self, batch: Sequence[Positioned], upto: int) -> bool:
        by_user: dict[str, list[Positioned]] = defaultdict(list)
        for item in batch:
            if isinstance(item.event, self.EVENTS):
                by_user[item.event.user_id].append(item)
        for user_id, items in by_user.items():
            self._apply_user(user_id, items)
        self._advance(upto, len(batch))
        return True

    def _advance(self, upto: int, events: int = 1) -> None:
        if not self.flush_every:
            self._write_checkpoint(upto)
            self._cache_key = (os.path.realpath(self.root), upto)
            return
        self._position = upto
        self._unflushed += events
        # Every flush rewrites every index, so the gap between flushes doubles with
        # the history already written: the total written stays under twice the
        # final size (fixed gaps wrote the square of it), and a lost process loses
        # at most half of its work, or the last minute of it.
        if self._unflushed >= max(self.flush_every, self._flushed_at) and (
            time.monotonic() - self._flushed_when >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """Write the buffered indexes, then the checkpoint that covers them.

        The indexes are serialised here and written (and fsynced) by a thread, so the
        disk works while the rebuild goes on; the previous write is waited for first,
        and ``settle_writes`` waits for the last one.
        """
        self.settle_writes()
        files = [(index_path(self.root, u), encode(self._memory[u])) for u in self._dirty]
        self._dirty.clear()
        position, self._unflushed = self._position, 0
        self._flushed_when = time.monotonic()
        if position is not None:
            self._flushed_at = position
        self._writer = threading.Thread(
            target=self._write, args=(files, position), name="memo-flush", daemon=True
        )
        self._writer.start()

    def settle_writes(self) -> None:
        """Wait for the last flush to be on disk; raise what it failed with."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None
        if self._write_error is not None:
            error, self._write_error = self._write_error, None
            raise error

    def _write(self, files: list[tuple[Path, Parts]], position: int | None) -> None:
        try:
            for path, parts in files:
                write(path, parts)
            if position is not None:
                self._write_checkpoint(position)  # only once every file is durable
        except BaseException as exc:  # surfaced on the rebuild's thread
            self._write_error = exc

    def _apply_user(self, user_id: str, items: list[Positioned]) -> None:
        """Apply ``items`` to the user's index, skipping what its file already has (each
        file records its last position; a released event is still above it, since every
        later event of a parked user was held)."""
        path = index_path(self.root, user_id)
        memo = (
            self._memory.get(user_id) or self._cache.get(user_id) or load(path, self.embedder.dim)
        )
        fresh = [i for i in items if i.position > memo.position]
        if not fresh:
            return
        for item in fresh:
            self._apply_one(memo, item, self.embedder)
        memo.position = fresh[-1].position
        if self.flush_every:
            self._memory[user_id] = memo
            self._dirty.add(user_id)
        else:
            save(path, memo)
            self._remember(user_id, memo)

    def _remember(self, user_id: str, memo: MemoIndex) -> None:
        """Keep a live index for the next batch instead of reading its file back."""
        self._cache[user_id] = memo
        self._cache.move_to_end(user_id)
        while len(self._cache) > LIVE_CACHE_USERS:
            self._cache.popitem(last=False)

    @staticmethod
    def _apply_one(memo: MemoIndex, item: Positioned, embedder: Embedder) -> None:
        e, txn_id = item.event, str(item.event.originator_id)
        if isinstance(e, Transaction.Deleted):
            faiss_id = memo.id_of(txn_id)
            if faiss_id is not None:
                memo.remove(faiss_id)
            return
        vector = embedder.vector(e.memo or "")
        faiss_id = memo.id_of(txn_id) if isinstance(e, Transaction.Amended) else None
        memo.upsert(faiss_id or item.position, txn_id, e.category_id, vector)

    def _write_checkpoint(self, position: int) -> None:
        tmp = self._checkpoint.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(orjson.dumps({"position": position}))
        tmp.replace(self._checkpoint)
