"""HTTP endpoints: parse, call one application method, shape the response."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from command_service.accounts import AccountCommands
from command_service.budgets import BudgetCommands
from command_service.categories import CategoryCommands
from command_service.commands import (
    AmendTransaction,
    CreateBudget,
    CreateCategory,
    OpenAccount,
    RecordTransaction,
    RenameBudget,
    UpdateAccount,
    UpdateCategory,
    parse,
)
from command_service.idempotency import Created
from command_service.provisioning import Provisioning
from command_service.tokens import TokenCommands
from command_service.transactions import TransactionCommands
from shared import resources
from shared.adapters.auth import Authenticator, TokenLookup, TokenRecord, split_bearer
from shared.adapters.http import (
    POSITION_HEADER,
    BadRequestError,
    InputInvalidError,
    JSONResponse,
    path_uuid,
    read_json_object,
)
from shared.adapters.ratelimit import TokenBuckets, check, client_address
from shared.domain.errors import Model

T = TypeVar("T")


@dataclass(frozen=True)
class Handlers:
    """Everything the endpoints call; built once in the lifespan."""

    accounts: AccountCommands
    categories: CategoryCommands
    transactions: TransactionCommands
    budgets: BudgetCommands
    provisioning: Provisioning
    revocations: TokenCommands
    tokens: TokenLookup
    auth: Authenticator
    # Load-test users: minted per address at most this fast (the route exists only when
    # ``LOAD_TEST_USERS`` is on).
    provisioning_limit: TokenBuckets
    max_body_bytes: int
    # Commands block on the store: they run here, off the event loop. A plain executor
    # (not anyio's threadpool, whose bookkeeping cost a tenth of a request's CPU).
    executor: Executor


async def _blocking(handlers: Handlers, work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(handlers.executor, work)


def _handlers(request: Request) -> Handlers:
    handlers: Handlers = request.state.handlers
    return handlers


async def _user(handlers: Handlers, request: Request) -> UUID:
    async def find(token_id: UUID) -> TokenRecord | None:
        return await _blocking(handlers, lambda: handlers.tokens.find(token_id))

    address = client_address(request.scope)
    return await handlers.auth.user_of(request.headers.get("authorization"), address, find)


MAX_IDEMPOTENCY_KEY = 255
_KEY = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a header can carry unambiguously


def _idempotency_key(request: Request) -> str | None:
    raw = request.headers.get("idempotency-key")
    if raw is None:
        return None
    if not raw.strip():
        message = "The Idempotency-Key header must not be empty."
    elif len(raw) > MAX_IDEMPOTENCY_KEY:
        message = f"The Idempotency-Key header must not exceed {MAX_IDEMPOTENCY_KEY} characters."
    elif not _KEY.fullmatch(raw):
        message = "The Idempotency-Key header must be visible ASCII characters."
    else:
        return raw
    raise InputInvalidError({"idempotency_key": [message]})


def _written(body: Any, position: int, status: int = 200) -> Response:
    if body is None:
        return Response(status_code=204, headers={POSITION_HEADER: str(position)})
    return JSONResponse(body, status_code=status, headers={POSITION_HEADER: str(position)})


def _created(created: Created[T], shape: Callable[[T], Any]) -> Response:
    response = _written(shape(created.resource), created.position, 201)
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def _authed(request: Request, work: Callable[[Handlers, UUID], T]) -> T:
    handlers = _handlers(request)
    # Authenticated on the loop (a cached token costs no I/O), then one trip to the pool.
    user = await _user(handlers, request)
    return await _blocking(handlers, lambda: work(handlers, user))


async def _payload(request: Request) -> Callable[[], dict[str, Any]]:
    """The body, read now but judged later: a malformed body must not hide a 401 or 404."""
    try:
        payload = await read_json_object(request, _handlers(request).max_body_bytes)
    except BadRequestError as exc:
        error = exc

        def unusable() -> dict[str, Any]:
            raise error

        return unusable
    return lambda: payload


async def up(_: Request) -> Response:
    return JSONResponse({"status": "up"})


async def load_test_user(request: Request) -> Response:
    handlers = _handlers(request)
    check(handlers.provisioning_limit, client_address(request.scope))
    made, position = await _blocking(handlers, handlers.provisioning.load_test_user)
    body = {
        "token": made.token,
        "user_id": str(made.user_id),
        "email": made.email,
        "expires_at": resources.atom(made.expires_at),
    }
    return _written(body, position, 201)


def _creator(
    command: type[Any],
    run: Callable[[Handlers], Callable[..., Created[Any]]],
    shape: Callable[[Any], Any],
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        body = await _payload(request)
        key = _idempotency_key(request)
        created = await _authed(
            request, lambda h, user: run(h)(user, parse(command, body()), key, body())
        )
        return _created(created, shape)

    return endpoint


def _updater(
    model: Model,
    command: type[Any],
    run: Callable[[Handlers], Callable[..., tuple[Any, int]]],
    shape: Callable[[Any], Any],
) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        body = await _payload(request)

        def work(h: Handlers, user: UUID) -> tuple[Any, int]:
            # Validation runs after the 404 check and before the 403 one (the contract's order).
            return run(h)(user, path_uuid(request, model), lambda: parse(command, body()))

        resource, position = await _authed(request, work)
        return _written(shape(resource), position)

    return endpoint


def _deleter(model: Model, run: Callable[[Handlers], Callable[[UUID, UUID], int]]) -> Any:
    async def endpoint(request: Request) -> Response:
        position = await _authed(request, lambda h, user: run(h)(user, path_uuid(request, model)))
        return _written(None, position)

    return endpoint


async def revoke_token(request: Request) -> Response:
    position = await _authed(
        request, lambda h, user: h.revocations.revoke(user, path_uuid(request, Model.TOKEN))
    )
    return _written(None, position)


async def logout(request: Request) -> Response:
    """Revoke the token this request was made with."""
    bearer = split_bearer(request.headers.get("authorization"))
    position = await _authed(
        request, lambda h, user: h.revocations.revoke(user, bearer[0] if bearer else user)
    )
    return _written(None, position)


async def create_budget(request: Request) -> Response:
    body = await _payload(request)
    budget, position = await _authed(
        request, lambda h, user: h.budgets.create(user, parse(CreateBudget, body()))
    )
    return _written(resources.budget_json(budget), position, 201)


def _resource(path: str, model: Model, creator: Any, updater: Any, deleter: Any) -> list[Route]:
    return [
        Route(f"/api/{path}", creator, methods=["POST"]),
        Route(f"/api/{path}/{{id}}", updater, methods=["PUT", "PATCH"]),
        Route(f"/api/{path}/{{id}}", deleter, methods=["DELETE"]),
    ]


LOAD_TEST_ROUTE = Route("/api/testing/load-test-user", load_test_user, methods=["POST"])

ROUTES = [
    Route("/up", up, methods=["GET", "HEAD"]),
    Route("/api/tokens/{id}", revoke_token, methods=["DELETE"]),
    Route("/api/logout", logout, methods=["POST"]),
    *_resource(
        "accounts",
        Model.ACCOUNT,
        _creator(OpenAccount, lambda h: h.accounts.open, resources.account_json),
        _updater(Model.ACCOUNT, UpdateAccount, lambda h: h.accounts.update, resources.account_json),
        _deleter(Model.ACCOUNT, lambda h: h.accounts.close),
    ),
    *_resource(
        "categories",
        Model.CATEGORY,
        _creator(CreateCategory, lambda h: h.categories.create, resources.category_json),
        _updater(
            Model.CATEGORY, UpdateCategory, lambda h: h.categories.update, resources.category_json
        ),
        _deleter(Model.CATEGORY, lambda h: h.categories.delete),
    ),
    *_resource(
        "transactions",
        Model.TRANSACTION,
        _creator(RecordTransaction, lambda h: h.transactions.record, resources.transaction_json),
        _updater(
            Model.TRANSACTION,
            AmendTransaction,
            lambda h: h.transactions.amend,
            resources.transaction_json,
        ),
        _deleter(Model.TRANSACTION, lambda h: h.transactions.delete),
    ),
    *_resource(
        "budgets",
        Model.BUDGET,
        create_budget,
        _updater(Model.BUDGET, RenameBudget, lambda h: h.budgets.rename, resources.budget_json),
        _deleter(Model.BUDGET, lambda h: h.budgets.delete),
    ),
]
