"""Account commands on the in-memory unit of work (contract 2.4, 3.2)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from command_service.commands import (
    AccountDetails,
    CloseAccount,
    CreateCategory,
    OpenAccount,
    Rejected,
    UpdateAccount,
)
from command_service.results import Created
from shared.adapters.http import BadRequestError, InputInvalidError
from shared.domain.accounts import Account, AccountType
from shared.domain.banks import LOAD_TEST_BANK, bank_id_for
from shared.domain.categories import Color
from shared.domain.errors import (
    ForbiddenError,
    IdempotencyKeyReusedError,
    NotFoundError,
    RuleViolationError,
)
from shared.domain.money import Currency
from shared.views import AccountView
from tests.unit.conftest import CommandSide, Member

TEST_BANK = bank_id_for(LOAD_TEST_BANK[0])
NUBANK = bank_id_for("260")


def account(**overrides: Any) -> AccountDetails:
    fields: dict[str, Any] = {
        "name": "Conta Corrente",
        "number": "12345-6",
        "currency": Currency.BRL,
        "type": AccountType.CHECKING,
        "bank_id": TEST_BANK,
    }
    return AccountDetails(**{**fields, **overrides})


def open_(
    side: CommandSide, user: Member, key: str | None = None, **overrides: Any
) -> Created[AccountView]:
    command = OpenAccount(user.user_id, account(**overrides), key)
    return side.run(side.handlers.accounts.open, command)


def update(side: CommandSide, user: Member, account_id: UUID, changes: Any) -> Any:
    command = UpdateAccount(user.user_id, account_id, changes)
    return side.run(side.handlers.accounts.update, command)


def close(side: CommandSide, user: Member, account_id: UUID) -> int:
    return side.run(side.handlers.accounts.close, CloseAccount(user.user_id, account_id))


def test_open_returns_the_account_with_its_bank_and_a_zero_balance(
    side: CommandSide, user: Member
) -> None:
    created = open_(side, user, name="Nubank", currency=Currency.USD, type=AccountType.SAVINGS)
    view = created.resource
    assert (view.name, view.number, view.currency, view.type) == (
        "Nubank",
        "12345-6",
        Currency.USD,
        "savings",
    )
    assert view.balance == 0
    assert (view.bank.id, view.bank.code, view.bank.name) == (str(TEST_BANK), *LOAD_TEST_BANK)
    stored = side.stored(Account, UUID(view.id))
    assert (stored.user_id, stored.closed) == (str(user.user_id), False)
    assert created.position == side.head()


def test_open_with_an_unknown_bank_is_refused(side: CommandSide, user: Member) -> None:
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        open_(side, user, bank_id=uuid4())
    assert refused.value.field == "bank_id"


def test_update_replaces_the_fields(side: CommandSide, user: Member) -> None:
    opened = UUID(open_(side, user).resource.id)
    changes = account(name="Renamed", number=None, type=AccountType.CREDIT, bank_id=NUBANK)
    written = update(side, user, opened, changes)
    view = written.resource
    assert (view.name, view.number, view.type, view.currency) == (
        "Renamed",
        None,
        "credit",
        Currency.BRL,
    )
    assert (view.bank.id, view.bank.code) == (str(NUBANK), "260")
    assert side.stored(Account, opened).name == "Renamed"
    assert written.position == side.head()


def test_update_cannot_change_the_currency_once_used(side: CommandSide, user: Member) -> None:
    # More cases (a fresh account may change it) in test_account_currency.py.
    used = side.stored(Account, user.account_id)
    assert used.use()  # as a first transaction does
    side.add(used)
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        update(side, user, user.account_id, account(currency=Currency.USD))
    assert refused.value.field == "currency"


@pytest.mark.parametrize(
    "error",
    [
        InputInvalidError({"name": ["The name field must be at least 3 characters."]}),
        BadRequestError(400, "The request body is not valid JSON."),
    ],
    ids=["invalid", "unusable"],
)
def test_update_checks_404_then_the_body_then_403(
    side: CommandSide, user: Member, other: Member, error: Exception
) -> None:
    rejected = Rejected(error)
    with side.nothing_appended():
        with pytest.raises(NotFoundError) as missing:
            update(side, user, uuid4(), rejected)
        assert "[App\\Models\\Account]" in str(missing.value)
        with pytest.raises(type(error)):  # the very error the edge kept
            update(side, user, other.account_id, rejected)
        # A bank that does not exist is an input rule: 422, not 403.
        with pytest.raises(RuleViolationError):
            update(side, user, other.account_id, account(bank_id=uuid4()))
        with pytest.raises(ForbiddenError):
            update(side, user, other.account_id, account())


def test_close_and_what_a_closed_account_refuses(side: CommandSide, user: Member) -> None:
    opened = UUID(open_(side, user).resource.id)
    assert close(side, user, opened) == side.head()
    assert side.stored(Account, opened).closed
    with side.nothing_appended():
        with pytest.raises(NotFoundError):
            close(side, user, opened)
        with pytest.raises(NotFoundError):
            update(side, user, opened, account())


@pytest.mark.parametrize("whose", ["unknown", "another-users"])
def test_close_refuses_what_is_not_the_callers(
    side: CommandSide, user: Member, other: Member, whose: str
) -> None:
    expected = NotFoundError if whose == "unknown" else ForbiddenError
    with side.nothing_appended(), pytest.raises(expected):
        close(side, user, uuid4() if whose == "unknown" else other.account_id)


def test_a_retry_with_the_same_key_replays_the_account(side: CommandSide, user: Member) -> None:
    first = open_(side, user, key="acc-1", name="Idempotent")
    with side.nothing_appended():
        retry = open_(side, user, key="acc-1", name="Idempotent")
    assert retry.replayed
    assert retry.resource == first.resource


def test_a_key_reused_with_another_account_is_refused(side: CommandSide, user: Member) -> None:
    open_(side, user, key="k", name="First")
    with side.nothing_appended(), pytest.raises(IdempotencyKeyReusedError) as reused:
        open_(side, user, key="k", name="Second")
    assert str(reused.value) == (
        "This Idempotency-Key was already used with a different request body."
    )


def test_one_key_on_accounts_and_on_categories_is_two_claims(
    side: CommandSide, user: Member
) -> None:
    category = CreateCategory(user.user_id, "Pets", None, Color.YELLOW, "shared")
    created = side.run(side.handlers.categories.create, category)
    opened = open_(side, user, key="shared")
    assert not opened.replayed
    assert opened.resource.id != created.resource.id
