"""Domain rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from shared.adapters.auth import TokenRecord, accepts, new_secret, split_bearer
from shared.domain.accounts import Account
from shared.domain.categories import COLOR_TAKEN_MESSAGE, Color, Palette
from shared.domain.errors import RuleViolationError
from shared.domain.ids import derived_id, parse_uuid, uuid7
from shared.domain.money import Currency, Money, format_money
from shared.domain.transactions import Split, Transaction, TransactionType, check_splits, type_for


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (123456, Currency.BRL, "R$1,234.56"),
        (-7890, Currency.BRL, "-R$78.90"),
        (0, Currency.BRL, "R$0.00"),
        (123456, Currency.USD, "$1,234.56"),
        (-7890, Currency.EUR, "-€78.90"),
        (5, Currency.BRL, "R$0.05"),
    ],
)
def test_money_is_formatted_like_the_original(value: int, currency: Currency, text: str) -> None:
    assert format_money(value, currency) == text
    assert Money(value, currency).as_json() == {
        "value": value,
        "formatted": text,
        "currency": currency.value,
    }


def test_type_is_derived_from_the_sign_and_zero_is_a_credit() -> None:
    assert type_for(0) is TransactionType.CREDIT
    assert type_for(1) is TransactionType.CREDIT
    assert type_for(-1) is TransactionType.DEBIT


def test_splits_must_add_up_with_the_parents_sign() -> None:
    check_splits(-1000, [Split("a", "c", -600, None), Split("b", "c", -400, None)])
    check_splits(500, [])
    with pytest.raises(RuleViolationError):
        check_splits(-1000, [Split("a", "c", -600, None)])
    with pytest.raises(RuleViolationError):
        check_splits(0, [Split("a", "c", 100, None), Split("b", "c", -100, None)])


def test_palette_keeps_one_category_per_color() -> None:
    palette = Palette(id=uuid4(), user_id="u")
    first, second = uuid4(), uuid4()
    palette.assign(Color.RED, first)
    palette.assign(Color.RED, first)  # re-assigning its own color is fine
    with pytest.raises(RuleViolationError) as taken:
        palette.assign(Color.RED, second)
    assert taken.value.field == "color"
    assert taken.value.message == COLOR_TAKEN_MESSAGE
    palette.assign(Color.BLUE, first, previous=Color.RED)  # moving frees the old color
    palette.assign(Color.RED, second)
    palette.release(Color.RED)
    assert "red" not in palette.colors


def test_account_currency_cannot_change_once_used() -> None:
    account = Account(
        id=uuid4(),
        user_id="u",
        name="Main",
        number=None,
        currency="BRL",
        type="checking",
        bank_id="b",
    )
    account.update(name="Renamed", number="123", currency="BRL", type="savings", bank_id="b")
    assert account.name == "Renamed"
    assert account.use()
    with pytest.raises(RuleViolationError):
        account.update(name="x", number=None, currency="USD", type="savings", bank_id="b")


def test_amend_and_delete_carry_what_consumers_need() -> None:
    txn = Transaction(
        id=uuid4(),
        user_id="u",
        account_id="a",
        category_id=None,
        amount=-1000,
        currency="BRL",
        date=datetime(2025, 1, 1, tzinfo=UTC),
        memo=None,
        fitid=None,
        splits=[],
    )
    txn.amend(category_id=None, amount=-400, date=txn.date, memo="m", splits=[])
    txn.delete()
    recorded, amended, deleted = txn.collect_events()
    assert isinstance(amended, Transaction.Amended)
    assert isinstance(deleted, Transaction.Deleted)
    assert (amended.previous_amount, amended.amount, amended.account_id) == (-1000, -400, "a")
    assert (deleted.amount, deleted.user_id) == (-400, "u")
    assert recorded.originator_version == 1


def test_tokens_look_like_sanctum_and_are_checked_by_hash_and_expiry() -> None:
    secret = new_secret()
    assert len(secret.plain) == 48
    assert secret.plain[:40].isalnum()
    token_id = uuid7()
    parsed = split_bearer(f"Bearer {token_id}|{secret.plain}")
    assert parsed == (token_id, secret.plain)
    now = datetime.now(UTC)
    record = TokenRecord(uuid4(), secret.sha256, now + timedelta(days=1), revoked=False)
    assert accepts(record, secret.plain, now)
    assert not accepts(record, secret.plain + "x", now)
    assert not accepts(record, secret.plain, now + timedelta(days=2))
    assert not accepts(TokenRecord(uuid4(), secret.sha256, None, revoked=True), secret.plain)
    assert split_bearer("Bearer nonsense") is None
    assert split_bearer(None) is None


def test_ids() -> None:
    first, second = uuid7(), uuid7()
    assert (first.version == 7 and str(first) < str(second)) or first.int >> 80 <= second.int >> 80
    assert derived_id("budget", "u", "c") == derived_id("budget", "u", "c")
    assert parse_uuid("not-a-uuid") is None
    assert parse_uuid(str(first)) == first


def test_derived_ids_text_are_the_derived_uuids_as_text() -> None:
    from uuid import UUID, uuid4

    from shared.domain.ids import derived_id, derived_ids_text
    from shared.domain.imports import row_id_for, row_ids_text

    common = ("import-row", uuid4(), "ação")
    lasts = list(range(2_000))
    texts = derived_ids_text(common, lasts)
    assert texts == [str(derived_id(*common, last)) for last in lasts]
    assert all(UUID(text).version == 5 for text in texts)
    import_id = str(uuid4())
    ordinals = range(5, 9)
    assert row_ids_text(import_id, ordinals) == [str(row_id_for(import_id, o)) for o in ordinals]


def test_derived_ids_are_the_derived_uuids() -> None:
    from uuid import uuid4

    from shared.domain.ids import derived_id, derived_ids

    common = ("imported-transaction", uuid4())
    lasts = [(f"FITID-{n}-ação", n % 3) for n in range(2_000)] + [("",), ("", ""), ("a|b", -1)]
    found = derived_ids(common, lasts)
    assert found == [derived_id(*common, *last) for last in lasts]
    assert all(u.version == 5 and u.variant == "specified in RFC 4122" for u in found)
