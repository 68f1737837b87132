"""Group commit: concurrent commands coalesced into one append, each caller answered with
its own positions once the shared transaction is durable.

The store serialises appends with a table lock (so tailing readers never skip a late
commit); every append pays the lock, a round trip and a WAL flush. Here the callers take
turns as *leader*: a caller that finds no append in flight commits at once, itself, with
whatever else is queued (no thread hop, no added wait when idle); callers arriving
meanwhile queue up, and when the leader's transaction is durable it answers them and hands
the lead to the oldest queued caller, who commits the whole queue in one transaction.
Fewer, larger transactions under load, so the lock is held once per batch, not per event.

Guarantees are unchanged: optimistic concurrency per aggregate (a conflicting command is
retried alone and only it fails), positions are the real ones, and a caller is answered
only after its events are committed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError

from shared.adapters.eventstore import Ledger, TokenGrant

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class _Pending:
    events: list[Any]
    grants: list[TokenGrant]
    revocations: list[Any]
    owner: Any
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    position: int = 0
    error: BaseException | None = None


@dataclass
class CommitStats:
    """Counters for benchmarks: how many transactions carried how many commands."""

    transactions: int = 0
    commands: int = 0
    events: int = 0

    @property
    def commands_per_transaction(self) -> float:
        return self.commands / self.transactions if self.transactions else 0.0


OnCommit = Callable[[Sequence[tuple[Any, int]]], None]


class GroupCommitter:
    """``on_commit`` gets each committed group's ``(owner, position)`` pairs, once per group,
    before any of its callers is answered (e.g. read-your-writes marks, one round trip per
    group instead of one per command). It must not raise; if it does, it is logged."""

    def __init__(
        self, ledger: Ledger, max_batch: int = 500, on_commit: OnCommit | None = None
    ) -> None:
        self.ledger, self.max_batch, self.on_commit = ledger, max_batch, on_commit
        self.stats = CommitStats()
        self._queue: list[_Pending] = []
        self._lock = threading.Lock()
        self._leading = False  # an append is in flight; its leader will hand over
        self._closed = False

    def append(
        self,
        *aggregates: Any,
        events: Sequence[Any] = (),
        token_grants: list[TokenGrant] | None = None,
        token_revocations: list[Any] | None = None,
        owner: Any = None,
    ) -> int:
        """Like ``Ledger.append``: returns the last position of these aggregates' events
        and ``events``. ``owner`` (e.g. the user) is handed to ``on_commit`` with it."""
        collected = [e for aggregate in aggregates for e in aggregate.collect_events()]
        grants, revocations = list(token_grants or ()), list(token_revocations or ())
        pending = _Pending([*collected, *events], grants, revocations, owner)
        with self._lock:
            if self._closed:
                raise RuntimeError("group committer closed")
            self._queue.append(pending)
            pending.lead = not self._leading
            self._leading = True
        if not pending.lead:
            pending.woken.wait()  # answered, or handed the lead
        if pending.lead:
            self._lead()
        if pending.error is not None:
            raise pending.error
        return pending.position

    def close(self) -> None:
        """Refuse new appends; those already queued are still committed by their leaders."""
        with self._lock:
            self._closed = True

    def _lead(self) -> None:
        # The leader is always the oldest queued caller, so it is in its own batch.
        with self._lock:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
        self._commit(batch)
        self._announce(batch)
        with self._lock:
            successor = self._queue[0] if self._queue else None
            if successor is None:
                self._leading = False
            else:
                successor.lead = True
        for pending in batch:
            pending.lead = False
            pending.woken.set()
        if successor is not None:
            successor.woken.set()

    def _announce(self, batch: list[_Pending]) -> None:
        if self.on_commit is None:
            return
        done = [(p.owner, p.position) for p in batch if p.error is None and p.owner is not None]
        if done:
            try:
                self.on_commit(done)
            except Exception:
                logger.exception("on_commit failed for %d commands", len(done))

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            self._save(batch)
        except IntegrityError:
            # Someone's optimistic-concurrency check failed: find out whose, one by one,
            # so the others still commit and only that command is refused.
            for pending in batch:
                try:
                    self._save([pending])
                except BaseException as exc:  # handed to its caller, never lost
                    pending.error = exc
        except BaseException as exc:
            for pending in batch:
                pending.error = exc

    def _save(self, batch: list[_Pending]) -> None:
        events = [e for pending in batch for e in pending.events]
        grants = [g for pending in batch for g in pending.grants]
        revoked = [r for pending in batch for r in pending.revocations]
        positions = self.ledger.record(events, token_grants=grants, token_revocations=revoked)
        self.stats.transactions += 1
        self.stats.commands += len(batch)
        self.stats.events += len(events)
        offset = 0
        for pending in batch:
            mine = positions[offset : offset + len(pending.events)]
            offset += len(pending.events)
            pending.position = max(mine, default=0)
