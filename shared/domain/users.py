"""Users and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.money import Currency

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    plain: str
    sha256: str


def new_secret() -> IssuedSecret:
    """A fresh secret: 40 random alphanumerics plus their crc32b, as Sanctum makes them."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(40))
    plain = body + format(zlib.crc32(body.encode()) & 0xFFFFFFFF, "08x")
    return IssuedSecret(plain=plain, sha256=sha256_hex(plain))


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class User(Aggregate):
    """A person who owns accounts, categories, transactions and budgets.

    ``tokens``: the tokens issued at sign-in (registration, login), revoked together
    when the user is deleted. ``Deleted`` is a tombstone: the events stay (the store is
    append-only), every read model drops the user's rows on it (see README, "Deleting a
    user")."""

    class Registered(Aggregate.Created):
        class_version = 1
        name: str
        email: str
        preferred_currency: str

    class ProfileUpdated(Aggregate.Event):
        class_version = 1
        name: str
        email: str

    class PreferredCurrencyChanged(Aggregate.Event):
        class_version = 1
        preferred_currency: str

    class AutoCategorizationSet(Aggregate.Event):
        """``threshold``: apply a suggested category by itself at or above this
        confidence (``shared.categorize.should_apply``); None: never (the default)."""

        class_version = 1
        threshold: float | None

    class SignedIn(Aggregate.Event):
        class_version = 1
        token_id: str

    class Deleted(Aggregate.Event):
        class_version = 1

    @event(Registered)
    def __init__(self, id: UUID, name: str, email: str, preferred_currency: str) -> None:
        self.name = name
        self.email = email
        self.preferred_currency = Currency(preferred_currency)
        self.tokens: list[str] = []
        self.deleted = False
        self.auto_apply_threshold: float | None = None

    @event(ProfileUpdated)
    def update_profile(self, name: str, email: str) -> None:
        self.name = name
        self.email = email

    @event(PreferredCurrencyChanged)
    def prefer(self, preferred_currency: str) -> None:
        self.preferred_currency = Currency(preferred_currency)

    @event(AutoCategorizationSet)
    def set_auto_categorization(self, threshold: float | None) -> None:
        self.auto_apply_threshold = threshold

    @event(SignedIn)
    def signed_in(self, token_id: str) -> None:
        self.tokens.append(token_id)

    @event(Deleted)
    def delete(self) -> None:
        self.deleted = True


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
