"""Every projection the worker runs, built in one place (the app and the admin CLI).

Adding a read model = adding its module and a line here: on the next deploy its
checkpoint starts at 0 and the worker builds it from history, touching no other.
"""

from __future__ import annotations

from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from projection_worker.auto_categorize import AutoCategorizer
from projection_worker.budget_alerts import BudgetAlerts
from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.projections.live_stream import LiveStream
from projection_worker.projections.memo_vectors import MemoVectors
from projection_worker.projections.redis_cache import RedisCache
from projection_worker.runner import Projection
from shared.adapters.backplane import Publisher
from shared.adapters.embedding import HashedNgrams
from shared.adapters.eventstore import Ledger
from shared.settings import Settings


class Rebuildable(Projection, Protocol):
    """A projection that can be rebuilt beside itself and promoted atomically."""

    store: str

    def staging_position(self) -> int | None: ...

    def staging(self, *, restart: bool = False) -> Rebuildable: ...

    def promote(self, staging: Any, settle: Any) -> None: ...

    def discard_staging(self) -> None: ...


def projections(
    settings: Settings, pool: ConnectionPool, redis: Any, publisher: Publisher | None
) -> list[Rebuildable]:
    return [
        LedgerTables(pool, settings.readmodel_schema),
        LiveStream(pool, settings.readmodel_schema, publisher),
        RedisCache(redis),
        MemoVectors(pool, settings.readmodel_schema, HashedNgrams()),
    ]


def with_follow_ups(
    catalog: list[Rebuildable], ledger: Ledger, pool: ConnectionPool, settings: Settings
) -> list[Rebuildable]:
    """``catalog`` with what a live worker does after a batch: budget alerts after the
    tables', automatic categorization after the vector index's (a rebuild does neither:
    it replays history, it does not react to it)."""
    for projection in catalog:
        if isinstance(projection, LedgerTables):
            alerts = BudgetAlerts(ledger, pool, settings.readmodel_schema)
            projection.after_batch = alerts.after
        elif isinstance(projection, MemoVectors):
            categorize = AutoCategorizer(
                ledger, pool, settings.readmodel_schema, projection.categorizer
            )
            projection.after_batch = categorize.after
    return catalog


def lane_groups(names: list[str], processes: int) -> list[list[str]]:
    """The catalog split into at most ``processes`` contiguous groups, as even as can be:
    with two, the tables and the live stream (what readers and sockets wait on) stay in
    the first process, beside the head watch; the cache and the vector index go to the
    second (the four cost about 75:55 of a worker's CPU per imported row)."""
    count = max(1, min(processes, len(names)))
    size, extra = divmod(len(names), count)
    groups, at = [], 0
    for index in range(count):
        end = at + size + (1 if index < extra else 0)
        groups.append(names[at:end])
        at = end
    return groups
