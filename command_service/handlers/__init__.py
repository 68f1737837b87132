"""Command handlers: each takes (command, unit of work) and returns plain results.

No HTTP here (import-linter keeps it so): a handler loads through the unit of work,
applies the contract's checks in its order (404, 422, 403), changes aggregates and
commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from command_service.handlers.accounts import AccountHandlers
from command_service.handlers.budgets import BudgetHandlers
from command_service.handlers.categories import CategoryHandlers
from command_service.handlers.envelopes import EnvelopeHandlers
from command_service.handlers.profiles import ProfileHandlers
from command_service.handlers.transactions import TransactionHandlers
from command_service.handlers.users import UserHandlers
from command_service.passwords import Passwords
from command_service.ports import BalanceLookup
from command_service.views import Views


@dataclass(frozen=True)
class Handlers:
    accounts: AccountHandlers
    categories: CategoryHandlers
    transactions: TransactionHandlers
    budgets: BudgetHandlers
    users: UserHandlers
    envelopes: EnvelopeHandlers
    profiles: ProfileHandlers

    @classmethod
    def build(cls, balances: BalanceLookup, passwords: Passwords) -> Handlers:
        """Built once per process: the views keep the banks seen."""
        views = Views(balances)
        return cls(
            AccountHandlers(views),
            CategoryHandlers(),
            TransactionHandlers(views),
            BudgetHandlers(),
            UserHandlers(views),
            EnvelopeHandlers(),
            ProfileHandlers(passwords),
        )
