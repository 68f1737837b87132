"""The statements ``ledger_tables`` runs for imports and notifications.

Like the rest of that read model, each is applied exactly once by the batch-plus-
checkpoint transaction; they are also written to be harmless if applied again (inserts
ignore an existing key, updates set values rather than add to them), and an inbox's
"all read" reads only the notifications at earlier positions, so a replay from any
checkpoint ends in the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from psycopg.sql import Composed

from projection_worker.feed import Positioned
from shared.domain.imports import Import, row_ids_text
from shared.domain.notifications import Inbox, Notification

Statement = tuple[Composed, tuple[Any, ...]]
Query = Callable[[str], Composed]
Handler = Callable[[Positioned], list[Statement]]


def import_handlers(q: Query) -> dict[type, Handler]:
    """Statements per event type; ``q`` composes a text with the read model's schema."""
    started = q(
        "INSERT INTO {s}.imports (id, user_id, file_name, extension, account_id, status, "
        "created_at, updated_at, started_position) "
        "VALUES (%s, %s, %s, %s, %s, 'processing', %s, %s, %s) ON CONFLICT (id) DO NOTHING"
    )
    staged = q(
        "INSERT INTO {s}.import_rows (import_id, ordinal, id, line, fitid, date, amount, "
        "currency, memo, kind, status, transaction_id) SELECT * FROM jsonb_to_recordset(%s) "
        "AS r(import_id uuid, ordinal integer, id uuid, line integer, fitid text, "
        "date timestamptz, amount bigint, currency text, memo text, kind text, status text, "
        "transaction_id uuid) ON CONFLICT (import_id, ordinal) DO NOTHING"
    )
    touched = q("UPDATE {s}.imports SET account_id = %s, updated_at = %s WHERE id = %s")
    completed = q(
        "UPDATE {s}.imports SET status = 'completed', account_id = %s, new_count = %s, "
        "matched_count = %s, conflicted_count = %s, updated_at = %s WHERE id = %s"
    )
    failed = q(
        "UPDATE {s}.imports SET status = 'failed', error = %s, error_line = %s, "
        "updated_at = %s WHERE id = %s"
    )
    resolved = q("UPDATE {s}.import_rows SET resolution = %s WHERE import_id = %s AND ordinal = %s")
    updated = q("UPDATE {s}.imports SET updated_at = %s WHERE id = %s")
    notified = q(
        "INSERT INTO {s}.notifications (id, user_id, kind, data, created_at, created_position) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING"
    )
    read = q("UPDATE {s}.notifications SET read_at = %s WHERE id = %s AND read_at IS NULL")
    all_read = q(
        "UPDATE {s}.notifications SET read_at = %s WHERE user_id = %s AND read_at IS NULL "
        "AND created_position < %s"
    )

    def on_started(p: Positioned) -> list[Statement]:
        e = p.event
        values = (
            e.originator_id, e.user_id, e.file_name, e.extension, e.account_id,
            e.timestamp, e.timestamp, p.position,
        )  # fmt: skip
        return [(started, values)]

    def on_staged(p: Positioned) -> list[Statement]:
        e = p.event
        import_id = str(e.originator_id)
        ordinals, currency = range(e.first, e.first + len(e.rows)), e.currency
        rows = [
            {
                **row,
                "import_id": import_id,
                "ordinal": ordinal,
                "id": row_id,
                "currency": currency,
            }
            for ordinal, row_id, row in zip(
                ordinals, row_ids_text(import_id, ordinals), e.rows, strict=True
            )
        ]
        return [
            (staged, (orjson.dumps(rows).decode(),)),
            (touched, (e.account_id, e.timestamp, e.originator_id)),
        ]

    def on_completed(p: Positioned) -> list[Statement]:
        e = p.event
        values = (
            e.account_id, e.new_count, e.matched_count, e.conflicted_count,
            e.timestamp, e.originator_id,
        )  # fmt: skip
        return [(completed, values)]

    def on_failed(p: Positioned) -> list[Statement]:
        e = p.event
        return [(failed, (e.error, e.line, e.timestamp, e.originator_id))]

    def on_resolved(p: Positioned) -> list[Statement]:
        e = p.event
        return [
            (resolved, (e.resolution, e.originator_id, e.ordinal)),
            (updated, (e.timestamp, e.originator_id)),
        ]

    def on_notified(p: Positioned) -> list[Statement]:
        e = p.event
        data = orjson.dumps(e.data).decode()
        return [(notified, (e.originator_id, e.user_id, e.kind, data, e.timestamp, p.position))]

    def on_read(p: Positioned) -> list[Statement]:
        return [(read, (p.event.timestamp, p.event.originator_id))]

    def on_all_read(p: Positioned) -> list[Statement]:
        return [(all_read, (p.event.timestamp, p.event.user_id, p.position))]

    return {
        Import.Started: on_started,
        Import.RowsStaged: on_staged,
        Import.Completed: on_completed,
        Import.Failed: on_failed,
        Import.ConflictResolved: on_resolved,
        Notification.Created: on_notified,
        Notification.Read: on_read,
        Inbox.AllRead: on_all_read,
    }
