"""Budgets: at most one envelope per (user, category), so the id is derived from the pair."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.ids import derived_id


def budget_id_for(user_id: UUID | str, category_id: UUID | str) -> UUID:
    return derived_id("budget", user_id, category_id)


class Budget(Aggregate):
    """An envelope for one category. Its id makes "one per user and category" hold by itself."""

    class Created(Aggregate.Created):
        class_version = 1
        user_id: str
        category_id: str
        name: str
        currency: str

    class Reopened(Aggregate.Event):
        """Created again after a delete (same pair, so the same id)."""

        class_version = 1
        user_id: str
        name: str
        currency: str

    class Renamed(Aggregate.Event):
        class_version = 1
        user_id: str
        name: str

    class Deleted(Aggregate.Event):
        class_version = 1
        user_id: str

    @event(Created)
    def __init__(self, id: UUID, user_id: str, category_id: str, name: str, currency: str) -> None:
        self.user_id = user_id
        self.category_id = category_id
        self.name = name
        self.currency = currency
        self.deleted = False

    def reopen(self, name: str, currency: str) -> None:
        self._reopen(user_id=self.user_id, name=name, currency=currency)

    def rename(self, name: str) -> None:
        self._rename(user_id=self.user_id, name=name)

    def delete(self) -> None:
        self._delete(user_id=self.user_id)

    @event(Reopened)
    def _reopen(self, user_id: str, name: str, currency: str) -> None:
        del user_id  # every event names its owner, for the live stream
        self.name = name
        self.currency = currency
        self.deleted = False

    @event(Renamed)
    def _rename(self, user_id: str, name: str) -> None:
        del user_id
        self.name = name

    @event(Deleted)
    def _delete(self, user_id: str) -> None:
        del user_id
        self.deleted = True
