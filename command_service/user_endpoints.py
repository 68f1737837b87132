"""User endpoints (contract 3.8) as JSON under ``/api``, named after the original's web
routes: ``POST /api/register``, ``POST /api/login`` (``POST /api/logout`` is in
``endpoints``), ``PUT|PATCH|DELETE /api/settings/profile``, ``PUT /api/settings/password``.
The profile is read on the query side (``GET /api/settings/profile``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from command_service import user_schemas as schemas
from command_service.endpoints import _caller, _payload, _response, _run, _side
from command_service.results import Profile, SignedIn
from shared import resources
from shared.adapters.http import BadRequestError
from shared.adapters.ratelimit import TooManyRequestsError, client_address
from shared.domain.errors import RuleViolationError

JSON = dict[str, Any]


def signed_in_json(made: SignedIn) -> JSON:
    """The load-test endpoint's shape: the token, whose plain text exists only here."""
    return {
        "token": made.token,
        "user_id": str(made.user_id),
        "email": made.email,
        "expires_at": resources.atom(made.expires_at) if made.expires_at else None,
    }


def profile_json(profile: Profile) -> JSON:
    return {
        "id": str(profile.user_id),
        "name": profile.name,
        "email": profile.email,
        "preferred_currency": profile.preferred_currency,
    }


async def register(request: Request) -> Response:
    side = _side(request)
    command = schemas.register(await _payload(request), datetime.now(UTC))
    made = await _run(side, side.handlers.profiles.register, command)
    return _response(signed_in_json(made.resource), made.position, 201)


async def log_in(request: Request) -> Response:
    side = _side(request)
    payload = await _payload(request)
    email = payload.get("email") if not isinstance(payload, BadRequestError) else None
    throttle = (str(email).lower(), client_address(request.scope))
    if wait := side.login_failures.wait_for(throttle):
        raise TooManyRequestsError(wait)
    command = schemas.log_in(payload, datetime.now(UTC))
    try:
        made = await _run(side, side.handlers.profiles.log_in, command)
    except RuleViolationError:
        side.login_failures.take(throttle)
        raise
    return _response(signed_in_json(made.resource), made.position)


async def update_profile(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.update_profile(user, payload)
    written = await _run(side, side.handlers.profiles.update_profile, command)
    return _response(profile_json(written.resource), written.position)


async def set_auto_categorization(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.set_auto_categorization(user, payload)
    written = await _run(side, side.handlers.profiles.set_auto_categorization, command)
    return _response({"auto_apply_threshold": written.resource}, written.position)


async def change_password(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.change_password(user, payload)
    return _response(None, await _run(side, side.handlers.profiles.change_password, command))


async def delete_user(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.delete_user(user, payload)
    return _response(None, await _run(side, side.handlers.profiles.delete, command))


USER_ROUTES = [
    Route("/api/register", register, methods=["POST"]),
    Route("/api/login", log_in, methods=["POST"]),
    Route("/api/settings/profile", update_profile, methods=["PUT", "PATCH"]),
    Route("/api/settings/profile", delete_user, methods=["DELETE"]),
    Route("/api/settings/password", change_password, methods=["PUT"]),
    Route("/api/settings/categorization", set_auto_categorization, methods=["PUT"]),
]
