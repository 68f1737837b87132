"""``redis_cache``: hot keys in Redis, written exactly once by position.

Keys (all rebuildable from the events; Redis never holds the only copy of anything; the
names are in ``shared.contracts``):
  ``cats:{owner}``      hash category_id -> category JSON: the category list
  ``proj:redis_cache``  the checkpoint, moved by the same Lua call as the effects
  ``park:redis_cache:*`` parked events (see ``projection_worker.runner``)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from redis import ConnectionPool, Redis

from projection_worker.runner import (
    Parked,
    Positioned,
    ProjectionState,
    partition_of,
    split_held,
)
from shared.contracts import (
    REDIS_CACHE,
    categories_key,
    checkpoint_key,
    parked_info_key,
    parked_list_key,
    parked_partitions_key,
    parked_version_key,
)
from shared.domain.categories import Category

CHECKPOINT_KEY = checkpoint_key(REDIS_CACHE)
VERSION_KEY = parked_version_key(REDIS_CACHE)
PARTITIONS_KEY = parked_partitions_key(REDIS_CACHE)
INFO_KEY = parked_info_key(REDIS_CACHE)
QUARANTINE_KEY = f"park:{REDIS_CACHE}:quarantined"

# The effects: ops as (code, key, field, value) quads from ARGV[first] on.
_OPS = """
local function run_ops(first)
  for i = first, #ARGV, 4 do
    local op, key, field, value = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3]
    if op == 'hset' then redis.call('HSET', key, field, value)
    elseif op == 'hdel' then redis.call('HDEL', key, field)
    elseif op == 'del' then redis.call('DEL', key)
    end
  end
end
"""

# KEYS: checkpoint, version, info. ARGV: expected position, expected version, new position,
# H, then H (list key, position, info) triples, then the ops. Atomic in Redis, so a
# batch's effects, its held events and its checkpoint move together; a stale or
# duplicate batch does nothing (the compare-and-set fails).
APPLY = (
    _OPS
    + """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) or version ~= tonumber(ARGV[2]) then return 0 end
local held = tonumber(ARGV[4])
for i = 5, 4 + held * 3, 3 do
  redis.call('RPUSH', ARGV[i], ARGV[i+1])
  redis.call('HSET', KEYS[3], ARGV[i+1], ARGV[i+2])
end
run_ops(5 + held * 3)
redis.call('SET', KEYS[1], ARGV[3])
return 1
"""
)

# KEYS: checkpoint, version, info, partitions, list. ARGV: expected position, expected
# version, position, partition, info.
PARK = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local version = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) or version ~= tonumber(ARGV[2]) then return 0 end
redis.call('RPUSH', KEYS[5], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[3])
return 1
"""

# KEYS: version, info, partitions, list, audit. ARGV: position, partition, audit record
# ('' to apply instead), then the ops. Only the head of the partition's list is unparked.
UNPARK = (
    _OPS
    + """
if redis.call('LINDEX', KEYS[4], 0) ~= ARGV[1] then return 0 end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[5], ARGV[1], ARGV[3])
else
  run_ops(4)
end
redis.call('LPOP', KEYS[4])
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[2])
  redis.call('INCR', KEYS[1])
end
return 1
"""
)

Op = tuple[str, str, str, str]


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


def _info(item: Positioned, error: str | None) -> str:
    partition = partition_of(item.event)
    return orjson.dumps({"partition": partition, "topic": item.topic, "error": error}).decode()


class RedisCache:
    """Rebuilt blue-green in the next logical database, then swapped in with ``SWAPDB``
    (one atomic command: readers see the old keyspace or the new one, never a mix)."""

    name = REDIS_CACHE
    store = "redis"

    def __init__(self, client: Any) -> None:
        self.client = client
        self._apply = client.register_script(APPLY)
        self._park = client.register_script(PARK)
        self._unpark = client.register_script(UNPARK)
        self._handlers: dict[type, Callable[[Positioned], list[Op]]] = {
            Category.Created: self._category_created,
            Category.Updated: self._category_created,
            Category.Deleted: self._category_deleted,
        }

    def handles(self, event: object) -> bool:
        return type(event) in self._handlers

    @staticmethod
    def _owner(e: Any) -> str:
        return str(e.user_id or "global")

    def _category_created(self, p: Positioned) -> list[Op]:
        e = p.event
        return [("hset", categories_key(self._owner(e)), str(e.originator_id), _category_json(e))]

    def _category_deleted(self, p: Positioned) -> list[Op]:
        e = p.event
        return [("hdel", categories_key(self._owner(e)), str(e.originator_id), "")]

    def _ops(self, items: Sequence[Positioned]) -> list[str]:
        args: list[str] = []
        for item in items:
            handler = self._handlers.get(type(item.event))
            if handler is not None:
                for op in handler(item):
                    args.extend(op)
        return args

    # Blue-green -------------------------------------------------------------------------

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

    # Checkpoint and parking ----------------------------------------------------------------

    def state(self) -> ProjectionState:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.get(CHECKPOINT_KEY)
            pipe.get(VERSION_KEY)
            pipe.smembers(PARTITIONS_KEY)
            position, version, parked = pipe.execute()
        return ProjectionState(
            int(position or 0), frozenset(p.decode() for p in parked), int(version or 0)
        )

    def checkpoint(self) -> int:
        return int(self.client.get(CHECKPOINT_KEY) or 0)

    def apply(self, batch: Sequence[Positioned], expected: ProjectionState) -> bool:
        live, held = split_held(batch, expected.parked, self.handles)
        args: list[Any] = [expected.position, expected.version, batch[-1].position, len(held)]
        for item in held:
            args += [parked_list_key(REDIS_CACHE, partition_of(item.event)), item.position]
            args.append(_info(item, None))
        args += self._ops(live)
        return bool(self._apply(keys=[CHECKPOINT_KEY, VERSION_KEY, INFO_KEY], args=args))

    def park(self, item: Positioned, error: str, expected: ProjectionState) -> bool:
        partition = partition_of(item.event)
        keys = [
            CHECKPOINT_KEY,
            VERSION_KEY,
            INFO_KEY,
            PARTITIONS_KEY,
            parked_list_key(REDIS_CACHE, partition),
        ]
        args = [expected.position, expected.version, item.position, partition, _info(item, error)]
        return bool(self._park(keys=keys, args=args))

    def parked(self) -> list[Parked]:
        found: list[Parked] = []
        for raw in sorted(self.client.smembers(PARTITIONS_KEY)):
            partition = raw.decode()
            positions = [
                int(p) for p in self.client.lrange(parked_list_key(REDIS_CACHE, partition), 0, -1)
            ]
            infos = self.client.hmget(INFO_KEY, positions) if positions else []
            for position, info in zip(positions, infos, strict=True):
                body = orjson.loads(info) if info else {}
                found.append(Parked(position, partition, body.get("topic", ""), body.get("error")))
        return found

    def _unparking(self, partition: str) -> list[str]:
        return [
            VERSION_KEY,
            INFO_KEY,
            PARTITIONS_KEY,
            parked_list_key(REDIS_CACHE, partition),
            QUARANTINE_KEY,
        ]

    def release(self, item: Positioned) -> bool:
        partition = partition_of(item.event)
        args = [item.position, partition, "", *self._ops([item])]
        return bool(self._unpark(keys=self._unparking(partition), args=args))

    def repark(self, position: int, error: str) -> None:
        info = self.client.hget(INFO_KEY, position)
        body = orjson.loads(info) if info else {}
        self.client.hset(INFO_KEY, position, orjson.dumps({**body, "error": error}))

    def quarantine(self, position: int, reason: str) -> bool:
        info = self.client.hget(INFO_KEY, position)
        if info is None:
            return False
        body = orjson.loads(info)
        audit = orjson.dumps({**body, "reason": reason}).decode()
        args = [position, body["partition"], audit]
        return bool(self._unpark(keys=self._unparking(body["partition"]), args=args))
