"""Loading aggregates for commands, and turning them into views for responses."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from command_service.ports import BalanceLookup
from shared.adapters.eventstore import Ledger, TokenGrant
from shared.adapters.freshness import WriteMarks
from shared.adapters.group_commit import GroupCommitter
from shared.adapters.wakeup import Wakeup
from shared.domain.accounts import Account
from shared.domain.banks import Bank
from shared.domain.categories import Category
from shared.domain.errors import ForbiddenError, Model, NotFoundError, RuleViolationError
from shared.domain.transactions import Transaction
from shared.views import AccountView, BankView, CategoryView, SplitView, TransactionView

A = TypeVar("A", bound=Aggregate)


class Store:
    """What every command handler shares: the ledger, lookups and view building."""

    def __init__(
        self,
        ledger: Ledger,
        balances: BalanceLookup,
        wakeup: Wakeup,
        marks: WriteMarks,
        committer: GroupCommitter | None = None,
    ) -> None:
        self.ledger = ledger
        self.committer = committer
        self.balances = balances
        self.wakeup = wakeup
        self.marks = marks
        self._banks: dict[UUID, BankView] = {}
        # Per thread: commands run on a pool, each loading its own aggregates.
        self._loaded = threading.local()

    def append(
        self,
        user_id: UUID,
        *aggregates: Aggregate,
        token_grants: list[TokenGrant] | None = None,
        token_revocations: list[UUID] | None = None,
    ) -> int:
        """Commit (grouped with concurrent commands), with the user's position marked
        (read-your-writes) before returning; then wake the projections (a hint only: the
        worker's sweep catches up if it is lost)."""
        if self.committer is not None:
            # The committer marks each group at once (its ``on_commit``).
            position = self.committer.append(
                *aggregates,
                token_grants=token_grants,
                token_revocations=token_revocations,
                owner=user_id,
            )
        else:
            position = self.ledger.append(
                *aggregates,
                token_grants=token_grants or [],
                token_revocations=token_revocations or [],
            )
            self.marks.mark([(user_id, position)])
        self.wakeup.notify(position)
        return position

    @contextlib.contextmanager
    def loaded(self, ids: Iterable[UUID | None]) -> Iterator[None]:
        """Within the block, ``find`` answers these aggregates from one query made now
        (a command checks an account and its categories: one round trip, not three)."""
        wanted = [i for i in ids if i is not None]
        self._loaded.found = self.ledger.aggregates(wanted) if wanted else {}
        self._loaded.wanted = set(wanted)
        try:
            yield
        finally:
            self._loaded.found, self._loaded.wanted = {}, set()

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        aggregate: Aggregate | None
        if aggregate_id in getattr(self._loaded, "wanted", ()):
            aggregate = self._loaded.found.get(aggregate_id)
        else:
            try:
                aggregate = self.ledger.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
        return aggregate if isinstance(aggregate, kind) else None

    def owned(self, kind: type[A], model: Model, aggregate_id: UUID, user_id: UUID) -> A:
        """The live aggregate, 404 if missing or deleted, 403 if another user's."""
        aggregate = self.live(kind, model, aggregate_id)
        if getattr(aggregate, "user_id", None) != str(user_id):
            raise ForbiddenError
        return aggregate

    def live(self, kind: type[A], model: Model, aggregate_id: UUID) -> A:
        aggregate = self.find(kind, aggregate_id)
        if (
            aggregate is None
            or _gone(aggregate)
            or (isinstance(aggregate, Transaction) and self._account_gone(aggregate))
        ):
            raise NotFoundError(model, aggregate_id)
        return aggregate

    def _account_gone(self, txn: Transaction) -> bool:
        account = self.find(Account, UUID(txn.account_id))
        return account is None or account.closed

    def usable_account(self, account_id: UUID, user_id: UUID) -> Account:
        """An account the user may write into. Another user's looks the same as none."""
        account = self.find(Account, account_id)
        if account is None or account.closed or account.user_id != str(user_id):
            raise RuleViolationError("account_id", "The selected account id is invalid.")
        return account

    def visible_category(self, category_id: UUID, user_id: UUID, field: str) -> Category:
        """A global category or one of the user's own."""
        category = self.find(Category, category_id)
        if category is None or category.deleted or category.user_id not in (None, str(user_id)):
            raise RuleViolationError(field, f"The selected {field.replace('_', ' ')} is invalid.")
        return category

    def bank(self, bank_id: UUID) -> BankView | None:
        cached = self._banks.get(bank_id)
        if cached is None:
            bank = self.find(Bank, bank_id)
            if bank is None:
                return None
            # Banks never change once registered, so caching them per process is safe.
            cached = self._banks[bank_id] = BankView(str(bank.id), bank.code, bank.name)
        return cached

    def account_view(self, account: Account) -> AccountView:
        bank = self.bank(UUID(account.bank_id)) or BankView(account.bank_id, "", "")
        return AccountView(
            id=str(account.id),
            name=account.name,
            number=account.number,
            balance=self.balances.balance_of(account.id),
            currency=account.currency,
            type=account.type.value,
            bank=bank,
        )

    def category_view(self, category_id: str | None) -> CategoryView | None:
        if category_id is None:
            return None
        category = self.find(Category, UUID(category_id))
        if category is None or category.deleted:
            return None
        return view_of_category(category)

    def transaction_view(
        self, txn: Transaction, account: Account, known: dict[str, CategoryView] | None = None
    ) -> TransactionView:
        """``known``: categories the command already loaded (not read a second time)."""
        seen = known or {}

        def category(category_id: str | None) -> CategoryView | None:
            if category_id is not None and category_id in seen:
                return seen[category_id]
            return self.category_view(category_id)

        return TransactionView(
            id=str(txn.id),
            amount=txn.amount,
            currency=txn.currency,
            fitid=txn.fitid,
            memo=txn.memo,
            date=txn.date,
            category=category(txn.category_id),
            account=self.account_view(account),
            splits=[
                SplitView(s["id"], s["amount"], s["memo"], category(s["category_id"]))
                for s in txn.splits
            ],
        )


def view_of_category(category: Category) -> CategoryView:
    return CategoryView(
        id=str(category.id),
        name=category.name,
        color=category.color.value,
        description=category.description,
        is_default=category.is_default,
    )


def _gone(aggregate: Aggregate) -> bool:
    return bool(getattr(aggregate, "deleted", False) or getattr(aggregate, "closed", False))
