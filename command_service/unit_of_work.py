"""Port: the unit of work, one command's whole conversation with the event store.

A handler loads what it checks, changes aggregates, and commits once; it never sees a
connection, a group commit, a Redis mark or a Cloud Task. The adapter
(``ledger_unit_of_work``) runs the same code over PostgreSQL in production and over
eventsourcing's in-memory store in unit tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from shared.domain.idempotency import IdempotencyKey
from shared.domain.users import Token

A = TypeVar("A", bound=Aggregate)


class KeyClaimedError(Exception):
    """The commit's idempotency claim was taken by another commit first (two requests
    with one key raced): nothing of this one was written. ``claim`` is the winner's."""

    def __init__(self, claim: IdempotencyKey) -> None:
        self.claim = claim
        super().__init__(f"idempotency key {claim.id} already claimed")


class UnitOfWork(Protocol):
    """One command's reads and its one atomic write.

    Invariants:

    * **Reads.** ``load`` fetches every aggregate it names in one query. ``get`` answers
      from what was loaded, or fetches an id not loaded (one query); either way one
      instance per id for the unit's life (an identity map), so every check and change
      of a command sees the same object. Nothing is locked: writers that race are caught
      at commit by the aggregates' versions (optimistic concurrency).
    * **Writes.** Nothing reaches the store before ``commit``. ``commit`` appends the
      pending events of every aggregate added, the idempotency claim if any, and the
      inline token rows (``issue``/``revoke``) in one transaction: all of it or none.
      Any aggregate changed since it was read fails the whole commit
      (``ConcurrentChangeError``, the client may retry); a claim taken meanwhile raises
      ``KeyClaimedError`` instead. After a failed commit the unit has forgotten what it
      loaded (pending events are spent), so a handler may retry on the same unit.
    * **After the commit is durable,** before ``commit`` returns: the user's
      read-your-writes mark is moved to the position (their next read waits for it),
      then the projections are woken. Both are hints: they never raise, and a lost one
      costs latency, never data.
    * One unit serves one command on one thread.
    """

    def load(self, ids: Iterable[UUID | None]) -> None:
        """Fetch these aggregates (``None``s skipped) in one query, for ``get``."""
        ...

    def get(self, kind: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate if it exists and is a ``kind``, else None."""
        ...

    def add(self, *aggregates: Aggregate) -> None:
        """Have ``commit`` append these aggregates' pending events."""
        ...

    def record(self, *created: Aggregate.Created) -> None:
        """Have ``commit`` append these creation events of new aggregates, as ``add`` would
        append the aggregates they create, in the order added: for bulk writes (an import's
        chunk), where building each aggregate costs several times its event. An id that
        exists fails the commit like any stale aggregate (version 1 is taken)."""
        ...

    def issue(self, token: Token) -> None:
        """Add a new token; its inline ``auth_tokens`` row is written by the same commit,
        so the token authenticates on every service once the commit returns."""
        ...

    def revoke(self, token: Token) -> None:
        """Add a revoked token; its inline row is marked revoked by the same commit."""
        ...

    def commit(self, user_id: UUID, claim: IdempotencyKey | None = None) -> int:
        """Append everything added (and ``claim``) atomically, mark ``user_id``'s write,
        wake the projections; the position of the last event appended."""
        ...

    def head(self) -> int:
        """The store's highest position (for answers that wrote nothing)."""
        ...


class UnitsOfWork(Protocol):
    """Where endpoints get a fresh unit for each command."""

    def start(self) -> UnitOfWork: ...
