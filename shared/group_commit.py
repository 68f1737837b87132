"""Group commit: concurrent commands coalesced into one append, each caller answered with
its own positions once the shared transaction is durable.

The store serialises appends with a table lock (so tailing readers never skip a late
commit); every append pays a lock, a round trip and a WAL flush. One committer thread
per process takes whatever commands queued up while the previous append was in flight
and saves them together: no added wait at low load, fewer, larger transactions under
load. Guarantees are unchanged: optimistic concurrency per aggregate (a conflicting
command is retried alone and only it fails), positions are the real ones, and a caller
is answered only after its events are committed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import IntegrityError

from shared.eventstore import Ledger, TokenGrant

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    events: list[Any]
    grants: list[TokenGrant]
    done: threading.Event = field(default_factory=threading.Event)
    position: int = 0
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, ledger: Ledger, max_batch: int = 500) -> None:
        self.ledger, self.max_batch = ledger, max_batch
        self._queue: list[_Pending] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def append(self, *aggregates: Any, token_grants: list[TokenGrant] | None = None) -> int:
        """Like ``Ledger.append``: returns the last position of these aggregates' events."""
        events = [e for aggregate in aggregates for e in aggregate.collect_events()]
        pending = _Pending(events, list(token_grants or ()))
        with self._cond:
            if self._closed:
                raise RuntimeError("group committer closed")
            self._queue.append(pending)
            self._cond.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.position

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            self._commit(batch)

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
        finally:
            for pending in batch:
                pending.done.set()

    def _save(self, batch: list[_Pending]) -> None:
        events = [e for pending in batch for e in pending.events]
        grants = [g for pending in batch for g in pending.grants]
        recordings = self.ledger.save(*events, token_grants=grants)
        offset = 0
        for pending in batch:
            mine = recordings[offset : offset + len(pending.events)]
            offset += len(pending.events)
            pending.position = max((r.notification.id for r in mine), default=0)
