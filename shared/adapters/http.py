"""HTTP helpers shared by the Starlette services: orjson responses, request bodies and
the original's Laravel-shaped validation errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from shared.adapters.ratelimit import AddressLimit, TooManyRequestsError, per_address
from shared.contracts import POSITION_HEADER
from shared.domain.errors import Model, NotFoundError
from shared.domain.ids import parse_uuid
from shared.domain.text import has_lone_surrogate
from shared.settings import Settings

__all__ = ["POSITION_HEADER"]  # re-exported: the services shape responses with it


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class RawJSON(Response):
    """A 200 whose body is JSON already, with its headers as the server sends them:
    none of ``Response``'s header building, on the hottest path there is."""

    def __init__(self, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = 200
        self.body = body
        self.background = None
        self.raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            *headers,
        ]


class BadRequestError(Exception):
    """The request itself is unusable (malformed JSON, too large): 400/413."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


class InputInvalidError(Exception):
    """Field errors collected by validation; rendered as the original's 422 body."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(next(iter(errors.values()))[0])


MAX_DEPTH = 16


# As the original's TrimStrings ``$except``: passwords are taken exactly as sent.
_UNTRIMMED = frozenset({"password", "password_confirmation", "current_password"})


def _untrimmed(key: str, value: Any) -> bool:
    return key in _UNTRIMMED and isinstance(value, str) and not has_lone_surrogate(value)


def _normalise(value: Any, path: tuple[str, ...] = ()) -> Any:
    """The original's global middleware trims strings and turns "" into null. Unpaired
    surrogates (valid JSON escapes, not text) are refused here, naming the field: past
    this point every string must encode as UTF-8 (idempotency fingerprints, the store)."""
    if len(path) > MAX_DEPTH:
        raise BadRequestError(400, f"The request body must not nest deeper than {MAX_DEPTH}.")
    if isinstance(value, str):
        if has_lone_surrogate(value):
            field = ".".join(path) or "body"
            attr = field.replace("_", " ")
            raise InputInvalidError({field: [f"The {attr} field must be valid Unicode text."]})
        stripped = value.strip()
        return stripped or None
    if isinstance(value, dict):
        if any(has_lone_surrogate(k) for k in value):
            raise BadRequestError(400, "The request body's keys must be valid Unicode text.")
        return {k: v if _untrimmed(k, v) else _normalise(v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v, (*path, str(i))) for i, v in enumerate(value)]
    return value


def _loads(body: bytes) -> Any:
    """orjson, which refuses unpaired surrogate escapes outright; those bodies are read
    again by ``json`` so that the 422 can name the field (see ``_normalise``)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequestError(400, "The request body is not valid JSON.") from None


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object (``null`` or empty counts as ``{}``), size-limited."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BadRequestError(413, f"The request body must not exceed {max_bytes} bytes.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BadRequestError(413, f"The request body must not exceed {max_bytes} bytes.")
    if not body.strip():
        return {}
    parsed = _loads(body)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise BadRequestError(400, "The request body must be a JSON object.")
    normalised: dict[str, Any] = _normalise(parsed)
    return normalised


def _attribute(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


_MESSAGES = {
    "missing": "The {attr} field is required.",
    "none_required": "The {attr} field is required.",
    "string_type": "The {attr} field must be a string.",
    "int_type": "The {attr} field must be an integer.",
    "int_parsing": "The {attr} field must be an integer.",
    "int_from_float": "The {attr} field must be an integer.",
    "bool_type": "The {attr} field must be true or false.",
    "bool_parsing": "The {attr} field must be true or false.",
    "dict_type": "The {attr} field must be an array.",
    "model_type": "The {attr} field must be an array.",
    "model_attributes_type": "The {attr} field must be an array.",
    "list_type": "The {attr} field must be an array.",
    "enum": "The selected {attr} is invalid.",
    "literal_error": "The selected {attr} is invalid.",
    "uuid_type": "The {attr} field must be a valid UUID.",
    "uuid_parsing": "The {attr} field must be a valid UUID.",
    "uuid_version": "The {attr} field must be a valid UUID.",
    "string_too_long": "The {attr} field must not be greater than {max_length} characters.",
    "string_too_short": "The {attr} field must be at least {min_length} characters.",
    "too_long": "The {attr} field must not have more than {max_length} items.",
    "greater_than_equal": "The {attr} field must be at least {ge}.",
    "less_than_equal": "The {attr} field must not be greater than {le}.",
}


def _message(error: ErrorDetails) -> str:
    attr = _attribute(error["loc"]).replace("_", " ")
    template = _MESSAGES.get(error["type"])
    if template is None:
        # Our own validators raise PydanticCustomError with a finished sentence.
        return str(error["msg"]).removeprefix("Value error, ").replace("{attr}", attr)
    return template.format(attr=attr, **(error.get("ctx") or {}))


def input_errors(exc: ValidationError) -> InputInvalidError:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        errors.setdefault(_attribute(error["loc"]), []).append(_message(error))
    return InputInvalidError(errors)


def validation_body(errors: dict[str, list[str]]) -> dict[str, Any]:
    """``{"message": "<first>[ (and N more error[s])]", "errors": {...}}`` as Laravel does."""
    messages = [m for field_messages in errors.values() for m in field_messages]
    first, more = messages[0], len(messages) - 1
    if more:
        first += f" (and {more} more error{'s' if more > 1 else ''})"
    return {"message": first, "errors": errors}


Handler = Callable[[Request, Exception], Response]


def message_handler(status: int) -> Handler:
    """``{"message": str(exc)}`` with ``status``: the original's body for 403/404/422."""

    def handle(_: Request, exc: Exception) -> Response:
        return JSONResponse({"message": str(exc)}, status_code=status)

    return handle


def invalid_input(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, InputInvalidError)
    return JSONResponse(validation_body(exc.errors), status_code=422)


def unauthenticated(_: Request, __: Exception) -> Response:
    return JSONResponse({"message": "Unauthenticated."}, status_code=401)


def server_error(_: Request, __: Exception) -> Response:
    # The contract's 500 body; details stay in the log (Starlette logs the traceback).
    return JSONResponse({"message": "Server Error"}, status_code=500)


def path_uuid(request: Request, model: Model) -> UUID:
    """The ``{id}`` of the route; a non-UUID is a 404, as for an unknown id."""
    raw: str = request.path_params["id"]
    parsed = parse_uuid(raw)
    if parsed is None:
        raise NotFoundError(model, raw)
    return parsed


def too_many_requests(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyRequestsError)
    return JSONResponse({"message": str(exc)}, status_code=429, headers=exc.headers)


def address_limit(settings: Settings) -> list[Middleware]:
    """The per-address request budget (``RATE_LIMIT_PER_ADDRESS``; ``/up`` is exempt), as
    the app's middleware: none at all when the limit is off (a layer less per request)."""
    buckets = per_address(settings)
    if not buckets.enabled:
        return []
    return [Middleware(AddressLimit, buckets=buckets, exempt=frozenset({"/up"}))]


def http_error(_: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) as JSON, like every other error."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)
