"""Read endpoints: authenticate; answer from the hot read model when it may (one round
trip to Redis, the page already JSON); else wait for the caller's writes, query
PostgreSQL, shape."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeVar
from uuid import UUID

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from query_service import dashboard_json
from query_service.auth import AsyncTokens
from query_service.dashboards import TOP_CATEGORIES, Dashboards
from query_service.envelopes import Envelopes
from query_service.fast_path import HOT_TRIED, Kept, Listings, Plan
from query_service.filters import (
    AccountFilters,
    CategoryFilters,
    TransactionFilters,
    account_filters,
    category_filters,
    month_filter,
    transaction_filters,
)
from query_service.freshness import CheckpointWatch, Freshness
from query_service.hot import (
    Args,
    HotAnswer,
    HotReads,
    accounts_args,
    categories_args,
    transactions_args,
)
from query_service.kept import KeptAnswers
from query_service.paginator import envelope, paginate
from query_service.queries import ACCOUNTS_PER_PAGE, Queries
from query_service.suggestions import Suggester
from shared import resources
from shared.adapters.auth import Authenticator
from shared.adapters.http import InputInvalidError, JSONResponse, RawJSON, path_uuid
from shared.adapters.ratelimit import client_address
from shared.contracts import (
    BEHIND_HEADER,
    DEGRADED_HEADER,
    LEDGER_TABLES,
    MIN_POSITION_HEADER,
    POSITION_HEADER,
    READ_MODEL_HEADER,
    REDIS_CACHE,
)
from shared.domain.errors import ForbiddenError, Model, NotFoundError

T = TypeVar("T")
_POSITION = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Readers:
    auth: Authenticator
    tokens: AsyncTokens
    hot: HotReads | None  # None: every read from PostgreSQL (HOT_READS=off)
    queries: Queries
    watch: CheckpointWatch
    suggester: Suggester
    dashboards: Dashboards
    kept: KeptAnswers
    envelopes: Envelopes


class Caller(NamedTuple):
    user_id: UUID
    explicit: int  # X-Valorize-Min-Position, 0 if absent or not a position


async def _identify(request: Request) -> tuple[Readers, Caller]:
    readers: Readers = request.state.readers
    user_id = await readers.auth.user_of(
        request.headers.get("authorization"), client_address(request.scope), readers.tokens.find
    )
    explicit = request.headers.get(MIN_POSITION_HEADER, "0")
    return readers, Caller(user_id, int(explicit) if _POSITION.fullmatch(explicit) else 0)


async def _fresh(readers: Readers, caller: Caller) -> Freshness:
    """The SQL read model, once it has the caller's writes and whatever this process has
    answered from the hot model (no reader of a process sees the models go back), or the
    wait ran out."""
    seen = readers.hot.floor if readers.hot else 0
    return await readers.watch.wait(caller.user_id, caller.explicit, floor=seen)


def _headers(fresh: Freshness) -> dict[str, str]:
    headers = {POSITION_HEADER: str(fresh.applied), READ_MODEL_HEADER: LEDGER_TABLES}
    if fresh.behind:  # never a silent stale read
        headers[BEHIND_HEADER] = str(fresh.behind)
    if fresh.degraded:  # some of the user's events are parked: this read lacks them
        headers[DEGRADED_HEADER] = LEDGER_TABLES
    return headers


def _respond(body: Any, fresh: Freshness) -> Response:
    return JSONResponse(body, headers=_headers(fresh))


async def _kept(
    readers: Readers, caller: Caller, key: Hashable, answer: Callable[[], Awaitable[Any]]
) -> Response:
    """The SQL read model's answer for ``key`` of the caller, from memory while it cannot
    have changed (``query_service.kept``), else computed and kept."""
    fresh = await _fresh(readers, caller)
    full_key = (caller.user_id, key)
    body = readers.kept.get(full_key, fresh)
    if body is None:
        body = orjson.dumps(await answer())
        readers.kept.put(full_key, fresh, body)
    return Response(body, media_type="application/json", headers=_headers(fresh))


_HOT_MODEL = (READ_MODEL_HEADER.lower().encode(), REDIS_CACHE.encode())
_POSITION_NAME = POSITION_HEADER.lower().encode()


def _hot(body: bytes, hot: HotAnswer) -> Response:
    """An answer of the hot read model: already JSON, as fresh as its checks required."""
    return RawJSON(body, [(_POSITION_NAME, b"%d" % hot.applied), _HOT_MODEL])


async def _owned(
    found: Awaitable[tuple[UUID | None, T] | None],
    model: Model,
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


@lru_cache(maxsize=1024)
def _base(scheme: str, host: str, path: str) -> str:
    return f"{scheme}://{host}{path}"


def _path(request: Request) -> str:
    """The listing's URL without its query, for the paginator's links."""
    scope = request.scope
    host = request.headers.get("host") or "{}:{}".format(*scope["server"])
    return _base(scope["scheme"], host, scope.get("root_path", "") + scope["path"])


F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class Listing(Generic[F]):
    """A listing's query string, parsed: its filters, its parameters (for the paginator's
    links) and its hot read's arguments (None: PostgreSQL answers it)."""

    filters: F
    params: tuple[tuple[str, str], ...]
    hot: Args | None


class _Parser(Generic[F]):
    """One listing's query strings, each distinct text parsed once (lists ask the same few
    shapes again and again); long ones, which no client repeats, every time. A query
    string that is refused (422) is refused every time."""

    def __init__(self, parse: Callable[[QueryParams], F], hot: Callable[[F], Args | None]) -> None:
        self.parse, self.hot = parse, hot
        self.memo = lru_cache(maxsize=4096)(self.listing)

    def listing(self, raw: bytes) -> Listing[F]:
        params = QueryParams(raw)
        filters = self.parse(params)
        return Listing(filters, tuple(params.multi_items()), self.hot(filters))

    def of(self, raw: bytes) -> Listing[F]:
        return self.memo(raw) if len(raw) <= _MEMO_QUERY else self.listing(raw)

    def __call__(self, request: Request) -> Listing[F]:
        return self.of(request.scope["query_string"])


_MEMO_QUERY = 512
_transactions = _Parser(transaction_filters, transactions_args)
_accounts = _Parser(account_filters, accounts_args)
_categories = _Parser(category_filters, categories_args)


def _plan(
    parser: _Parser[Any], paged: Callable[[Any], tuple[int, int]]
) -> Callable[[bytes], Plan | None]:
    def plan(raw: bytes) -> Plan | None:
        try:
            listing = parser.of(raw)
        except InputInvalidError:
            return None  # the endpoint says why
        return (listing.hot, listing.params, *paged(listing.filters))

    return plan


# What the fast path (query_service.fast_path) may answer, and how.
LISTINGS: Listings = {
    "/api/transactions": ("transactions", _plan(_transactions, lambda f: (f.page, f.per_page))),
    "/api/accounts": ("accounts", _plan(_accounts, lambda f: (f.page, ACCOUNTS_PER_PAGE))),
    "/api/categories": ("categories", _plan(_categories, lambda f: (0, 0))),
    "/api/budgets": ("budgets", lambda raw: ((), (), 0, 0)),
}


async def _hot_read(
    request: Request, query: str, caller: Caller, args: Args | None, **where: Any
) -> HotAnswer | None:
    readers: Readers = request.state.readers
    if readers.hot is None or args is None or request.scope.get(HOT_TRIED):
        return None
    return await readers.hot.read(query, *caller, args, seen=readers.watch.applied, **where)


async def up(_: Request) -> Response:
    return JSONResponse({"status": "up"})


async def list_accounts(request: Request) -> Response:
    readers, caller = await _identify(request)
    listing: Listing[AccountFilters] = _accounts(request)
    filters = listing.filters
    if hot := await _hot_read(request, "accounts", caller, listing.hot):
        head, tail = envelope(
            _path(request), listing.params, hot.total, filters.page, ACCOUNTS_PER_PAGE
        )
        return _hot(head + hot.data + tail, hot)
    fresh = await _fresh(readers, caller)
    total, accounts = await readers.queries.accounts(caller.user_id, filters)
    body = paginate(
        [resources.account_json(a) for a in accounts],
        total=total,
        page=filters.page,
        per_page=ACCOUNTS_PER_PAGE,
        path=_path(request),
        params=listing.params,
    )
    return _respond(body, fresh)


async def list_categories(request: Request) -> Response:
    readers, caller = await _identify(request)
    listing: Listing[CategoryFilters] = _categories(request)
    if hot := await _hot_read(request, "categories", caller, listing.hot):
        return _hot(hot.data, hot)
    fresh = await _fresh(readers, caller)
    categories = await readers.queries.categories(caller.user_id, listing.filters)
    return _respond([resources.category_json(c) for c in categories], fresh)


async def list_transactions(request: Request) -> Response:
    readers, caller = await _identify(request)
    listing: Listing[TransactionFilters] = _transactions(request)
    filters = listing.filters
    if hot := await _hot_read(request, "transactions", caller, listing.hot):
        head, tail = envelope(
            _path(request), listing.params, hot.total, filters.page, filters.per_page
        )
        return _hot(head + hot.data + tail, hot)
    fresh = await _fresh(readers, caller)
    total, txns = await readers.queries.transactions(caller.user_id, filters)
    body = paginate(
        [resources.transaction_json(t) for t in txns],
        total=total,
        page=filters.page,
        per_page=filters.per_page,
        path=_path(request),
        params=listing.params,
    )
    return _respond(body, fresh)


async def list_budgets(request: Request) -> Response:
    readers, caller = await _identify(request)
    if hot := await _hot_read(request, "budgets", caller, ()):
        return _hot(hot.data, hot)
    fresh = await _fresh(readers, caller)
    budgets = await readers.queries.budgets(caller.user_id)
    return _respond([resources.budget_json(b) for b in budgets], fresh)


def _show(
    model: Model,
    kind: str,
    find: Callable[[Queries, UUID], Awaitable[tuple[Any, Any] | None]],
    shape: Callable[[Any], Any],
    *,
    global_ok: bool = False,
) -> Any:
    async def endpoint(request: Request) -> Response:
        readers, caller = await _identify(request)
        resource_id = path_uuid(request, model)
        where = {"model": model, "resource": resource_id}
        if hot := await _hot_read(request, "one", caller, (kind, str(resource_id)), **where):
            return _hot(hot.data, hot)
        fresh = await _fresh(readers, caller)
        view = await _owned(
            find(readers.queries, resource_id), model, resource_id, caller, global_ok=global_ok
        )
        return _respond(shape(view), fresh)

    return endpoint


async def suggest_categories(request: Request) -> Response:
    """Ranked categories for a transaction's memo (``query_service.suggestions``): each
    with its ``confidence`` (0..1; ``score`` is the same number, the earlier field) and
    ``source`` (``history``, ``rules`` or ``names``)."""
    readers, caller = await _identify(request)
    fresh = await _fresh(readers, caller)
    txn_id = path_uuid(request, Model.TRANSACTION)
    txn = await _owned(readers.queries.transaction(txn_id), Model.TRANSACTION, txn_id, caller)
    suggestions = await readers.suggester.suggest(
        str(caller.user_id), txn.id, txn.memo or "", txn.amount
    )
    categories = await readers.queries.categories_by_id({s.category for s in suggestions})
    body = {
        "data": [
            {
                "category": resources.category_json(categories[s.category]),
                "score": s.confidence,
                "confidence": s.confidence,
                "source": s.source,
            }
            for s in suggestions
            if s.category in categories
        ]
    }
    return _respond(body, fresh)


def _today() -> date:
    return datetime.now(UTC).date()


async def dashboard(request: Request) -> Response:
    """The original's dashboard page as JSON: a month's summary, the 6-month trend, the
    top categories, accounts and the latest transactions."""
    readers, caller = await _identify(request)
    today = _today()
    month = month_filter(request.query_params, today)

    async def answer() -> Any:
        overview = await readers.dashboards.overview(caller.user_id, month)
        return dashboard_json.overview_json(overview, month, today, TOP_CATEGORIES)

    return await _kept(readers, caller, _dashboard_key(month, today), answer)


def _dashboard_key(month: date, today: date) -> Hashable:
    return ("dashboard", month, today)  # today: the trend and "recent" depend on it


async def _kept_dashboard(
    readers: Readers, user: UUID, explicit: int, query: bytes
) -> tuple[bytes, dict[str, str]] | None:
    """The fast path's dashboard: a kept answer, exactly as ``dashboard`` would serve it,
    or None (anything else goes on to ``dashboard``)."""
    today = _today()
    try:
        month = month_filter(QueryParams(query), today)
    except InputInvalidError:
        return None
    fresh = await _fresh(readers, Caller(user, explicit))
    body = readers.kept.get((user, _dashboard_key(month, today)), fresh)
    return None if body is None else (body, _headers(fresh))


# Kept answers the fast path (query_service.fast_path) may serve before routing.
KEPT: Kept = {"/api/dashboard": _kept_dashboard}


async def transactions_summary(request: Request) -> Response:
    """Credits, debits and balance of the transactions the list's filters select (its
    type filter and paging aside)."""
    readers, caller = await _identify(request)
    raw = request.scope["query_string"]
    filters = _transactions(request).filters

    async def answer() -> Any:
        totals = await readers.dashboards.transactions_summary(caller.user_id, filters)
        return dashboard_json.summary_json(totals)

    return await _kept(readers, caller, ("summary", raw), answer)


async def category_insights(request: Request) -> Response:
    readers, caller = await _identify(request)
    category_id = path_uuid(request, Model.CATEGORY)
    month = month_filter(request.query_params, _today())

    async def answer() -> Any:
        found = readers.queries.category(category_id)
        await _owned(found, Model.CATEGORY, category_id, caller, global_ok=True)
        insights = await readers.dashboards.category_insights(caller.user_id, category_id, month)
        return dashboard_json.insights_json(insights)

    return await _kept(readers, caller, ("insights", category_id, month), answer)


async def account_spending(request: Request) -> Response:
    """The account's debits in a month (default this one) per category, largest first."""
    readers, caller = await _identify(request)
    account_id = path_uuid(request, Model.ACCOUNT)
    month = month_filter(request.query_params, _today())

    async def answer() -> Any:
        found = readers.queries.account(account_id)
        account = await _owned(found, Model.ACCOUNT, account_id, caller)
        shares = await readers.dashboards.account_spending(account_id, month)
        return dashboard_json.spending_json(shares, account.currency)

    return await _kept(readers, caller, ("spending", account_id, month), answer)


ROUTES = [
    Route("/up", up, methods=["GET", "HEAD"]),
    Route("/api/dashboard", dashboard),
    Route("/api/accounts", list_accounts),
    Route("/api/accounts/{id}/spending", account_spending),
    Route(
        "/api/accounts/{id}",
        _show(Model.ACCOUNT, "account", Queries.account, resources.account_json),
    ),
    Route("/api/categories", list_categories),
    Route("/api/categories/{id}/insights", category_insights),
    Route(
        "/api/categories/{id}",
        _show(
            Model.CATEGORY, "category", Queries.category, resources.category_json, global_ok=True
        ),
    ),
    Route("/api/transactions", list_transactions),
    Route("/api/transactions/summary", transactions_summary),
    Route(
        "/api/transactions/{id}",
        _show(Model.TRANSACTION, "txn", Queries.transaction, resources.transaction_json),
    ),
    Route("/api/transactions/{id}/suggestions", suggest_categories),
    Route("/api/budgets", list_budgets),
    Route(
        "/api/budgets/{id}", _show(Model.BUDGET, "budget", Queries.budget, resources.budget_json)
    ),
]
