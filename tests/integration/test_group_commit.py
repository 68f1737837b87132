"""Group commit and the one-round-trip recorder keep every guarantee: real, durable
positions, per-aggregate optimistic concurrency (all or nothing, inline tokens included),
and a global order that a tailing reader follows without missing an event, with several
command-service instances writing at once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from shared.adapters.eventstore import EVENTS_TABLE, Ledger, TokenGrant, open_ledger
from shared.adapters.group_commit import GroupCommitter
from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction
from shared.domain.users import Token
from shared.settings import Settings

OWNER, ACCOUNT = str(uuid7()), str(uuid7())  # well-formed ids: the projections store them


def _txn(memo: str = "gc") -> Transaction:
    return Transaction(
        id=uuid7(),
        user_id=OWNER,
        account_id=ACCOUNT,
        category_id=None,
        amount=1,
        currency="BRL",
        date=datetime(2026, 6, 1, tzinfo=UTC),
        memo=memo,
        fitid=None,
        splits=[],
    )


def _tail(ledger: Ledger, after: int, done: threading.Event, seen: list[int]) -> None:
    """Follow the log as a projection does: from the last position seen, as fast as it can."""
    while True:
        finished = done.is_set()
        page = ledger.recorder.select_notifications(
            start=after, limit=1000, inclusive_of_start=False
        )
        seen.extend(n.id for n in page)
        after = page[-1].id if page else after
        if finished and not page:
            return


def test_a_conflicting_command_fails_alone_in_its_group(ledger: Ledger) -> None:
    committer = GroupCommitter(ledger)
    original = _txn()
    committer.append(original)
    stale: Transaction = ledger.repository.get(original.id)
    fresher: Transaction = ledger.repository.get(original.id)
    fresher.amend(category_id=None, amount=2, date=original.date, memo="first", splits=[])
    stale.amend(category_id=None, amount=3, date=original.date, memo="stale", splits=[])
    barrier = threading.Barrier(12)

    def write(index: int) -> object:
        barrier.wait()
        try:
            if index == 0:
                return committer.append(fresher)
            if index == 1:
                return committer.append(stale)
            return committer.append(_txn())
        except IntegrityError as exc:
            return exc

    try:
        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(write, range(12)))
    finally:
        committer.close()
    failures = [r for r in results if isinstance(r, IntegrityError)]
    assert len(failures) == 1  # one of the two versions of the same aggregate lost
    assert all(isinstance(r, int) and r > 0 for r in results if r not in failures)
    assert ledger.repository.get(original.id).memo in ("first", "stale")


def test_several_instances_write_at_once_and_a_tailing_reader_misses_nothing(
    ledger: Ledger, settings: Settings
) -> None:
    """Three instances (each its own pool and committer) append concurrently while a reader
    tails the log; the reader must end up with exactly the rows in the table, in order."""
    instances = [open_ledger(settings) for _ in range(3)]
    committers = [GroupCommitter(instance) for instance in instances]
    start = ledger.head()
    seen: list[int] = []
    done = threading.Event()
    reader = threading.Thread(target=_tail, args=(ledger, start, done, seen))
    reader.start()
    try:
        with ThreadPoolExecutor(48) as pool:
            positions = list(pool.map(lambda n: committers[n % 3].append(_txn()), range(3_000)))
    finally:
        done.set()
        reader.join()
        for committer, instance in zip(committers, instances, strict=True):
            committer.close()
            instance.close()
    with psycopg.connect(settings.postgres_dsn) as conn:
        stored = [
            row[0]
            for row in conn.execute(
                f"SELECT notification_id FROM {settings.eventstore_schema}.{EVENTS_TABLE} "
                "WHERE notification_id > %s ORDER BY notification_id",
                (start,),
            )
        ]
    assert len(set(positions)) == 3_000
    assert set(positions) <= set(stored)
    # Every row the table holds, each once, in order: no event committed after the
    # reader passed its position (which is what a lock-free append would allow).
    assert seen == stored


def test_positions_are_the_committed_rows_of_each_callers_events(
    ledger: Ledger, settings: Settings
) -> None:
    committer = GroupCommitter(ledger)
    try:
        with ThreadPoolExecutor(16) as pool:
            made = list(pool.map(lambda _: _append_and_check(committer, settings), range(200)))
    finally:
        committer.close()
    assert all(made)


def _append_and_check(committer: GroupCommitter, settings: Settings) -> bool:
    txn = _txn()
    position = committer.append(txn)
    # Read on a connection of its own: once append returns, the row is committed.
    with psycopg.connect(settings.postgres_dsn) as conn:
        row = conn.execute(
            f"SELECT notification_id FROM {settings.eventstore_schema}.{EVENTS_TABLE} "
            "WHERE originator_id = %s",
            (txn.id,),
        ).fetchone()
    return row is not None and row[0] == position


def test_appends_are_acknowledged_only_with_synchronous_commit(ledger: Ledger) -> None:
    with ledger.connection() as conn:
        row = conn.execute("SHOW synchronous_commit").fetchone()
    assert row is not None
    assert row["synchronous_commit"] == "on"


def test_a_conflict_rolls_back_the_whole_append_tokens_included(
    ledger: Ledger, settings: Settings
) -> None:
    original = _txn()
    ledger.append(original)
    stale: Transaction = ledger.repository.get(original.id)
    winner: Transaction = ledger.repository.get(original.id)
    winner.amend(category_id=None, amount=5, date=original.date, memo="won", splits=[])
    ledger.append(winner)
    stale.amend(category_id=None, amount=6, date=original.date, memo="lost", splits=[])
    expires = datetime.now(UTC) + timedelta(days=1)
    token = Token(id=uuid7(), user_id=OWNER, name="t", secret_sha256="0" * 64, expires_at=expires)
    grant = TokenGrant(token.id, UUID(OWNER), "0" * 64, expires)
    bystander = _txn()
    with pytest.raises(IntegrityError):
        ledger.append(stale, bystander, token, token_grants=[grant])
    with psycopg.connect(settings.postgres_dsn) as conn:
        schema = settings.eventstore_schema
        tokens = conn.execute(
            f"SELECT count(*) FROM {schema}.auth_tokens WHERE id = %s", (token.id,)
        ).fetchone()
        events = conn.execute(
            f"SELECT count(*) FROM {schema}.{EVENTS_TABLE} WHERE originator_id = ANY(%s)",
            ([bystander.id, token.id],),
        ).fetchone()
    assert tokens == (0,)
    assert events == (0,)
    assert ledger.repository.get(original.id).memo == "won"


def test_each_group_is_announced_once_before_its_callers_return(ledger: Ledger) -> None:
    announced: list[tuple[Any, int]] = []
    groups: list[int] = []
    lock = threading.Lock()

    def on_commit(marks: Sequence[tuple[Any, int]]) -> None:
        with lock:
            announced.extend(marks)
            groups.append(len(marks))

    committer = GroupCommitter(ledger, on_commit=on_commit)

    def write(n: int) -> bool:
        position = committer.append(_txn(), owner=n)
        with lock:
            return (n, position) in announced

    try:
        with ThreadPoolExecutor(32) as pool:
            answered_after_mark = list(pool.map(write, range(1_000)))
    finally:
        committer.close()
    assert all(answered_after_mark)
    assert len(announced) == len(set(announced)) == 1_000
    assert len(groups) < 1_000  # some commands did share a transaction
