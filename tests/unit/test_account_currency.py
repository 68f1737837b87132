"""The account currency rule (issue 15): a currency may change while the account was never
used (no transaction ever recorded, so its balance is zero), and never after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from command_service.commands import (
    AccountDetails,
    DeleteTransaction,
    RecordTransaction,
    TransactionDetails,
    UpdateAccount,
)
from shared.domain.accounts import Account, AccountType
from shared.domain.banks import LOAD_TEST_BANK, bank_id_for
from shared.domain.errors import ConcurrentChangeError, RuleViolationError
from shared.domain.money import Currency, Money
from tests.unit.conftest import CommandSide, Member


def details(currency: Currency) -> AccountDetails:
    return AccountDetails(
        "k6 Account 1", "AB12CD34", currency, AccountType.CHECKING, bank_id_for(LOAD_TEST_BANK[0])
    )


def change_to(side: CommandSide, user: Member, currency: Currency) -> Any:
    command = UpdateAccount(user.user_id, user.account_id, details(currency))
    return side.run(side.handlers.accounts.update, command)


def record(side: CommandSide, user: Member, currency: Currency = Currency.BRL) -> Any:
    when = datetime(2025, 5, 10, tzinfo=UTC)
    command = RecordTransaction(
        user.user_id, user.account_id, TransactionDetails(Money(-500, currency), when)
    )
    return side.run(side.handlers.transactions.record, command)


def test_a_fresh_account_changes_currency(side: CommandSide, user: Member) -> None:
    before = side.head()
    written = change_to(side, user, Currency.USD)
    assert written.resource.currency == Currency.USD
    assert side.stored(Account, user.account_id).currency == Currency.USD
    [changed] = side.events_after(before)
    assert isinstance(changed, Account.CurrencyChanged)
    assert changed.currency == "USD"


def test_transactions_then_follow_the_new_currency(side: CommandSide, user: Member) -> None:
    change_to(side, user, Currency.USD)
    with pytest.raises(RuleViolationError) as refused:
        record(side, user, Currency.BRL)
    assert refused.value.field == "amount.currency"
    assert record(side, user, Currency.USD).resource.currency == Currency.USD


def test_the_first_transaction_marks_the_account_used_once(side: CommandSide, user: Member) -> None:
    before = side.head()
    record(side, user)
    assert [type(e) for e in side.events_after(before)][:1] == [Account.Used]
    middle = side.head()
    record(side, user)
    assert not any(isinstance(e, Account.Used) for e in side.events_after(middle))


def test_an_account_used_once_keeps_its_currency_even_emptied(
    side: CommandSide, user: Member
) -> None:
    txn = record(side, user).resource
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        change_to(side, user, Currency.USD)
    assert (refused.value.field, refused.value.message) == (
        "currency",
        "The currency of an account cannot be changed.",
    )
    # Emptied again, it stays fixed (conservative: "used" is never undone).
    side.run(side.handlers.transactions.delete, DeleteTransaction(user.user_id, UUID(txn.id)))
    with pytest.raises(RuleViolationError):
        change_to(side, user, Currency.USD)
    # The same currency is still a plain update.
    assert change_to(side, user, Currency.BRL).resource.currency == Currency.BRL


def test_a_currency_change_racing_the_first_transaction_loses(
    side: CommandSide, user: Member
) -> None:
    # The change read the account before the transaction committed: its commit fails on
    # the account's version instead of leaving a BRL transaction in a USD account.
    unit = side.memory.units.start()
    unit.load([user.account_id])
    stale = unit.get(Account, user.account_id)
    assert stale is not None
    record(side, user)
    stale.update("x", None, "USD", "checking", str(bank_id_for(LOAD_TEST_BANK[0])))
    unit.add(stale)
    with pytest.raises(ConcurrentChangeError):
        unit.commit(user.user_id)
    assert side.stored(Account, user.account_id).currency == Currency.BRL


def test_accounts_opened_before_the_rule_count_as_used() -> None:
    state: dict[str, Any] = {}
    Account.Opened.upcast_v1_v2(state)
    assert state == {"in_use": True}
