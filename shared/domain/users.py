"""Users and their API tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.money import Currency


class User(Aggregate):
    """A person who owns accounts, categories, transactions and budgets."""

    class Registered(Aggregate.Created):
        class_version = 1
        name: str
        email: str
        preferred_currency: str

    @event(Registered)
    def __init__(self, id: UUID, name: str, email: str, preferred_currency: str) -> None:
        self.name = name
        self.email = email
        self.preferred_currency = Currency(preferred_currency)


class Token(Aggregate):
    """A personal access token. Only the SHA-256 of its secret is ever stored.

    Invariant: the plain text exists once, in the response that issued it.
    """

    class Issued(Aggregate.Created):
        class_version = 1
        user_id: str
        name: str
        secret_sha256: str
        expires_at: datetime | None

    class Revoked(Aggregate.Event):
        class_version = 1

    @event(Issued)
    def __init__(
        self,
        id: UUID,
        user_id: str,
        name: str,
        secret_sha256: str,
        expires_at: datetime | None,
    ) -> None:
        self.user_id = user_id
        self.name = name
        self.secret_sha256 = secret_sha256
        self.expires_at = expires_at
        self.revoked = False

    @event(Revoked)
    def revoke(self) -> None:
        self.revoked = True
