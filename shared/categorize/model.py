"""What categorization answers with, and the rule for applying it without asking.

Invariants:

* ``Suggestion.confidence`` is in [0, 1]; the suggestions of one memo are ranked by it,
  highest first, and their confidences sum to at most 1 (they share one distribution).
* ``should_apply`` never applies when the user has not opted in (threshold None) and
  never below ``MIN_THRESHOLD``, whatever threshold is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.categories import DEFAULT_CATEGORIES

# The 10 default categories by name (shared/domain/categories.py): the cold-start model's
# labels. A user's categories are mapped onto them by name (``Categorizer.suggest``'s
# ``defaults``), so renaming a default category only loses its cold-start suggestions.
FOOD, TRANSPORT, SHOPPING, LEISURE, BILLS, HEALTH, EDUCATION, TRAVEL, INCOME, SAVINGS = (
    name for name, _, _ in DEFAULT_CATEGORIES
)
DEFAULT_NAMES: tuple[str, ...] = tuple(name for name, _, _ in DEFAULT_CATEGORIES)

# Auto-apply: off unless the user sets a threshold; the suggested default is conservative
# (in the benchmark, cold-start suggestions at or above it were right >= 95% of the time).
DEFAULT_THRESHOLD = 0.9
MIN_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A category for a memo: the user's category id (or a default name, when no ids
    were given), how sure we are, and which signal weighed most (``history``,
    ``rules`` or ``names``)."""

    category: str
    confidence: float
    source: str


def should_apply(confidence: float, threshold: float | None) -> bool:
    """Apply a suggestion without asking? Only if the user opted in (``threshold`` not
    None) and ``confidence`` reaches the threshold, never below ``MIN_THRESHOLD``."""
    if threshold is None:
        return False
    return confidence >= max(threshold, MIN_THRESHOLD)
