"""User commands on the in-memory unit of work (contract 3.8): registration, login,
profile, password and deletion (the tombstone, the address released, every token
revoked in the same commit)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from command_service.commands import (
    ChangePassword,
    DeleteUser,
    LogIn,
    RegisterUser,
    UpdateProfile,
)
from command_service.results import SignedIn
from shared.adapters.memory import MemoryTokens, memory_recorder
from shared.domain.categories import Category
from shared.domain.credentials import Credentials, credentials_id_for
from shared.domain.errors import NotFoundError, RuleViolationError
from shared.domain.money import Currency
from shared.domain.users import User
from tests.unit.conftest import NOW, CommandSide, Member

PASSWORD = "correct horse battery"


def register(side: CommandSide, email: str | None = None) -> SignedIn:
    command = RegisterUser("Ana", email or f"{uuid4().hex}@x.test", PASSWORD, Currency.BRL, NOW)
    return side.run(side.handlers.profiles.register, command).resource


def log_in(side: CommandSide, email: str, password: str = PASSWORD) -> SignedIn:
    return side.run(side.handlers.profiles.log_in, LogIn(email, password, NOW)).resource


def token_id(made: SignedIn) -> UUID:
    return UUID(made.token.split("|")[0])


def revoked(side: CommandSide, made: SignedIn) -> bool:
    record = MemoryTokens(memory_recorder(side.memory.ledger)).find(token_id(made))
    assert record is not None
    return record.revoked


def test_registration_makes_the_user_the_defaults_and_a_token(side: CommandSide) -> None:
    before = side.head()
    made = register(side, "ana@x.test")
    events = side.events_after(before)
    assert sum(isinstance(e, Category.Created) for e in events) == 10
    user = side.stored(User, made.user_id)
    assert (user.name, user.email, user.preferred_currency) == ("Ana", "ana@x.test", "BRL")
    assert user.tokens == [str(token_id(made))]
    claim = side.stored(Credentials, credentials_id_for("ana@x.test"))
    assert claim.user_id == str(made.user_id)
    assert claim.password_hash.startswith("$argon2id$")
    assert made.expires_at == (NOW + timedelta(days=30)).replace(microsecond=0)
    assert not revoked(side, made)


def test_an_address_is_claimed_once_whatever_its_case(side: CommandSide) -> None:
    register(side, "ana@x.test")
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        register(side, "ana@x.test")
    assert refused.value.field == "email"
    assert log_in(side, "ANA@x.test").email == "ana@x.test"


@pytest.mark.parametrize(("email", "password"), [("ana@x.test", "wrong"), ("who@x.test", PASSWORD)])
def test_a_failed_login_appends_nothing(side: CommandSide, email: str, password: str) -> None:
    register(side, "ana@x.test")
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        log_in(side, email, password)
    assert (refused.value.field, refused.value.message) == (
        "email",
        "These credentials do not match our records.",
    )


def test_a_profile_update_moves_the_claim(side: CommandSide) -> None:
    made = register(side, "ana@x.test")
    command = UpdateProfile(made.user_id, "Ana S.", "new@x.test", Currency.USD)
    profile = side.run(side.handlers.profiles.update_profile, command).resource
    assert (profile.name, profile.email, profile.preferred_currency) == (
        "Ana S.",
        "new@x.test",
        "USD",
    )
    assert side.stored(Credentials, credentials_id_for("ana@x.test")).released
    assert log_in(side, "new@x.test").user_id == made.user_id
    with pytest.raises(RuleViolationError):
        log_in(side, "ana@x.test")
    assert register(side, "ana@x.test").user_id != made.user_id  # free again


def test_a_password_change_needs_the_current_one(side: CommandSide) -> None:
    made = register(side, "ana@x.test")
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        side.run(
            side.handlers.profiles.change_password,
            ChangePassword(made.user_id, "wrong", "another secret"),
        )
    assert refused.value.field == "current_password"
    command = ChangePassword(made.user_id, PASSWORD, "another secret")
    side.run(side.handlers.profiles.change_password, command)
    assert log_in(side, "ana@x.test", "another secret").user_id == made.user_id


def test_deletion_tombstones_releases_and_revokes_every_token(side: CommandSide) -> None:
    made = register(side, "ana@x.test")
    second = log_in(side, "ana@x.test")
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        side.run(side.handlers.profiles.delete, DeleteUser(made.user_id, "wrong"))
    assert refused.value.field == "password"
    side.run(side.handlers.profiles.delete, DeleteUser(made.user_id, PASSWORD))
    assert side.stored(User, made.user_id).deleted
    assert revoked(side, made)
    assert revoked(side, second)
    claim = side.stored(Credentials, credentials_id_for("ana@x.test"))
    assert claim.released
    assert claim.password_hash == ""
    with pytest.raises(RuleViolationError):
        log_in(side, "ana@x.test")
    with pytest.raises(NotFoundError):  # a deleted user is gone for every command
        side.run(side.handlers.profiles.delete, DeleteUser(made.user_id, PASSWORD))


def test_a_load_test_user_cannot_delete_itself(side: CommandSide, user: Member) -> None:
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        side.run(side.handlers.profiles.delete, DeleteUser(user.user_id, "anything"))
    assert refused.value.field == "password"
