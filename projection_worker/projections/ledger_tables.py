"""``ledger_tables``: the PostgreSQL read model behind every list and detail of the API
(banks, users, accounts with balances, categories, transactions, budgets) and the
dashboards' monthly sums (``monthly_flows``).

One read model, one checkpoint, on purpose: its reads join these tables (a transaction
with its account and categories, a budget's spending with its category's transactions,
a dashboard's sums with the accounts' balances), and each answer must be of one position.
A poison event holds back only its own user's partition (see ``projection_worker.runner``),
so keeping them together costs one user's freshness, never everyone's.
"""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import orjson
from psycopg import Connection
from psycopg.sql import SQL, Composed, Identifier
from psycopg_pool import ConnectionPool

from projection_worker.feed import Positioned
from projection_worker.projections.blue_green import PostgresBlueGreen
from projection_worker.projections.checkpoints import PostgresCheckpoint, Write
from projection_worker.projections.envelope_tables import EnvelopeStatements
from projection_worker.projections.import_tables import import_handlers
from projection_worker.projections.user_tables import UserStatements
from projection_worker.runner import ProjectionState, split_held
from shared.adapters.copy_text import NULL, text
from shared.adapters.readmodel_schema import flows_add, flows_build, flows_recompute
from shared.contracts import LEDGER_TABLES
from shared.domain.accounts import Account
from shared.domain.banks import Bank
from shared.domain.budgets import Budget
from shared.domain.categories import Category
from shared.domain.transactions import Transaction, type_name
from shared.domain.users import User

Conn = Connection[tuple[Any, ...]]
Statement = tuple[Composed, tuple[Any, ...]]


class LedgerTables(PostgresBlueGreen):
    name = LEDGER_TABLES
    PACE = 0.01  # seconds between busy batches: reads wait on it (read-your-writes)
    TABLES = (
        "banks",
        "users",
        "accounts",
        "categories",
        "transactions",
        "budgets",
        "monthly_flows",
        "imports",
        "import_rows",
        "notifications",
        "budget_allocations",
        "budget_incomes",
    )
    DEFERRED_INDEXES = ("transactions_user_date_idx",)
    # Called with a batch once it is committed to this (live) read model: the budget
    # alerts' check (``projection_worker.budget_alerts``, set by the worker app). Clones
    # (a rebuild's staging copy) have none.
    after_batch: Callable[[Sequence[Positioned]], None] | None = None

    def __init__(self, pool: ConnectionPool, schema: str, *, flows_deferred: bool = False) -> None:
        """``flows_deferred``: a rebuild's staging copy derives ``monthly_flows`` once,
        before promotion, instead of per batch (see ``promote``)."""
        self.pool = pool
        self.cp = PostgresCheckpoint(pool, schema, self.name)
        self.sql = _Statements(Identifier(schema))
        self.flows = _Flows(schema)
        self.flows_deferred = flows_deferred
        self._handlers: dict[type, Callable[[Positioned], list[Statement]]] = {
            Bank.Registered: self.sql.bank_registered,
            User.Registered: self.sql.user_registered,
            Account.Opened: self.sql.account_opened,
            Account.Updated: self.sql.account_updated,
            Account.CurrencyChanged: self.sql.account_currency_changed,
            Account.Closed: self.sql.account_closed,
            Category.Created: self.sql.category_created,
            Category.Updated: self.sql.category_updated,
            Category.Deleted: self.sql.category_deleted,
            Transaction.Amended: self.sql.transaction_amended,
            Transaction.Deleted: self.sql.transaction_deleted,
            Budget.Created: self.sql.budget_created,
            Budget.Reopened: self.sql.budget_reopened,
            Budget.Renamed: self.sql.budget_renamed,
            Budget.Deleted: self.sql.budget_deleted,
            **import_handlers(self.sql.q),
            **EnvelopeStatements(self.sql.q).handlers(),
            **UserStatements(self.sql.q).handlers(),
        }

    def clone(self, schema: str) -> LedgerTables:
        return LedgerTables(self.pool, schema)

    def staging(self, *, restart: bool = False) -> LedgerTables:
        copy = super().staging(restart=restart)
        copy.flows_deferred = True
        return copy

    def promote(self, staging: LedgerTables, settle: Callable[[], None]) -> None:
        # Derived in one pass from the rebuilt transactions (per batch, each month
        # would be summed again for every batch that touched it); the catch-up that
        # follows, under the live lock, maintains them per batch again.
        with self.pool.connection() as conn, conn.transaction():
            staging.flows.build(conn)
        staging.flows_deferred = False
        super().promote(staging, settle)

    def handles(self, event: object) -> bool:
        return type(event) is Transaction.Recorded or type(event) in self._handlers

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        applied = super().apply(batch, expected)
        if applied and self.after_batch is not None:
            self.after_batch(split_held(batch, expected.parked, self.handles)[0])
        return applied

    def writer(self, items: Sequence[Positioned]) -> Write:
        fold = _Fold(self.sql.copy_transactions)
        for item in items:
            event = type(item.event)
            if event is Transaction.Recorded:
                fold.record(item.event.originator_id, self.sql.transaction_row(item))
            elif event is Transaction.Amended and item.event.originator_id in fold.fresh:
                self.sql.amend_row(fold.fresh[item.event.originator_id], item.event)
            elif event is Transaction.Deleted and item.event.originator_id in fold.fresh:
                del fold.fresh[item.event.originator_id]
            else:
                fold.then(self._statements(item), cascade=event in _CASCADES)
        steps = fold.steps()
        balances = self.sql.balances(_balance_deltas(items))
        if balances:
            steps.append(balances)
        touched = None if self.flows_deferred else _Touched.of(items)
        flows = self.flows

        def write(conn: Conn) -> None:
            if touched is not None:
                touched.before(conn, flows)  # the months rows leave, read before they do
            with conn.cursor() as cur:
                for step in steps:
                    if isinstance(step, _Copy):
                        with cur.copy(step.sql) as copy:
                            copy.write("".join(map(_transaction_line, step.rows)))
                        continue
                    # Runs of the same statement go as one executemany; order is kept.
                    for sql, run in itertools.groupby(step, key=lambda s: s[0]):
                        cur.executemany(sql, [params for _, params in run])
            if touched is not None and touched.only_added:
                flows.add(conn, touched.added)
            elif touched is not None:
                flows.recompute(conn, touched.months)

        return write

    def _statements(self, item: Positioned) -> list[Statement]:
        handler = self._handlers.get(type(item.event))
        return handler(item) if handler else []


Month = tuple[Any, date]  # (user id, first day of a UTC month)
FlowKey = tuple[
    Any, date, Any, Any, str
]  # monthly_flows' key: user, month, account, category, currency


def month_of(when: datetime) -> date:
    return when.astimezone(UTC).date().replace(day=1)


class _Flows:
    """``monthly_flows``, derived again from ``transactions`` for the (user, month) pairs
    a batch touched, in the batch's transaction."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.delete, self.insert = flows_recompute(schema)
        self.add_sql = flows_add(schema)
        self.old_months = SQL(
            "SELECT DISTINCT user_id, date_trunc('month', date AT TIME ZONE 'UTC')::date "
            "FROM {s}.transactions WHERE id = ANY(%s) OR account_id = ANY(%s) "
            # A deleted category's months are the ones it has sums in (splits included).
            "UNION SELECT user_id, month FROM {s}.monthly_flows WHERE category_id = ANY(%s)"
        ).format(s=Identifier(schema))

    def months_of(
        self, conn: Conn, txn_ids: list[Any], account_ids: list[Any], category_ids: list[Any]
    ) -> set[Month]:
        rows = conn.execute(self.old_months, (txn_ids, account_ids, category_ids)).fetchall()
        return {(row[0], row[1]) for row in rows}

    def recompute(self, conn: Conn, months: set[Month]) -> None:
        if not months:
            return
        users, firsts = [u for u, _ in months], [m for _, m in months]
        conn.execute(self.delete, (users, firsts))
        conn.execute(self.insert, (users, firsts))

    def add(self, conn: Conn, deltas: dict[FlowKey, list[int]]) -> None:
        if not deltas:
            return
        columns: list[list[Any]] = [[] for _ in range(7)]
        for key, sums in deltas.items():
            for column, value in zip(columns, (*key, *sums), strict=True):
                column.append(value)
        conn.execute(self.add_sql, columns)

    def build(self, conn: Conn) -> None:
        for statement in flows_build(self.schema):
            conn.execute(statement)


class _Ids(dict[str, UUID]):
    """Ids as UUIDs, each parsed once per batch (an import's batch names one user and one
    account thousands of times)."""

    def __missing__(self, text: str) -> UUID:
        found = self[text] = UUID(text)
        return found


@dataclass(slots=True)
class _Touched:
    """The (user, month) pairs whose sums a batch changes: the months its transactions
    land in (from the events) and the months they leave (read before the batch's writes:
    an amended date, a deletion, an account closed with its transactions, a category
    deleted from under its transactions)."""

    months: set[Month]
    leaving: list[Any]  # transactions amended or deleted
    closed: list[Any]  # accounts closed
    uncategorized: list[Any]  # categories deleted
    # What the batch's new transactions add, per monthly_flows key: [debits, credits].
    # Used instead of recomputing when the batch only adds (the common case: deriving a
    # month again costs a scan of it, per batch, for every month a backlog touches).
    added: dict[FlowKey, list[int]]
    erased: bool = False  # a user deleted (their rows go, whatever came before)

    @property
    def only_added(self) -> bool:
        return not (self.leaving or self.closed or self.uncategorized or self.erased)

    @classmethod
    def of(cls, items: Sequence[Positioned]) -> _Touched:
        touched = cls(set(), [], [], [], {})
        ids = _Ids()
        for item in items:
            e = item.event
            if isinstance(e, Transaction.Recorded):
                touched.months.add(touched.add(e, ids))
            elif isinstance(e, Transaction.Amended):
                touched.months.add((ids[e.user_id], month_of(e.date)))
            if isinstance(e, Transaction.Amended | Transaction.Deleted):
                touched.leaving.append(e.originator_id)
            elif isinstance(e, Account.Closed):
                touched.closed.append(e.originator_id)
            elif isinstance(e, Category.Deleted):
                touched.uncategorized.append(e.originator_id)
            elif isinstance(e, User.Deleted):
                touched.erased = True
        return touched

    def add(self, e: Transaction.Recorded, ids: _Ids) -> Month:
        """The rows ``flows_recompute`` would derive from this transaction (its splits,
        each with its category, when it has some; else itself); its (user, month)."""
        parts = [(s["category_id"], int(s["amount"])) for s in e.splits] or [
            (e.category_id, e.amount)
        ]
        month, user, account = month_of(e.date), ids[e.user_id], ids[e.account_id]
        for category, amount in parts:
            key = (user, month, account, None if category is None else ids[category], e.currency)
            sums = self.added.setdefault(key, [0, 0])
            sums[0 if amount < 0 else 1] += abs(amount)
        return user, month

    def before(self, conn: Conn, flows: _Flows) -> None:
        if self.leaving or self.closed or self.uncategorized:
            self.months |= flows.months_of(conn, self.leaving, self.closed, self.uncategorized)


@dataclass(frozen=True, slots=True)
class _Copy:
    sql: Composed
    rows: list[list[Any]]


def _transaction_line(row: list[Any]) -> str:
    """One ``transactions`` row in COPY text format (columns as in ``copy_transactions``);
    ids, amounts, codes and dates never need escaping, free text does."""
    (txn, user, account, category, amount, currency, kind, date, memo, fitid, splits, source,
     position) = row  # fmt: skip
    return (
        f"{txn}\t{user}\t{account}\t{NULL if category is None else category}\t{amount}\t"
        f"{currency}\t{kind}\t{date.isoformat()}\t{text(memo)}\t{text(fitid)}\t"
        f"{text(splits)}\t{source}\t{position}\n"
    )


# Events whose statements touch transactions by something else than their id.
_CASCADES = frozenset({Account.Closed, Category.Deleted, User.Deleted})


class _Fold:
    """A batch's writes in event order. Transactions recorded in the batch stay in memory
    (amended or deleted there) and go to PostgreSQL with one COPY, written before any
    statement that could touch them by account or category, so the result is the one
    of applying every event in order, at the cost of one COPY row per new transaction."""

    def __init__(self, copy_sql: Composed) -> None:
        self.copy_sql = copy_sql
        self.fresh: dict[Any, list[Any]] = {}
        self._steps: list[_Copy | list[Statement]] = [[]]

    def record(self, txn_id: Any, row: list[Any]) -> None:
        self.fresh[txn_id] = row

    def then(self, statements: list[Statement], *, cascade: bool) -> None:
        last = self._steps[-1]
        assert isinstance(last, list)
        if not cascade:
            last.extend(statements)
            return
        self._flush()
        last.extend(statements)
        self._steps.append([])  # later rows are copied after these statements

    def _flush(self) -> None:
        if self.fresh:
            self._steps[-1:-1] = [_Copy(self.copy_sql, list(self.fresh.values()))]
            self.fresh = {}

    def steps(self) -> list[_Copy | list[Statement]]:
        # Fresh rows first: statements after the last cascade only touch older rows by id.
        self._flush()
        return [step for step in self._steps if not isinstance(step, list) or step]


def _balance_deltas(batch: Sequence[Positioned]) -> dict[tuple[str, str], int]:
    deltas: dict[tuple[str, str], int] = defaultdict(int)
    for item in batch:
        e = item.event
        if isinstance(e, Transaction.Recorded):
            deltas[(e.account_id, e.currency)] += e.amount
        elif isinstance(e, Transaction.Amended):
            deltas[(e.account_id, e.currency)] += e.amount - e.previous_amount
        elif isinstance(e, Transaction.Deleted):
            deltas[(e.account_id, e.currency)] -= e.amount
    return deltas


class _Statements:
    """The SQL for each event. Balances change by deltas, which is only safe because a
    batch and its checkpoint commit together (see runner)."""

    def __init__(self, s: Identifier) -> None:
        # Composed once per text: composing per event cost more than the event's write.
        @functools.cache
        def q(text: str) -> Composed:
            return SQL(text).format(s=s)

        self.q = q
        self.copy_transactions = q(
            "COPY {s}.transactions (id, user_id, account_id, category_id, amount, currency, "
            "type, date, memo, fitid, splits, source, recorded_position) FROM STDIN"
        )

    @staticmethod
    def transaction_row(p: Positioned) -> list[Any]:
        e = p.event
        return [
            e.originator_id,
            e.user_id,
            e.account_id,
            e.category_id,
            e.amount,
            e.currency,
            type_name(e.amount),
            e.date,
            e.memo,
            e.fitid,
            orjson.dumps(e.splits).decode(),
            e.source,
            p.position,
        ]

    @staticmethod
    def amend_row(row: list[Any], e: Any) -> None:
        """What ``transaction_amended`` does, on a row not written yet."""
        row[3], row[4], row[6], row[7], row[8] = (
            e.category_id,
            e.amount,
            type_name(e.amount),
            e.date,
            e.memo,
        )
        row[10] = orjson.dumps(e.splits).decode()

    def bank_registered(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "INSERT INTO {s}.banks (id, code, name) VALUES (%s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                (e.originator_id, e.code, e.name),
            )
        ]

    def user_registered(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "INSERT INTO {s}.users (id, name, email, preferred_currency) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
                ),
                (e.originator_id, e.name, e.email, e.preferred_currency),
            )
        ]

    def account_opened(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "INSERT INTO {s}.accounts (id, user_id, name, number, currency, type, "
                    "bank_id, opened_position) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                (
                    e.originator_id,
                    e.user_id,
                    e.name,
                    e.number,
                    e.currency,
                    e.type,
                    e.bank_id,
                    p.position,
                ),
            )
        ]

    def account_updated(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "UPDATE {s}.accounts SET name = %s, number = %s, type = %s, "
                    "bank_id = %s WHERE id = %s"
                ),
                (e.name, e.number, e.type, e.bank_id, e.originator_id),
            )
        ]

    def account_currency_changed(self, p: Positioned) -> list[Statement]:
        e = p.event  # only ever on an account with no transactions: no balance to convert
        return [
            (
                self.q(
                    "UPDATE {s}.accounts SET name = %s, number = %s, currency = %s, "
                    "type = %s, bank_id = %s WHERE id = %s"
                ),
                (e.name, e.number, e.currency, e.type, e.bank_id, e.originator_id),
            )
        ]

    def account_closed(self, p: Positioned) -> list[Statement]:
        # Closing an account removes its transactions (the original's FK cascade).
        i = p.event.originator_id
        return [
            (self.q("DELETE FROM {s}.transactions WHERE account_id = %s"), (i,)),
            (self.q("DELETE FROM {s}.accounts WHERE id = %s"), (i,)),
        ]

    def category_created(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "INSERT INTO {s}.categories (id, user_id, name, description, color, "
                    "is_default) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
                ),
                (e.originator_id, e.user_id, e.name, e.description, e.color, e.is_default),
            )
        ]

    def category_updated(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "UPDATE {s}.categories SET name = %s, description = %s, color = %s, "
                    "is_default = %s WHERE id = %s"
                ),
                (e.name, e.description, e.color, e.is_default, e.originator_id),
            )
        ]

    def category_deleted(self, p: Positioned) -> list[Statement]:
        i = p.event.originator_id
        return [
            (self.q("UPDATE {s}.transactions SET category_id = NULL WHERE category_id = %s"), (i,)),
            (self.q("DELETE FROM {s}.categories WHERE id = %s"), (i,)),
        ]

    def transaction_amended(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "UPDATE {s}.transactions SET category_id = %s, amount = %s, type = %s, "
                    "date = %s, memo = %s, splits = %s WHERE id = %s"
                ),
                (
                    e.category_id,
                    e.amount,
                    type_name(e.amount),
                    e.date,
                    e.memo,
                    orjson.dumps(e.splits).decode(),
                    e.originator_id,
                ),
            ),
        ]

    def transaction_deleted(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (self.q("DELETE FROM {s}.transactions WHERE id = %s"), (e.originator_id,)),
        ]

    def balances(self, deltas: dict[tuple[str, str], int]) -> list[Statement]:
        """One update per account touched by the batch, after its rows are written.

        Deltas commute, so summing them per account is exact; the currency guard keeps
        a balance in its account's currency only (an account closed in the same batch
        has no row left, and its deltas vanish with it).
        """
        sql = self.q(
            "UPDATE {s}.accounts SET balance = balance + %s WHERE id = %s AND currency = %s"
        )
        return [
            (sql, (delta, account, currency))
            for (account, currency), delta in deltas.items()
            if delta
        ]

    def budget_created(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "INSERT INTO {s}.budgets (id, user_id, category_id, name, currency, "
                    "created_position) VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (id) DO NOTHING"
                ),
                (e.originator_id, e.user_id, e.category_id, e.name, e.currency, p.position),
            )
        ]

    def budget_reopened(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (
                self.q(
                    "UPDATE {s}.budgets SET deleted = false, name = %s, currency = %s WHERE id = %s"
                ),
                (e.name, e.currency, e.originator_id),
            )
        ]

    def budget_renamed(self, p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (self.q("UPDATE {s}.budgets SET name = %s WHERE id = %s"), (e.name, e.originator_id))
        ]

    def budget_deleted(self, p: Positioned) -> list[Statement]:
        # Kept as deleted, not removed: a budget can be reopened (same pair, same id).
        return [
            (
                self.q("UPDATE {s}.budgets SET deleted = true WHERE id = %s"),
                (p.event.originator_id,),
            )
        ]
