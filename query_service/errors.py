"""Exceptions to HTTP, in one table."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from shared.adapters.auth import UnauthenticatedError
from shared.adapters.http import (
    Handler,
    InputInvalidError,
    http_error,
    invalid_input,
    message_handler,
    server_error,
    too_many_requests,
    unauthenticated,
)
from shared.adapters.ratelimit import TooManyRequestsError
from shared.domain.errors import ForbiddenError, NotFoundError

EXCEPTION_HANDLERS: dict[Any, Handler] = {
    500: server_error,
    HTTPException: http_error,
    UnauthenticatedError: unauthenticated,
    NotFoundError: message_handler(404),
    ForbiddenError: message_handler(403),
    InputInvalidError: invalid_input,
    TooManyRequestsError: too_many_requests,
}
