"""Read endpoints: authenticate, wait for the caller's writes, query, shape."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from query_service.auth import AsyncTokens
from query_service.cache import RedisReads
from query_service.filters import account_filters, category_filters, transaction_filters
from query_service.freshness import CheckpointWatch, Freshness
from query_service.paginator import paginate
from query_service.queries import ACCOUNTS_PER_PAGE, Queries
from query_service.suggestions import Suggester
from shared import resources
from shared.auth import Authenticator
from shared.contracts import (
    BEHIND_HEADER,
    DEGRADED_HEADER,
    LEDGER_TABLES,
    MIN_POSITION_HEADER,
    POSITION_HEADER,
)
from shared.domain.errors import ForbiddenError, NotFoundError
from shared.http import JSONResponse, path_uuid
from shared.ratelimit import client_address

T = TypeVar("T")
_POSITION = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Readers:
    auth: Authenticator
    tokens: AsyncTokens
    cache: RedisReads | None
    queries: Queries
    watch: CheckpointWatch
    suggester: Suggester


@dataclass(frozen=True)
class Caller:
    user_id: UUID
    fresh: Freshness


async def _caller(request: Request) -> tuple[Readers, Caller]:
    readers: Readers = request.state.readers
    user_id = await readers.auth.user_of(
        request.headers.get("authorization"), client_address(request.scope), readers.tokens.find
    )
    explicit = request.headers.get(MIN_POSITION_HEADER, "0")
    position = int(explicit) if _POSITION.fullmatch(explicit) else 0
    fresh = await readers.watch.wait(user_id, position)
    return readers, Caller(user_id, fresh)


def _respond(body: Any, fresh: Freshness) -> Response:
    headers = {POSITION_HEADER: str(fresh.applied)}
    if fresh.behind:  # never a silent stale read
        headers[BEHIND_HEADER] = str(fresh.behind)
    if fresh.degraded:  # some of the user's events are parked: this read lacks them
        headers[DEGRADED_HEADER] = LEDGER_TABLES
    return JSONResponse(body, headers=headers)


async def _owned(
    found: Awaitable[tuple[UUID | None, T] | None],
    model: str,
    resource_id: UUID,
    caller: Caller,
    *,
    global_ok: bool = False,
) -> T:
    result = await found
    if result is None:
        raise NotFoundError(model, resource_id)
    owner, view = result
    if owner != caller.user_id and not (global_ok and owner is None):
        raise ForbiddenError
    return view


def _path(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}{request.url.path}"


async def up(_: Request) -> Response:
    return JSONResponse({"status": "up"})


async def list_accounts(request: Request) -> Response:
    readers, caller = await _caller(request)
    filters = account_filters(request.query_params)
    total, accounts = await readers.queries.accounts(caller.user_id, filters)
    body = paginate(
        [resources.account_json(a) for a in accounts],
        total=total,
        page=filters.page,
        per_page=ACCOUNTS_PER_PAGE,
        path=_path(request),
        params=request.query_params.multi_items(),
    )
    return _respond(body, caller.fresh)


async def list_categories(request: Request) -> Response:
    readers, caller = await _caller(request)
    categories = await readers.queries.categories(
        caller.user_id, category_filters(request.query_params)
    )
    return _respond([resources.category_json(c) for c in categories], caller.fresh)


async def list_transactions(request: Request) -> Response:
    readers, caller = await _caller(request)
    filters = transaction_filters(request.query_params)
    total, txns = await readers.queries.transactions(caller.user_id, filters)
    body = paginate(
        [resources.transaction_json(t) for t in txns],
        total=total,
        page=filters.page,
        per_page=filters.per_page,
        path=_path(request),
        params=request.query_params.multi_items(),
    )
    return _respond(body, caller.fresh)


async def list_budgets(request: Request) -> Response:
    readers, caller = await _caller(request)
    budgets = await readers.queries.budgets(caller.user_id)
    return _respond([resources.budget_json(b) for b in budgets], caller.fresh)


def _show(
    model: str,
    find: Callable[[Queries, UUID], Awaitable[tuple[Any, Any] | None]],
    shape: Callable[[Any], Any],
    *,
    global_ok: bool = False,
) -> Any:
    async def endpoint(request: Request) -> Response:
        readers, caller = await _caller(request)
        resource_id = path_uuid(request, model)
        view = await _owned(
            find(readers.queries, resource_id), model, resource_id, caller, global_ok=global_ok
        )
        return _respond(shape(view), caller.fresh)

    return endpoint


async def suggest_categories(request: Request) -> Response:
    """Closest categories for a transaction's memo, from the user's memo vector index."""
    readers, caller = await _caller(request)
    txn_id = path_uuid(request, "Transaction")
    txn = await _owned(readers.queries.transaction(txn_id), "Transaction", txn_id, caller)
    suggestions = await run_in_threadpool(
        readers.suggester.suggest, str(caller.user_id), txn.id, txn.memo or ""
    )
    categories = await readers.queries.categories_by_id({s.category_id for s in suggestions})
    body = {
        "data": [
            {"category": resources.category_json(categories[s.category_id]), "score": s.score}
            for s in suggestions
            if s.category_id in categories
        ]
    }
    return _respond(body, caller.fresh)


ROUTES = [
    Route("/up", up, methods=["GET", "HEAD"]),
    Route("/api/accounts", list_accounts),
    Route("/api/accounts/{id}", _show("Account", Queries.account, resources.account_json)),
    Route("/api/categories", list_categories),
    Route(
        "/api/categories/{id}",
        _show("Category", Queries.category, resources.category_json, global_ok=True),
    ),
    Route("/api/transactions", list_transactions),
    Route(
        "/api/transactions/{id}",
        _show("Transaction", Queries.transaction, resources.transaction_json),
    ),
    Route("/api/transactions/{id}/suggestions", suggest_categories),
    Route("/api/budgets", list_budgets),
    Route("/api/budgets/{id}", _show("Budget", Queries.budget, resources.budget_json)),
]
