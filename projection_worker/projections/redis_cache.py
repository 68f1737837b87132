"""``redis_cache``: the hot read model, in Redis, written exactly once by position.

Every key it writes is read by query_service's hot reads (``query_service/hot.py``),
which answer the hot queries (transaction pages in the C1/C3 filter shapes, accounts,
categories, budgets, and each of them by id) in one round trip. The layout is in
``shared.contracts.HOT_PREFIXES``; documents are rendered here once per event
(``hot_documents``). Rebuildable from the events at any time; Redis never holds the only
copy of anything. ``proj:redis_cache`` is the checkpoint, moved by the same Lua call as
the batch's effects, and ``park:redis_cache:*`` holds parked events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from string import Template
from typing import Any

import orjson
from redis import ConnectionPool, Redis

from projection_worker.feed import Positioned
from projection_worker.projections import hot_documents as docs
from projection_worker.runner import Parked, ProjectionState, partition_of, split_held
from shared.contracts import (
    GLOBAL_PARTITION,
    HOT_PREFIXES,
    REDIS_CACHE,
    checkpoint_key,
    date_key,
    lua_prefixes,
    parked_info_key,
    parked_list_key,
    parked_partitions_key,
    parked_version_key,
    txn_member,
)
from shared.domain.accounts import Account
from shared.domain.banks import Bank
from shared.domain.budgets import Budget
from shared.domain.categories import Category
from shared.domain.transactions import Transaction, type_name
from shared.domain.users import User

CHECKPOINT_KEY = checkpoint_key(REDIS_CACHE)
VERSION_KEY = parked_version_key(REDIS_CACHE)
PARTITIONS_KEY = parked_partitions_key(REDIS_CACHE)
INFO_KEY = parked_info_key(REDIS_CACHE)
QUARANTINE_KEY = f"park:{REDIS_CACHE}:quarantined"
K = HOT_PREFIXES

# The effects, as ops: a name, its argument count, its arguments (from ARGV[first] on).
# Indexes of a transaction (user, account, category sets) follow its hash; an account's
# closing removes its transactions, a category's deletion clears it from transactions
# (what the SQL read model's cascades do).
_OPS = Template(r"""
local P = {txn='${txn}', user_txns='${user_txns}', account_txns='${account_txns}',
  category_txns='${category_txns}', account='${account}', user_accounts='${user_accounts}',
  category='${category}', owner_categories='${owner_categories}'}
local OPS = {}
local function fill(key, doc)
  local f = redis.call('HMGET', key, 'f', 'y', 'c')
  return (string.gsub(doc, '${mark}([FYC])', function(k)
    if k == 'F' then return f[1] or 'null' end
    if k == 'Y' then return '"' .. (f[2] or '') .. '"' end
    return '${mark}c' .. (f[3] or '')
  end))
end
OPS.hset = function(...) redis.call('HSET', ...) end
OPS.hupd = function(key, ...)
  if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, ...) end
end
OPS.set = function(key, value) redis.call('SET', key, value) end
OPS.incr = function(key) redis.call('INCR', key) end
OPS.sadd = function(key, member) redis.call('SADD', key, member) end
OPS.zadd = function(key, score, member) redis.call('ZADD', key, score, member) end
OPS.zrem = function(key, member) redis.call('ZREM', key, member) end
OPS.doc = function(key, doc)
  if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'd', fill(key, doc)) end
end
OPS.bal = function(key, delta)
  if redis.call('EXISTS', key) == 1 then redis.call('HINCRBY', key, 'b', delta) end
end
OPS.zaddp = function(key, hash, member)
  local position = redis.call('HGET', hash, 'p')
  if position then redis.call('ZADD', key, position, member) end
end
OPS.txnew = function(id, user, account, category, kind, member, fitid, doc)
  -- A recorded transaction: new by construction (its id is its aggregate's, version 1,
  -- and each event is applied once), so no old indexes to move.
  redis.call('HSET', P.txn .. id, 'u', user, 'a', account, 'c', category, 'k', kind,
    'm', member, 'f', fitid, 'd', doc)
  redis.call('ZADD', P.user_txns .. user, 0, member)
  redis.call('ZADD', P.account_txns .. account, 0, member)
  if category ~= '' then
    redis.call('ZADD', P.category_txns .. user .. ':' .. category, 0, member)
  end
end
OPS.txput = function(id, user, account, category, kind, member)
  -- ``member`` is a txn_member, or (an amendment) only the new date key: the recorded
  -- position is kept from the stored member.
  local key = P.txn .. id
  local old = redis.call('HMGET', key, 'c', 'm')
  if #member == 17 then
    if not old[2] then return end  -- amending a transaction this model never had
    member = member .. string.sub(old[2], 18)
  end
  if old[2] then
    redis.call('ZREM', P.user_txns .. user, old[2])
    redis.call('ZREM', P.account_txns .. account, old[2])
    if old[1] ~= '' then redis.call('ZREM', P.category_txns .. user .. ':' .. old[1], old[2]) end
  end
  redis.call('HSET', key, 'u', user, 'a', account, 'c', category, 'k', kind, 'm', member)
  redis.call('ZADD', P.user_txns .. user, 0, member)
  redis.call('ZADD', P.account_txns .. account, 0, member)
  if category ~= '' then
    redis.call('ZADD', P.category_txns .. user .. ':' .. category, 0, member)
  end
end
OPS.txdel = function(id)
  local key = P.txn .. id
  local t = redis.call('HMGET', key, 'u', 'a', 'c', 'm')
  if not t[1] then return end
  redis.call('ZREM', P.user_txns .. t[1], t[4])
  redis.call('ZREM', P.account_txns .. t[2], t[4])
  if t[3] ~= '' then redis.call('ZREM', P.category_txns .. t[1] .. ':' .. t[3], t[4]) end
  redis.call('DEL', key)
end
OPS.acctclose = function(id, user)
  for _, m in ipairs(redis.call('ZRANGE', P.account_txns .. id, 0, -1)) do
    local key = P.txn .. string.sub(m, ${id_at})
    local c = redis.call('HGET', key, 'c')
    redis.call('ZREM', P.user_txns .. user, m)
    if c and c ~= '' then redis.call('ZREM', P.category_txns .. user .. ':' .. c, m) end
    redis.call('DEL', key)
  end
  redis.call('DEL', P.account_txns .. id, P.account .. id)
  redis.call('ZREM', P.user_accounts .. user, id)
end
OPS.catdel = function(id, owner)
  local set = P.category_txns .. owner .. ':' .. id
  for _, m in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    redis.call('HSET', P.txn .. string.sub(m, ${id_at}), 'c', '')
  end
  redis.call('DEL', set, P.category .. id)
  redis.call('SREM', P.owner_categories .. owner, id)
end
OPS.userdel = function(user, budgets, budget_prefix)
  -- The tombstone of a user: every key of theirs goes (accounts with their
  -- transactions, categories, budgets, then the per-user indexes).
  for _, id in ipairs(redis.call('ZRANGE', P.user_accounts .. user, 0, -1)) do
    OPS.acctclose(id, user)
  end
  for _, id in ipairs(redis.call('SMEMBERS', P.owner_categories .. user)) do
    OPS.catdel(id, user)
  end
  for _, id in ipairs(redis.call('ZRANGE', budgets, 0, -1)) do
    redis.call('DEL', budget_prefix .. id)
  end
  for _, m in ipairs(redis.call('ZRANGE', P.user_txns .. user, 0, -1)) do
    redis.call('DEL', P.txn .. string.sub(m, ${id_at}))
  end
  redis.call('DEL', P.user_accounts .. user, P.owner_categories .. user, budgets,
    P.user_txns .. user)
end
local function run_ops(first)
  local i = first
  while i <= #ARGV do
    local n = tonumber(ARGV[i + 1])
    OPS[ARGV[i]](unpack(ARGV, i + 2, i + 1 + n))
    i = i + 2 + n
  end
end
""").substitute(lua_prefixes())

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

Op = list[Any]  # [name, *arguments]
_PLAIN = frozenset((str, bytes, int))  # what Redis takes as is; the rest (UUIDs) as str
_WRITE_TIME = (b"\x01F", b"\x01Y", b"\x01C")  # markers only the written hash can fill


def _doc(key: str, template: bytes) -> Op:
    """Store a document: as it is, or filled in from its hash (see ``fill`` in the Lua)."""
    if any(marker in template for marker in _WRITE_TIME):
        return ["doc", key, template]
    return ["hupd", key, "d", template]


def _info(item: Positioned, error: str | None) -> str:
    partition = partition_of(item.event)
    return orjson.dumps({"partition": partition, "topic": item.topic, "error": error}).decode()


def _owner(e: Any) -> str:
    return str(e.user_id or GLOBAL_PARTITION)


def _balance_change(e: Any) -> int | None:
    if isinstance(e, Transaction.Recorded):
        return int(e.amount)
    if isinstance(e, Transaction.Amended):
        return int(e.amount - e.previous_amount)
    if isinstance(e, Transaction.Deleted):
        return -int(e.amount)
    return None


class _Effects:
    """The ops of each event kind (pure: events in, ops out)."""

    def __init__(self) -> None:
        self.handlers: dict[type, Callable[[Positioned], list[Op]]] = {
            Bank.Registered: self.bank,
            Account.Opened: self.account_opened,
            Account.Updated: self.account_updated,
            Account.CurrencyChanged: self.account_currency_changed,
            Account.Closed: lambda p: [["acctclose", p.event.originator_id, p.event.user_id]],
            Category.Created: self.category_created,
            Category.Updated: self.category_updated,
            Category.Deleted: lambda p: [["catdel", p.event.originator_id, _owner(p.event)]],
            Transaction.Recorded: self.transaction_recorded,
            Transaction.Amended: self.transaction_amended,
            Transaction.Deleted: self.transaction_deleted,
            Budget.Created: self.budget_created,
            Budget.Reopened: self.budget_reopened,
            Budget.Renamed: self.budget_renamed,
            Budget.Deleted: lambda p: [
                ["zrem", K["user_budgets"] + p.event.user_id, p.event.originator_id]
            ],
            User.Deleted: self.user_deleted,
        }

    @staticmethod
    def bank(p: Positioned) -> list[Op]:
        return [["set", K["bank"] + str(p.event.originator_id), docs.bank(p.event)]]

    @staticmethod
    def account_opened(p: Positioned) -> list[Op]:
        e, key = p.event, K["account"] + str(p.event.originator_id)
        fields = ["u", e.user_id, "y", e.currency, "k", e.type, "p", p.position, "b", 0]
        return [
            ["hset", key, *fields],
            _doc(key, docs.account(e)),
            ["zadd", K["user_accounts"] + e.user_id, p.position, e.originator_id],
        ]

    @staticmethod
    def account_updated(p: Positioned) -> list[Op]:
        e, key = p.event, K["account"] + str(p.event.originator_id)
        return [["hupd", key, "k", e.type], _doc(key, docs.account(e))]

    @staticmethod
    def account_currency_changed(p: Positioned) -> list[Op]:
        e, key = p.event, K["account"] + str(p.event.originator_id)
        return [["hupd", key, "k", e.type, "y", e.currency], _doc(key, docs.account(e))]

    @staticmethod
    def category_created(p: Positioned) -> list[Op]:
        e, key = p.event, K["category"] + str(p.event.originator_id)
        owner = "" if e.user_id is None else e.user_id
        fields = ["u", owner, "n", e.name, "f", int(e.is_default), "d", docs.category(e)]
        return [
            ["hset", key, *fields],
            ["sadd", K["owner_categories"] + _owner(e), e.originator_id],
        ]

    @staticmethod
    def category_updated(p: Positioned) -> list[Op]:
        e, key = p.event, K["category"] + str(p.event.originator_id)
        return [["hupd", key, "n", e.name, "f", int(e.is_default), "d", docs.category(e)]]

    @staticmethod
    def _txput(e: Any, member: str) -> Op:
        kind = type_name(e.amount)[0]
        return [
            "txput",
            e.originator_id,
            e.user_id,
            e.account_id,
            e.category_id or "",
            kind,
            member,
        ]

    @staticmethod
    def transaction_recorded(p: Positioned) -> list[Op]:
        e, txn_id = p.event, str(p.event.originator_id)
        return [
            [
                "txnew",
                txn_id,
                e.user_id,
                e.account_id,
                e.category_id or "",
                type_name(e.amount)[0],
                txn_member(e.date, p.position, txn_id),
                orjson.dumps(e.fitid),
                docs.transaction(e, fitid=e.fitid),
            ]
        ]

    def transaction_amended(self, p: Positioned) -> list[Op]:
        e, key = p.event, K["txn"] + str(p.event.originator_id)
        return [
            self._txput(e, date_key(e.date)),
            _doc(key, docs.transaction(e, fitid=docs.mark("F"))),
        ]

    @staticmethod
    def transaction_deleted(p: Positioned) -> list[Op]:
        return [["txdel", p.event.originator_id]]

    @staticmethod
    def user_deleted(p: Positioned) -> list[Op]:
        user = str(p.event.originator_id)
        return [["userdel", user, K["user_budgets"] + user, K["budget"]]]

    @staticmethod
    def budget_created(p: Positioned) -> list[Op]:
        e, key = p.event, K["budget"] + str(p.event.originator_id)
        fields = ["u", e.user_id, "c", e.category_id, "p", p.position, "y", e.currency]
        template = docs.budget(str(e.originator_id), e.name, e.category_id, e.currency)
        return [
            ["hset", key, *fields],
            _doc(key, template),
            ["zadd", K["user_budgets"] + e.user_id, p.position, e.originator_id],
        ]

    @staticmethod
    def budget_reopened(p: Positioned) -> list[Op]:
        e, key = p.event, K["budget"] + str(p.event.originator_id)
        return [
            ["hupd", key, "y", e.currency],
            _doc(key, docs.budget(str(e.originator_id), e.name, None, e.currency)),
            ["zaddp", K["user_budgets"] + e.user_id, key, e.originator_id],
        ]

    @staticmethod
    def budget_renamed(p: Positioned) -> list[Op]:
        e, key = p.event, K["budget"] + str(p.event.originator_id)
        return [_doc(key, docs.budget(str(e.originator_id), e.name, None, None))]

    def args(self, items: Sequence[Positioned]) -> list[Any]:
        """The ops of ``items``, in order, flattened as the Lua scripts read them; then each
        account's balance change, summed (increments commute; an account opened in the
        batch has its zero first, one closed in it has no hash left to change); then a
        version bump of each partition they changed (the query side's kept pages are
        valid while their partitions' versions stand still)."""
        flat: list[Any] = []
        changed: set[str] = set()
        deltas: dict[str, int] = {}
        for item in items:
            handler = self.handlers.get(type(item.event))
            if handler is None:
                continue
            changed.add(partition_of(item.event))
            if (delta := _balance_change(item.event)) is not None:
                deltas[item.event.account_id] = deltas.get(item.event.account_id, 0) + delta
            for op in handler(item):
                flat.append(op[0])
                flat.append(len(op) - 1)
                flat += [a if a.__class__ in _PLAIN else str(a) for a in op[1:]]
        for account, delta in deltas.items():
            if delta:
                flat += ["bal", 2, K["account"] + account, delta]
        for partition in sorted(changed):
            flat += ["incr", 1, K["version"] + partition]
        return flat


class RedisCache:
    """Rebuilt blue-green in the next logical database, then swapped in with ``SWAPDB``
    (one atomic command: readers see the old keyspace or the new one, never a mix)."""

    name = REDIS_CACHE
    PACE = 0.01  # seconds between busy batches: hot reads wait on it
    store = "redis"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.effects = _Effects()
        self._apply = client.register_script(APPLY)
        self._park = client.register_script(PARK)
        self._unpark = client.register_script(UNPARK)

    def handles(self, event: object) -> bool:
        return type(event) in self.effects.handlers

    def _ops(self, items: Sequence[Positioned]) -> list[Any]:
        return self.effects.args(items)

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
            other.flushdb(asynchronous=True)
            other.set(CHECKPOINT_KEY, 0)  # marks the rebuild as under way
        return RedisCache(other)

    def promote(self, staging: RedisCache, settle: Callable[[], None]) -> None:
        # A live batch racing the swap lands in the old keyspace and is re-applied on the
        # new one: its checkpoint is the staging one.
        settle()
        # The old keyspace is freed in Redis's background thread (FLUSHDB ASYNC): a
        # synchronous flush of millions of keys blocks every reader and outlasts the
        # client's socket timeout.
        self.client.swapdb(self._db(), staging._db())
        staging.client.flushdb(asynchronous=True)
        staging.client.close()

    def discard_staging(self) -> None:
        other = self._staging_client()
        other.flushdb(asynchronous=True)
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
        if not self._apply(keys=[CHECKPOINT_KEY, VERSION_KEY, INFO_KEY], args=args):
            return False
        self._forget_pages(live)
        return True

    def _forget_pages(self, items: Sequence[Positioned]) -> None:
        """A deleted user's rendered pages (``pc:``) go too. Outside the script: a SCAN,
        and pages are a cache that can no longer be served anyway (the user's version
        moved, and their tokens are revoked)."""
        for item in items:
            if type(item.event) is User.Deleted:
                pattern = f"{K['page']}{item.event.originator_id}:*"
                for key in self.client.scan_iter(match=pattern, count=1000):
                    self.client.delete(key)

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
            listed = self.client.lrange(parked_list_key(REDIS_CACHE, partition), 0, -1)
            positions = [int(p) for p in listed]
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
