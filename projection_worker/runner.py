"""The locked pull loop that moves every projection forward exactly once.

Invariant (per projection): events are applied in global order within each partition
(a user's events; ``global`` for events of no user), and a batch's effects and its
checkpoint move commit together, guarded by a compare-and-set on the old state. Duplicate,
late or reordered wake-ups therefore change nothing: whoever wins the compare-and-set read
from the checkpoint, never from the position a task carried.

Poison events are *parked*, never skipped and never allowed to stop everyone: an event a
read model cannot apply is recorded with its error, its partition's later events wait
behind it (recorded too, in order), and every other partition flows on. An operator
retries a partition after a fix, or quarantines its poison with an audit record
(``valorize projections retry|quarantine``). A partition is one user because a read
model's rows for one user depend on each other (a transaction's balance on its account),
never on another user's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import psycopg
import redis.exceptions
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.utils import resolve_topic

from projection_worker.feed import Feed, Positioned
from shared.adapters.eventstore import Ledger
from shared.contracts import GLOBAL_PARTITION
from shared.domain.users import User

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


class Undecoded:
    """An event no read model of this process acts on, read but not decoded."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDECODED"


UNDECODED = Undecoded()


class ProjectionState(NamedTuple):
    """Where a projection stands: its checkpoint, the partitions held behind a parked
    event, and a version bumped by every park and release (a batch that chose which
    events to hold under one version must not commit under another)."""

    position: int
    parked: frozenset[str] = frozenset()
    version: int = 0


class Parked(NamedTuple):
    """A parked event: the head of its partition (``error`` set: the poison) or an event
    waiting behind it (``error`` None)."""

    position: int
    partition: str
    topic: str
    error: str | None


def partition_of(event: Any) -> str:
    """The partition an event belongs to: its user, or ``global`` (banks, global
    categories) — the unit whose order a parked event holds back."""
    if isinstance(event, User.Event):
        return str(event.originator_id)
    user = getattr(event, "user_id", None)
    return GLOBAL_PARTITION if user is None else str(user)


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Projection(Protocol):
    """Port: one read model that applies events exactly once, parking what it cannot."""

    name: str

    def state(self) -> ProjectionState:
        """The checkpoint (0 before any event), parked partitions and their version."""
        ...

    def checkpoint(self) -> int:
        """``state().position``."""
        ...

    def handles(self, event: object) -> bool:
        """Whether the read model acts on ``event``: by its type alone (a worker asks
        with a bare instance, to decode only what its read models act on)."""
        ...

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        """Apply the events of ``batch`` whose partition is not parked in ``expected``,
        record the others as waiting behind their partition's poison (in order), and move
        the checkpoint to the batch's last position: all atomically, and only if the
        state is still ``expected``. Return False (nothing applied) otherwise."""
        ...

    def park(self, item: Positioned, error: str, expected: ProjectionState) -> bool:
        """Record ``item`` as its partition's poison and move the checkpoint to it,
        atomically, only if the state is still ``expected``."""
        ...

    def parked(self) -> list[Parked]:
        """Every parked event, by partition then position."""
        ...

    def release(self, item: Positioned) -> bool:
        """Apply ``item``, the head of its partition's parked events, and unpark it, at
        once (the partition flows again with its last one). False if it is not the head
        (someone else released it). An error applying it propagates, nothing changed."""
        ...

    def repark(self, position: int, error: str) -> None:
        """Record a new error for the parked head at ``position`` (a retry that failed)."""
        ...

    def quarantine(self, position: int, reason: str) -> bool:
        """Drop the parked head at ``position`` for good, with an audit record; False if
        it is not a parked head."""
        ...


# Hears each applied batch: (projection, first, last position, read from, read by), times
# in wall-clock seconds (see projection_worker.lanes.Timeline).
Observer = Callable[[str, int, int, float, float], None]


class Runner:
    """Pulls events after each projection's checkpoint, in batches, until caught up."""

    def __init__(
        self,
        ledger: Ledger,
        projections: Sequence[Projection],
        batch: int = 2_000,
        observe: Observer | None = None,
        *,
        only_handled: bool = False,
    ):
        """``only_handled``: decode only the events some of ``projections`` act on (a
        worker process's lanes; an import's staged rows are half of what it reads, and
        the cache and the vector index never look at them). The others are read as
        ``UNDECODED``: their positions move the checkpoints all the same."""
        self.ledger = ledger
        self.projections = list(projections)
        self.batch = batch
        self.observe = observe
        self.feed = Feed(self._fetch)
        self._wanted: dict[str, bool] | None = {} if only_handled else None

    def read(self, after: int, limit: int) -> list[Positioned]:
        """Events after ``after``, decoded once for every lane (``Feed``)."""
        return self.feed.read(after, limit)

    def _fetch(self, after: int, limit: int) -> list[Positioned]:
        notifications: Sequence[Notification] = self.ledger.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )
        decode = self.ledger.mapper.to_domain_event
        if self._wanted is None:
            return [Positioned(n.id, n.topic, decode(n)) for n in notifications]
        wanted = self._wanted
        return [
            Positioned(
                n.id,
                n.topic,
                decode(n) if wanted.get(n.topic) or self._wants(n.topic) else UNDECODED,
            )
            for n in notifications
        ]

    def _wants(self, topic: str) -> bool:
        """Whether a projection here acts on events of ``topic`` (asked once per topic:
        the read models decide by the event's type, so a bare instance of it answers)."""
        assert self._wanted is not None
        found = self._wanted.get(topic)
        if found is None:
            kind = resolve_topic(topic)
            probe = object.__new__(kind)
            found = self._wanted[topic] = any(p.handles(probe) for p in self.projections)
        return found

    def at(self, position: int) -> Positioned:
        """The event at ``position`` (operator retries read parked events back)."""
        found = self.read(position - 1, 1)
        if not found or found[0].position != position:
            raise LookupError(f"no event at position {position}")
        return found[0]

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
        """Apply batches until the head; ``progress`` hears each batch's last position.
        The state is read once and carried forward (a batch moves only the position); a
        compare-and-set that fails, a park or an error reads it again."""
        applied = 0
        state = projection.state()
        while True:
            read_at = time.time()
            batch = self.read(state.position, self.batch)
            if not batch:
                return applied
            read = time.time()
            try:
                if not projection.apply(batch, state):
                    return applied  # another worker holds it, or moved it: it will go on
            except TRANSIENT:
                raise
            except Exception:
                logger.exception(
                    "projection %s: batch after %d failed", projection.name, state.position
                )
                if not self.isolate(projection, batch, state):
                    return applied
                state = projection.state()
            else:
                state = state._replace(position=batch[-1].position)
            applied += len(batch)
            if self.observe is not None:
                self.observe(projection.name, batch[0].position, batch[-1].position, read_at, read)
            if progress is not None:
                progress(batch[-1].position)

    @staticmethod
    def isolate(
        projection: Projection, batch: Sequence[Positioned], state: ProjectionState
    ) -> bool:
        """Apply ``batch`` one event at a time, parking each poison event: its partition's
        later events are then held behind it, everyone else's applied. False if another
        worker moved the projection meanwhile (it carries on)."""
        for item in batch:
            try:
                if not projection.apply([item], state):
                    return False
            except TRANSIENT:
                raise
            except Exception as exc:
                logger.warning(
                    "projection %s: parking %s at %d", projection.name, item.topic, item.position
                )
                if not projection.park(item, error_text(exc), state):
                    return False
            state = projection.state()
        return True


class ReleaseOutcome(NamedTuple):
    released: int
    stuck: Parked | None  # the head that failed again, if any


def release_partition(runner: Runner, projection: Projection, partition: str) -> ReleaseOutcome:
    """Retry a partition's parked events in order, after a fix: each one applied and
    unparked at once; the first that fails again stays at the head with its new error."""
    released = 0
    while True:
        heads = [p for p in projection.parked() if p.partition == partition]
        if not heads:
            return ReleaseOutcome(released, None)
        head = heads[0]
        try:
            if projection.release(runner.at(head.position)):
                released += 1
        except TRANSIENT:
            raise
        except Exception as exc:
            projection.repark(head.position, error_text(exc))
            return ReleaseOutcome(released, head._replace(error=error_text(exc)))


def split_held(
    batch: Sequence[Positioned], parked: frozenset[str], handles: Callable[[Any], bool]
) -> tuple[list[Positioned], list[Positioned]]:
    """``(to apply, to hold)``: events of parked partitions wait (only those the read
    model acts on are recorded; it ignores the rest anyway)."""
    if not parked:
        return list(batch), []
    live, held = [], []
    for item in batch:
        if partition_of(item.event) not in parked:
            live.append(item)
        elif handles(item.event):
            held.append(item)
    return live, held
