"""Budget envelope endpoints: the original's web routes ``POST budgets/allocate``,
``budgets/move`` and ``budgets/monthly-income`` as JSON under ``/api`` (contract 3.4).
Each answers with what it set; the overview is the query side's
(``GET /api/budgets/overview``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from command_service import envelope_schemas as schemas
from command_service.endpoints import _caller, _payload, _response, _run, idempotency_key
from command_service.handlers.envelopes import Allocation, MonthlyIncome, Moved

JSON = dict[str, Any]


def allocation_json(allocation: Allocation) -> JSON:
    return {
        "budget_id": str(allocation.budget_id),
        "month": allocation.month.isoformat(),
        "budgeted_amount": allocation.budgeted.as_json(),
    }


def moved_json(moved: Moved) -> JSON:
    return {"from": allocation_json(moved.source), "to": allocation_json(moved.target)}


def income_json(income: MonthlyIncome) -> JSON:
    return {"month": income.month.strftime("%Y-%m"), "income": income.income.as_json()}


async def allocate(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.allocate(user, payload)
    written = await _run(side, side.handlers.envelopes.allocate, command)
    return _response(allocation_json(written.resource), written.position)


async def move(request: Request) -> Response:
    payload, key = await _payload(request), idempotency_key(request)
    side, user = await _caller(request)
    command = schemas.move(user, payload, key)
    made = await _run(side, side.handlers.envelopes.move, command)
    response = _response(moved_json(made.resource), made.position)
    if made.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def monthly_income(request: Request) -> Response:
    payload = await _payload(request)
    side, user = await _caller(request)
    command = schemas.monthly_income(user, payload)
    written = await _run(side, side.handlers.envelopes.set_income, command)
    return _response(income_json(written.resource), written.position)


ENVELOPE_ROUTES = [
    Route("/api/budgets/allocate", allocate, methods=["POST"]),
    Route("/api/budgets/move", move, methods=["POST"]),
    Route("/api/budgets/monthly-income", monthly_income, methods=["POST"]),
]
