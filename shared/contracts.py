"""Contracts between services: the names one service writes and another reads.

projection_worker writes the read models; query_service, ws_gateway and the operator CLI
read them; command_service writes the read-your-writes marks that query_service reads.
Every such name is defined here once, so a rename is one edit and a typo is a type
error, never a silent miss between two processes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

# Projections (each a read model with its own checkpoint) -----------------------------
LEDGER_TABLES: Final = "ledger_tables"
LIVE_STREAM: Final = "live_stream"
REDIS_CACHE: Final = "redis_cache"
MEMO_VECTORS: Final = "memo_vectors"

# PostgreSQL read-model tables shared by every projection stored there.
CHECKPOINTS_TABLE: Final = "projection_checkpoints"
PARKED_TABLE: Final = "parked_events"
QUARANTINE_TABLE: Final = "quarantined_events"
LIVE_LOG_TABLE: Final = "live_log"
MEMO_VECTORS_TABLE: Final = "memo_vectors"


def projection_lock_key(schema: str, projection: str) -> str:
    """The advisory lock a PostgreSQL-stored projection's batches take (``hashtext`` of
    it): one per (schema, projection), so a rebuild in a staging schema never waits on
    the live one; migrations take it too before deriving a table from the others."""
    return f"projection:{schema}.{projection}"


# Partitions: the unit of ordering a parked event holds back (see projection_worker.runner).
GLOBAL_PARTITION: Final = "global"

# HTTP headers ------------------------------------------------------------------------
POSITION_HEADER: Final = "X-Valorize-Position"
MIN_POSITION_HEADER: Final = "x-valorize-min-position"
BEHIND_HEADER: Final = "X-Valorize-Behind"
DEGRADED_HEADER: Final = "X-Valorize-Degraded"
READ_MODEL_HEADER: Final = "X-Valorize-Read-Model"  # which read model answered

# Redis keys --------------------------------------------------------------------------
# Read-your-writes: the command side marks each user's last written position (and the
# highest position it ever acknowledged); the query side waits for it.
HEAD_MARK_KEY: Final = "rw:head"


def write_mark_key(user_id: UUID | str) -> str:
    return f"rw:{user_id}"


def checkpoint_key(projection: str) -> str:
    """A Redis-stored projection's checkpoint (moved by the same script as its effects)."""
    return f"proj:{projection}"


def parked_version_key(projection: str) -> str:
    """Bumped on every park and release: guards a batch's choice of events to hold."""
    return f"park:{projection}:version"


def parked_partitions_key(projection: str) -> str:
    """Set of partitions held behind a parked event."""
    return f"park:{projection}:partitions"


def parked_list_key(projection: str, partition: str) -> str:
    """A partition's parked positions, oldest (the poison) first."""
    return f"park:{projection}:p:{partition}"


def parked_info_key(projection: str) -> str:
    """Hash position -> JSON {partition, topic, error} for every parked position."""
    return f"park:{projection}:info"


# The hot read model (``redis_cache``): the documents and indexes query_service's Lua
# reads to answer the hot queries in one round trip. Both sides build keys from these
# prefixes (Lua through ``lua_prefixes``), never from literals of their own.
HOT_PREFIXES: Final = {
    "txn": "t:",  # hash: u user, a account, c category ('' none), k c|d, m member, f fitid
    #               JSON, d document template
    "user_txns": "tu:",  # zset per user, every score 0, members ``txn_member``
    "account_txns": "ta:",  # zset per account, same members
    "category_txns": "tc:",  # zset per (user, category): "tc:{user}:{category}"
    "account": "a:",  # hash: u user, b balance, y currency, k type, p position, d template
    "user_accounts": "au:",  # zset per user: score opened position, member account id
    "category": "c:",  # hash: u owner ('' global), n name, f 1|0 default, d JSON
    "owner_categories": "cu:",  # set per owner (user id or ``global``)
    "budget": "b:",  # hash: u user, c category, p position, y currency, d template
    "user_budgets": "bu:",  # zset per user: score created position, member budget id
    "bank": "k:",  # string: bank JSON
    "version": "v:",  # counter per partition (user or ``global``): bumped by every batch
    #                   that changes it, so an unchanged pair means an unchanged answer
    "page": "pc:",  # rendered pages, hash: v "{user version}:{global version}", t total,
    #                d JSON; "pc:{user}:{the read's arguments, comma-joined}:{query}"
}
# Templates hold markers: MARK, a kind letter, then for a, c and k a 36-character id.
# Filled in when read: a an account's document, c a category's (or null), k a bank's,
# B the account's balance object. Filled in when written, from the hash written to (an
# amendment or a rename does not carry them): F the stored fitid (JSON), Y the stored
# currency (JSON string), C the stored category (as a c marker).
MARK: Final = "\x01"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def date_score(moment: datetime) -> int:
    """A transaction's score in the hot indexes: microseconds since the epoch, exact in a
    double (|value| < 2**53 for 1900-2200), so Redis orders equal and near dates as
    PostgreSQL's timestamptz does."""
    return (moment - _EPOCH) // _MICROSECOND


_DATE_OFFSET = 2**53  # every date key non-negative, so text order is number order


def date_key(moment: datetime) -> str:
    """17 digits that sort as ``moment`` does (exact to the microsecond, 1900-2200)."""
    return f"{date_score(moment) + _DATE_OFFSET:017d}"


def txn_member(moment: datetime, position: int, txn_id: str) -> str:
    """A transaction in the hot indexes (sorted sets of equal scores, so in text order):
    its date, then its position (ties on the date order by position, as the SQL's
    ``recorded_position DESC``), then ``|`` and its id, from character ``TXN_ID_AT``."""
    return f"{date_key(moment)}{position:015d}|{txn_id}"


TXN_ID_AT: Final = 34  # 1-based, as Lua's string.sub counts


def lua_prefixes() -> dict[str, str]:
    """``${name}`` substitutions for Lua sources (``string.Template``)."""
    return {
        **HOT_PREFIXES,
        "mark": "\\1",
        "checkpoint": checkpoint_key(REDIS_CACHE),
        "parked": parked_partitions_key(REDIS_CACHE),
        "write_mark": write_mark_key(""),
        "head_mark": HEAD_MARK_KEY,
        "id_at": str(TXN_ID_AT),
    }
