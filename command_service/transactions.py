"""Transaction commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from command_service.commands import AmendTransaction, AmountInput, RecordTransaction, SplitInput
from command_service.idempotency import Created, create_once
from command_service.store import Store, view_of_category
from shared.domain.accounts import Account
from shared.domain.errors import ForbiddenError, Model, RuleViolationError
from shared.domain.ids import uuid7
from shared.domain.money import Currency
from shared.domain.transactions import Split, Transaction, check_splits
from shared.views import CategoryView, TransactionView


class TransactionCommands:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _checked(
        self,
        user_id: UUID,
        amount: AmountInput,
        currency: Currency,
        category_id: UUID | None,
        splits: list[SplitInput],
    ) -> tuple[list[dict[str, Any]], dict[str, CategoryView]]:
        """Check category, currency and splits; return the splits' event state and the
        categories checked (reused for the response instead of loaded again)."""
        known: dict[str, CategoryView] = {}
        if category_id is not None:
            checked = self.store.visible_category(category_id, user_id, "category_id")
            known[str(checked.id)] = view_of_category(checked)
        # The original stored such rows and then failed to update the balance.
        if amount.currency != currency:
            raise RuleViolationError(
                "amount.currency",
                f"The amount.currency must be the account's currency ({currency}).",
            )
        for index, split in enumerate(splits):
            checked = self.store.visible_category(
                split.category_id, user_id, f"splits.{index}.category_id"
            )
            known[str(checked.id)] = view_of_category(checked)
        made = [Split(str(uuid7()), str(s.category_id), s.amount, s.memo) for s in splits]
        check_splits(amount.value, made)
        return [s.as_state() for s in made], known

    def record(
        self, user_id: UUID, command: RecordTransaction, key: str | None, payload: dict[str, Any]
    ) -> Created[TransactionView]:
        checked = [
            command.account_id,
            command.category_id,
            *(s.category_id for s in command.splits),
        ]
        with self.store.loaded(checked):
            return self._record(user_id, command, key, payload)

    def _record(
        self, user_id: UUID, command: RecordTransaction, key: str | None, payload: dict[str, Any]
    ) -> Created[TransactionView]:
        account = self.store.usable_account(command.account_id, user_id)
        splits, known = self._checked(
            user_id, command.amount, account.currency, command.category_id, command.splits
        )

        def build(txn_id: UUID) -> tuple[list[Transaction], TransactionView]:
            txn = Transaction(
                id=txn_id,
                user_id=str(user_id),
                account_id=str(account.id),
                category_id=_str(command.category_id),
                amount=command.amount.value,
                currency=command.amount.currency.value,
                date=command.date,
                memo=command.memo,
                fitid=None,
                splits=splits,
            )
            return [txn], self.store.transaction_view(txn, account, known)

        def reload(txn_id: UUID) -> TransactionView:
            txn = self.store.live(Transaction, Model.TRANSACTION, txn_id)
            return self.store.transaction_view(txn, account)

        return create_once(
            self.store,
            user_id=user_id,
            route="transactions",
            key=key,
            payload=payload,
            build=build,
            reload=reload,
        )

    def amend(
        self, user_id: UUID, txn_id: UUID, parse: Callable[[], AmendTransaction]
    ) -> tuple[TransactionView, int]:
        txn = self.store.live(Transaction, Model.TRANSACTION, txn_id)
        command = parse()
        # Input rules (422) come before the ownership check (403), as in the contract.
        splits, known = self._checked(
            user_id, command.amount, txn.currency, command.category_id, command.splits
        )
        if txn.user_id != str(user_id):
            raise ForbiddenError
        txn.amend(
            category_id=_str(command.category_id),
            amount=command.amount.value,
            date=command.date,
            memo=command.memo,
            splits=splits,
        )
        account = self.store.live(Account, Model.ACCOUNT, UUID(txn.account_id))
        position = self.store.append(user_id, txn)
        return self.store.transaction_view(txn, account, known), position

    def delete(self, user_id: UUID, txn_id: UUID) -> int:
        txn = self.store.owned(Transaction, Model.TRANSACTION, txn_id, user_id)
        txn.delete()
        return self.store.append(user_id, txn)


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
