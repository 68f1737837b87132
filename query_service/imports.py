"""Reads of imports, their staged rows and notifications, from ``ledger_tables`` (the
same freshness rules as every SQL read: the caller's own writes are waited for).

Another user's import or notification answers 404, as an unknown id: ids leak nothing.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.rows import DictRow
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from query_service.endpoints import Readers, _fresh, _headers, _identify
from shared.adapters.http import InputInvalidError, JSONResponse, path_uuid
from shared.domain.errors import Model, NotFoundError
from shared.import_views import ImportView, import_json, import_row_json, notification_json

LISTED = 100  # imports and notifications per answer, newest first
ROWS_PER_PAGE, MAX_ROWS_PER_PAGE = 100, 1000
ROW_STATUSES = ("new", "matched", "conflicted")

_IMPORT = (
    "SELECT id, user_id, file_name, extension, status, new_count, matched_count, "
    "conflicted_count, account_id, error, error_line, created_at, updated_at FROM {s}.imports "
)


def _view(row: DictRow) -> ImportView:
    account = row["account_id"]
    return ImportView(
        id=str(row["id"]),
        user_id=str(row["user_id"]),
        file_name=row["file_name"],
        extension=row["extension"],
        status=row["status"],
        new_count=row["new_count"],
        matched_count=row["matched_count"],
        conflicted_count=row["conflicted_count"],
        account_id=None if account is None else str(account),
        error=row["error"],
        error_line=row["error_line"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _readers(request: Request) -> Readers:
    readers: Readers = request.state.readers
    return readers


async def _own_import(readers: Readers, user_id: UUID, import_id: UUID) -> ImportView:
    queries = readers.queries
    rows = await queries.rows(queries.q(_IMPORT + "WHERE id = %s"), (import_id,))
    if not rows or rows[0]["user_id"] != user_id:
        raise NotFoundError(Model.IMPORT, import_id)
    return _view(rows[0])


async def list_imports(request: Request) -> Response:
    readers, caller = await _identify(request)
    fresh = await _fresh(readers, caller)
    queries = readers.queries
    sql = queries.q(_IMPORT + "WHERE user_id = %s ORDER BY started_position DESC LIMIT %s")
    rows = await queries.rows(sql, (caller.user_id, LISTED))
    return JSONResponse({"data": [import_json(_view(r)) for r in rows]}, headers=_headers(fresh))


async def show_import(request: Request) -> Response:
    readers, caller = await _identify(request)
    import_id = path_uuid(request, Model.IMPORT)
    fresh = await _fresh(readers, caller)
    view = await _own_import(readers, caller.user_id, import_id)
    return JSONResponse(import_json(view), headers=_headers(fresh))


def _page_args(request: Request) -> tuple[int, int, str | None]:
    params = request.query_params
    errors: dict[str, list[str]] = {}
    page = _positive(params.get("page", "1"), "page", errors, 10**6)
    per_page = _positive(
        params.get("per_page", str(ROWS_PER_PAGE)), "per_page", errors, MAX_ROWS_PER_PAGE
    )
    status = params.get("status") or None
    if status is not None and status not in ROW_STATUSES:
        errors["status"] = ["The selected status is invalid (new, matched or conflicted)."]
    if errors:
        raise InputInvalidError(errors)
    return page, per_page, status


def _positive(raw: str, field: str, errors: dict[str, list[str]], most: int) -> int:
    if raw.isdigit() and 1 <= int(raw) <= most:
        return int(raw)
    errors[field] = [f"The {field.replace('_', ' ')} field must be between 1 and {most}."]
    return 1


async def import_rows(request: Request) -> Response:
    readers, caller = await _identify(request)
    import_id = path_uuid(request, Model.IMPORT)
    page, per_page, status = _page_args(request)
    fresh = await _fresh(readers, caller)
    await _own_import(readers, caller.user_id, import_id)
    queries = readers.queries
    where = "WHERE import_id = %s" + (" AND status = %s" if status else "")
    params: list[Any] = [import_id, *([status] if status else [])]
    rows = await queries.rows(
        queries.q(
            "SELECT *, count(*) OVER () AS total FROM {s}.import_rows "  # noqa: S608 (constants)
            + where
            + " ORDER BY ordinal LIMIT %s OFFSET %s"
        ),
        [*params, per_page, (page - 1) * per_page],
    )
    total = rows[0]["total"] if rows else 0
    body = {
        "data": [import_row_json(r) for r in rows],
        "meta": {"current_page": page, "per_page": per_page, "total": total},
    }
    return JSONResponse(body, headers=_headers(fresh))


async def list_notifications(request: Request) -> Response:
    """Newest first (the original's order), with the count of unread ones."""
    readers, caller = await _identify(request)
    unread_only = request.query_params.get("unread") in ("1", "true")
    fresh = await _fresh(readers, caller)
    queries = readers.queries
    filter_ = " AND read_at IS NULL" if unread_only else ""
    rows = await queries.rows(
        queries.q(
            "SELECT id, kind, data, read_at, created_at, "
            "count(*) FILTER (WHERE read_at IS NULL) OVER () AS unread "
            "FROM {s}.notifications WHERE user_id = %s"
            + filter_
            + " ORDER BY created_position DESC LIMIT %s"
        ),
        (caller.user_id, LISTED),
    )
    # The window counts the rows before LIMIT: the user's whole unread count.
    unread = rows[0]["unread"] if rows else 0
    data = [
        notification_json(str(r["id"]), r["kind"], r["data"], r["read_at"], r["created_at"])
        for r in rows
    ]
    return JSONResponse({"data": data, "unread_count": unread}, headers=_headers(fresh))


IMPORT_ROUTES = [
    Route("/api/imports", list_imports),
    Route("/api/imports/{id}", show_import),
    Route("/api/imports/{id}/transactions", import_rows),
    Route("/api/notifications", list_notifications),
]
