"""Contracts between services: the names one service writes and another reads.

projection_worker writes the read models; query_service, ws_gateway and the operator CLI
read them; command_service writes the read-your-writes marks that query_service reads.
Every such name is defined here once, so a rename is one edit and a typo is a type
error, never a silent miss between two processes.
"""

from __future__ import annotations

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

# Partitions: the unit of ordering a parked event holds back (see projection_worker.runner).
GLOBAL_PARTITION: Final = "global"

# HTTP headers ------------------------------------------------------------------------
POSITION_HEADER: Final = "X-Valorize-Position"
MIN_POSITION_HEADER: Final = "x-valorize-min-position"
BEHIND_HEADER: Final = "X-Valorize-Behind"
DEGRADED_HEADER: Final = "X-Valorize-Degraded"

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


def token_key(token_id: UUID | str) -> str:
    """Hash {user, sha, exp, rev}: a token's record, for auth without PostgreSQL."""
    return f"tok:{token_id}"


def categories_key(owner: str) -> str:
    """Hash category id -> category JSON, per user (or ``global``)."""
    return f"cats:{owner}"
