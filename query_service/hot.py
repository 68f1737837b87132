"""Hot reads: answers from the hot read model (``redis_cache``).

Each method returns None whenever that model may not answer (it is behind the caller's
writes, the caller has events parked in it, the shape is not one it answers cheaply, or
Redis is unreachable); the endpoint then reads PostgreSQL, which waits for the caller's
writes itself. ``hot_lua`` makes those checks in the same atomic call as the read. A
listing's page that script rendered and kept is read first by plain commands, making
the script's checks in one ``MULTI``/``EXEC`` (one round trip, without Lua); only when
there is no such page to serve does the script run (a second round trip).
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
from shared.contracts import (
    HEAD_MARK_KEY,
    HOT_PREFIXES,
    REDIS_CACHE,
    checkpoint_key,
    date_key,
    parked_partitions_key,
    write_mark_key,
)
from shared.domain.errors import ForbiddenError, Model, NotFoundError

logger = logging.getLogger(__name__)
_SHA = hashlib.sha1(SOURCE.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)
_DAY = timedelta(days=1)
_CHECKPOINT, _PARKED = checkpoint_key(REDIS_CACHE), parked_partitions_key(REDIS_CACHE)
_VERSION, _PAGE = HOT_PREFIXES["version"], HOT_PREFIXES["page"]
_KEPT_LISTINGS = frozenset({"accounts", "categories", "budgets"})
_MISS = object()  # no kept page to serve: the script answers
_BLOCKS = 10_000  # packed kept-page reads held per process (about 4 MB)


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


def kept_key(query: str, user: str, args: Args) -> str | None:
    """The key ``hot_lua`` keeps ``query``'s rendered page under (it is given it), or None
    for a read it does not keep: one resource, or a date window (random per request in
    the mixed load: rendered, never kept)."""
    if query in _KEPT_LISTINGS or (query == "transactions" and args[2:4] == ("-", "+")):
        return f"{_PAGE}{user}:{','.join(map(str, args))}:{query}"
    return None


class HotReads:
    """The query side's port onto the hot read model."""

    def __init__(self, redis: PipelinedRedis, floor: int = 0) -> None:
        """``floor``: a position the model must have reached to answer (the SQL read
        model's checkpoint when the process starts); it rises with every answer, so a
        model that goes back (flushed, restored from a snapshot) answers nothing until
        it has caught up, and no reader sees it go back."""
        self.redis = redis
        self.floor = floor
        self._blocks: dict[str, bytes] = {}  # a kept page's key -> its packed commands

    async def _run(self, key: str | None, *args: object) -> list[object] | None:
        """The script's answer; ``key``: where it keeps the page it renders (``kept_key``),
        None for a read it does not keep."""
        keys = (0,) if key is None else (1, key)
        try:
            try:
                reply = await self.redis.call("EVALSHA", _SHA, *keys, *args)
            except RedisReplyError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                await self.redis.call("SCRIPT", "LOAD", SOURCE)  # Redis restarted or flushed
                reply = await self.redis.call("EVALSHA", _SHA, *keys, *args)
        except (OSError, RedisReplyError):
            # A cache outage costs speed, not availability: PostgreSQL answers.
            logger.warning("hot read failed; reading PostgreSQL", exc_info=True)
            return None
        assert isinstance(reply, list)
        return reply

    async def _kept(self, key: str, user: str, explicit: int, floor: int) -> object:
        """The kept page at ``key`` when ``hot_lua`` would serve it: the script's checks
        and its lookup of the page, made by plain commands in one ``MULTI``/``EXEC`` (as
        atomic as the script, without carrying the page through Lua: that was a third of
        what Redis spent on such a read). ``_MISS`` when there is none to serve (the
        script renders it), None when the model may not answer (PostgreSQL does)."""
        block = self._blocks.get(key)
        if block is None:
            if len(self._blocks) >= _BLOCKS:
                self._blocks.clear()  # a bound on memory, not a policy: rebuilt at once
            block = self._blocks[key] = self.redis.pack_transaction(
                ("GET", _CHECKPOINT),
                ("GET", HEAD_MARK_KEY),
                ("GET", write_mark_key(user)),
                ("SISMEMBER", _PARKED, user),
                ("GET", _VERSION + user),
                ("GET", _VERSION + "global"),
                ("HMGET", key, "v", "t", "d"),
            )
        try:
            replies = await self.redis.transaction(block, 7)
        except (OSError, RedisReplyError):
            logger.warning("hot read failed; reading PostgreSQL", exc_info=True)
            return None
        checkpoint, head, marked, parked, mine, everyone, (versions, total, data) = replies
        applied = int(checkpoint or 0)
        if explicit > applied:  # a client's position is clamped to the highest acknowledged
            explicit = min(explicit, int(head or 0))
        if max(int(marked or 0), explicit, floor) > applied or parked:
            return None  # behind the caller, or the caller has events parked in it
        if versions != b"%s:%s" % (mine or b"0", everyone or b"0"):
            return _MISS
        self.floor = max(self.floor, applied)
        return HotAnswer(applied, int(total), data)

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
        floor, owner = max(self.floor, seen), str(user)
        key = kept_key(query, owner, args)
        if key is not None:
            kept = await self._kept(key, owner, explicit, floor)
            if kept is not _MISS:
                assert kept is None or isinstance(kept, HotAnswer)
                return kept
        reply = await self._run(key, query, owner, explicit, floor, *args)
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
