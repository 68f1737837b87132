"""Transaction commands on the in-memory unit of work (contract 2.6, 3.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from command_service.commands import (
    AccountDetails,
    AmendTransaction,
    CloseAccount,
    DeleteCategory,
    DeleteTransaction,
    OpenAccount,
    RecordTransaction,
    Rejected,
    SplitLine,
    TransactionDetails,
)
from command_service.handlers.idempotency import Once
from command_service.results import Created
from shared import resources
from shared.adapters.http import InputInvalidError
from shared.domain.accounts import Account, AccountType
from shared.domain.banks import LOAD_TEST_BANK, bank_id_for
from shared.domain.categories import Category, Color
from shared.domain.errors import (
    ConcurrentChangeError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    NotFoundError,
    RuleViolationError,
)
from shared.domain.ids import uuid7
from shared.domain.money import Currency, Money
from shared.domain.transactions import Transaction
from shared.views import TransactionView
from tests.unit.conftest import CommandSide, Member

DATE = datetime(2025, 1, 15, tzinfo=UTC)
TEST_BANK = bank_id_for(LOAD_TEST_BANK[0])


def details(
    value: int = 2500,
    currency: Currency = Currency.BRL,
    *,
    category_id: UUID | None = None,
    memo: str | None = "Groceries",
    splits: tuple[SplitLine, ...] = (),
) -> TransactionDetails:
    return TransactionDetails(Money(value, currency), DATE, category_id, memo, splits)


def record(
    side: CommandSide,
    user: Member,
    account_id: UUID | None = None,
    key: str | None = None,
    **overrides: Any,
) -> Created[TransactionView]:
    command = RecordTransaction(
        user.user_id, account_id or user.account_id, details(**overrides), key
    )
    return side.run(side.handlers.transactions.record, command)


def amend(side: CommandSide, user: Member, txn_id: str | UUID, **overrides: Any) -> Any:
    command = AmendTransaction(user.user_id, UUID(str(txn_id)), details(**overrides))
    return side.run(side.handlers.transactions.amend, command)


def delete(side: CommandSide, user: Member, txn_id: str | UUID) -> int:
    command = DeleteTransaction(user.user_id, UUID(str(txn_id)))
    return side.run(side.handlers.transactions.delete, command)


def rule(error: pytest.ExceptionInfo[RuleViolationError]) -> str:
    return error.value.field


# --- record ---------------------------------------------------------------------------------


def test_record_returns_the_transaction_with_its_account_and_stores_its_event(
    side: CommandSide, user: Member
) -> None:
    side.balances.balances[user.account_id] = 12345
    before = side.head()
    created = record(side, user)
    txn = created.resource
    assert (txn.amount, txn.currency, txn.memo, txn.date) == (2500, Currency.BRL, "Groceries", DATE)
    assert (txn.fitid, txn.category, txn.splits) == (None, None, [])
    assert txn.account.id == str(user.account_id)
    assert txn.account.name == "k6 Account 1"
    assert txn.account.balance == 12345  # from the BalanceLookup port, as last projected
    assert (txn.account.bank.code, txn.account.bank.name) == ("999", "Load Test Bank")
    assert not created.replayed
    # The account's first transaction also marks it used (its currency is fixed now).
    [used, event] = side.events_after(before)
    assert created.position == side.head() == before + 2
    assert isinstance(used, Account.Used)
    assert isinstance(event, Transaction.Recorded)
    assert (str(event.originator_id), event.user_id) == (txn.id, str(user.user_id))
    assert (event.amount, event.currency, event.source) == (2500, "BRL", "api")


@pytest.mark.parametrize(
    ("value", "kind", "formatted"),
    [
        (2500, "credit", "R$25.00"),
        (-7890, "debit", "-R$78.90"),
        (0, "credit", "R$0.00"),
        (-1, "debit", "-R$0.01"),
        (2**31 - 1, "credit", "R$21,474,836.47"),
        (-(2**31 - 1), "debit", "-R$21,474,836.47"),
    ],
)
def test_type_and_formatting_follow_the_signed_amount(
    side: CommandSide, user: Member, value: int, kind: str, formatted: str
) -> None:
    body = resources.transaction_json(record(side, user, value=value).resource)
    assert (body["type"], body["amount_formatted"]) == (kind, formatted)
    assert body["amount"] == {"value": value, "formatted": formatted, "currency": "BRL"}


def test_a_transaction_in_a_usd_account_is_formatted_in_dollars(
    side: CommandSide, user: Member
) -> None:
    details_ = AccountDetails("Dollars", None, Currency.USD, AccountType.CHECKING, TEST_BANK)
    opened = side.run(side.handlers.accounts.open, OpenAccount(user.user_id, details_))
    txn = record(side, user, UUID(opened.resource.id), value=-123456, currency=Currency.USD)
    body = resources.transaction_json(txn.resource)
    assert body["amount"] == {"value": -123456, "formatted": "-$1,234.56", "currency": "USD"}
    assert body["amount_formatted"] == "-$1,234.56"


def test_record_embeds_its_category(side: CommandSide, user: Member) -> None:
    category = record(side, user, category_id=user.categories["red"]).resource.category
    assert category is not None
    assert (category.name, category.color, category.is_default) == ("Alimentação", "red", True)


def test_a_global_category_may_be_used_by_anyone(side: CommandSide, user: Member) -> None:
    shared_id = uuid7()
    side.add(Category(shared_id, None, "Split Transactions", None, Color.RED.value, False))
    assert record(side, user, category_id=shared_id).resource.category is not None


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("unknown-account", "account_id"),
        ("another-users-account", "account_id"),
        ("closed-account", "account_id"),
        ("unknown-category", "category_id"),
        ("another-users-category", "category_id"),
        ("deleted-category", "category_id"),
        ("currency-not-the-accounts", "amount.currency"),
    ],
)
def test_record_refuses_what_the_caller_may_not_use_and_appends_nothing(
    side: CommandSide, user: Member, other: Member, case: str, field: str
) -> None:
    account_id, overrides = user.account_id, dict[str, Any]()
    if case == "unknown-account":
        account_id = uuid4()
    elif case == "another-users-account":
        account_id = other.account_id
    elif case == "closed-account":
        side.run(side.handlers.accounts.close, CloseAccount(user.user_id, user.account_id))
    elif case == "unknown-category":
        overrides["category_id"] = uuid4()
    elif case == "another-users-category":
        overrides["category_id"] = other.categories["red"]
    elif case == "deleted-category":
        deleted = DeleteCategory(user.user_id, user.categories["blue"])
        side.run(side.handlers.categories.delete, deleted)
        overrides["category_id"] = user.categories["blue"]
    else:
        overrides["currency"] = Currency.USD
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        record(side, user, account_id, **overrides)
    assert rule(refused) == field


# --- splits ---------------------------------------------------------------------------------


def test_splits_that_add_up_are_recorded_with_their_categories(
    side: CommandSide, user: Member
) -> None:
    splits = (
        SplitLine(user.categories["red"], -5000, "Mercado"),
        SplitLine(user.categories["green"], -2890),
    )
    txn = record(side, user, value=-7890, splits=splits).resource
    first, second = txn.splits
    assert (first.amount, first.memo, second.amount, second.memo) == (-5000, "Mercado", -2890, None)
    assert first.category is not None
    assert first.category.color == "red"
    assert second.category is not None
    assert second.category.color == "green"
    assert first.id != second.id
    stored = side.stored(Transaction, UUID(txn.id))
    assert [s["amount"] for s in stored.splits] == [-5000, -2890]


@pytest.mark.parametrize(
    ("value", "amounts"),
    [(-7890, [-5000, -2000]), (-7890, [-8890, 1000]), (1000, [500, 400])],
    ids=["short", "mixed-signs", "credit-short"],
)
def test_splits_that_do_not_divide_the_amount_are_refused(
    side: CommandSide, user: Member, value: int, amounts: list[int]
) -> None:
    splits = tuple(SplitLine(user.categories["red"], a) for a in amounts)
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        record(side, user, value=value, splits=splits)
    assert rule(refused) == "splits"


@pytest.mark.parametrize("whose", ["unknown", "another-users"])
def test_a_split_on_a_category_the_caller_cannot_use_names_its_index(
    side: CommandSide, user: Member, other: Member, whose: str
) -> None:
    category = uuid4() if whose == "unknown" else other.categories["red"]
    splits = (SplitLine(user.categories["red"], -50), SplitLine(category, -50))
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        record(side, user, value=-100, splits=splits)
    assert rule(refused) == "splits.1.category_id"


# --- amend ----------------------------------------------------------------------------------


def test_amend_replaces_amount_date_memo_and_category(side: CommandSide, user: Member) -> None:
    txn = record(side, user, category_id=user.categories["red"]).resource
    before = side.head()
    amended = amend(
        side, user, txn.id, value=-7890, memo="Farmácia", category_id=user.categories["green"]
    )
    view = amended.resource
    assert (view.id, view.amount, view.memo) == (txn.id, -7890, "Farmácia")
    assert view.category is not None
    assert view.category.color == "green"
    assert view.account.id == str(user.account_id)
    [event] = side.events_after(before)
    assert isinstance(event, Transaction.Amended)
    assert (event.amount, event.previous_amount) == (-7890, 2500)
    assert amended.position == before + 1


def test_amend_omitting_memo_and_category_clears_them(side: CommandSide, user: Member) -> None:
    txn = record(side, user, category_id=user.categories["red"]).resource
    view = amend(side, user, txn.id, value=0, memo=None).resource
    assert (view.memo, view.category) == (None, None)


def test_amend_with_splits(side: CommandSide, user: Member) -> None:
    txn = record(side, user).resource
    splits = (SplitLine(user.categories["sky"], 2000), SplitLine(user.categories["lavender"], 1000))
    view = amend(side, user, txn.id, value=3000, splits=splits).resource
    assert [(s.amount, s.category.color if s.category else None) for s in view.splits] == [
        (2000, "sky"),
        (1000, "lavender"),
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": 3000, "splits": "ONE-SHORT"}, "splits"),
        ({"currency": Currency.EUR}, "amount.currency"),
        ({"category_id": "UNKNOWN"}, "category_id"),
    ],
    ids=["splits-short", "currency-changed", "unknown-category"],
)
def test_amend_keeps_the_input_rules(
    side: CommandSide, user: Member, overrides: dict[str, Any], field: str
) -> None:
    txn = record(side, user).resource
    if overrides.get("splits") == "ONE-SHORT":
        overrides["splits"] = (SplitLine(user.categories["sky"], 2999),)
    if overrides.get("category_id") == "UNKNOWN":
        overrides["category_id"] = uuid4()
    with side.nothing_appended(), pytest.raises(RuleViolationError) as refused:
        amend(side, user, txn.id, **overrides)
    assert rule(refused) == field


def test_amend_checks_404_then_422_then_403(side: CommandSide, user: Member, other: Member) -> None:
    theirs = record(side, other).resource
    invalid = Rejected(InputInvalidError({"date": ["The date field must be a valid date."]}))
    amend_ = side.handlers.transactions.amend
    with side.nothing_appended():
        # An unknown id is a 404 whatever the body.
        with pytest.raises(NotFoundError):
            side.run(amend_, AmendTransaction(user.user_id, uuid4(), invalid))
        # Another user's transaction: the body's error first ...
        with pytest.raises(InputInvalidError):
            side.run(amend_, AmendTransaction(user.user_id, UUID(theirs.id), invalid))
        # ... and the rules on its data (a category that does not exist) ...
        with pytest.raises(RuleViolationError):
            amend(side, user, theirs.id, category_id=uuid4())
        # ... then, with a valid body, the 403.
        with pytest.raises(ForbiddenError):
            amend(side, user, theirs.id)


# --- delete, and what is gone ---------------------------------------------------------------


def test_delete_records_the_deleted_amount(side: CommandSide, user: Member) -> None:
    txn = record(side, user, value=-4200).resource
    before = side.head()
    assert delete(side, user, txn.id) == before + 1
    [event] = side.events_after(before)
    assert isinstance(event, Transaction.Deleted)
    assert event.amount == -4200


@pytest.mark.parametrize("gone", ["unknown", "deleted", "account-closed"])
def test_a_missing_transaction_is_404_for_amend_and_delete(
    side: CommandSide, user: Member, gone: str
) -> None:
    txn_id = uuid4() if gone == "unknown" else UUID(record(side, user).resource.id)
    if gone == "deleted":
        delete(side, user, txn_id)
    elif gone == "account-closed":  # the original's cascade
        side.run(side.handlers.accounts.close, CloseAccount(user.user_id, user.account_id))
    with side.nothing_appended():
        with pytest.raises(NotFoundError) as missing:
            amend(side, user, txn_id)
        assert str(missing.value) == (
            f"No query results for model [App\\Models\\Transaction] {txn_id}"
        )
        with pytest.raises(NotFoundError):
            delete(side, user, txn_id)


def test_delete_another_users_transaction_is_403(
    side: CommandSide, user: Member, other: Member
) -> None:
    theirs = record(side, other).resource
    with side.nothing_appended(), pytest.raises(ForbiddenError):
        delete(side, user, theirs.id)


# --- idempotency ----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_transaction_at_the_head(
    side: CommandSide, user: Member
) -> None:
    first = record(side, user, key="txn-1")
    with side.nothing_appended():
        retry = record(side, user, key="txn-1")
    assert retry.replayed
    assert retry.resource == first.resource
    assert retry.position == side.head() >= first.position


def test_a_key_reused_with_another_command_is_refused(side: CommandSide, user: Member) -> None:
    record(side, user, key="txn-2")
    with side.nothing_appended(), pytest.raises(IdempotencyKeyReusedError):
        record(side, user, key="txn-2", value=9999)


def test_keys_are_per_user_and_per_key(side: CommandSide, user: Member, other: Member) -> None:
    mine = record(side, user, key="shared-key")
    theirs = record(side, other, key="shared-key")
    another = record(side, user, key="another-key")
    assert not (theirs.replayed)
    assert not (another.replayed)
    assert len({mine.resource.id, theirs.resource.id, another.resource.id}) == 3


def test_a_refused_command_does_not_claim_its_key(side: CommandSide, user: Member) -> None:
    with pytest.raises(RuleViolationError):
        record(side, user, key="retry-me", currency=Currency.USD)
    assert not record(side, user, key="retry-me").replayed


def test_racing_requests_with_one_key_create_one_transaction(
    side: CommandSide, user: Member
) -> None:
    command = RecordTransaction(user.user_id, user.account_id, details(), "racing")
    late = side.memory.units.start()
    late.load([Once(command).claim_id])  # the late request finds the key unclaimed ...
    first = side.run(side.handlers.transactions.record, command)  # ... then the first commits
    with side.nothing_appended():
        # The late one creates, its commit loses to the claim, and it answers the winner's.
        replayed = side.handlers.transactions.record(command, late)
    assert replayed.replayed
    assert replayed.resource.id == first.resource.id
    assert len([e for e in side.events_after(0) if isinstance(e, Transaction.Recorded)]) == 1


# --- concurrency ----------------------------------------------------------------------------


def test_concurrent_amendments_of_one_transaction_never_lose_one(
    side: CommandSide, user: Member
) -> None:
    txn_id = UUID(record(side, user).resource.id)
    amend_ = side.handlers.transactions.amend
    stale = side.memory.units.start()
    stale.load([txn_id])  # read before the other amendment commits
    amend(side, user, txn_id, value=1)
    with side.nothing_appended(), pytest.raises(ConcurrentChangeError):
        amend_(AmendTransaction(user.user_id, txn_id, details(value=2)), stale)
    # A retry reads the store again and chains on the amendment that won.
    amend(side, user, txn_id, value=2)
    amended = [e for e in side.events_after(0) if isinstance(e, Transaction.Amended)]
    assert [(e.previous_amount, e.amount) for e in amended] == [(2500, 1), (1, 2)]
