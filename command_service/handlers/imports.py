"""Statement imports: accept uploads, process them (a task), resolve conflicted rows.

Processing is idempotent by construction (see ``shared.domain.imports``): transaction
ids are derived from (account, FITID, occurrence), rows are staged in chunks committed
with the transactions they record, and the import's version says how far it got. The
whole file is validated (``open_statement``) before anything is appended, so a bad file
fails the import with the parser's error and changes nothing else.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from command_service.commands import (
    ProcessImport,
    ResolveConflict,
    StartImports,
)
from command_service.handlers.guards import accepted, usable_account
from command_service.import_ports import ImportTasks, StatementFiles
from command_service.results import Written
from command_service.unit_of_work import UnitOfWork
from shared.built import built
from shared.domain.accounts import Account
from shared.domain.banks import Bank, bank_id_for
from shared.domain.errors import ConcurrentChangeError, Model, NotFoundError
from shared.domain.imports import (
    Import,
    ImportStatus,
    RowStatus,
    file_key,
    import_id_for,
    imported_account_id,
    imported_transaction_ids,
    row_id_for,
    staged_row,
)
from shared.domain.notifications import (
    IMPORT_COMPLETED,
    IMPORT_FAILED,
    Notification,
    import_completed_data,
    import_failed_data,
    notification_id_for,
)
from shared.domain.transactions import Transaction
from shared.import_views import ImportView
from shared.statements import (
    BankAccount,
    Statement,
    StatementError,
    StatementFormat,
    StatementRow,
    open_statement,
)

# Rows per append: each chunk's events are one append (one lock hold, one round trip).
# Large enough that per-append costs vanish, small enough that the store's table lock is
# held for tens of milliseconds, not seconds, while other users write.
CHUNK = 2_000
_RESTARTS = 1_000
_TRANSACTION_TOPIC = get_topic(Transaction)
_PARSER_BUGS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


@dataclass(frozen=True, slots=True)
class Started:
    imports: list[ImportView]
    position: int


class NotScheduledError(Exception):
    """The imports were saved but their tasks could not be created: the client should
    retry the upload (the same files are the same imports, whose tasks it re-creates)."""


class _RestartError(Exception):
    """Another process advanced this import meanwhile: read it again and resume."""


class ImportHandlers:
    def __init__(self, files: StatementFiles, tasks: ImportTasks) -> None:
        self.files, self.tasks = files, tasks

    # Upload -----------------------------------------------------------------------------

    def start(self, command: StartImports, uow: UnitOfWork) -> Started:
        """One import per file, all started in one commit; a file already imported (same
        bytes, same target) answers its existing import and starts nothing."""
        user, target = command.user_id, command.account_id
        ids = [import_id_for(user, target, f.sha256) for f in command.files]
        uow.load([target, *ids])
        if target is not None:
            usable_account(uow, target, user)
        found: dict[UUID, Import] = {}
        made: list[Import] = []
        for import_id, upload in zip(ids, command.files, strict=True):
            if import_id in found:
                continue
            if (existing := uow.get(Import, import_id)) is not None:
                found[import_id] = existing
                continue
            key = file_key(user, import_id, upload.extension)
            # Stored before the import exists: a task never finds its file missing.
            self.files.put(key, upload.content)
            found[import_id] = Import(
                id=import_id,
                user_id=str(user),
                account_id=None if target is None else str(target),
                file_name=upload.file_name,
                extension=upload.extension,
                file_key=key,
                sha256=upload.sha256,
                size=upload.size,
            )
            made.append(found[import_id])
        position = uow.head()
        if made:
            uow.add(*made)
            try:
                position = uow.commit(user)
            except ConcurrentChangeError:
                # The same files, uploaded at the same moment: the other request's stand.
                found = {i: a for i in ids if (a := uow.get(Import, i)) is not None}
                position = uow.head()
        for imp in found.values():
            # Again for an import still processing: its first task may have been lost.
            if imp.status is ImportStatus.PROCESSING:
                try:
                    self.tasks.enqueue(imp.id)
                except Exception as error:
                    raise NotScheduledError from error
        views = [import_view(i) for i in found.values()]
        return Started(views, position)

    # Processing -------------------------------------------------------------------------

    def process(self, command: ProcessImport, uow: UnitOfWork) -> ImportView | None:
        """Run the import to its end (or resume it); None for an unknown import."""
        # Each restart follows another process's successful commit (progress), so this
        # bound is only a guard against a bug.
        for _ in range(_RESTARTS):
            found = uow.get(Import, command.import_id)
            if found is None:
                return None
            if found.status is not ImportStatus.PROCESSING:
                return import_view(found)
            try:
                self._run(found, uow)
            except _RestartError:
                continue
            return import_view(found)
        raise ConcurrentChangeError

    def _run(self, imp: Import, uow: UnitOfWork) -> None:
        with contextlib.ExitStack() as stack:
            try:
                source = stack.enter_context(self.files.open(imp.file_key))
            except KeyError:
                _fail(imp, uow, "The uploaded file is no longer available.", None)
                return
            try:
                _Processing(imp, uow, source).run()
            except StatementError as error:
                if imp.staged:
                    raise  # the stored file changed under a half-done import: never hide it
                _fail(imp, uow, error.message, error.line)

    # Conflicts --------------------------------------------------------------------------

    def resolve(self, command: ResolveConflict, uow: UnitOfWork) -> Written[ImportView]:
        """Keep the recorded transaction, or replace it with the statement's row."""
        uow.load([command.import_id])
        imp = uow.get(Import, command.import_id)
        # Another user's import looks like none: its id leaks nothing.
        if imp is None or imp.user_id != str(command.user_id):
            raise NotFoundError(Model.IMPORT, command.import_id)
        ordinal = next(
            (o for o in [*imp.conflicts, *imp.resolved] if row_id_for(imp.id, o) == command.row_id),
            None,
        )
        if ordinal is None or ordinal in imp.resolved:
            raise NotFoundError(Model.IMPORT_TRANSACTION, command.row_id)
        resolution = accepted(command.resolution)
        row = imp.conflicts[ordinal]
        if resolution.value == "replace":
            txn = uow.get(Transaction, UUID(row["transaction_id"]))
            if txn is not None and not txn.deleted:
                same = row["amount"] == txn.amount
                txn.amend(
                    category_id=txn.category_id,
                    amount=row["amount"],
                    date=_date(row["date"]),
                    memo=row["memo"],
                    splits=txn.splits if same else [],
                )
                uow.add(txn)
        imp.resolve(ordinal, resolution)
        uow.add(imp)
        return Written(import_view(imp), uow.commit(command.user_id))


class _Processing:
    """One pass over a validated statement, chunk by chunk, from ``imp.staged`` on."""

    def __init__(self, imp: Import, uow: UnitOfWork, source: IO[bytes]) -> None:
        self.imp, self.uow, self.source = imp, uow, source

    def run(self) -> None:
        imp, uow = self.imp, self.uow
        target = None if imp.target_account_id is None else UUID(imp.target_account_id)
        chosen = None if target is None else uow.get(Account, target)
        if target is not None and (
            chosen is None or chosen.closed or chosen.user_id != imp.user_id
        ):
            raise StatementError("The target account no longer exists.")
        try:
            statement = open_statement(
                self.source,
                currency=None if chosen is None else chosen.currency,
                format=StatementFormat(imp.extension),
            )
        except StatementError:
            raise
        except _PARSER_BUGS as error:
            # The parser promises StatementError for any bad file; should a file still
            # reach one of its bugs, the import fails (a task retried for days would not
            # parse it either). I/O and database errors are not caught: they are retried.
            message = f"The file could not be read ({type(error).__name__})."
            raise StatementError(message) from error
        opening: list[Aggregate] = []
        if chosen is None:
            account, opening = self._named_account(statement.info.account, statement)
        else:
            account = chosen
        batch: list[tuple[int, StatementRow]] = []
        for occurrence, row in self._rows(statement.rows()):
            batch.append((occurrence, row))
            if len(batch) == CHUNK:
                self._stage(account, batch, opening)
                batch, opening = [], []
        if batch or opening:
            self._stage(account, batch, opening)
        imp.complete(account.name)
        counts = imp.counts
        note = Notification(
            id=notification_id_for(IMPORT_COMPLETED, imp.id),
            user_id=imp.user_id,
            kind=IMPORT_COMPLETED,
            data=import_completed_data(
                imp.id,
                str(account.id),
                account.name,
                counts[RowStatus.NEW],
                counts[RowStatus.MATCHED],
                counts[RowStatus.CONFLICTED],
            ),
        )
        uow.add(imp, note)
        self._commit()

    def _rows(self, rows: Iterator[StatementRow]) -> Iterator[tuple[int, StatementRow]]:
        """Rows not staged yet, each with the occurrence of its FITID so far in the file
        (counted from the top, so a resumed import derives the same ids)."""
        seen: Counter[str] = Counter()
        for ordinal, row in enumerate(rows):
            occurrence = seen[row.fitid]
            seen[row.fitid] += 1
            if ordinal >= self.imp.staged:
                yield occurrence, row

    def _named_account(
        self, named: BankAccount | None, statement: Statement
    ) -> tuple[Account, list[Aggregate]]:
        """The account an OFX statement names, opened (with its bank) if new."""
        if named is None:
            raise StatementError("The statement names no account: choose a target account.")
        code = named.bank_id or named.routing or "unknown"
        account_id = imported_account_id(self.imp.user_id, code, named.type.value, named.number)
        bank_id = bank_id_for(code)
        self.uow.load([account_id, bank_id])
        made: list[Aggregate] = []
        account = self.uow.get(Account, account_id)
        if account is not None:
            if account.closed:
                raise StatementError("The statement's account was closed.")
            return account, made
        if self.uow.get(Bank, bank_id) is None:
            made.append(Bank(id=bank_id, code=code, name=named.bank_name or code))
        account = Account(
            id=account_id,
            user_id=self.imp.user_id,
            name=named.bank_name or "Imported account",
            number=named.number,
            currency=statement.info.currency.value,
            type=named.type.value,
            bank_id=str(bank_id),
        )
        made.append(account)
        return account, made

    def _stage(
        self, account: Account, batch: list[tuple[int, StatementRow]], opening: list[Aggregate]
    ) -> None:
        """Classify a chunk against what is recorded and commit it with its new
        transactions. Losing a race (another import recorded one of these ids, or another
        process staged this chunk) restarts from the store's state: a failed commit has
        spent every pending event, so nothing in memory is reusable."""
        imp, uow = self.imp, self.uow
        ids = imported_transaction_ids(account.id, [(r.fitid, o) for o, r in batch])
        uow.load(ids)
        rows, made = [], []
        account_id, currency = str(account.id), account.currency.value
        for txn_id, (_, row) in zip(ids, batch, strict=True):
            status = _status(uow.get(Transaction, txn_id), row)
            if status is RowStatus.NEW:
                made.append(_recorded(txn_id, imp.user_id, account_id, currency, row))
            rows.append(
                staged_row(
                    row.line, row.fitid, row.posted_at, row.amount, row.memo, row.kind,
                    status, txn_id,
                )
            )  # fmt: skip
        imp.stage(account_id, currency, rows)
        # The account's first transactions fix its currency (``Account.Used``, same commit).
        if made and account.use() and account not in opening:
            uow.add(account)
        uow.add(*opening, imp)
        uow.record(*made)
        self._commit()

    def _commit(self) -> None:
        try:
            self.uow.commit(UUID(self.imp.user_id))
        except ConcurrentChangeError:
            raise _RestartError from None


def _status(existing: Transaction | None, row: StatementRow) -> RowStatus:
    if existing is None:
        return RowStatus.NEW
    # A transaction the user deleted is a decision the import does not undo.
    if existing.deleted:
        return RowStatus.MATCHED
    same_day = existing.date.date() == row.posted_at.date()
    if existing.amount == row.amount and same_day:
        return RowStatus.MATCHED
    return RowStatus.CONFLICTED


def _recorded(
    txn_id: UUID, user_id: str, account_id: str, currency: str, row: StatementRow
) -> Transaction.Recorded:
    """The event ``Transaction(id=txn_id, ...)`` would record, built without the aggregate
    (nothing here reads it): about a fifth of the time, per imported row."""
    # A dict: mypy sees only the base event's fields (the library makes the dataclass).
    fields: dict[str, Any] = {
        "originator_id": txn_id,
        "originator_version": Transaction.INITIAL_VERSION,
        "timestamp": Transaction.Recorded.create_timestamp(),
        "originator_topic": _TRANSACTION_TOPIC,
        "user_id": user_id,
        "account_id": account_id,
        "category_id": None,
        "amount": row.amount,
        "currency": currency,
        "date": row.posted_at,
        "memo": row.memo,
        "fitid": row.fitid,
        "splits": [],
        "source": "import",
    }
    return built(Transaction.Recorded, fields)  # its __init__ cost five times as much


def _fail(imp: Import, uow: UnitOfWork, error: str, line: int | None) -> None:
    """The import fails with its error, and its user is told (once: the notification's
    id is derived from the import, and the same commit records both)."""
    imp.fail(error, line)
    note = Notification(
        id=notification_id_for(IMPORT_FAILED, imp.id),
        user_id=imp.user_id,
        kind=IMPORT_FAILED,
        data=import_failed_data(imp.id, imp.file_name, error, line),
    )
    uow.add(imp, note)
    try:
        uow.commit(UUID(imp.user_id))
    except ConcurrentChangeError:
        raise _RestartError from None


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text)


def import_view(imp: Import) -> ImportView:
    counts = imp.counts
    return ImportView(
        id=str(imp.id),
        user_id=imp.user_id,
        file_name=imp.file_name,
        extension=imp.extension,
        status=imp.status.value,
        new_count=counts[RowStatus.NEW],
        matched_count=counts[RowStatus.MATCHED],
        conflicted_count=counts[RowStatus.CONFLICTED],
        account_id=imp.account_id,
        error=imp.error,
        error_line=imp.error_line,
        created_at=imp.created_on,
        updated_at=imp.modified_on,
    )
