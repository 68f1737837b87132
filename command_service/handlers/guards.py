"""The checks every handler shares, in the contract's order: 404 (the resource must
exist and be live), 422 (the body and the rules on the data), 403 (the caller must own
the resource). Handlers call them in that order; each raises a domain error."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from command_service.commands import Rejected
from command_service.unit_of_work import UnitOfWork
from shared.domain.accounts import Account
from shared.domain.categories import Category
from shared.domain.errors import ForbiddenError, Model, NotFoundError, RuleViolationError
from shared.domain.transactions import Transaction

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")


def live(uow: UnitOfWork, kind: type[A], model: Model, aggregate_id: UUID) -> A:
    """The aggregate, or 404 if it is missing, deleted or closed (a transaction also
    once its account is closed: the original's cascade)."""
    aggregate = uow.get(kind, aggregate_id)
    if (
        aggregate is None
        or _gone(aggregate)
        or (isinstance(aggregate, Transaction) and _account_gone(uow, aggregate))
    ):
        raise NotFoundError(model, aggregate_id)
    return aggregate


def check_owner(aggregate: Aggregate, user_id: UUID) -> None:
    """403 unless ``user_id`` owns ``aggregate`` (global categories are nobody's)."""
    if getattr(aggregate, "user_id", None) != str(user_id):
        raise ForbiddenError


def owned(uow: UnitOfWork, kind: type[A], model: Model, aggregate_id: UUID, user_id: UUID) -> A:
    """The live aggregate (404 otherwise), 403 if another user's."""
    aggregate = live(uow, kind, model, aggregate_id)
    check_owner(aggregate, user_id)
    return aggregate


def accepted(changes: T | Rejected) -> T:
    """The changes, or the error their body earned (raised only now: after the 404)."""
    if isinstance(changes, Rejected):
        raise changes.error
    return changes


def usable_account(uow: UnitOfWork, account_id: UUID, user_id: UUID) -> Account:
    """An account the user may write into. Another user's looks the same as none (a
    422 on the field, not a 403: ids of other users' accounts leak nothing)."""
    account = uow.get(Account, account_id)
    if account is None or account.closed or account.user_id != str(user_id):
        raise RuleViolationError("account_id", "The selected account id is invalid.")
    return account


def visible_category(uow: UnitOfWork, category_id: UUID, user_id: UUID, field: str) -> Category:
    """A live global category or one of the user's own; a 422 on ``field`` otherwise."""
    category = uow.get(Category, category_id)
    if category is None or category.deleted or category.user_id not in (None, str(user_id)):
        raise RuleViolationError(field, f"The selected {field.replace('_', ' ')} is invalid.")
    return category


def _account_gone(uow: UnitOfWork, txn: Transaction) -> bool:
    account = uow.get(Account, UUID(txn.account_id))
    return account is None or account.closed


def _gone(aggregate: Aggregate) -> bool:
    return bool(getattr(aggregate, "deleted", False) or getattr(aggregate, "closed", False))
