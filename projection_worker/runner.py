"""The locked pull loop that moves every projection forward exactly once.

Invariant (per projection): events are applied in global order, and a batch's effects
and its checkpoint move commit together, guarded by a lock and a compare-and-set on the
old position. Duplicate, late or reordered wake-ups therefore change nothing: whoever
holds the lock reads from the checkpoint, never from the position a task carried.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import psycopg
import redis.exceptions
from eventsourcing.persistence import InterfaceError, Notification, OperationalError

from shared.eventstore import Ledger

logger = logging.getLogger(__name__)

# Failures of the infrastructure, not of an event: retried on the next wake-up or sweep,
# never recorded as poison.
TRANSIENT = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)


class Positioned(NamedTuple):
    """A decoded domain event with its global position (a tuple: replays make millions,
    and a frozen dataclass cost a third of decoding one)."""

    position: int
    topic: str
    event: Any


class Projection(Protocol):
    """Port: one read model that can apply a batch of events exactly once."""

    name: str

    def checkpoint(self) -> int:
        """The position of the last event applied (0 before any)."""
        ...

    def apply(self, batch: Sequence[Positioned], expected: int) -> bool:
        """Apply ``batch`` and move the checkpoint from ``expected`` to the batch's last
        position, atomically. Return False (applying nothing) if the checkpoint is not
        ``expected`` any more or the projection is busy elsewhere."""
        ...

    def fail(self, event: Positioned, error: str) -> None:
        """Record a poison event and stop at it (status ``failed``), skipping nothing."""
        ...

    def failed(self) -> bool: ...


class Runner:
    """Pulls events after each projection's checkpoint, in batches, until caught up."""

    def __init__(self, ledger: Ledger, projections: Sequence[Projection], batch: int = 500):
        self.ledger = ledger
        self.projections = list(projections)
        self.batch = batch
        self._local = threading.Lock()

    def read(self, after: int, limit: int) -> list[Positioned]:
        notifications: Sequence[Notification] = self.ledger.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        return [
            Positioned(n.id, n.topic, self.ledger.mapper.to_domain_event(n)) for n in notifications
        ]

    def catch_up(self) -> int:
        """Run every projection until it reaches the head; return events applied.
        One projection's outage never holds the others back."""
        applied = 0
        for projection in self.projections:
            try:
                applied += self.catch_up_one(projection)
            except TRANSIENT:
                logger.warning(
                    "projection %s: store unavailable, will retry", projection.name, exc_info=True
                )
        return applied

    def catch_up_one(
        self, projection: Projection, progress: Callable[[int], None] | None = None
    ) -> int:
        """Apply batches until the head; ``progress`` hears each batch's last position."""
        applied = 0
        while not projection.failed():
            start = projection.checkpoint()
            batch = self.read(start, self.batch)
            if not batch:
                return applied
            try:
                if not projection.apply(batch, start):
                    return applied  # another worker holds it, or moved it: it will go on
            except TRANSIENT:
                raise
            except Exception:
                logger.exception("projection %s: batch after %d failed", projection.name, start)
                self.isolate(projection, batch, start)
                continue
            applied += len(batch)
            if progress is not None:
                progress(batch[-1].position)
        return applied

    @staticmethod
    def isolate(projection: Projection, batch: Sequence[Positioned], start: int) -> None:
        """Re-apply one event at a time to find and record the poison event."""
        expected = start
        for item in batch:
            try:
                if not projection.apply([item], expected):
                    return
            except TRANSIENT:
                raise
            except Exception as exc:
                projection.fail(item, f"{type(exc).__name__}: {exc}")
                return
            expected = item.position
