"""Request bodies, validated at the edge into the parts of commands (``commands``).

Field errors become the original's Laravel-shaped 422 body (``shared.adapters.http``);
the models only parse and check shapes, lengths and enums. Rules that need the store
(an account the caller may use, a color still free) are the handlers'."""

from __future__ import annotations

from collections.abc import Callable
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

from command_service.commands import (
    AccountDetails,
    AmendTransaction,
    CategoryChanges,
    CreateBudget,
    CreateCategory,
    OpenAccount,
    RecordTransaction,
    Rejected,
    RenameBudget,
    SplitLine,
    TransactionDetails,
    UpdateAccount,
    UpdateCategory,
)
from shared.adapters.http import BadRequestError, InputInvalidError, input_errors
from shared.domain.accounts import AccountType
from shared.domain.categories import Color
from shared.domain.money import MAX_AMOUNT, Currency, Money
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


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


B = TypeVar("B", bound=Body)
T = TypeVar("T")
# A request body as read: the JSON object, or why it is unusable (400/413). Judged only
# when the contract's order allows: after authentication, and for an update after its
# 404 check, so a malformed body never hides a 401 or a 404.
Payload = dict[str, Any] | BadRequestError


def parse(model: type[B], payload: Payload) -> B:
    """Validate ``payload`` into ``model``; field errors become the 422 body."""
    if isinstance(payload, BadRequestError):
        raise payload
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise input_errors(exc) from None


def _or_rejected(payload: Payload, changes: Callable[[Payload], T]) -> T | Rejected:
    try:
        return changes(payload)
    except (BadRequestError, InputInvalidError) as error:
        return Rejected(error)


# Accounts ---------------------------------------------------------------------------------


class AccountBody(Body):
    name: Annotated[Text, StringConstraints(min_length=3, max_length=255)]
    # The original allowed 255 characters into a varchar(16) column (a 500); we stop at 16.
    number: Annotated[Text, StringConstraints(min_length=3, max_length=16)] | None = None
    currency: Currency
    type: AccountType
    bank_id: UUID


def _account(payload: Payload) -> AccountDetails:
    body = parse(AccountBody, payload)
    return AccountDetails(body.name, body.number, body.currency, body.type, body.bank_id)


def open_account(user_id: UUID, payload: Payload, key: str | None) -> OpenAccount:
    return OpenAccount(user_id, _account(payload), key)


def update_account(user_id: UUID, account_id: UUID, payload: Payload) -> UpdateAccount:
    return UpdateAccount(user_id, account_id, _or_rejected(payload, _account))


# Categories -------------------------------------------------------------------------------


class CategoryBody(Body):
    name: Name
    description: Name | None = None
    color: Color
    # Validated on create too (a non-boolean is a 422), where it is then ignored.
    is_default: StrictBool = False


def _category(payload: Payload) -> CategoryChanges:
    body = parse(CategoryBody, payload)
    return CategoryChanges(body.name, body.description, body.color, body.is_default)


def create_category(user_id: UUID, payload: Payload, key: str | None) -> CreateCategory:
    body = parse(CategoryBody, payload)
    return CreateCategory(user_id, body.name, body.description, body.color, key)


def update_category(user_id: UUID, category_id: UUID, payload: Payload) -> UpdateCategory:
    return UpdateCategory(user_id, category_id, _or_rejected(payload, _category))


# Transactions -----------------------------------------------------------------------------


class AmountInput(Body):
    value: Amount
    currency: Currency


class SplitInput(Body):
    category_id: UUID
    amount: Amount
    memo: Name | None = None


class RecordTransactionBody(Body):
    # Field order is the 422 body's order (the original's rules order).
    account_id: UUID
    category_id: UUID | None = None
    amount: AmountInput
    date: Moment
    memo: Name | None = None
    splits: Annotated[list[SplitInput], Field(max_length=50)] = []


class AmendTransactionBody(Body):
    category_id: UUID | None = None
    amount: AmountInput
    date: Moment
    memo: Name | None = None
    splits: Annotated[list[SplitInput], Field(max_length=50)] = []


def _transaction(body: RecordTransactionBody | AmendTransactionBody) -> TransactionDetails:
    return TransactionDetails(
        amount=Money(body.amount.value, body.amount.currency),
        date=body.date,
        category_id=body.category_id,
        memo=body.memo,
        splits=tuple(SplitLine(s.category_id, s.amount, s.memo) for s in body.splits),
    )


def record_transaction(user_id: UUID, payload: Payload, key: str | None) -> RecordTransaction:
    body = parse(RecordTransactionBody, payload)
    return RecordTransaction(user_id, body.account_id, _transaction(body), key)


def _amendment(payload: Payload) -> TransactionDetails:
    return _transaction(parse(AmendTransactionBody, payload))


def amend_transaction(user_id: UUID, transaction_id: UUID, payload: Payload) -> AmendTransaction:
    return AmendTransaction(user_id, transaction_id, _or_rejected(payload, _amendment))


# Budgets ----------------------------------------------------------------------------------


class CreateBudgetBody(Body):
    category_id: UUID
    name: Name | None = None


class RenameBudgetBody(Body):
    name: Name


def create_budget(user_id: UUID, payload: Payload) -> CreateBudget:
    body = parse(CreateBudgetBody, payload)
    return CreateBudget(user_id, body.category_id, body.name)


def _budget_name(payload: Payload) -> str:
    return parse(RenameBudgetBody, payload).name


def rename_budget(user_id: UUID, budget_id: UUID, payload: Payload) -> RenameBudget:
    return RenameBudget(user_id, budget_id, _or_rejected(payload, _budget_name))
