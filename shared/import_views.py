"""Imports, staged rows and notifications as clients see them: one shape for the
command side (the 202 of an upload) and the query side (every read).

An import keeps the original's model keys (``id, user_id, file_name, extension, status,
new_count, matched_count, conflicted_count, created_at, updated_at``, dates as Laravel's
``serializeDate``) and adds ``account_id`` and ``error`` (``{"message", "line"}`` of a
failed import, else null). A notification is the original's ``NotificationResource``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.domain.notifications import TYPE_NAMES

JSON = dict[str, Any]


def model_date(moment: datetime) -> str:
    """Laravel's ``serializeDate``: ``2025-11-10T01:08:00.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso8601(moment: datetime) -> str:
    """Carbon's ``toIso8601String``: ``2025-11-10T22:12:00+00:00``."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class ImportView:
    id: str
    user_id: str
    file_name: str
    extension: str
    status: str
    new_count: int
    matched_count: int
    conflicted_count: int
    account_id: str | None
    error: str | None
    error_line: int | None
    created_at: datetime
    updated_at: datetime


def import_json(view: ImportView) -> JSON:
    error = None if view.error is None else {"message": view.error, "line": view.error_line}
    return {
        "id": view.id,
        "user_id": view.user_id,
        "file_name": view.file_name,
        "extension": view.extension,
        "status": view.status,
        "new_count": view.new_count,
        "matched_count": view.matched_count,
        "conflicted_count": view.conflicted_count,
        "account_id": view.account_id,
        "error": error,
        "created_at": model_date(view.created_at),
        "updated_at": model_date(view.updated_at),
    }


def import_row_json(row: dict[str, Any]) -> JSON:
    """A staged row (``import_rows``): status new|matched|conflicted; ``transaction_id``
    is the transaction it recorded (new) or found (``matched_transaction_id``, as the
    original, for matched and conflicted); ``resolution`` keep|replace once resolved."""
    new = row["status"] == "new"
    return {
        "id": str(row["id"]),
        "import_id": str(row["import_id"]),
        "line": row["line"],
        "fitid": row["fitid"],
        "date": iso8601(row["date"]),
        "amount": {"value": row["amount"], "currency": row["currency"]},
        "memo": row["memo"],
        "type": row["kind"].lower(),
        "status": row["status"],
        "transaction_id": str(row["transaction_id"]) if new else None,
        "matched_transaction_id": None if new else str(row["transaction_id"]),
        "resolution": row["resolution"],
    }


def notification_json(
    notification_id: str,
    kind: str,
    data: JSON,
    read_at: datetime | None,
    created_at: datetime,
) -> JSON:
    return {
        "id": notification_id,
        "type": TYPE_NAMES.get(kind, kind),
        "kind": kind,
        "data": data,
        "read_at": None if read_at is None else iso8601(read_at),
        "created_at": iso8601(created_at),
    }
