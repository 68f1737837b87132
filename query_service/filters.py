"""Query-string filters, validated into frozen dataclasses (bad values are 422, never 500)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from starlette.datastructures import QueryParams

from shared.adapters.http import InputInvalidError
from shared.domain.accounts import AccountType
from shared.domain.ids import parse_uuid
from shared.domain.money import Currency
from shared.domain.transactions import TransactionType

ORDER_COLUMNS = {
    "date": "t.date",
    "amount": "t.amount",
    "memo": "t.memo",
    "type": "t.type",
    "created_at": "t.recorded_position",
    "id": "t.id",
}


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_any(self) -> None:
        if self.errors:
            raise InputInvalidError(self.errors)


def _array(params: QueryParams, name: str) -> list[tuple[str, str]]:
    """``name[]=a&name[]=b`` and ``name[0]=a``, as PHP reads them."""
    found = []
    for key, value in params.multi_items():
        if key == f"{name}[]" or (key.startswith(f"{name}[") and key.endswith("]")) or key == name:
            found.append((key, value))
    return found


def _uuids(params: QueryParams, name: str, errors: _Errors) -> list[UUID]:
    ids = []
    for index, (_, value) in enumerate(_array(params, name)):
        parsed = parse_uuid(value)
        if parsed is None:
            errors.add(f"{name}.{index}", f"The {name}.{index} field must be a valid UUID.")
        else:
            ids.append(parsed)
    return ids


_INTEGER = re.compile(r"-?[0-9]{1,18}")  # ASCII digits only, and within bigint range


def _int(
    params: QueryParams, name: str, errors: _Errors, default: int, low: int, high: int | None = None
) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _INTEGER.fullmatch(raw):
        errors.add(name, f"The {name.replace('_', ' ')} field must be an integer.")
        return default
    value = int(raw)
    if value < low:
        errors.add(name, f"The {name.replace('_', ' ')} field must be at least {low}.")
    elif high is not None and value > high:
        errors.add(name, f"The {name.replace('_', ' ')} field must not be greater than {high}.")
    return value


def _date(params: QueryParams, name: str, errors: _Errors) -> date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw).date()
    except ValueError:
        errors.add(name, f"The {name.replace('_', ' ')} field must be a valid date.")
        return None


def _search(params: QueryParams, errors: _Errors) -> str | None:
    search = (params.get("search") or "").strip() or None
    if search is not None and len(search) > 255:
        errors.add("search", "The search field must not be greater than 255 characters.")
    if search is not None and "\x00" in search:
        errors.add("search", "The search field must not contain NUL characters.")
    return search


@dataclass(frozen=True)
class TransactionFilters:
    accounts: list[UUID]
    categories: list[UUID]
    start: date | None
    end: date | None
    type: TransactionType | None
    search: str | None
    order_column: str
    descending: bool
    page: int
    per_page: int


def transaction_filters(params: QueryParams) -> TransactionFilters:
    errors = _Errors()
    accounts = _uuids(params, "accounts", errors)
    categories = _uuids(params, "categories", errors)
    start, end = _date(params, "start_date", errors), _date(params, "end_date", errors)
    raw_type = params.get("type") or None
    if raw_type is not None and raw_type not in TransactionType.__members__.values():
        errors.add("type", "The selected type is invalid.")
    column = params.get("order_by[column]") or "date"
    if column not in ORDER_COLUMNS:
        errors.add("order_by.column", "The selected order by.column is invalid.")
    direction = params.get("order_by[direction]") or "desc"
    if direction not in ("asc", "desc"):
        errors.add("order_by.direction", "The selected order by.direction is invalid.")
    filters = TransactionFilters(
        accounts=accounts,
        categories=categories,
        start=start,
        end=end,
        type=TransactionType(raw_type) if raw_type in ("debit", "credit") else None,
        search=_search(params, errors),
        order_column=ORDER_COLUMNS.get(column, "t.date"),
        descending=direction != "asc",
        page=_int(params, "page", errors, 1, 1),
        per_page=_int(params, "per_page", errors, 15, 1, 100),
    )
    errors.raise_any()
    return filters


@dataclass(frozen=True)
class AccountFilters:
    search: str | None
    type: AccountType | None
    currency: Currency | None
    page: int


def account_filters(params: QueryParams) -> AccountFilters:
    errors = _Errors()
    raw_type, raw_currency = params.get("type") or None, params.get("currency") or None
    if raw_type is not None and raw_type not in AccountType.__members__.values():
        errors.add("type", "The selected type is invalid.")
    if raw_currency is not None and raw_currency not in Currency.__members__:
        errors.add("currency", "The selected currency is invalid.")
    search = _search(params, errors)
    errors.raise_any()
    raw_page = params.get("page", "1")
    # The paginator, not validation, reads `page`: anything unusable means page 1.
    page = int(raw_page) if _INTEGER.fullmatch(raw_page) and int(raw_page) >= 1 else 1
    return AccountFilters(
        search=search,
        type=AccountType(raw_type) if raw_type else None,
        currency=Currency(raw_currency) if raw_currency else None,
        page=page,
    )


@dataclass(frozen=True)
class CategoryFilters:
    search: str | None
    is_default: bool | None


def category_filters(params: QueryParams) -> CategoryFilters:
    errors = _Errors()
    raw = params.get("is_default")
    is_default = None
    if raw not in (None, ""):
        if raw in ("1", "true"):
            is_default = True
        elif raw in ("0", "false"):
            is_default = False
        else:
            errors.add("is_default", "The is default field must be true or false.")
    _int(params, "per_page", errors, 15, 1, 100)  # validated but unused, as the original
    _int(params, "page", errors, 1, 1)
    filters = CategoryFilters(search=_search(params, errors), is_default=is_default)
    errors.raise_any()
    return filters


_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def month_filter(params: QueryParams, today: date) -> date:
    """``month=YYYY-MM`` as the first day of that month; absent or empty: this month. A
    malformed month is a 422 (the original silently showed the current month)."""
    raw = params.get("month")
    if not raw:
        return today.replace(day=1)
    found = _MONTH.fullmatch(raw)
    if found is None or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1:
        raise InputInvalidError({"month": ["The month field must match the format Y-m."]})
    return date(int(found[1]), int(found[2]), 1)
