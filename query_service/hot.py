"""Hot reads: answers from the hot read model (``redis_cache``) in one round trip.

Each method returns None whenever that model may not answer (it is behind the caller's
writes, the caller has events parked in it, the shape is not one it answers cheaply, or
Redis is unreachable); the endpoint then reads PostgreSQL, which waits for the caller's
writes itself. ``hot_lua`` makes those checks in the same atomic call as the read.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from query_service.filters import AccountFilters, CategoryFilters, TransactionFilters
from query_service.hot_lua import SOURCE
from shared.adapters.redis_pipe import PipelinedRedis, RedisReplyError
from shared.contracts import date_key
from shared.domain.errors import ForbiddenError, Model, NotFoundError

logger = logging.getLogger(__name__)
_SHA = hashlib.sha1(SOURCE.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class HotAnswer:
    applied: int
    total: int
    data: bytes


def _midnight(day: date) -> str:
    return date_key(datetime.combine(day, time(), tzinfo=UTC))


def _date_range(f: TransactionFilters) -> tuple[str, str]:
    """The filter's days as bounds on members (``ZRANGEBYLEX``): ``start`` inclusive,
    ``end`` a whole UTC day (members of the next midnight on sort after its bare key)."""
    low = f"[{_midnight(f.start)}" if f.start else "-"
    high = f"({_midnight(f.end + _DAY)}" if f.end else "+"
    return low, high


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


# The arguments of each hot read after (query, user, explicit position): pure functions
# of a listing's filters, so the endpoints compute them once per distinct query string.
Args = tuple[object, ...]


def transactions_args(f: TransactionFilters) -> Args | None:
    """None: a shape the indexes neither order nor match (a search, another order)."""
    if f.search or f.order_column != "t.date" or not f.descending:
        return None
    low, high = _date_range(f)
    kind = f.type.value[0] if f.type else ""
    accounts, categories = [str(a) for a in f.accounts], [str(c) for c in f.categories]
    return (
        f.page,
        f.per_page,
        low,
        high,
        kind,
        len(accounts),
        *accounts,
        len(categories),
        *categories,
    )


def accounts_args(f: AccountFilters) -> Args | None:
    if f.search:
        return None
    return (f.page, f.type.value if f.type else "", f.currency.value if f.currency else "")


def categories_args(f: CategoryFilters) -> Args | None:
    if f.search:
        return None
    return ("" if f.is_default is None else str(int(f.is_default)),)


class HotReads:
    """The query side's port onto the hot read model."""

    def __init__(self, redis: PipelinedRedis, floor: int = 0) -> None:
        """``floor``: a position the model must have reached to answer (the SQL read
        model's checkpoint when the process starts); it rises with every answer, so a
        model that goes back (flushed, restored from a snapshot) answers nothing until
        it has caught up, and no reader sees it go back."""
        self.redis = redis
        self.floor = floor

    async def _run(self, *args: object) -> list[object] | None:
        try:
            try:
                reply = await self.redis.call("EVALSHA", _SHA, 0, *args)
            except RedisReplyError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                await self.redis.call("SCRIPT", "LOAD", SOURCE)  # Redis restarted or flushed
                reply = await self.redis.call("EVALSHA", _SHA, 0, *args)
        except (OSError, RedisReplyError):
            # A cache outage costs speed, not availability: PostgreSQL answers.
            logger.warning("hot read failed; reading PostgreSQL", exc_info=True)
            return None
        assert isinstance(reply, list)
        return reply

    async def read(
        self,
        query: str,
        user: UUID,
        explicit: int,
        args: Args,
        *,
        seen: int = 0,
        model: Model = Model.TRANSACTION,
        resource: UUID | None = None,
    ) -> HotAnswer | None:
        """``query``: transactions, accounts, categories, budgets (with their ``args``) or
        one (args: kind, id); a 404 or 403 is raised as the SQL path would raise it.
        ``seen``: a position this process has answered at from another read model; the
        hot one answers only from there on, so no reader of a process sees it go back."""
        floor = max(self.floor, seen)
        reply = await self._run(query, str(user), explicit, floor, *args)
        if reply is None:
            return None
        status = reply[0]
        if status == b"ok":
            data = reply[3]
            assert isinstance(data, bytes)
            applied = _int(reply[1])
            self.floor = max(self.floor, applied)
            return HotAnswer(applied, _int(reply[2]), data)
        if status == b"missing":
            raise NotFoundError(model, resource)
        if status == b"forbidden":
            raise ForbiddenError
        return None  # behind, parked, fallback: PostgreSQL answers
