"""Automatic categorization: ranked category suggestions for a memo, with a confidence.
Pure and offline (no model download, no I/O): the caller hands in the user's history
index and the ids of their default categories.

    from shared.categorize import Categorizer, should_apply
    categorizer = Categorizer()                         # build once per process
    categorizer.remember(index, faiss_id, txn_id, category_id, memo)  # and on corrections
    best, *rest = categorizer.suggest(index, memo, amount=amount, defaults=ids_by_name)
    if should_apply(best.confidence, user_threshold):   # None (default): never
        ...

See ``categorizer`` for the signals and how they combine, ``rules`` for the cold-start
vocabulary and where it comes from, ``model`` for the invariants of a suggestion.
"""

from shared.categorize.categorizer import Categorizer, HistoryIndex, LearningIndex
from shared.categorize.model import (
    DEFAULT_NAMES,
    DEFAULT_THRESHOLD,
    MIN_THRESHOLD,
    Suggestion,
    should_apply,
)
from shared.categorize.rules import RuleBook
from shared.categorize.text import clean

__all__ = [
    "DEFAULT_NAMES",
    "DEFAULT_THRESHOLD",
    "MIN_THRESHOLD",
    "Categorizer",
    "HistoryIndex",
    "LearningIndex",
    "RuleBook",
    "Suggestion",
    "clean",
    "should_apply",
]
