"""Bodies of the budget envelope commands (contract 3.4), validated into commands.

``month`` is ``YYYY-MM``, parsed to the first day of that month on any day (the original
overflowed short months on the 29th-31st); a move must be of a positive amount between
two different budgets (the original let 0 through and then failed with a 500)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BeforeValidator, Field, StrictInt, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from command_service.commands import AllocateBudget, MoveMoney, SetMonthlyIncome
from command_service.schemas import AmountInput, Body, Payload, parse
from shared.domain.envelopes import parse_month
from shared.domain.money import MAX_AMOUNT, Currency, Money


def _month(raw: Any) -> date:
    month = parse_month(raw) if isinstance(raw, str) else None
    if month is None:
        raise PydanticCustomError("month", "The {attr} field must match the format Y-m.")
    return month


Month = Annotated[date, BeforeValidator(_month)]


class _Positive(Body):
    value: Annotated[StrictInt, Field(le=MAX_AMOUNT)]
    currency: Currency

    @field_validator("value")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise PydanticCustomError("positive", "The transfer amount must be greater than zero.")
        return value


class _NotNegative(Body):
    value: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]
    currency: Currency


class AllocateBody(Body):
    budget_id: UUID
    month: Month
    amount: AmountInput  # any sign, as the original


class MoveBody(Body):
    from_budget_id: UUID
    to_budget_id: UUID
    month: Month
    amount: _Positive

    @field_validator("to_budget_id")
    @classmethod
    def _different(cls, value: UUID, info: ValidationInfo) -> UUID:
        if info.data.get("from_budget_id") == value:
            raise PydanticCustomError(
                "different", "The to budget id field and from budget id must be different."
            )
        return value


class IncomeBody(Body):
    month: Month
    amount: _NotNegative


def allocate(user_id: UUID, payload: Payload) -> AllocateBudget:
    body = parse(AllocateBody, payload)
    amount = Money(body.amount.value, body.amount.currency)
    return AllocateBudget(user_id, body.budget_id, body.month, amount)


def move(user_id: UUID, payload: Payload, key: str | None) -> MoveMoney:
    body = parse(MoveBody, payload)
    amount = Money(body.amount.value, body.amount.currency)
    return MoveMoney(user_id, body.from_budget_id, body.to_budget_id, body.month, amount, key)


def monthly_income(user_id: UUID, payload: Payload) -> SetMonthlyIncome:
    body = parse(IncomeBody, payload)
    return SetMonthlyIncome(user_id, body.month, Money(body.amount.value, body.amount.currency))
