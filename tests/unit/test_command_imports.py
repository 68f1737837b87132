"""Import and notification handlers on the in-memory unit of work (no I/O but memory)."""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO
from uuid import UUID, uuid4

import pytest

from command_service.commands import (
    MarkAllNotificationsRead,
    MarkNotificationRead,
    ProcessImport,
    ResolveConflict,
    StartImports,
    UploadedStatement,
)
from command_service.handlers.imports import ImportHandlers, NotScheduledError
from command_service.handlers.notifications import NotificationHandlers
from scenarios.statement_data import Row, csv, ofx
from shared.domain.accounts import Account
from shared.domain.errors import NotFoundError, RuleViolationError
from shared.domain.imports import Import, Resolution, row_id_for
from shared.domain.notifications import IMPORT_FAILED, Inbox, Notification
from shared.domain.transactions import Transaction
from tests.unit.conftest import CommandSide, Member

# The original app's fixture (api-contract 3.5), copied in: tests read nothing outside the repo.
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "statements" / "ofx-fake.ofx"


class MemoryFiles:
    """A dict as the object store (the real adapters are tested over HTTP)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, key: str, source: IO[bytes]) -> None:
        self.blobs[key] = source.read()

    @contextlib.contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        yield io.BytesIO(self.blobs[key])


class RecordedTasks:
    def __init__(self) -> None:
        self.sent: list[UUID] = []

    def enqueue(self, import_id: UUID) -> None:
        self.sent.append(import_id)


@pytest.fixture
def imports() -> ImportHandlers:
    return ImportHandlers(MemoryFiles(), RecordedTasks())


def upload(content: bytes, name: str = "extrato.ofx") -> UploadedStatement:
    sha = hashlib.sha256(content).hexdigest()
    return UploadedStatement(
        name, name.rsplit(".", 1)[1].lower(), sha, len(content), io.BytesIO(content)
    )


def start(
    side: CommandSide, imports: ImportHandlers, user: Member, content: bytes, **kw: object
) -> UUID:
    account = kw.get("account_id")
    name = str(kw.get("name", "extrato.ofx"))
    command = StartImports(user.user_id, account, (upload(content, name),))  # type: ignore[arg-type]
    started = side.run(imports.start, command)
    return UUID(started.imports[0].id)


def process(side: CommandSide, imports: ImportHandlers, import_id: UUID) -> Import:
    side.run(imports.process, ProcessImport(import_id))
    return side.stored(Import, import_id)


def usd_account(side: CommandSide, user: Member) -> UUID:
    account = Account(uuid4(), str(user.user_id), "Dollars", None, "USD", "checking", str(uuid4()))
    side.add(account)
    return account.id


def test_fixture_opens_its_account_and_records_two_transactions(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    import_id = start(side, imports, user, FIXTURE.read_bytes())
    before = side.head()
    done = process(side, imports, import_id)
    assert done.status == "completed"
    assert (done.counts["new"], done.counts["matched"], done.counts["conflicted"]) == (2, 0, 0)
    events = side.events_after(before)
    opened = [e for e in events if isinstance(e, Account.Opened)]
    assert [(e.name, e.number, e.currency, e.type) for e in opened] == [
        ("Test Bank", "12345-6", "BRL", "checking")
    ]
    recorded = [e for e in events if isinstance(e, Transaction.Recorded)]
    assert sorted(e.amount for e in recorded) == [-7890, 123456]
    assert {e.source for e in recorded} == {"import"}
    # The offset is honoured: midnight in -03:00 is 03:00 UTC.
    assert {e.date.hour for e in recorded} == {3}
    notes = [e for e in events if isinstance(e, Notification.Created)]
    assert len(notes) == 1
    assert notes[0].data["new_count"] == 2
    assert notes[0].data["body"] == "Conta Test Bank • Novos: 2 • Conciliados: 0 • Conflitos: 0"


def test_imported_transactions_are_what_the_aggregate_records(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    """The import builds its ``Recorded`` events without the aggregate (for speed): the
    same event, field for field, as ``Transaction(...)`` records."""
    from command_service.handlers.imports import _recorded
    from shared.statements.model import FitidSource, StatementRow

    when = datetime(2026, 1, 2, 3, tzinfo=UTC)
    row = StatementRow(1, "F1", FitidSource.BANK, when, -5, "açaí", "DEBIT")
    txn_id, user_id, account_id = uuid4(), str(uuid4()), str(uuid4())
    built = _recorded(txn_id, user_id, account_id, "BRL", row)
    made = Transaction(
        id=txn_id, user_id=user_id, account_id=account_id, category_id=None, amount=-5,
        currency="BRL", date=row.posted_at, memo="açaí", fitid="F1", splits=[], source="import",
    ).collect_events()[0]  # fmt: skip
    assert type(built) is type(made)
    assert {**vars(built), "timestamp": None} == {**vars(made), "timestamp": None}
    ledger = side.memory.ledger
    assert ledger._stored(built) == ledger.mapper.to_stored_event(built)


def test_redelivered_task_appends_nothing(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    import_id = start(side, imports, user, FIXTURE.read_bytes())
    process(side, imports, import_id)
    with side.nothing_appended():
        assert process(side, imports, import_id).status == "completed"


def test_same_file_again_is_the_same_import(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    first = start(side, imports, user, FIXTURE.read_bytes())
    with side.nothing_appended():
        assert start(side, imports, user, FIXTURE.read_bytes()) == first


def test_vectors_matched_new_conflicted(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    account = user.account_id  # BRL
    seed = ofx([Row("FIT123", date(2024, 1, 10), 12500, "Seed")])
    process(side, imports, start(side, imports, user, seed, account_id=account))
    # (a) the same FITID, amount and day: matched to the existing transaction.
    again = ofx([Row("FIT123", date(2024, 1, 10), 12500, "Seed")], server="20250101000000")
    matched = process(side, imports, start(side, imports, user, again, account_id=account))
    assert (matched.counts["new"], matched.counts["matched"], matched.counts["conflicted"]) == (
        0, 1, 0,
    )  # fmt: skip
    # (c) the same FITID with another amount: conflicted.
    other = ofx([Row("FIT123", date(2024, 1, 10), 50000, "Seed")], server="20250102000000")
    conflicted = process(side, imports, start(side, imports, user, other, account_id=account))
    assert conflicted.counts["conflicted"] == 1
    assert next(iter(conflicted.conflicts.values()))["status"] == "conflicted"
    # (b) an unknown FITID in USD: new.
    usd = usd_account(side, user)
    fresh = ofx([Row("FIT999", date(2024, 2, 1), 30050, "New")], currency="USD")
    new = process(side, imports, start(side, imports, user, fresh, account_id=usd))
    assert (new.counts["new"], new.counts["matched"]) == (1, 0)


def test_malformed_file_fails_with_its_line_and_records_nothing(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    bad = ofx([Row("A", date(2024, 1, 1), 100, "ok")]).replace(b"1.00", b"1,0x")
    import_id = start(side, imports, user, bad)
    before = side.head()
    done = process(side, imports, import_id)
    assert done.status == "failed"
    assert done.error
    failed, told = side.events_after(before)
    assert type(failed) is Import.Failed
    assert type(told) is Notification.Created  # the user is told, in the same commit
    assert (told.kind, told.data["import_id"], told.data["line"]) == (
        IMPORT_FAILED, str(import_id), failed.line,
    )  # fmt: skip
    # A redelivered task changes nothing: the import has failed, once.
    process(side, imports, import_id)
    assert len(side.events_after(before)) == 2


def test_csv_into_a_target_account(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    rows = [Row("", date(2024, 3, 1), -1990, "PADARIA"), Row("", date(2024, 3, 2), 5000, "PIX")]
    content = csv(rows)
    import_id = start(side, imports, user, content, account_id=user.account_id, name="x.CSV")
    done = process(side, imports, import_id)
    assert (done.status, done.counts["new"]) == ("completed", 2)
    # The same rows in another file: the fingerprints match, nothing is recorded twice.
    again = content + b"\n"
    before = side.head()
    twice = process(
        side, imports, start(side, imports, user, again, account_id=user.account_id, name="y.csv")
    )
    assert twice.counts["matched"] == 2
    assert not [e for e in side.events_after(before) if isinstance(e, Transaction.Recorded)]


def test_target_account_of_another_user_is_refused(
    side: CommandSide, imports: ImportHandlers, user: Member, other: Member
) -> None:
    with side.nothing_appended(), pytest.raises(RuleViolationError):
        start(side, imports, user, FIXTURE.read_bytes(), account_id=other.account_id)


def test_replace_amends_the_recorded_transaction(
    side: CommandSide, imports: ImportHandlers, user: Member
) -> None:
    account = user.account_id
    seed = ofx([Row("R1", date(2024, 1, 10), 4500, "Old")])
    process(side, imports, start(side, imports, user, seed, account_id=account))
    newer = ofx([Row("R1", date(2024, 1, 10), 50000, "New")], server="20250102000000")
    import_id = start(side, imports, user, newer, account_id=account)
    done = process(side, imports, import_id)
    ((ordinal, row),) = done.conflicts.items()
    command = ResolveConflict(
        user.user_id, import_id, row_id_for(import_id, ordinal), Resolution.REPLACE
    )
    side.run(imports.resolve, command)
    txn = side.stored(Transaction, UUID(row["transaction_id"]))
    assert (txn.amount, txn.memo) == (50000, "New")
    # Resolved once: a second resolution is a 404 (the row is no longer conflicted).
    with pytest.raises(NotFoundError):
        side.run(imports.resolve, command)


def test_resolving_another_users_import_is_not_found(
    side: CommandSide, imports: ImportHandlers, user: Member, other: Member
) -> None:
    import_id = start(side, imports, user, FIXTURE.read_bytes())
    process(side, imports, import_id)
    command = ResolveConflict(other.user_id, import_id, row_id_for(import_id, 0), Resolution.KEEP)
    with side.nothing_appended(), pytest.raises(NotFoundError):
        side.run(imports.resolve, command)


def test_notifications_read_one_then_all(
    side: CommandSide, imports: ImportHandlers, user: Member, other: Member
) -> None:
    import_id = start(side, imports, user, FIXTURE.read_bytes())
    process(side, imports, import_id)
    notes = NotificationHandlers()
    note_id = next(
        e.originator_id for e in side.events_after(0) if isinstance(e, Notification.Created)
    )
    with pytest.raises(NotFoundError):
        side.run(notes.mark_read, MarkNotificationRead(other.user_id, note_id))
    read, _ = side.run(notes.mark_read, MarkNotificationRead(user.user_id, note_id))
    assert read.read
    with side.nothing_appended():
        side.run(notes.mark_read, MarkNotificationRead(user.user_id, note_id))
    before = side.head()
    side.run(notes.mark_all_read, MarkAllNotificationsRead(user.user_id))
    side.run(notes.mark_all_read, MarkAllNotificationsRead(user.user_id))
    kinds = [type(e) for e in side.events_after(before)]
    assert kinds == [Inbox.Opened, Inbox.AllRead, Inbox.AllRead]


class LostTasks:
    def enqueue(self, import_id: UUID) -> None:
        raise ConnectionError(import_id)


def test_an_unscheduled_upload_is_reported_and_a_retry_schedules_it(
    side: CommandSide, user: Member
) -> None:
    files = MemoryFiles()
    failing = ImportHandlers(files, LostTasks())
    with pytest.raises(NotScheduledError):
        start(side, failing, user, FIXTURE.read_bytes())
    tasks = RecordedTasks()
    retried = ImportHandlers(files, tasks)
    with side.nothing_appended():
        import_id = start(side, retried, user, FIXTURE.read_bytes())
    assert tasks.sent == [import_id]
    assert process(side, retried, import_id).status == "completed"
