"""Group commit keeps every guarantee: real positions, per-aggregate optimistic
concurrency, and a global order that a tailing reader follows without missing an event."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError

from shared.domain.ids import uuid7
from shared.domain.transactions import Transaction
from shared.eventstore import Ledger
from shared.group_commit import GroupCommitter

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


def test_concurrent_writers_and_a_tailing_reader_see_every_event_once(ledger: Ledger) -> None:
    committer = GroupCommitter(ledger)
    start = ledger.head()
    seen: list[int] = []
    done = threading.Event()

    def tail() -> None:
        after = start
        while True:
            finished = done.is_set()
            page = ledger.recorder.select_notifications(
                start=after, limit=1000, inclusive_of_start=False
            )
            seen.extend(n.id for n in page)
            after = page[-1].id if page else after
            if finished and not page:
                return

    reader = threading.Thread(target=tail)
    reader.start()
    try:
        with ThreadPoolExecutor(32) as pool:
            positions = list(pool.map(lambda _: committer.append(_txn()), range(2_000)))
    finally:
        done.set()
        reader.join()
        committer.close()
    assert len(set(positions)) == 2_000  # each caller got its own, real position
    assert seen == sorted(seen)  # the tail only ever moved forward...
    assert set(positions) <= set(seen)  # ...and still saw every acknowledged event


def test_a_conflicting_command_fails_alone_in_its_group(ledger: Ledger) -> None:
    committer = GroupCommitter(ledger)
    original = _txn()
    committer.append(original)
    stale = ledger.repository.get(original.id)
    fresher = ledger.repository.get(original.id)
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
