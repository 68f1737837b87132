"""Account commands: open, update, close."""

from __future__ import annotations

from uuid import UUID

from command_service.commands import CloseAccount, OpenAccount, UpdateAccount
from command_service.handlers.guards import accepted, check_owner, live, owned
from command_service.handlers.idempotency import Once
from command_service.results import Created, Written
from command_service.unit_of_work import KeyClaimedError, UnitOfWork
from command_service.views import Views
from shared.domain.accounts import Account
from shared.domain.errors import Model, RuleViolationError
from shared.domain.ids import uuid7
from shared.views import AccountView


class AccountHandlers:
    def __init__(self, views: Views) -> None:
        self.views = views

    def open(self, command: OpenAccount, uow: UnitOfWork) -> Created[AccountView]:
        details, once = command.details, Once(command)
        uow.load([once.claim_id])
        self._check_bank(uow, details.bank_id)
        if (earlier := once.earlier(uow)) is not None:
            return self._replayed(uow, earlier)
        account = Account(
            id=uuid7(),
            user_id=str(command.user_id),
            name=details.name,
            number=details.number,
            currency=details.currency.value,
            type=details.type.value,
            bank_id=str(details.bank_id),
        )
        uow.add(account)
        try:
            position = uow.commit(command.user_id, once.claim(account.id))
        except KeyClaimedError as raced:
            return self._replayed(uow, once.resource_of(raced.claim))
        return Created(self.views.account(uow, account), position)

    def update(self, command: UpdateAccount, uow: UnitOfWork) -> Written[AccountView]:
        uow.load([command.account_id])
        account = live(uow, Account, Model.ACCOUNT, command.account_id)
        details = accepted(command.changes)
        self._check_bank(uow, details.bank_id)  # an input rule: 422 comes before 403
        check_owner(account, command.user_id)
        account.update(  # refuses a change of currency (a 422)
            name=details.name,
            number=details.number,
            currency=details.currency.value,
            type=details.type.value,
            bank_id=str(details.bank_id),
        )
        uow.add(account)
        position = uow.commit(command.user_id)
        return Written(self.views.account(uow, account), position)

    def close(self, command: CloseAccount, uow: UnitOfWork) -> int:
        uow.load([command.account_id])
        account = owned(uow, Account, Model.ACCOUNT, command.account_id, command.user_id)
        account.close()
        uow.add(account)
        return uow.commit(command.user_id)

    def _check_bank(self, uow: UnitOfWork, bank_id: UUID) -> None:
        if self.views.bank(uow, bank_id) is None:
            raise RuleViolationError("bank_id", "The selected bank id is invalid.")

    def _replayed(self, uow: UnitOfWork, account_id: UUID) -> Created[AccountView]:
        account = live(uow, Account, Model.ACCOUNT, account_id)
        return Created(self.views.account(uow, account), uow.head(), replayed=True)
