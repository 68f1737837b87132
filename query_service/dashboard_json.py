"""JSON shapes of the dashboards and insights: the original's Inertia props (contract
3.7) as JSON, with Money values as everywhere else in the API."""

from __future__ import annotations

from datetime import date
from typing import Any

from query_service.dashboards import (
    TREND_MONTHS,
    CategoryShare,
    Insights,
    MonthFlow,
    Overview,
    Totals,
    months_back,
)
from shared import resources
from shared.domain.money import Currency, Money

JSON = dict[str, Any]
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_value(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def _money(value: int, currency: Currency) -> JSON:
    return Money(value, currency).as_json()


def _trend(flow: MonthFlow, currency: Currency) -> JSON:
    return {
        "month": flow.month.isoformat(),
        "income": _money(flow.income, currency),
        "expense": _money(flow.expense, currency),
        "profit": _money(flow.income - flow.expense, currency),
    }


def shares_json(shares: list[CategoryShare], currency: Currency, top: int | None) -> list[JSON]:
    """``top`` largest, each with its percentage of ALL the categories' spending."""
    whole = sum(s.total for s in shares)
    return [
        {
            "category": resources.category_json(s.category),
            "total": _money(s.total, currency),
            "percentage": round(s.total * 100 / whole, 2) if whole else 0.0,
        }
        for s in shares[:top]
    ]


def overview_json(o: Overview, month: date, today: date, top: int) -> JSON:
    this = o.trend[-1]
    return {
        "summary": {
            "total_balance": _money(o.total_balance, o.currency),
            "monthly_income": _money(this.income, o.currency),
            "monthly_expense": _money(this.expense, o.currency),
            "monthly_profit": _money(this.income - this.expense, o.currency),
        },
        "monthly_trend": [_trend(f, o.currency) for f in o.trend],
        "category_spending": shares_json(o.shares, o.currency, top),
        "accounts": [resources.account_json(a) for a in o.accounts],
        "recent_transactions": [resources.transaction_json(t) for t in o.recent],
        "selected_month": month_value(month),
        "month_options": [
            {"value": month_value(m), "label": f"{_MONTH_NAMES[m.month - 1]} {m.year}"}
            for m in reversed(months_back(today.replace(day=1), TREND_MONTHS))
        ],
    }


def insights_json(i: Insights) -> JSON:
    return {
        "total_debits": _money(i.debits, i.currency),
        "total_credits": _money(i.credits, i.currency),
        "net_total": _money(i.credits - i.debits, i.currency),
        "monthly": [
            {
                "month": f.month.isoformat(),
                "debits": _money(f.expense, i.currency),
                "credits": _money(f.income, i.currency),
            }
            for f in i.monthly
        ],
        "accounts": [
            {
                "account_id": a.account_id,
                "account_name": a.account_name,
                "debits": _money(a.debits, i.currency),
                "credits": _money(a.credits, i.currency),
            }
            for a in i.accounts
        ],
    }


def spending_json(shares: list[CategoryShare], currency: Currency) -> list[JSON]:
    return [
        {"category": resources.category_json(s.category), "amount": _money(s.total, currency)}
        for s in shares
    ]


def summary_json(t: Totals) -> JSON:
    """As the original: debits signed (negative), balance = credits + debits."""
    return {
        "credits": _money(t.credits, t.currency),
        "debits": _money(-t.debits, t.currency),
        "balance": _money(t.credits - t.debits, t.currency),
    }
