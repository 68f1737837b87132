"""Categorization: memo cleaning, keyword rules, the cold-start model, history and
corrections through a real (in-memory) faiss ``MemoIndex``, and the auto-apply rule."""

from __future__ import annotations

import pytest

from shared.adapters.vectors import MemoIndex
from shared.categorize import (
    DEFAULT_NAMES,
    DEFAULT_THRESHOLD,
    MIN_THRESHOLD,
    Categorizer,
    RuleBook,
    should_apply,
)
from shared.categorize.model import (
    BILLS,
    FOOD,
    HEALTH,
    INCOME,
    SAVINGS,
    SHOPPING,
    TRANSPORT,
    TRAVEL,
)
from shared.categorize.text import clean, tokens


@pytest.fixture(scope="module")
def categorizer() -> Categorizer:
    return Categorizer()


def history(categorizer: Categorizer, *rows: tuple[str, str | None]) -> MemoIndex:
    index = MemoIndex(categorizer.embedder.dim)
    for i, (memo, category) in enumerate(rows):
        categorizer.remember(index, i, f"txn-{i}", category, memo)
    return index


def test_clean_keeps_letters_folded() -> None:
    assert clean("PAG*Café  São-João 02/01 14:32 #552") == "pag cafe sao joao"


def test_tokens_drop_channel_words_places_and_fragments() -> None:
    assert tokens("COMPRA CARTAO DEB MC 02/01 PADARIA BELLA VISTA SAO PAULO SP") == [
        "mc",
        "padaria",
        "bella",
        "vista",
    ]
    assert tokens("POS DEBIT TRADER JOE S #552 NEW YORK NY") == ["trader", "joe"]


@pytest.mark.parametrize(
    ("memo", "category"),
    [
        ("DROGARIA BOM PRECO", HEALTH),
        ("SUPERMERCADOS UNIAO", FOOD),  # plural of a keyword
        ("COMPRA CARTAO SUPERMERC", FOOD),  # truncated by the bank
        ("UBER *TRIP HELP.UBER.COM", TRANSPORT),
        ("PAG*UBER EATS", FOOD),  # the phrase outweighs its word
        ("MERCADO LIVRE*VENDEDOR", SHOPPING),
        ("PAGTO CONTA AGUA SABESP", BILLS),
        ("HERTZ RENT A CAR", TRAVEL),
    ],
)
def test_rules_map_keywords_to_default_categories(memo: str, category: str) -> None:
    scores = RuleBook().scores(memo)
    assert max(scores, key=scores.__getitem__) == category


def test_rules_say_nothing_about_an_unknown_merchant() -> None:
    assert RuleBook().scores("COMPRA CARTAO XJQ ZYW 02/01") == {}


def test_suggestions_are_ranked_with_confidences_of_one_distribution(
    categorizer: Categorizer,
) -> None:
    for memo in ("PAG*IFOOD 02/01", "XYZ COMERCIO", "POS DEBIT CVS PHARMACY #123 AUSTIN TX"):
        found = categorizer.suggest(None, memo, amount=-1000, limit=5)
        confidences = [s.confidence for s in found]
        assert found
        assert all(0.0 <= c <= 1.0 for c in confidences)
        assert confidences == sorted(confidences, reverse=True)
        assert sum(confidences) <= 1.0 + 1e-3
        assert {s.category for s in found} <= set(DEFAULT_NAMES)


@pytest.mark.parametrize(
    ("memo", "amount", "category"),
    [
        ("Compra no débito - Padaria Pão Quente", -850, FOOD),
        ("COMPRA CARTAO DEB MC 03/02 POSTO IPIRANGA", -20000, TRANSPORT),
        ("POS DEBIT CVS PHARMACY #123 AUSTIN TX", -1299, HEALTH),
        ("ACME CORP PAYROLL PPD ID: 12345", 500000, INCOME),
        ("APLICACAO CDB BANCO X", -100000, SAVINGS),
    ],
)
def test_cold_start_suggests_the_obvious_category_first(
    categorizer: Categorizer, memo: str, amount: int, category: str
) -> None:
    (best, *_) = categorizer.suggest(None, memo, amount=amount)
    assert best.category == category
    assert best.source == "rules"


def test_money_in_from_an_unknown_sender_is_most_likely_income(categorizer: Categorizer) -> None:
    (best, *_) = categorizer.suggest(None, "PIX RECEBIDO FULANO DE TAL", amount=15000)
    assert best.category == INCOME
    out = categorizer.suggest(None, "FULANO DE TAL", amount=-15000)
    assert out[0].category != INCOME


def test_defaults_map_names_to_the_users_ids_and_drop_the_rest(categorizer: Categorizer) -> None:
    ids = {FOOD: "cat-food", HEALTH: "cat-health"}
    found = categorizer.suggest(None, "PAG*IFOOD", amount=-3000, defaults=ids, limit=10)
    assert found[0].category == "cat-food"
    assert {s.category for s in found} <= {"cat-food", "cat-health"}


def test_a_categorized_merchant_is_suggested_from_history(categorizer: Categorizer) -> None:
    # An unknown merchant: the rules cannot know it, the user's history does.
    index = history(categorizer, ("ELO COMPRA 02/01 RAIZES DO CAMPO SAO PAULO", "cat-lunch"))
    (best, *_) = categorizer.suggest(index, "Compra no débito - Raizes do Campo", amount=-4200)
    assert (best.category, best.source) == ("cat-lunch", "history")
    assert best.confidence >= DEFAULT_THRESHOLD


def test_a_correction_overrides_the_rules_for_that_merchant(categorizer: Categorizer) -> None:
    memo = "AMAZON MKTPLACE PMTS 02/11"
    (before, *_) = categorizer.suggest(None, memo, amount=-5000)
    assert before.category == SHOPPING
    # The user files their Amazon purchases (books) under a category of their own.
    index = history(categorizer, ("AMAZON MKTPLACE PMTS 01/11", "cat-books"))
    (after, *_) = categorizer.suggest(index, memo, amount=-5000)
    assert after.category == "cat-books"


def test_recategorizing_a_transaction_flips_the_next_suggestion(categorizer: Categorizer) -> None:
    index = history(categorizer, ("PAG*LOJA MISTERIOSA", "cat-a"))
    assert categorizer.suggest(index, "PAG*LOJA MISTERIOSA 03/02")[0].category == "cat-a"
    categorizer.remember(index, 0, "txn-0", "cat-b", "PAG*LOJA MISTERIOSA")  # corrected
    assert categorizer.suggest(index, "PAG*LOJA MISTERIOSA 03/02")[0].category == "cat-b"


def test_unrelated_history_leaves_the_cold_start_answer(categorizer: Categorizer) -> None:
    index = history(categorizer, ("NETFLIX.COM", "cat-fun"), ("SALARIO ACME", "cat-pay"))
    assert categorizer.suggest(index, "DROGARIA SAO BENTO")[0].category == HEALTH


def test_uncategorized_history_is_ignored(categorizer: Categorizer) -> None:
    index = history(categorizer, ("PAG*LOJA MISTERIOSA", None))
    assert all(s.source != "history" for s in categorizer.suggest(index, "PAG*LOJA MISTERIOSA"))


def test_an_empty_memo_gets_no_suggestion(categorizer: Categorizer) -> None:
    assert categorizer.suggest(None, "   ") == []


def test_the_history_vector_ignores_dates_and_channel_noise(categorizer: Categorizer) -> None:
    a = categorizer.vector("COMPRA CARTAO 02/01 RAIZES DO CAMPO SP")
    b = categorizer.vector("PAG*RAIZES DO CAMPO 15/03")
    assert float(a @ b) > 0.99


@pytest.mark.parametrize(
    ("confidence", "threshold", "applied"),
    [
        (0.99, None, False),  # the user has not opted in
        (0.95, DEFAULT_THRESHOLD, True),
        (0.85, DEFAULT_THRESHOLD, False),
        (0.45, 0.1, False),  # never below MIN_THRESHOLD, whatever is stored
        (MIN_THRESHOLD, 0.1, True),
    ],
)
def test_should_apply(confidence: float, threshold: float | None, applied: bool) -> None:
    assert should_apply(confidence, threshold) is applied
