"""Every projection the worker runs, built in one place (the app and the admin CLI).

Adding a read model = adding its module and a line here: on the next deploy its
checkpoint starts at 0 and the worker builds it from history, touching no other.
"""

from __future__ import annotations

from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from projection_worker.projections.ledger_tables import LedgerTables
from projection_worker.projections.live_stream import LiveStream
from projection_worker.projections.memo_vectors import MemoVectors
from projection_worker.projections.redis_cache import RedisCache
from projection_worker.runner import Projection
from shared.adapters.backplane import Publisher
from shared.adapters.embedding import HashedNgrams
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
