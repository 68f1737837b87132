"""HTTP endpoints: parse, authenticate, call one handler, shape the response.

The contract's check order is kept here by construction: the body is read first but
judged after authentication (401 first); an update's id is checked by its handler before
the body's errors are raised (404, then 422), and ownership last (403).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from command_service import schemas
from command_service.bootstrap import CommandSide
from command_service.commands import (
    CloseAccount,
    DeleteBudget,
    DeleteCategory,
    DeleteTransaction,
    ProvisionLoadTestUser,
    RevokeToken,
)
from command_service.results import Created, Written
from command_service.schemas import Payload
from command_service.unit_of_work import UnitOfWork
from shared import resources
from shared.adapters.auth import TokenRecord, split_bearer
from shared.adapters.http import (
    POSITION_HEADER,
    BadRequestError,
    InputInvalidError,
    JSONResponse,
    path_uuid,
    read_json_object,
)
from shared.adapters.ratelimit import check, client_address
from shared.domain.errors import Model

C = TypeVar("C")
R = TypeVar("R")
JSON = dict[str, Any]


def _side(request: Request) -> CommandSide:
    side: CommandSide = request.state.side
    return side


async def _run(side: CommandSide, handler: Callable[[C, UnitOfWork], R], command: C) -> R:
    """The handler on the command pool, with a fresh unit of work."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(side.executor, handler, command, side.units.start())


async def _caller(request: Request) -> tuple[CommandSide, UUID]:
    """The user, authenticated on the loop (a cached token costs no I/O)."""
    side = _side(request)

    async def find(token_id: UUID) -> TokenRecord | None:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(side.executor, side.tokens.find, token_id)

    address = client_address(request.scope)
    return side, await side.auth.user_of(request.headers.get("authorization"), address, find)


async def _payload(request: Request) -> Payload:
    """The body, read now but judged later: a malformed one must not hide a 401 or 404."""
    try:
        return await read_json_object(request, _side(request).max_body_bytes)
    except BadRequestError as error:
        return error


MAX_IDEMPOTENCY_KEY = 255
_KEY = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a header can carry unambiguously


def idempotency_key(request: Request) -> str | None:
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


def _response(body: JSON | None, position: int, status: int = 200) -> Response:
    if body is None:
        return Response(status_code=204, headers={POSITION_HEADER: str(position)})
    return JSONResponse(body, status_code=status, headers={POSITION_HEADER: str(position)})


def _created(created: Created[R], shape: Callable[[R], JSON]) -> Response:
    response = _response(shape(created.resource), created.position, 201)
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _written(written: Written[R], shape: Callable[[R], JSON], status: int = 200) -> Response:
    return _response(shape(written.resource), written.position, status)


async def up(_: Request) -> Response:
    return JSONResponse({"status": "up"})


async def load_test_user(request: Request) -> Response:
    side = _side(request)
    check(side.provisioning_limit, client_address(request.scope))
    command = ProvisionLoadTestUser(now=datetime.now(UTC))
    made = await _run(side, side.handlers.users.provision, command)
    user = made.resource
    body = {
        "token": user.token,
        "user_id": str(user.user_id),
        "email": user.email,
        "expires_at": resources.atom(user.expires_at),
    }
    return _response(body, made.position, 201)


async def revoke_token(request: Request) -> Response:
    side, user = await _caller(request)
    command = RevokeToken(user, path_uuid(request, Model.TOKEN))
    return _response(None, await _run(side, side.handlers.users.revoke_token, command))


async def logout(request: Request) -> Response:
    """Revoke the token this request was made with."""
    side, user = await _caller(request)
    bearer = split_bearer(request.headers.get("authorization"))
    command = RevokeToken(user, bearer[0] if bearer else user)
    return _response(None, await _run(side, side.handlers.users.revoke_token, command))


# Accounts ---------------------------------------------------------------------------------


async def open_account(request: Request) -> Response:
    payload, key = await _payload(request), idempotency_key(request)
    side, user = await _caller(request)
    command = schemas.open_account(user, payload, key)
    return _created(await _run(side, side.handlers.accounts.open, command), resources.account_json)


async def update_account(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.update_account(user, path_uuid(request, Model.ACCOUNT), payload)
    written = await _run(side, side.handlers.accounts.update, command)
    return _written(written, resources.account_json)


async def close_account(request: Request) -> Response:
    side, user = await _caller(request)
    command = CloseAccount(user, path_uuid(request, Model.ACCOUNT))
    return _response(None, await _run(side, side.handlers.accounts.close, command))


# Categories -------------------------------------------------------------------------------


async def create_category(request: Request) -> Response:
    payload, key = await _payload(request), idempotency_key(request)
    side, user = await _caller(request)
    command = schemas.create_category(user, payload, key)
    created = await _run(side, side.handlers.categories.create, command)
    return _created(created, resources.category_json)


async def update_category(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.update_category(user, path_uuid(request, Model.CATEGORY), payload)
    written = await _run(side, side.handlers.categories.update, command)
    return _written(written, resources.category_json)


async def delete_category(request: Request) -> Response:
    side, user = await _caller(request)
    command = DeleteCategory(user, path_uuid(request, Model.CATEGORY))
    return _response(None, await _run(side, side.handlers.categories.delete, command))


# Transactions -----------------------------------------------------------------------------


async def record_transaction(request: Request) -> Response:
    payload, key = await _payload(request), idempotency_key(request)
    side, user = await _caller(request)
    command = schemas.record_transaction(user, payload, key)
    created = await _run(side, side.handlers.transactions.record, command)
    return _created(created, resources.transaction_json)


async def amend_transaction(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.amend_transaction(user, path_uuid(request, Model.TRANSACTION), payload)
    written = await _run(side, side.handlers.transactions.amend, command)
    return _written(written, resources.transaction_json)


async def delete_transaction(request: Request) -> Response:
    side, user = await _caller(request)
    command = DeleteTransaction(user, path_uuid(request, Model.TRANSACTION))
    return _response(None, await _run(side, side.handlers.transactions.delete, command))


# Budgets ----------------------------------------------------------------------------------


async def create_budget(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.create_budget(user, payload)
    written = await _run(side, side.handlers.budgets.create, command)
    return _written(written, resources.budget_json, 201)  # 201 even when it existed


async def rename_budget(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.rename_budget(user, path_uuid(request, Model.BUDGET), payload)
    written = await _run(side, side.handlers.budgets.rename, command)
    return _written(written, resources.budget_json)


async def delete_budget(request: Request) -> Response:
    side, user = await _caller(request)
    command = DeleteBudget(user, path_uuid(request, Model.BUDGET))
    return _response(None, await _run(side, side.handlers.budgets.delete, command))


LOAD_TEST_ROUTE = Route("/api/testing/load-test-user", load_test_user, methods=["POST"])

_UPDATE = ["PUT", "PATCH"]
ROUTES = [
    Route("/up", up, methods=["GET", "HEAD"]),
    Route("/api/tokens/{id}", revoke_token, methods=["DELETE"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/accounts", open_account, methods=["POST"]),
    Route("/api/accounts/{id}", update_account, methods=_UPDATE),
    Route("/api/accounts/{id}", close_account, methods=["DELETE"]),
    Route("/api/categories", create_category, methods=["POST"]),
    Route("/api/categories/{id}", update_category, methods=_UPDATE),
    Route("/api/categories/{id}", delete_category, methods=["DELETE"]),
    Route("/api/transactions", record_transaction, methods=["POST"]),
    Route("/api/transactions/{id}", amend_transaction, methods=_UPDATE),
    Route("/api/transactions/{id}", delete_transaction, methods=["DELETE"]),
    Route("/api/budgets", create_budget, methods=["POST"]),
    Route("/api/budgets/{id}", rename_budget, methods=_UPDATE),
    Route("/api/budgets/{id}", delete_budget, methods=["DELETE"]),
]
