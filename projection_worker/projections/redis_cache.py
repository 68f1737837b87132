"""``redis_cache``: hot keys in Redis, written exactly once by position.

Keys (all rebuildable from the events; Redis never holds the only copy of anything):
  ``tok:{token_id}``    hash {user, sha, exp}: auth without a database round trip
  ``cats:{user_id}``    hash category_id -> category JSON: the category list
  ``bal:{user_id}``     hash account_id -> balance in minor units
  ``proj:redis_cache``  the projection's checkpoint, moved by the same Lua call as the effects
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from redis import ConnectionPool, Redis

from projection_worker.runner import Positioned
from shared.domain.accounts import Account
from shared.domain.categories import Category
from shared.domain.transactions import Transaction
from shared.domain.users import Token

CHECKPOINT_KEY = "proj:redis_cache"
FAILED_KEY = "proj:redis_cache:failed"

# ARGV: expected, new, then ops as (code, key, field, value) quads. Atomic in Redis, so
# a batch's effects and its checkpoint move together; a stale or duplicate batch does
# nothing (the compare-and-set on the checkpoint fails).
APPLY = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current ~= tonumber(ARGV[1]) then return 0 end
for i = 3, #ARGV, 4 do
  local op, key, field, value = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3]
  if op == 'hset' then redis.call('HSET', key, field, value)
  elseif op == 'hdel' then redis.call('HDEL', key, field)
  elseif op == 'hincr' then redis.call('HINCRBY', key, field, value)
  elseif op == 'del' then redis.call('DEL', key)
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

Op = tuple[str, str, str, str]


def category_key(user_id: str) -> str:
    return f"cats:{user_id}"


def token_key(token_id: str) -> str:
    return f"tok:{token_id}"


def _category_json(e: Any) -> str:
    return orjson.dumps(
        {
            "id": str(e.originator_id),
            "name": e.name,
            "color": e.color,
            "description": e.description,
            "is_default": e.is_default,
        }
    ).decode()


class RedisCache:
    """Rebuilt blue-green in the next logical database, then swapped in with ``SWAPDB``
    (one atomic command: readers see the old keyspace or the new one, never a mix)."""

    name = "redis_cache"
    store = "redis"

    def __init__(self, client: Any) -> None:
        self.client = client
        self._apply = client.register_script(APPLY)
        self._handlers: dict[type, Callable[[Positioned], list[Op]]] = {
            Token.Issued: self._token_issued,
            Token.Revoked: lambda p: [("del", token_key(str(p.event.originator_id)), "", "")],
            Category.Created: self._category_created,
            Category.Updated: self._category_updated,
            Category.Deleted: self._category_deleted,
            Account.Opened: lambda p: [
                ("hset", f"bal:{p.event.user_id}", str(p.event.originator_id), "0")
            ],
            Transaction.Recorded: lambda p: [self._delta(p.event, p.event.amount)],
            Transaction.Amended: lambda p: [
                self._delta(p.event, p.event.amount - p.event.previous_amount)
            ],
            Transaction.Deleted: lambda p: [self._delta(p.event, -p.event.amount)],
        }

    @staticmethod
    def _delta(e: Any, delta: int) -> Op:
        return ("hincr", f"bal:{e.user_id}", e.account_id, str(delta))

    def _token_issued(self, p: Positioned) -> list[Op]:
        e, key = p.event, token_key(str(p.event.originator_id))
        expires = "" if e.expires_at is None else e.expires_at.isoformat()
        return [
            ("hset", key, "user", e.user_id),
            ("hset", key, "sha", e.secret_sha256),
            ("hset", key, "exp", expires),
        ]

    @staticmethod
    def _owner(e: Any) -> str:
        return str(e.user_id or "global")

    def _category_created(self, p: Positioned) -> list[Op]:
        e = p.event
        return [("hset", category_key(self._owner(e)), str(e.originator_id), _category_json(e))]

    def _category_updated(self, p: Positioned) -> list[Op]:
        return self._category_created(p)

    def _category_deleted(self, p: Positioned) -> list[Op]:
        e = p.event
        return [("hdel", category_key(self._owner(e)), str(e.originator_id), "")]

    def _db(self) -> int:
        return int(self.client.connection_pool.connection_kwargs.get("db", 0))

    def _staging_client(self) -> Any:
        live = self.client.connection_pool
        kwargs = {**live.connection_kwargs, "db": (self._db() + 1) % 16}
        pool = ConnectionPool(connection_class=live.connection_class, **kwargs)
        return Redis(connection_pool=pool)

    def staging_position(self) -> int | None:
        other = self._staging_client()
        try:
            raw = other.get(CHECKPOINT_KEY)
        finally:
            other.close()
        return None if raw is None else int(raw)

    def staging(self, *, restart: bool = False) -> RedisCache:
        other = self._staging_client()
        if restart or other.get(CHECKPOINT_KEY) is None:
            other.flushdb()
            other.set(CHECKPOINT_KEY, 0)  # marks the rebuild as under way
        return RedisCache(other)

    def promote(self, staging: RedisCache, settle: Callable[[], None]) -> None:
        # A live batch racing the swap lands in the old keyspace and is re-applied on the
        # new one: its checkpoint is the staging one.
        settle()
        self.client.swapdb(self._db(), staging._db())
        staging.client.flushdb()
        staging.client.close()

    def discard_staging(self) -> None:
        other = self._staging_client()
        other.flushdb()
        other.close()

    def checkpoint(self) -> int:
        return int(self.client.get(CHECKPOINT_KEY) or 0)

    def failed(self) -> bool:
        return bool(self.client.exists(FAILED_KEY))

    def fail(self, event: Positioned, error: str) -> None:
        self.client.hset(
            FAILED_KEY, mapping={"position": event.position, "topic": event.topic, "error": error}
        )

    def apply(self, batch: Sequence[Positioned], expected: int) -> bool:
        ops: list[Op] = []
        # Balance increments commute: one HINCRBY per account and batch, however many
        # transactions it holds. They are flushed before any other write to a balance
        # hash (an account opened at 0), so the result is that of the events in order.
        deltas: dict[tuple[str, str], int] = {}
        for item in batch:
            handler = self._handlers.get(type(item.event))
            if handler is None:
                continue
            for op in handler(item):
                if op[0] == "hincr":
                    deltas[op[1], op[2]] = deltas.get((op[1], op[2]), 0) + int(op[3])
                    continue
                if deltas and op[1].startswith("bal:"):
                    ops.extend(_increments(deltas))
                    deltas = {}
                ops.append(op)
        ops.extend(_increments(deltas))
        args: list[Any] = [expected, batch[-1].position]
        for op in ops:
            args.extend(op)
        return bool(self._apply(keys=[CHECKPOINT_KEY], args=args))


def _increments(deltas: dict[tuple[str, str], int]) -> list[Op]:
    return [("hincr", key, field, str(delta)) for (key, field), delta in deltas.items()]
