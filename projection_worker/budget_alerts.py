"""Budget alerts (issue 15): when a month's spending in a budget passes its budgeted
amount plus rollover, its user gets a ``budget.exceeded`` notification, once per budget
and month.

A process manager, not a read model: after ``ledger_tables`` commits a batch, the
(user, month) pairs the batch touched (transactions recorded or amended into a month,
allocations set or moved) are checked against the read model just written (the same sums
as the budget page), and a notification is appended to the event store for each budget
over its limit. Its id is derived from (kind, budget, month), so "once per budget and
month" holds by construction: an existing one is skipped, and a racing duplicate fails
its append. The notification then flows like any other (the ``notifications`` table,
``GET /api/notifications``, ``notification.created`` on the live stream).

Best effort by design: a check that fails is logged and the batch stays applied; the
next batch that touches the month checks it again (the condition still holds), so an
alert is late, never doubled. Only the live read model checks (a rebuild's staging copy
has no hook: the notifications it replays are already in the store)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from shared.adapters.eventstore import Ledger
from shared.adapters.readmodel_schema import envelope_sums
from shared.domain.envelopes import BudgetPlan
from shared.domain.money import Currency, Money
from shared.domain.notifications import BUDGET_EXCEEDED, Notification, notification_id_for
from shared.domain.transactions import Transaction

logger = logging.getLogger(__name__)

Pair = tuple[str, date]  # (user id, first day of a month)

# Constant fragments only (no value is formatted in): values go as parameters.
_OVER = (
    "WITH d(user_id, month) AS (SELECT * FROM unnest(%s::uuid[], %s::date[])) "  # noqa: S608
    "SELECT b.id, b.user_id, b.category_id, c.name AS category, d.month, p.currency, "
    "x.budgeted + x.given_before - x.spent_before AS available, x.spent "
    "FROM d JOIN {s}.budgets b ON b.user_id = d.user_id AND NOT b.deleted "
    "JOIN {s}.categories c ON c.id = b.category_id "
    "CROSS JOIN LATERAL (SELECT COALESCE((SELECT preferred_currency FROM {s}.users u "
    "WHERE u.id = d.user_id), 'BRL') AS currency) p "
    "CROSS JOIN LATERAL (SELECT " + envelope_sums("d.user_id", "d.month") + ") x "
    "WHERE x.spent > 0 AND x.spent > x.budgeted + x.given_before - x.spent_before"
)


def touched(items: Sequence[Positioned]) -> set[Pair]:
    """The (user, month) pairs whose spending or allocations a batch changed upward or
    downward (a deletion only lowers spending: it never starts an alert)."""
    pairs: set[Pair] = set()
    for item in items:
        e = item.event
        if isinstance(e, Transaction.Recorded | Transaction.Amended) and e.amount < 0:
            pairs.add((e.user_id, e.date.astimezone(UTC).date().replace(day=1)))
        elif isinstance(e, BudgetPlan.Allocated | BudgetPlan.MoneyMoved):
            pairs.add((e.user_id, date.fromisoformat(e.month)))
    return pairs


def alert_data(row: dict[str, Any]) -> dict[str, Any]:
    currency = Currency(row["currency"])
    spent, available = Money(int(row["spent"]), currency), Money(int(row["available"]), currency)
    month = row["month"].strftime("%Y-%m")
    return {
        "title": "Orçamento estourado",
        "body": (
            f"{row['category']}: {spent.formatted()} gastos de "
            f"{available.formatted()} disponíveis em {month}"
        ),
        "budget_id": str(row["id"]),
        "category_id": str(row["category_id"]),
        "month": month,
        "spent": spent.as_json(),
        "available": available.as_json(),
    }


class BudgetAlerts:
    def __init__(self, ledger: Ledger, pool: ConnectionPool, schema: str) -> None:
        self.ledger, self.pool = ledger, pool
        self._over = SQL(_OVER).format(s=Identifier(schema))

    def after(self, items: Sequence[Positioned]) -> None:
        """Called once the batch ``items`` is committed to the live read model."""
        pairs = touched(items)
        if not pairs:
            return
        try:
            self._notify(pairs)
        except Exception:  # the batch stays applied; the next one checks again
            logger.warning("budget alerts for %d months not checked", len(pairs), exc_info=True)

    def _notify(self, pairs: set[Pair]) -> None:
        users, months = [UUID(u) for u, _ in pairs], [m for _, m in pairs]
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(self._over, (users, months)).fetchall()
        notes = {
            notification_id_for(BUDGET_EXCEEDED, f"{r['id']}:{r['month'].isoformat()}"): r
            for r in rows
        }
        if not notes:
            return
        known = self.ledger.aggregates(list(notes))
        for note_id, row in notes.items():
            if note_id in known:
                continue
            note = Notification(
                id=note_id, user_id=str(row["user_id"]), kind=BUDGET_EXCEEDED, data=alert_data(row)
            )
            try:
                self.ledger.append(note)
            except IntegrityError:  # another worker notified first
                continue
