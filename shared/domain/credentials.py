"""Sign-in credentials: one ``Credentials`` aggregate per e-mail address, its id derived
from the address (lowercased), so "an address belongs to one user" holds by
construction, also between racing registrations (the second append of the same id
fails). It holds the user and the password's Argon2 hash (never the password).

An address is *released* when its user changes it or is deleted; it may then be claimed
again (same id, ``Reclaimed``)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from shared.domain.ids import derived_id


def credentials_id_for(email: str) -> UUID:
    return derived_id("credentials", email.lower())


class Credentials(Aggregate):
    class Claimed(Aggregate.Created):
        class_version = 1
        user_id: str
        password_hash: str

    class Reclaimed(Aggregate.Event):
        class_version = 1
        user_id: str
        password_hash: str

    class PasswordChanged(Aggregate.Event):
        class_version = 1
        user_id: str
        password_hash: str

    class Released(Aggregate.Event):
        class_version = 1
        user_id: str

    @event(Claimed)
    def __init__(self, id: UUID, user_id: str, password_hash: str) -> None:
        self.user_id = user_id
        self.password_hash = password_hash
        self.released = False

    @event(Reclaimed)
    def reclaim(self, user_id: str, password_hash: str) -> None:
        self.user_id = user_id
        self.password_hash = password_hash
        self.released = False

    def change_password(self, password_hash: str) -> None:
        self._change_password(user_id=self.user_id, password_hash=password_hash)

    @event(PasswordChanged)
    def _change_password(self, user_id: str, password_hash: str) -> None:
        del user_id  # every event names its owner (its partition)
        self.password_hash = password_hash

    def release(self) -> None:
        self._release(user_id=self.user_id)

    @event(Released)
    def _release(self, user_id: str) -> None:
        del user_id
        self.password_hash = ""
        self.released = True
