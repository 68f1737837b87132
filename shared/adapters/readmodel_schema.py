"""DDL of the read models (schema ``readmodel`` by default), applied by ``valorize migrate``.

Read models are physically separate from the event store (own schema, own pool) and can
be dropped and rebuilt from the events at any time.
"""

from __future__ import annotations

from psycopg.sql import SQL, Composed, Identifier

_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.projection_checkpoints (
    name text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0,
    parked_version bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE {s}.projection_checkpoints
    ADD COLUMN IF NOT EXISTS parked_version bigint NOT NULL DEFAULT 0;
-- Before parking, one poison event stopped a whole projection ('failed'). Such a
-- projection simply resumes at its checkpoint (the event now applies or is parked).
ALTER TABLE {s}.projection_checkpoints DROP COLUMN IF EXISTS status;
ALTER TABLE {s}.projection_checkpoints DROP COLUMN IF EXISTS poison_position;
ALTER TABLE {s}.projection_checkpoints DROP COLUMN IF EXISTS error;
DROP TABLE IF EXISTS {s}.projection_failures;
CREATE TABLE IF NOT EXISTS {s}.parked_events (
    name text NOT NULL,
    position bigint NOT NULL,
    partition text NOT NULL,
    topic text NOT NULL,
    error text,
    parked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, position)
);
CREATE INDEX IF NOT EXISTS parked_events_partition_idx
    ON {s}.parked_events (name, partition, position);
CREATE TABLE IF NOT EXISTS {s}.quarantined_events (
    name text NOT NULL,
    position bigint NOT NULL,
    partition text NOT NULL,
    topic text NOT NULL,
    error text,
    reason text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, position)
);
CREATE TABLE IF NOT EXISTS {s}.banks (
    id uuid PRIMARY KEY,
    code text NOT NULL,
    name text NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.users (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL,
    preferred_currency text NOT NULL
);
-- Null (auto-categorization off) for every user until one sets it: no rebuild needed.
ALTER TABLE {s}.users ADD COLUMN IF NOT EXISTS auto_apply_threshold double precision;
CREATE TABLE IF NOT EXISTS {s}.accounts (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    name text NOT NULL,
    number text,
    currency text NOT NULL,
    type text NOT NULL,
    bank_id uuid NOT NULL,
    balance bigint NOT NULL DEFAULT 0,
    opened_position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS accounts_user_idx ON {s}.accounts (user_id, opened_position);
CREATE TABLE IF NOT EXISTS {s}.categories (
    id uuid PRIMARY KEY,
    user_id uuid,
    name text NOT NULL,
    description text,
    color text NOT NULL,
    is_default boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS categories_user_idx ON {s}.categories (user_id);
CREATE TABLE IF NOT EXISTS {s}.transactions (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    account_id uuid NOT NULL,
    category_id uuid,
    amount bigint NOT NULL,
    currency text NOT NULL,
    type text NOT NULL,
    date timestamptz NOT NULL,
    memo text,
    fitid text,
    splits jsonb NOT NULL DEFAULT '[]',
    recorded_position bigint NOT NULL
);
ALTER TABLE {s}.transactions ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'api';
CREATE INDEX IF NOT EXISTS transactions_user_date_idx
    ON {s}.transactions (user_id, date DESC, recorded_position DESC);
CREATE INDEX IF NOT EXISTS transactions_account_date_idx
    ON {s}.transactions (account_id, date DESC);
CREATE INDEX IF NOT EXISTS transactions_category_date_idx
    ON {s}.transactions (category_id, date DESC);
-- What dashboards and insights sum, per user, month (UTC), account, category and
-- currency: debits as positive sums, credits as positive sums. A transaction with
-- splits counts through its splits only (they add up to its amount), so nothing is
-- counted twice. Derived from ``transactions`` by ``flows_recompute``/``flows_build``.
CREATE TABLE IF NOT EXISTS {s}.monthly_flows (
    user_id uuid NOT NULL,
    month date NOT NULL,
    account_id uuid NOT NULL,
    category_id uuid,
    currency text NOT NULL,
    debits bigint NOT NULL,
    credits bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS monthly_flows_user_idx ON {s}.monthly_flows (user_id, month);
CREATE INDEX IF NOT EXISTS monthly_flows_account_idx ON {s}.monthly_flows (account_id);
CREATE TABLE IF NOT EXISTS {s}.budgets (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    category_id uuid NOT NULL,
    name text NOT NULL,
    currency text NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    created_position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS budgets_user_idx ON {s}.budgets (user_id);
-- Budget envelopes (contract 3.4): what each budget is given per month (first day),
-- and the user's monthly incomes (inherited by later months: read the latest <= month).
CREATE TABLE IF NOT EXISTS {s}.budget_allocations (
    budget_id uuid NOT NULL,
    month date NOT NULL,
    user_id uuid NOT NULL,
    amount bigint NOT NULL,
    PRIMARY KEY (budget_id, month)
);
CREATE INDEX IF NOT EXISTS budget_allocations_user_idx
    ON {s}.budget_allocations (user_id, month);
CREATE TABLE IF NOT EXISTS {s}.budget_incomes (
    user_id uuid NOT NULL,
    month date NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    PRIMARY KEY (user_id, month)
);
CREATE TABLE IF NOT EXISTS {s}.live_log (
    position bigint PRIMARY KEY,
    user_id uuid NOT NULL,
    message jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS live_log_user_idx ON {s}.live_log (user_id, position);
CREATE TABLE IF NOT EXISTS {s}.memo_vectors (
    txn_id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    category_id uuid,
    vector bytea NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS memo_vectors_user_idx ON {s}.memo_vectors (user_id, position);
-- Statement imports (ledger_tables): the import, and each staged row of its file.
CREATE TABLE IF NOT EXISTS {s}.imports (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    file_name text NOT NULL,
    extension text NOT NULL,
    account_id uuid,
    status text NOT NULL,
    error text,
    error_line integer,
    new_count integer NOT NULL DEFAULT 0,
    matched_count integer NOT NULL DEFAULT 0,
    conflicted_count integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    started_position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS imports_user_idx ON {s}.imports (user_id, started_position);
CREATE TABLE IF NOT EXISTS {s}.import_rows (
    import_id uuid NOT NULL,
    ordinal integer NOT NULL,
    id uuid NOT NULL,
    line integer NOT NULL,
    fitid text NOT NULL,
    date timestamptz NOT NULL,
    amount bigint NOT NULL,
    currency text NOT NULL,
    memo text NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    transaction_id uuid NOT NULL,
    resolution text,
    PRIMARY KEY (import_id, ordinal)
);
-- Notifications (ledger_tables): kind + data, read_at set by Read or an inbox's AllRead.
CREATE TABLE IF NOT EXISTS {s}.notifications (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    kind text NOT NULL,
    data jsonb NOT NULL,
    read_at timestamptz,
    created_at timestamptz NOT NULL,
    created_position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_user_idx
    ON {s}.notifications (user_id, created_position)
"""


def readmodel_ddl(schema: str) -> list[Composed]:
    statements = [SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema))]
    for raw in _TABLES.split(";"):
        if raw.strip():
            statements.append(SQL(raw.strip()).format(s=Identifier(schema)))
    return statements


# Each transaction's contributions to ``monthly_flows``: its splits when it has some,
# else itself, with its category.
_CONTRIBUTIONS = """
CROSS JOIN LATERAL (
    SELECT t.category_id AS category_id, t.amount AS amount
     WHERE jsonb_array_length(t.splits) = 0
    UNION ALL
    SELECT (s ->> 'category_id')::uuid, (s ->> 'amount')::bigint
      FROM jsonb_array_elements(t.splits) AS s
) AS c
"""
_FLOWS_INSERT = (
    "INSERT INTO {s}.monthly_flows "
    "(user_id, month, account_id, category_id, currency, debits, credits) "
    "SELECT t.user_id, {month}, t.account_id, c.category_id, t.currency, "
    "sum(CASE WHEN c.amount < 0 THEN -c.amount ELSE 0 END), "
    "sum(CASE WHEN c.amount > 0 THEN c.amount ELSE 0 END) "
    "FROM {source}" + _CONTRIBUTIONS + "GROUP BY 1, 2, 3, 4, 5"
)
_DIRTY = "unnest(%s::uuid[], %s::date[]) AS d(user_id, month)"


def flows_recompute(schema: str) -> tuple[Composed, Composed]:
    """Delete, then derive again from ``transactions``, the ``monthly_flows`` rows of the
    given (user, month) pairs (parameters: the users, the months, twice): exact whatever
    happened to their transactions, as long as every changed pair is given."""
    s = Identifier(schema)
    delete = SQL(
        "DELETE FROM {s}.monthly_flows f USING {dirty} "
        "WHERE f.user_id = d.user_id AND f.month = d.month"
    ).format(s=s, dirty=SQL(_DIRTY))
    insert = SQL(_FLOWS_INSERT).format(
        s=s,
        month=SQL("d.month"),
        source=SQL(
            "{dirty} JOIN {s}.transactions t ON t.user_id = d.user_id "
            "AND t.date >= d.month::timestamp AT TIME ZONE 'UTC' "
            "AND t.date < (d.month + interval '1 month') AT TIME ZONE 'UTC'"
        ).format(s=s, dirty=SQL(_DIRTY)),
    )
    return delete, insert


def flows_add(schema: str) -> Composed:
    """Add contributions to ``monthly_flows`` (parameters: arrays of user ids, months,
    account ids, category ids, currencies, debits, credits; one element per row key,
    keys distinct): rows that exist grow, missing ones are inserted. Exact for new
    transactions only (what they add is known from their events); anything that changes
    or removes a transaction goes through ``flows_recompute``. Single writer (the
    projection's lock), so the update-then-insert cannot race."""
    return SQL(
        "WITH d(user_id, month, account_id, category_id, currency, debits, credits) AS ("
        " SELECT * FROM unnest(%s::uuid[], %s::date[], %s::uuid[], %s::uuid[], %s::text[],"
        " %s::bigint[], %s::bigint[])),"
        " up AS (UPDATE {s}.monthly_flows f SET debits = f.debits + d.debits,"
        " credits = f.credits + d.credits FROM d WHERE f.user_id = d.user_id"
        " AND f.month = d.month AND f.account_id = d.account_id"
        " AND f.category_id IS NOT DISTINCT FROM d.category_id AND f.currency = d.currency"
        " RETURNING d.user_id, d.month, d.account_id, d.category_id, d.currency)"
        " INSERT INTO {s}.monthly_flows"
        " (user_id, month, account_id, category_id, currency, debits, credits)"
        " SELECT * FROM d WHERE NOT EXISTS (SELECT 1 FROM up WHERE up.user_id = d.user_id"
        " AND up.month = d.month AND up.account_id = d.account_id"
        " AND up.category_id IS NOT DISTINCT FROM d.category_id AND up.currency = d.currency)"
    ).format(s=Identifier(schema))


def flows_build(schema: str) -> tuple[Composed, Composed]:
    """Derive every ``monthly_flows`` row again from ``transactions`` (a rebuild's last
    step, and the backfill of a read model that predates the table)."""
    s = Identifier(schema)
    return SQL("DELETE FROM {s}.monthly_flows").format(s=s), SQL(_FLOWS_INSERT).format(
        s=s,
        month=SQL("date_trunc('month', t.date AT TIME ZONE 'UTC')::date"),
        source=SQL("{s}.transactions t").format(s=s),
    )


def auth_tokens_ddl(schema: str) -> Composed:
    """The inline auth-token table, beside the events (see ``ValorizeRecorder``)."""
    return SQL(
        "CREATE TABLE IF NOT EXISTS {}.auth_tokens ("
        " id uuid PRIMARY KEY, user_id uuid NOT NULL, secret_sha256 text NOT NULL,"
        " expires_at timestamptz, revoked_at timestamptz,"
        " created_at timestamptz NOT NULL DEFAULT now())"
    ).format(Identifier(schema))


def envelope_sums(user: str, month: str) -> str:
    """SQL select-list text: what envelope ``b`` (a ``budgets`` row) holds in ``month``, as
    ``budgeted``, ``given_before``, ``spent`` and ``spent_before``; its rollover is
    ``given_before - spent_before`` (every earlier month's allocations less its spending)
    and its remaining ``rollover + budgeted - spent``. Spending is the debits of the
    budget's category in ``p.currency`` (the user's preferred currency, from the
    enclosing query), splits counted by their own category (``monthly_flows``).

    ``user`` and ``month`` are SQL expressions (a column or a placeholder); the text keeps
    ``{s}`` for the read-model schema, to be composed by the caller. The budget page
    (query_service) and the budget alerts (projection_worker) both use it, so an alert
    fires exactly when the page shows a negative remaining."""
    spent = (
        "COALESCE((SELECT sum(f.debits) FROM {s}.monthly_flows f WHERE f.user_id = $USER "
        "AND f.category_id = b.category_id AND f.currency = p.currency AND f.month $OP $MONTH), 0)"
    )
    given = (
        "COALESCE((SELECT sum(a.amount) FROM {s}.budget_allocations a "
        "WHERE a.budget_id = b.id AND a.month $OP $MONTH), 0)"
    )
    columns = [
        (given, "=", "budgeted"),
        (given, "<", "given_before"),
        (spent, "=", "spent"),
        (spent, "<", "spent_before"),
    ]
    return ", ".join(
        text.replace("$USER", user).replace("$MONTH", month).replace("$OP", op) + " AS " + name
        for text, op, name in columns
    )
