"""``GET /api/budgets/overview?month=YYYY-MM``: the original's budget page (web
``GET /budgets``, contract 3.4) as JSON: the month's envelopes, the budgets, the
categories and the monthly summary. Money in the budget's currency (overview) or the
user's preferred currency (summary), as the original."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from query_service.endpoints import _identify, _kept
from query_service.envelopes import BudgetPage, EnvelopeLine, MonthSummary
from query_service.filters import month_filter
from shared import resources
from shared.domain.money import Currency, Money

JSON = dict[str, Any]


def _money(value: int, currency: Currency | str) -> JSON:
    return Money(value, Currency(currency)).as_json()


def line_json(line: EnvelopeLine) -> JSON:
    budget, currency = line.budget, line.budget.currency
    return {
        "id": budget.id,
        "currency": currency,
        "category": resources.category_json(budget.category),
        "budgeted_amount": _money(line.budgeted, currency),
        "spent_amount": _money(line.spent, currency),
        "rollover_amount": _money(line.rollover, currency),
        "remaining_amount": _money(line.remaining, currency),
    }


def summary_json(s: MonthSummary, month_first: Any) -> JSON:
    has_income = s.income is not None and s.income_month is not None
    return {
        "has_income": has_income,
        "is_inherited": has_income and s.income_month != month_first,
        "income_month": s.income_month.strftime("%Y-%m") if s.income_month else None,
        "income": _money(s.income, s.currency) if s.income is not None else None,
        "assigned": _money(s.assigned, s.currency),
        "unassigned": _money(s.income - s.assigned, s.currency) if s.income is not None else None,
    }


def page_json(page: BudgetPage) -> JSON:
    return {
        "filters": {"month": page.month.strftime("%Y-%m")},
        "overview": [line_json(line) for line in page.lines],
        "budgets": [resources.budget_json(b) for b in page.budgets],
        "categories": [resources.category_json(c) for c in page.categories],
        "monthly_summary": summary_json(page.summary, page.month),
    }


async def budget_overview(request: Request) -> Response:
    readers, caller = await _identify(request)
    month = month_filter(request.query_params, datetime.now(UTC).date())

    async def answer() -> Any:
        return page_json(await readers.envelopes.page(caller.user_id, month))

    return await _kept(readers, caller, ("budget-page", month), answer)


# Before ``/api/budgets/{id}`` (a path that is no UUID there is a 404).
ENVELOPE_ROUTES = [Route("/api/budgets/overview", budget_overview)]
