"""Exceptions to HTTP, in one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.adapters.auth import UnauthenticatedError
from shared.adapters.http import (
    BadRequestError,
    InputInvalidError,
    JSONResponse,
    http_error,
    invalid_input,
    message_handler,
    server_error,
    too_many_requests,
    unauthenticated,
    validation_body,
)
from shared.adapters.ratelimit import TooManyRequestsError
from shared.domain.envelopes import AllocationLimitExceededError
from shared.domain.errors import (
    CategoryNotFoundError,
    ConcurrentChangeError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    NotFoundError,
    RuleViolationError,
)


def _rule(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RuleViolationError)
    return JSONResponse(validation_body({exc.field: [exc.message]}), status_code=422)


def _bad_request(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequestError)
    return JSONResponse({"message": exc.message}, status_code=exc.status)


def _allocation_limit(_: Request, exc: Exception) -> Response:
    # The original's body (message and what is left), with the usual errors beside it.
    assert isinstance(exc, AllocationLimitExceededError)
    body = validation_body({"amount.value": [str(exc)]})
    remaining = {"value": exc.remaining, "formatted": exc.formatted, "currency": exc.currency}
    body["remaining"] = remaining
    return JSONResponse(body, status_code=422)


def _conflict(_: Request, __: Exception) -> Response:
    # Two commands changed the same aggregate at once; the loser may simply retry. (The
    # unit of work raises ConcurrentChangeError; this covers a conflict met elsewhere.)
    return JSONResponse({"message": str(ConcurrentChangeError())}, status_code=409)


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Response]] = {
    500: server_error,
    HTTPException: http_error,
    UnauthenticatedError: unauthenticated,
    NotFoundError: message_handler(404),
    CategoryNotFoundError: message_handler(404),
    ForbiddenError: message_handler(403),
    InputInvalidError: invalid_input,
    TooManyRequestsError: too_many_requests,
    RuleViolationError: _rule,
    AllocationLimitExceededError: _allocation_limit,
    IdempotencyKeyReusedError: message_handler(422),
    ConcurrentChangeError: message_handler(409),
    BadRequestError: _bad_request,
    IntegrityError: _conflict,
}
