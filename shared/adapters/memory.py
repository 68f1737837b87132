"""The event store in memory, for unit tests: eventsourcing's POPO persistence behind the
same ``Ledger`` application class as production.

Aggregates really round-trip: events are encoded by our transcoder, stored, read back and
projected, with the library's optimistic concurrency (a second event at an existing
``(originator_id, originator_version)`` fails the whole append). What the PostgreSQL
recorder adds is here too, so command handlers run unchanged: the batch read of several
aggregates (``select_events_of``) and the inline ``auth_tokens`` rows, written in the
append's atomic step. Not here: the table lock and durable commits (there is no second
process to order against), which the integration tests cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.utils import get_topic

from shared.adapters.auth import TokenRecord
from shared.adapters.eventstore import Ledger
from shared.adapters.recorder import TokenGrant


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A row of the inline ``auth_tokens`` table."""

    user_id: UUID
    secret_sha256: str
    expires_at: datetime | None
    revoked_at: datetime | None = None


class InMemoryRecorder(POPOApplicationRecorder):
    """The library's in-memory recorder, plus what ``ValorizeRecorder`` does beyond it."""

    def __init__(self) -> None:
        super().__init__()
        self.auth_tokens: dict[UUID, TokenRow] = {}

    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # Called under the database lock once the append's uniqueness is checked: the
        # token rows change in the same atomic step as the events, or not at all.
        grants: Sequence[TokenGrant] = kwargs.get("token_grants") or ()
        revocations: Sequence[UUID] = kwargs.get("token_revocations") or ()
        for grant in grants:
            self.auth_tokens[grant.token_id] = TokenRow(
                grant.user_id, grant.secret_sha256, grant.expires_at
            )
        now = datetime.now(UTC)
        for token_id in revocations:
            row = self.auth_tokens.get(token_id)
            if row is not None and row.revoked_at is None:
                self.auth_tokens[token_id] = TokenRow(
                    row.user_id, row.secret_sha256, row.expires_at, now
                )
        return super()._update_table(stored_events, **kwargs)

    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every stored event of these aggregates, each aggregate's in version order; an
        id named twice is read once (as PostgreSQL's ``= ANY(...)``)."""
        with self._database_lock:
            return [e for i in dict.fromkeys(originator_ids) for e in self.select_events(i)]


class MemoryTokens:
    """``TokenLookup`` over the in-memory ``auth_tokens`` (what ``PostgresTokens`` reads)."""

    def __init__(self, recorder: InMemoryRecorder) -> None:
        self._tokens = recorder.auth_tokens

    def find(self, token_id: UUID) -> TokenRecord | None:
        row = self._tokens.get(token_id)
        if row is None:
            return None
        return TokenRecord(
            row.user_id, row.secret_sha256, row.expires_at, row.revoked_at is not None
        )


class InMemoryFactory(POPOFactory):
    def application_recorder(self) -> ApplicationRecorder:
        return InMemoryRecorder()


def open_memory_ledger() -> Ledger:
    """A ``Ledger`` whose events live in this process only (one per test)."""
    return Ledger(env={"PERSISTENCE_MODULE": get_topic(InMemoryFactory)})


def memory_recorder(ledger: Ledger) -> InMemoryRecorder:
    """The recorder of a ledger from :func:`open_memory_ledger` (tests read its tables)."""
    recorder = ledger.recorder
    assert isinstance(recorder, InMemoryRecorder)
    return recorder


class RecordedMarks:
    """``WriteMarks`` that remember every mark, in order (tests read ``marks``)."""

    def __init__(self) -> None:
        self.marks: list[tuple[UUID, int]] = []

    def mark(self, marks: Sequence[tuple[UUID, int]]) -> None:
        self.marks.extend(marks)


class RecordedWakeups:
    """A ``Wakeup`` that remembers every hint, in order (tests read ``positions``)."""

    def __init__(self) -> None:
        self.positions: list[int] = []

    def notify(self, position: int) -> None:
        self.positions.append(position)

    def close(self) -> None:
        return None
