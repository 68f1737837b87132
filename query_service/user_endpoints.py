"""``GET /api/settings/profile``: the caller's profile (the original's settings page), from
the ``users`` table of ``ledger_tables``; waits for the caller's writes like every read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from query_service.endpoints import _fresh, _identify, _respond
from shared.domain.errors import Model, NotFoundError

_PROFILE = (
    "SELECT id, name, email, preferred_currency, auto_apply_threshold FROM {s}.users WHERE id = %s"
)


async def profile(request: Request) -> Response:
    readers, caller = await _identify(request)
    fresh = await _fresh(readers, caller)
    queries = readers.queries
    rows = await queries.rows(queries.q(_PROFILE), (caller.user_id,))
    if not rows:  # a user deleted since the token was checked
        raise NotFoundError(Model.USER, caller.user_id)
    row = rows[0]
    body = {
        "id": str(row["id"]),
        "name": row["name"],
        "email": row["email"],
        "preferred_currency": row["preferred_currency"],
        # null: suggested categories are never applied by themselves (the default)
        "auto_apply_threshold": row["auto_apply_threshold"],
    }
    return _respond(body, fresh)


USER_ROUTES = [Route("/api/settings/profile", profile)]
