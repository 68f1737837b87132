"""The users' rows of ``ledger_tables`` beyond registration: profile, preferred
currency and auto-categorization threshold changes, and a deleted user's purge.

``User.Deleted`` is a tombstone: the events stay in the append-only store, and every read
model removes all of the user's rows when it applies it (here: every table of
``ledger_tables`` that holds user data). A rebuild replays the tombstone, so the rows
never come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg.sql import Composed

from projection_worker.feed import Positioned
from shared.domain.users import User

Statement = tuple[Composed, tuple[Any, ...]]
Handler = Callable[[Positioned], list[Statement]]

# Every table of ``ledger_tables`` with a ``user_id`` column (``import_rows`` goes by its
# import, first); ``users`` last, by id.
PURGED = (
    "transactions",
    "monthly_flows",
    "accounts",
    "categories",
    "budgets",
    "budget_allocations",
    "budget_incomes",
    "notifications",
    "imports",
)


class UserStatements:
    def __init__(self, q: Callable[[str], Composed]) -> None:
        self._profile = q("UPDATE {s}.users SET name = %s, email = %s WHERE id = %s")
        self._currency = q("UPDATE {s}.users SET preferred_currency = %s WHERE id = %s")
        self._threshold = q("UPDATE {s}.users SET auto_apply_threshold = %s WHERE id = %s")
        self._purge = [
            q(
                "DELETE FROM {s}.import_rows WHERE import_id IN "
                "(SELECT id FROM {s}.imports WHERE user_id = %s)"
            ),
            # Table names from the constant above, never from input.
            *(q(f"DELETE FROM {{s}}.{table} WHERE user_id = %s") for table in PURGED),  # noqa: S608
            q("DELETE FROM {s}.users WHERE id = %s"),
        ]

    def handlers(self) -> dict[type, Handler]:
        return {
            User.ProfileUpdated: self.profile_updated,
            User.PreferredCurrencyChanged: self.currency_changed,
            User.AutoCategorizationSet: self.auto_categorization_set,
            User.Deleted: self.deleted,
        }

    def profile_updated(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [(self._profile, (e.name, e.email, e.originator_id))]

    def currency_changed(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [(self._currency, (e.preferred_currency, e.originator_id))]

    def auto_categorization_set(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [(self._threshold, (e.threshold, e.originator_id))]

    def deleted(self, p: Positioned) -> list[Statement]:
        return [(sql, (p.event.originator_id,)) for sql in self._purge]
