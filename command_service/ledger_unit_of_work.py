"""The unit of work over our ``Ledger``: PostgreSQL in production, eventsourcing's POPO
store in unit tests (``in_memory``), one code path for both.

Per process, :class:`LedgerUnits` holds the ledger, the way it appends (the group
committer, or one append per command) and the wake-up; each command gets a fresh
:class:`LedgerUnitOfWork` from ``start()`` (a few empty containers, no I/O).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from command_service.unit_of_work import KeyClaimedError
from shared.adapters.eventstore import Ledger, TokenGrant
from shared.adapters.freshness import WriteMarks
from shared.adapters.memory import RecordedMarks, RecordedWakeups, open_memory_ledger
from shared.adapters.wakeup import Wakeup
from shared.domain.errors import ConcurrentChangeError
from shared.domain.idempotency import IdempotencyKey
from shared.domain.users import Token

A = TypeVar("A", bound=Aggregate)


class Appends(Protocol):
    """How a process appends. Implementations mark ``owner``'s write position
    (read-your-writes) before returning; ``GroupCommitter`` does it once per group."""

    def append(
        self,
        *aggregates: Aggregate,
        events: Sequence[Any] = (),
        token_grants: list[TokenGrant] | None = None,
        token_revocations: list[Any] | None = None,
        owner: Any = None,
    ) -> int: ...


class DirectAppends:
    """One append per command (``GROUP_COMMIT`` off, and unit tests), then its mark."""

    def __init__(self, ledger: Ledger, marks: WriteMarks) -> None:
        self.ledger, self.marks = ledger, marks

    def append(
        self,
        *aggregates: Aggregate,
        events: Sequence[Any] = (),
        token_grants: list[TokenGrant] | None = None,
        token_revocations: list[Any] | None = None,
        owner: Any = None,
    ) -> int:
        position = self.ledger.append(
            *aggregates,
            events=events,
            token_grants=token_grants or [],
            token_revocations=token_revocations or [],
        )
        if owner is not None:
            self.marks.mark([(owner, position)])
        return position


class LedgerUnits:
    """The per-process side of the unit of work: ``start()`` one per command."""

    def __init__(self, ledger: Ledger, appends: Appends, wakeup: Wakeup) -> None:
        self.ledger, self.appends, self.wakeup = ledger, appends, wakeup

    def start(self) -> LedgerUnitOfWork:
        return LedgerUnitOfWork(self)


class LedgerUnitOfWork:
    """``UnitOfWork`` (see its invariants) over a ``Ledger``."""

    __slots__ = ("_added", "_grants", "_revoked", "_seen", "_units")

    def __init__(self, units: LedgerUnits) -> None:
        self._units = units
        self._seen: dict[UUID, Aggregate | None] = {}  # the identity map; None: no such id
        # Aggregates, and creation events of aggregates never built (``record``), in order.
        self._added: list[Aggregate | Aggregate.Created] = []
        self._grants: list[TokenGrant] = []
        self._revoked: list[UUID] = []

    def load(self, ids: Iterable[UUID | None]) -> None:
        # dict: each id once, in order (a split may name its transaction's category).
        wanted = list(dict.fromkeys(i for i in ids if i is not None and i not in self._seen))
        if not wanted:
            return
        found = self._units.ledger.aggregates(wanted)
        for aggregate_id in wanted:
            self._seen[aggregate_id] = found.get(aggregate_id)

    def get(self, kind: type[A], aggregate_id: UUID) -> A | None:
        if aggregate_id not in self._seen:
            self.load((aggregate_id,))
        found = self._seen[aggregate_id]
        return found if isinstance(found, kind) else None

    def add(self, *aggregates: Aggregate) -> None:
        self._added.extend(aggregates)

    def record(self, *created: Aggregate.Created) -> None:
        self._added.extend(created)

    def issue(self, token: Token) -> None:
        self._added.append(token)
        grant = TokenGrant(token.id, UUID(token.user_id), token.secret_sha256, token.expires_at)
        self._grants.append(grant)

    def revoke(self, token: Token) -> None:
        self._added.append(token)
        self._revoked.append(token.id)

    def commit(self, user_id: UUID, claim: IdempotencyKey | None = None) -> int:
        added = self._added if claim is None else [*self._added, claim]
        events: list[Any] = []
        for item in added:
            if isinstance(item, Aggregate):
                events += item.collect_events()
            else:
                events.append(item)
        try:
            position = self._units.appends.append(
                events=events,
                token_grants=self._grants,
                token_revocations=self._revoked,
                owner=user_id,
            )
        except IntegrityError:
            self._forget()
            # Whose conflict? If the claim now exists, a request with the same key won.
            if claim is not None and (taken := self.get(IdempotencyKey, claim.id)) is not None:
                raise KeyClaimedError(taken) from None
            raise ConcurrentChangeError from None
        self._added, self._grants, self._revoked = [], [], []
        # After the append (and its mark): a hint only, which never raises.
        self._units.wakeup.notify(position)
        return position

    def head(self) -> int:
        return self._units.ledger.head()

    def _forget(self) -> None:
        # A failed append has spent the aggregates' pending events: nothing loaded is
        # reusable, and a retry must read the store again.
        self._seen, self._added, self._grants, self._revoked = {}, [], [], []


@dataclass(frozen=True)
class InMemory:
    """The in-memory adapter, with what tests inspect: the ledger (and its recorder's
    ``auth_tokens``), the read-your-writes marks and the wake-ups, in order."""

    units: LedgerUnits
    ledger: Ledger
    marks: RecordedMarks
    wakeups: RecordedWakeups


def in_memory() -> InMemory:
    """A unit-of-work source whose store lives in this process: a real ``Ledger`` on
    eventsourcing's POPO persistence, so aggregates round-trip through their events."""
    ledger = open_memory_ledger()
    marks, wakeups = RecordedMarks(), RecordedWakeups()
    return InMemory(
        LedgerUnits(ledger, DirectAppends(ledger, marks), wakeups), ledger, marks, wakeups
    )
