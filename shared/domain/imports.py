"""Statement imports: one aggregate per uploaded file, from upload to completed or failed.

Invariants that make an import idempotent end to end:

* The import's id is derived from (user, target account, SHA-256 of the file): the same
  file uploaded again is the same import, never a second one.
* A statement row becomes a transaction whose id is derived from (account, FITID,
  occurrence of that FITID in the file): the CSV fingerprint stands in for a FITID. Two
  imports of one statement, or one import processed twice, name the same transaction
  ids, so the store's optimistic concurrency (one ``Recorded`` per id) makes a double
  impossible; the loser finds the row recorded and stages it as matched.
* Rows are staged in chunks, each chunk's ``RowsStaged`` committed in the same append
  as the transactions it records: the import's version says exactly how far it got, and
  a redelivered task resumes from there.
* Every import ends ``completed`` or ``failed`` (with the parser's error): a file that
  does not parse whole fails before anything is staged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.ids import derived_id, derived_ids, derived_ids_text


class ImportStatus(StrEnum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class RowStatus(StrEnum):
    NEW = "new"  # recorded as a transaction by this import
    MATCHED = "matched"  # already recorded, same amount and the same (UTC) day
    CONFLICTED = "conflicted"  # already recorded with another amount or day


class Resolution(StrEnum):
    KEEP = "keep"  # keep the recorded transaction as it is
    REPLACE = "replace"  # amend it to the statement's amount, date and memo


EXTENSIONS = ("ofx", "csv")


def import_id_for(user_id: UUID | str, account_id: UUID | str | None, sha256: str) -> UUID:
    """The same file into the same account (or the account the file names) is one import."""
    return derived_id("import", user_id, account_id or "", sha256)


def imported_transaction_ids(account_id: UUID | str, keys: Iterable[tuple[str, int]]) -> list[UUID]:
    """The transaction each statement row becomes: one per (account, FITID, occurrence
    of that FITID in the file)."""
    return derived_ids(("imported-transaction", account_id), keys)


def imported_account_id(user_id: UUID | str, bank_code: str, kind: str, number: str) -> UUID:
    """The account an OFX statement names when no target account is given (the original's
    ``firstOrCreate`` on user, bank, type and number)."""
    return derived_id("imported-account", user_id, bank_code, kind, number)


def row_id_for(import_id: UUID | str, ordinal: int) -> UUID:
    """A staged row's public id."""
    return derived_id("import-row", import_id, ordinal)


def row_ids_text(import_id: str, ordinals: Iterable[int]) -> list[str]:
    """``[str(row_id_for(import_id, o)) for o in ordinals]``, faster (a projection
    derives one per staged row)."""
    return derived_ids_text(("import-row", import_id), ordinals)


def file_key(user_id: UUID | str, import_id: UUID | str, extension: str) -> str:
    """Where the upload is kept in the object store (the original's path)."""
    return f"imports/{user_id}/{import_id}.{extension}"


class Import(Aggregate):
    """One uploaded statement file and what its rows became."""

    class Started(Aggregate.Created):
        class_version = 1
        user_id: str
        account_id: str | None  # the target account, when the client named one
        file_name: str
        extension: str
        file_key: str
        sha256: str
        size: int

    class RowsStaged(Aggregate.Event):
        """Rows ``first`` .. ``first + len(rows) - 1`` of the file (0-based ordinals),
        each ``{line, fitid, date (ISO, UTC), amount, memo, kind, status, transaction_id}``."""

        class_version = 1
        user_id: str
        account_id: str
        currency: str
        first: int
        rows: list[dict[str, Any]]

    class Completed(Aggregate.Event):
        class_version = 1
        user_id: str
        account_id: str
        account_name: str
        new_count: int
        matched_count: int
        conflicted_count: int

    class Failed(Aggregate.Event):
        class_version = 1
        user_id: str
        error: str
        line: int | None

    class ConflictResolved(Aggregate.Event):
        class_version = 1
        user_id: str
        ordinal: int
        resolution: str
        transaction_id: str

    @event(Started)
    def __init__(
        self,
        id: UUID,
        user_id: str,
        account_id: str | None,
        file_name: str,
        extension: str,
        file_key: str,
        sha256: str,
        size: int,
    ) -> None:
        self.user_id = user_id
        self.target_account_id = account_id
        self.account_id: str | None = account_id
        self.file_name = file_name
        self.extension = extension
        self.file_key = file_key
        self.sha256 = sha256
        self.size = size
        self.status = ImportStatus.PROCESSING
        self.staged = 0
        self.counts: dict[str, int] = dict.fromkeys([s.value for s in RowStatus], 0)
        self.error: str | None = None
        self.error_line: int | None = None
        self.currency: str | None = None
        # Unresolved conflicts only (ordinal -> staged row): all a resolution needs.
        self.conflicts: dict[int, dict[str, Any]] = {}
        self.resolved: dict[int, str] = {}

    def stage(self, account_id: str, currency: str, rows: list[dict[str, Any]]) -> None:
        self._stage(
            user_id=self.user_id,
            account_id=account_id,
            currency=currency,
            first=self.staged,
            rows=rows,
        )

    @event(RowsStaged)
    def _stage(
        self, user_id: str, account_id: str, currency: str, first: int, rows: list[dict[str, Any]]
    ) -> None:
        del user_id
        self.account_id, self.currency = account_id, currency
        for index, row in enumerate(rows):
            status = RowStatus(row["status"])
            self.counts[status.value] += 1
            if status is RowStatus.CONFLICTED:
                self.conflicts[first + index] = row
        self.staged = first + len(rows)

    def complete(self, account_name: str) -> None:
        assert self.account_id is not None
        self._complete(
            user_id=self.user_id,
            account_id=self.account_id,
            account_name=account_name,
            new_count=self.counts[RowStatus.NEW],
            matched_count=self.counts[RowStatus.MATCHED],
            conflicted_count=self.counts[RowStatus.CONFLICTED],
        )

    @event(Completed)
    def _complete(
        self,
        user_id: str,
        account_id: str,
        account_name: str,
        new_count: int,
        matched_count: int,
        conflicted_count: int,
    ) -> None:
        del user_id, account_id, account_name, new_count, matched_count, conflicted_count
        self.status = ImportStatus.COMPLETED

    def fail(self, error: str, line: int | None) -> None:
        self._fail(user_id=self.user_id, error=error, line=line)

    @event(Failed)
    def _fail(self, user_id: str, error: str, line: int | None) -> None:
        del user_id
        self.status = ImportStatus.FAILED
        self.error, self.error_line = error, line

    def resolve(self, ordinal: int, resolution: Resolution) -> None:
        row = self.conflicts[ordinal]
        self._resolve(
            user_id=self.user_id,
            ordinal=ordinal,
            resolution=resolution.value,
            transaction_id=row["transaction_id"],
        )

    @event(ConflictResolved)
    def _resolve(self, user_id: str, ordinal: int, resolution: str, transaction_id: str) -> None:
        del user_id, transaction_id
        self.conflicts.pop(ordinal, None)
        self.resolved[ordinal] = resolution


def staged_row(
    line: int,
    fitid: str,
    date: datetime,
    amount: int,
    memo: str,
    kind: str,
    status: RowStatus,
    transaction_id: UUID,
) -> dict[str, Any]:
    """A row as ``RowsStaged`` carries it (plain JSON values: dates as ISO text)."""
    return {
        "line": line,
        "fitid": fitid,
        "date": date.isoformat(),
        "amount": amount,
        "memo": memo,
        "kind": kind,
        "status": status.value,
        "transaction_id": str(transaction_id),
    }
