"""Exceptions to HTTP, in one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from shared.domain.errors import (
    CategoryNotFoundError,
    ForbiddenError,
    IdempotencyKeyReusedError,
    NotFoundError,
    RuleViolationError,
)
from shared.http import BadRequestError, InputInvalidError, JSONResponse, validation_body


class UnauthenticatedError(Exception):
    pass


def _message(status: int) -> Callable[[Request, Exception], Response]:
    def handle(_: Request, exc: Exception) -> Response:
        return JSONResponse({"message": str(exc)}, status_code=status)

    return handle


def _invalid(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputInvalidError)
    return JSONResponse(validation_body(exc.errors), status_code=422)


def _rule(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RuleViolationError)
    return JSONResponse(validation_body({exc.field: [exc.message]}), status_code=422)


def _bad_request(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequestError)
    return JSONResponse({"message": exc.message}, status_code=exc.status)


def _unauthenticated(_: Request, __: Exception) -> Response:
    return JSONResponse({"message": "Unauthenticated."}, status_code=401)


def _conflict(_: Request, __: Exception) -> Response:
    # Two commands changed the same aggregate at once; the loser may simply retry.
    return JSONResponse(
        {"message": "The resource was changed by a concurrent request. Please retry."},
        status_code=409,
    )


def _server_error(_: Request, __: Exception) -> Response:
    # The contract's 500 body; details stay in the log (Starlette logs the traceback).
    return JSONResponse({"message": "Server Error"}, status_code=500)


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Response]] = {
    500: _server_error,
    UnauthenticatedError: _unauthenticated,
    NotFoundError: _message(404),
    CategoryNotFoundError: _message(404),
    ForbiddenError: _message(403),
    InputInvalidError: _invalid,
    RuleViolationError: _rule,
    IdempotencyKeyReusedError: _message(422),
    BadRequestError: _bad_request,
    IntegrityError: _conflict,
}
