"""Transaction commands: record, amend, delete."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from command_service.commands import (
    AmendTransaction,
    DeleteTransaction,
    RecordTransaction,
    TransactionDetails,
)
from command_service.handlers.guards import (
    accepted,
    live,
    owned,
    usable_account,
    visible_category,
)
from command_service.handlers.idempotency import Once
from command_service.results import Created, Written
from command_service.unit_of_work import KeyClaimedError, UnitOfWork
from command_service.views import Views, category_view
from shared.domain.accounts import Account
from shared.domain.errors import (
    ConcurrentChangeError,
    ForbiddenError,
    Model,
    RuleViolationError,
)
from shared.domain.ids import uuid7
from shared.domain.money import Currency
from shared.domain.transactions import Split, Transaction, check_splits
from shared.views import CategoryView, TransactionView


class TransactionHandlers:
    def __init__(self, views: Views) -> None:
        self.views = views

    def record(self, command: RecordTransaction, uow: UnitOfWork) -> Created[TransactionView]:
        try:
            return self._record(command, uow)
        except ConcurrentChangeError:
            # Only the account can conflict (a transaction's id is new): another first
            # transaction or a currency change won. Once more: the account is in use now,
            # or its currency changed and the check answers with a 422.
            return self._record(command, uow)

    def _record(self, command: RecordTransaction, uow: UnitOfWork) -> Created[TransactionView]:
        details, once = command.details, Once(command)
        # One query for everything checked: the account, the categories, the key's claim.
        uow.load([command.account_id, once.claim_id, *_categories(details)])
        account = usable_account(uow, command.account_id, command.user_id)
        splits, known = self._checked(uow, command.user_id, details, account.currency)
        if (earlier := once.earlier(uow)) is not None:
            return self._replayed(uow, earlier)
        txn = Transaction(
            id=uuid7(),
            user_id=str(command.user_id),
            account_id=str(account.id),
            category_id=_str(details.category_id),
            amount=details.amount.value,
            currency=details.amount.currency.value,
            date=details.date,
            memo=details.memo,
            fitid=None,
            splits=splits,
        )
        if account.use():  # the first one fixes the account's currency (same commit)
            uow.add(account)
        uow.add(txn)
        try:
            position = uow.commit(command.user_id, once.claim(txn.id))
        except KeyClaimedError as raced:
            return self._replayed(uow, once.resource_of(raced.claim))
        return Created(self.views.transaction(uow, txn, account, known), position)

    def amend(self, command: AmendTransaction, uow: UnitOfWork) -> Written[TransactionView]:
        changes = command.changes
        wanted = _categories(changes) if isinstance(changes, TransactionDetails) else []
        uow.load([command.transaction_id, *wanted])
        txn = live(uow, Transaction, Model.TRANSACTION, command.transaction_id)
        details = accepted(changes)
        # Input rules (422) come before the ownership check (403), as in the contract.
        splits, known = self._checked(uow, command.user_id, details, txn.currency)
        if txn.user_id != str(command.user_id):
            raise ForbiddenError
        txn.amend(
            category_id=_str(details.category_id),
            amount=details.amount.value,
            date=details.date,
            memo=details.memo,
            splits=splits,
        )
        account = live(uow, Account, Model.ACCOUNT, UUID(txn.account_id))
        uow.add(txn)
        position = uow.commit(command.user_id)
        return Written(self.views.transaction(uow, txn, account, known), position)

    def delete(self, command: DeleteTransaction, uow: UnitOfWork) -> int:
        uow.load([command.transaction_id])
        txn = owned(uow, Transaction, Model.TRANSACTION, command.transaction_id, command.user_id)
        txn.delete()
        uow.add(txn)
        return uow.commit(command.user_id)

    def _checked(
        self, uow: UnitOfWork, user_id: UUID, details: TransactionDetails, currency: Currency
    ) -> tuple[list[dict[str, Any]], dict[str, CategoryView]]:
        """Check category, currency and splits, in the 422 body's order; return the
        splits' event state and the categories checked (reused for the response)."""
        known: dict[str, CategoryView] = {}
        if details.category_id is not None:
            checked = visible_category(uow, details.category_id, user_id, "category_id")
            known[str(checked.id)] = category_view(checked)
        # The original stored such rows and then failed to update the balance.
        if details.amount.currency != currency:
            raise RuleViolationError(
                "amount.currency",
                f"The amount.currency must be the account's currency ({currency}).",
            )
        for index, split in enumerate(details.splits):
            field = f"splits.{index}.category_id"
            checked = visible_category(uow, split.category_id, user_id, field)
            known[str(checked.id)] = category_view(checked)
        made = [Split(str(uuid7()), str(s.category_id), s.amount, s.memo) for s in details.splits]
        check_splits(details.amount.value, made)
        return [s.as_state() for s in made], known

    def _replayed(self, uow: UnitOfWork, txn_id: UUID) -> Created[TransactionView]:
        txn = live(uow, Transaction, Model.TRANSACTION, txn_id)
        account = live(uow, Account, Model.ACCOUNT, UUID(txn.account_id))
        return Created(self.views.transaction(uow, txn, account), uow.head(), replayed=True)


def _categories(details: TransactionDetails) -> list[UUID | None]:
    return [details.category_id, *(s.category_id for s in details.splits)]


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
