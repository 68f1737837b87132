"""The live stream's public message schema (stable: clients depend on it, not on our
class paths). Every message is ``{"type", "position", "time", "data"}``:

======================  ===========================================================
type                    data
======================  ===========================================================
account.opened          id, name, number, currency, type, bank_id
account.updated         id, name, number, type, bank_id
account.closed          id
category.created        id, name, description, color, is_default
category.updated        id, name, description, color, is_default
category.deleted        id
transaction.recorded    id, account_id, category_id, amount, currency, type, date, memo,
                        balance_delta, source ("api" or "import")
transaction.updated     id, account_id, category_id, amount, currency, type, date, memo,
                        balance_delta (new minus old)
transaction.deleted     id, account_id, currency, balance_delta
budget.created          id, category_id, name, currency
budget.updated          id, name (renamed or reopened)
budget.deleted          id
notification.created    id, type, kind, data, read_at (null), created_at: the
                        notification as ``GET /api/notifications`` lists it (contract
                        3.6; ``import.completed`` carries the import's counts)
======================  ===========================================================

Amounts are integers in minor units with their ``currency``. ``position`` is the event's
global position: a client resumes by sending the last one it saw.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.domain.accounts import Account
from shared.domain.budgets import Budget
from shared.domain.categories import Category
from shared.domain.notifications import TYPE_NAMES, Notification
from shared.domain.transactions import Transaction, type_name

Data = dict[str, Any]

# Messages hold datetimes and UUIDs as objects and are only ever turned into JSON by
# ``encode``: orjson writes them in C exactly as ``DATE_ATOM`` and ``str(uuid)`` would
# (seconds, "+00:00"), where formatting them in Python was most of a message's cost.
OPTIONS = orjson.OPT_OMIT_MICROSECONDS | orjson.OPT_NAIVE_UTC


def encode(value: Any) -> bytes:
    """A message, or anything holding messages, as JSON."""
    return orjson.dumps(value, option=OPTIONS)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _account(e: Any) -> Data:
    data = {
        "id": e.originator_id,
        "name": e.name,
        "number": e.number,
        "type": e.type,
        "bank_id": e.bank_id,
    }
    if isinstance(e, Account.Opened | Account.CurrencyChanged):
        data["currency"] = e.currency
    return data


def _category(e: Any) -> Data:
    return {
        "id": e.originator_id,
        "name": e.name,
        "description": e.description,
        "color": e.color,
        "is_default": e.is_default,
    }


def _transaction(e: Any, delta: int) -> Data:
    return {
        "id": e.originator_id,
        "account_id": e.account_id,
        "category_id": e.category_id,
        "amount": e.amount,
        "currency": e.currency,
        "type": type_name(e.amount),
        "date": _utc(e.date),
        "memo": e.memo,
        "balance_delta": delta,
    }


def _notification(e: Any) -> Data:
    return {
        "id": e.originator_id,
        "type": TYPE_NAMES.get(e.kind, e.kind),
        "kind": e.kind,
        "data": e.data,
        "read_at": None,
        "created_at": _utc(e.timestamp),
    }


def _only_id(e: Any) -> Data:
    return {"id": e.originator_id}


PUBLIC: dict[type, tuple[str, Callable[[Any], Data]]] = {
    Account.Opened: ("account.opened", _account),
    Account.Updated: ("account.updated", _account),
    Account.CurrencyChanged: ("account.updated", _account),
    Account.Closed: ("account.closed", _only_id),
    Category.Created: ("category.created", _category),
    Category.Updated: ("category.updated", _category),
    Category.Deleted: ("category.deleted", _only_id),
    Transaction.Recorded: (
        "transaction.recorded",
        lambda e: {**_transaction(e, e.amount), "source": e.source},
    ),
    Transaction.Amended: (
        "transaction.updated",
        # ``categorized_by`` only when the worker set the category (auto-categorization).
        lambda e: {
            **_transaction(e, e.amount - e.previous_amount),
            **({"categorized_by": e.categorized_by} if e.categorized_by else {}),
        },
    ),
    Transaction.Deleted: (
        "transaction.deleted",
        lambda e: {
            "id": e.originator_id,
            "account_id": e.account_id,
            "currency": e.currency,
            "balance_delta": -e.amount,
        },
    ),
    Budget.Created: (
        "budget.created",
        lambda e: {
            "id": e.originator_id,
            "category_id": e.category_id,
            "name": e.name,
            "currency": e.currency,
        },
    ),
    Budget.Reopened: ("budget.updated", lambda e: {"id": e.originator_id, "name": e.name}),
    Budget.Renamed: ("budget.updated", lambda e: {"id": e.originator_id, "name": e.name}),
    Budget.Deleted: ("budget.deleted", _only_id),
    Notification.Created: ("notification.created", _notification),
}


def public_message(event: Any, position: int) -> tuple[str, Data] | None:
    """``(user_id, message)`` for a domain event clients may see, else None."""
    mapped = PUBLIC.get(type(event))
    user_id = getattr(event, "user_id", None)
    if mapped is None or user_id is None:
        return None
    name, shape = mapped
    timestamp: datetime = event.timestamp
    return str(user_id), {
        "type": name,
        "position": position,
        "time": _utc(timestamp),
        "data": shape(event),
    }
