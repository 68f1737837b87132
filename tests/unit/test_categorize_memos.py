"""The evaluation set's generator: labelled with the default categories, split by
merchant with no merchant on both sides, deterministic for a seed."""

from __future__ import annotations

from scenarios.memos import memos, merchants, split, user_stream
from shared.categorize import DEFAULT_NAMES, RuleBook


def test_every_default_category_has_brazilian_and_us_merchants() -> None:
    found = {(m.category, m.country) for m in merchants()}
    assert found == {(name, country) for name in DEFAULT_NAMES for country in ("BR", "US")}


def test_train_and_test_merchants_never_overlap() -> None:
    train, test = split(7)
    assert not {m.name for m in train} & {m.name for m in test}
    assert {m.category for m in test} == set(DEFAULT_NAMES)
    assert len(train) + len(test) == len(merchants())


def test_the_same_seed_gives_the_same_memos_and_another_seed_others() -> None:
    _, test = split(7)
    assert memos(test, 3, seed=1) == memos(test, 3, seed=1)
    assert memos(test, 3, seed=1) != memos(test, 3, seed=2)
    assert list(user_stream(test, 20, seed=5)) == list(user_stream(test, 20, seed=5))


def test_memos_carry_bank_noise_and_signed_amounts() -> None:
    _, test = split(7)
    generated = memos(test, 6, seed=3)
    texts = [m.text for m in generated]
    assert any(t.startswith(("PAG*", "MP *", "SQ *", "TST* ", "PAYPAL *")) for t in texts)
    assert any(any(c.isdigit() for c in t) for t in texts)
    assert all(len(t) <= len(m.merchant.name) + 60 for t, m in zip(texts, generated, strict=True))
    assert all(m.amount > 0 for m in generated if m.merchant.kind == "income")
    assert all(m.amount < 0 for m in generated if m.merchant.kind in ("card", "bill"))


def test_some_test_memos_contain_no_rule_keyword() -> None:
    # The benchmark reports those separately; a set the rules fully cover would hide
    # how the model does on merchants it has no word for.
    rules = RuleBook()
    _, test = split(2026)
    uncovered = [m for m in memos(test, 4, seed=2026) if not rules.scores(m.text)]
    assert len(uncovered) > 50
