"""User commands (contract 3.8): register, log in, update the profile, change the
password, delete the user. Logout is ``UserHandlers.revoke_token``.

Passwords are hashed through the ``Passwords`` port (Argon2id); an address is claimed by
its ``Credentials`` aggregate (id derived from it), so it belongs to one user at a time.
Deleting appends the tombstone ``User.Deleted``, releases the address and revokes every
token the user signed in with, in one commit (see README, "Deleting a user")."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from command_service.commands import (
    ChangePassword,
    DeleteUser,
    LogIn,
    RegisterUser,
    SetAutoCategorization,
    UpdateProfile,
)
from command_service.handlers.guards import live
from command_service.handlers.users import default_categories
from command_service.passwords import Passwords
from command_service.results import Profile, SignedIn, Written
from command_service.unit_of_work import UnitOfWork
from shared.categorize.model import MIN_THRESHOLD
from shared.domain.credentials import Credentials, credentials_id_for
from shared.domain.errors import ConcurrentChangeError, Model, RuleViolationError
from shared.domain.ids import uuid7
from shared.domain.users import Token, User, new_secret

# The original's tokens never expired; ours last this long (a login makes a new one).
SIGN_IN_LIFETIME = timedelta(days=30)
TAKEN = "The email has already been taken."
BAD_LOGIN = "These credentials do not match our records."
INCORRECT = "The password is incorrect."
THRESHOLD = f"The auto apply threshold field must be between {MIN_THRESHOLD} and 1."


def profile_of(user: User) -> Profile:
    return Profile(user.id, user.name, user.email, user.preferred_currency.value)


class ProfileHandlers:
    def __init__(self, passwords: Passwords) -> None:
        self.passwords = passwords
        self._decoy: str | None = None  # checked when no such address (same timing)

    def register(self, command: RegisterUser, uow: UnitOfWork) -> Written[SignedIn]:
        claim_id = credentials_id_for(command.email)
        uow.load([claim_id])
        claim = uow.get(Credentials, claim_id)
        if claim is not None and not claim.released:
            raise RuleViolationError("email", TAKEN)
        password_hash = self.passwords.hash(command.password)
        user = User(
            id=uuid7(),
            name=command.name,
            email=command.email,
            preferred_currency=command.preferred_currency.value,
        )
        if claim is None:
            claim = Credentials(id=claim_id, user_id=str(user.id), password_hash=password_hash)
        else:
            claim.reclaim(user_id=str(user.id), password_hash=password_hash)
        signed_in = self._sign_in(uow, user, command.now, "register")
        uow.add(user, claim, *default_categories(user.id))
        try:
            position = uow.commit(user.id)
        except ConcurrentChangeError:  # a racing registration claimed the address first
            raise RuleViolationError("email", TAKEN) from None
        return Written(signed_in, position)

    def log_in(self, command: LogIn, uow: UnitOfWork) -> Written[SignedIn]:
        try:
            return self._log_in(command, uow)
        except ConcurrentChangeError:  # another sign-in of the same user: once more
            return self._log_in(command, uow)

    def _log_in(self, command: LogIn, uow: UnitOfWork) -> Written[SignedIn]:
        claim = uow.get(Credentials, credentials_id_for(command.email))
        if claim is None or claim.released:
            self.passwords.verify(self._decoy_hash(), command.password)
            raise RuleViolationError("email", BAD_LOGIN)
        if not self.passwords.verify(claim.password_hash, command.password):
            raise RuleViolationError("email", BAD_LOGIN)
        user = uow.get(User, UUID(claim.user_id))
        if user is None or user.deleted:
            raise RuleViolationError("email", BAD_LOGIN)
        signed_in = self._sign_in(uow, user, command.now, "login")
        uow.add(user)
        return Written(signed_in, uow.commit(user.id))

    def update_profile(self, command: UpdateProfile, uow: UnitOfWork) -> Written[Profile]:
        uow.load([command.user_id])
        user = live(uow, User, Model.USER, command.user_id)
        if command.email != user.email.lower():
            self._move_address(uow, user, command.email)
        user.update_profile(name=command.name, email=command.email)
        wanted = command.preferred_currency
        if wanted is not None and wanted != user.preferred_currency:
            user.prefer(preferred_currency=wanted.value)
        uow.add(user)
        try:
            position = uow.commit(command.user_id)
        except ConcurrentChangeError:  # the new address was claimed meanwhile (or a race)
            raise RuleViolationError("email", TAKEN) from None
        return Written(profile_of(user), position)

    def set_auto_categorization(
        self, command: SetAutoCategorization, uow: UnitOfWork
    ) -> Written[float | None]:
        """The threshold above which the worker applies a suggested category by itself
        (``projection_worker.auto_categorize``); setting the same value appends nothing."""
        threshold = command.threshold
        if threshold is not None and not MIN_THRESHOLD <= threshold <= 1:
            raise RuleViolationError("auto_apply_threshold", THRESHOLD)
        uow.load([command.user_id])
        user = live(uow, User, Model.USER, command.user_id)
        if threshold == user.auto_apply_threshold:
            return Written(threshold, uow.head())
        user.set_auto_categorization(threshold=threshold)
        uow.add(user)
        return Written(threshold, uow.commit(command.user_id))

    def change_password(self, command: ChangePassword, uow: UnitOfWork) -> int:
        uow.load([command.user_id])
        user = live(uow, User, Model.USER, command.user_id)
        claim = self._confirmed(uow, user, command.current_password, "current_password")
        claim.change_password(self.passwords.hash(command.password))
        uow.add(claim)
        return uow.commit(command.user_id)

    def delete(self, command: DeleteUser, uow: UnitOfWork) -> int:
        uow.load([command.user_id])
        user = live(uow, User, Model.USER, command.user_id)
        claim = self._confirmed(uow, user, command.password, "password")
        uow.load(UUID(t) for t in user.tokens)
        for token_id in user.tokens:
            token = uow.get(Token, UUID(token_id))
            if token is not None and not token.revoked:
                token.revoke()
                uow.revoke(token)
        claim.release()
        user.delete()
        uow.add(user, claim)
        return uow.commit(command.user_id)

    def _confirmed(self, uow: UnitOfWork, user: User, password: str, field: str) -> Credentials:
        """The user's credentials, once ``password`` matches them (else a 422 on
        ``field``; a user without credentials, as a load-test one, has no password)."""
        claim = uow.get(Credentials, credentials_id_for(user.email))
        if (
            claim is None
            or claim.released
            or claim.user_id != str(user.id)
            or not self.passwords.verify(claim.password_hash, password)
        ):
            raise RuleViolationError(field, INCORRECT)
        return claim

    def _move_address(self, uow: UnitOfWork, user: User, email: str) -> None:
        new_id, old_id = credentials_id_for(email), credentials_id_for(user.email)
        uow.load([new_id, old_id])
        new = uow.get(Credentials, new_id)
        if new is not None and not new.released:
            raise RuleViolationError("email", TAKEN)
        old = uow.get(Credentials, old_id)
        if old is None or old.released or old.user_id != str(user.id):
            return  # no password to carry (a load-test user): nothing to sign in with
        password_hash = old.password_hash
        old.release()
        if new is None:
            new = Credentials(id=new_id, user_id=str(user.id), password_hash=password_hash)
        else:
            new.reclaim(user_id=str(user.id), password_hash=password_hash)
        uow.add(old, new)

    def _sign_in(self, uow: UnitOfWork, user: User, now: datetime, name: str) -> SignedIn:
        secret = new_secret()
        expires_at = (now + SIGN_IN_LIFETIME).replace(microsecond=0)
        token = Token(
            id=uuid7(),
            user_id=str(user.id),
            name=name,
            secret_sha256=secret.sha256,
            expires_at=expires_at,
        )
        user.signed_in(token_id=str(token.id))
        uow.issue(token)
        return SignedIn(f"{token.id}|{secret.plain}", user.id, user.email, expires_at)

    def _decoy_hash(self) -> str:
        if self._decoy is None:
            self._decoy = self.passwords.hash(str(uuid7()))
        return self._decoy
