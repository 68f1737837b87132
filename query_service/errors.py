"""Exceptions to HTTP, in one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from query_service.auth import UnauthenticatedError
from shared.domain.errors import ForbiddenError, NotFoundError
from shared.http import InputInvalidError, JSONResponse, validation_body


def _message(status: int) -> Callable[[Request, Exception], Response]:
    def handle(_: Request, exc: Exception) -> Response:
        return JSONResponse({"message": str(exc)}, status_code=status)

    return handle


def _invalid(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputInvalidError)
    return JSONResponse(validation_body(exc.errors), status_code=422)


def _unauthenticated(_: Request, __: Exception) -> Response:
    return JSONResponse({"message": "Unauthenticated."}, status_code=401)


def _server_error(_: Request, __: Exception) -> Response:
    # The contract's 500 body; details stay in the log (Starlette logs the traceback).
    return JSONResponse({"message": "Server Error"}, status_code=500)


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Response]] = {
    500: _server_error,
    UnauthenticatedError: _unauthenticated,
    NotFoundError: _message(404),
    ForbiddenError: _message(403),
    InputInvalidError: _invalid,
}
