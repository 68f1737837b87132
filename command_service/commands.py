"""Commands: what a client asks the command side to do, validated at the edge."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from shared.adapters.http import input_errors
from shared.domain.accounts import AccountType
from shared.domain.categories import Color
from shared.domain.money import MAX_AMOUNT, Currency
from shared.domain.text import forbidden_character

EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def _moment(raw: Any) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or ISO-8601 with optional offset/fraction/``Z``.

    The original filled a bare date with the current wall-clock time and dropped
    offsets; we keep the instant (converted to UTC) and use midnight for bare dates.
    """
    if not isinstance(raw, str):
        raise PydanticCustomError("date", "The {attr} field must be a valid date.")
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), time(), tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(raw)
    except ValueError:
        raise PydanticCustomError(
            "date", "The {attr} field must be a date like 2025-01-15 or 2025-01-15T10:30:00Z."
        ) from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        moment = LATEST
    if not EARLIEST <= moment < LATEST:
        raise PydanticCustomError("date", "The {attr} field must be between 1900 and 2199.")
    return moment


def _text(value: str) -> str:
    """Every free-text field of every command goes through here (see shared.domain.text)."""
    found = forbidden_character(value)
    if found is not None:
        raise PydanticCustomError(
            "text", f"The {{attr}} field must not contain control characters ({found})."
        )
    return value


Moment = Annotated[datetime, BeforeValidator(_moment)]
# Free text: the one type of every string a client can store.
Text = Annotated[str, AfterValidator(_text)]
Name = Annotated[Text, StringConstraints(max_length=255)]
Amount = Annotated[StrictInt, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]


class Command(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


C = TypeVar("C", bound=Command)


def parse(model: type[C], payload: dict[str, Any]) -> C:
    """Validate ``payload`` into ``model``; field errors become the 422 body."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise input_errors(exc) from None


class OpenAccount(Command):
    name: Annotated[Text, StringConstraints(min_length=3, max_length=255)]
    # The original allowed 255 characters into a varchar(16) column (a 500); we stop at 16.
    number: Annotated[Text, StringConstraints(min_length=3, max_length=16)] | None = None
    currency: Currency
    type: AccountType
    bank_id: UUID


class UpdateAccount(OpenAccount):
    pass


class CreateCategory(Command):
    name: Name
    description: Name | None = None
    color: Color
    is_default: StrictBool = False


class UpdateCategory(CreateCategory):
    pass


class AmountInput(Command):
    value: Amount
    currency: Currency


class SplitInput(Command):
    category_id: UUID
    amount: Amount
    memo: Name | None = None


class RecordTransaction(Command):
    account_id: UUID
    category_id: UUID | None = None
    amount: AmountInput
    date: Moment
    memo: Name | None = None
    splits: Annotated[list[SplitInput], Field(max_length=50)] = []


class AmendTransaction(Command):
    category_id: UUID | None = None
    amount: AmountInput
    date: Moment
    memo: Name | None = None
    splits: Annotated[list[SplitInput], Field(max_length=50)] = []


class CreateBudget(Command):
    category_id: UUID
    name: Name | None = None


class RenameBudget(Command):
    name: Name
