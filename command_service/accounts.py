"""Account commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from command_service.commands import OpenAccount, UpdateAccount
from command_service.idempotency import Created, create_once
from command_service.store import Store
from shared.domain.accounts import Account
from shared.domain.errors import Model, RuleViolationError
from shared.views import AccountView


class AccountCommands:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _check_bank(self, bank_id: UUID) -> None:
        if self.store.bank(bank_id) is None:
            raise RuleViolationError("bank_id", "The selected bank id is invalid.")

    def open(
        self, user_id: UUID, command: OpenAccount, key: str | None, payload: dict[str, Any]
    ) -> Created[AccountView]:
        self._check_bank(command.bank_id)

        def build(account_id: UUID) -> tuple[list[Account], AccountView]:
            account = Account(
                id=account_id,
                user_id=str(user_id),
                name=command.name,
                number=command.number,
                currency=command.currency.value,
                type=command.type.value,
                bank_id=str(command.bank_id),
            )
            return [account], self.store.account_view(account)

        def reload(account_id: UUID) -> AccountView:
            return self.store.account_view(self.store.live(Account, Model.ACCOUNT, account_id))

        return create_once(
            self.store,
            user_id=user_id,
            route="accounts",
            key=key,
            payload=payload,
            build=build,
            reload=reload,
        )

    def update(
        self, user_id: UUID, account_id: UUID, parse: Callable[[], UpdateAccount]
    ) -> tuple[AccountView, int]:
        self.store.live(Account, Model.ACCOUNT, account_id)
        command = parse()
        self._check_bank(command.bank_id)  # an input rule: 422 comes before 403
        account = self.store.owned(Account, Model.ACCOUNT, account_id, user_id)
        account.update(
            name=command.name,
            number=command.number,
            currency=command.currency.value,
            type=command.type.value,
            bank_id=str(command.bank_id),
        )
        return self.store.account_view(account), self.store.append(user_id, account)

    def close(self, user_id: UUID, account_id: UUID) -> int:
        account = self.store.owned(Account, Model.ACCOUNT, account_id, user_id)
        account.close()
        return self.store.append(user_id, account)
