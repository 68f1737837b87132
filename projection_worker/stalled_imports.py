"""Imports left ``processing`` with nobody processing them get their task again.

An upload commits ``Import.Started`` and then enqueues the task that processes it; if the
enqueue fails after the commit (Cloud Tasks unreachable, the instance stopped), nothing
would ever process it, and it would stay ``processing`` for good (the original's quirk).
Every ``IMPORT_STALE_SECONDS / 2`` the worker finds imports still processing whose last
event (start or chunk) is older than ``IMPORT_STALE_SECONDS`` in ``ledger_tables`` and
enqueues their task again. Processing is idempotent and resumes after the last committed
chunk, so a task sent while another is still running, or twice by two workers, changes
nothing twice: at worst one of them loses its commit race and starts again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from uuid import UUID

from psycopg.sql import SQL, Identifier
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)


class StalledImports:
    def __init__(
        self,
        pool: ConnectionPool,
        schema: str,
        enqueue: Callable[[UUID], None],
        stale_after: float,
    ) -> None:
        """``enqueue``: sends an import's task (``CloudTasksImports.enqueue``)."""
        self.pool, self.enqueue, self.stale_after = pool, enqueue, stale_after
        self._stalled = SQL(
            "SELECT id FROM {s}.imports WHERE status = 'processing' "
            "AND updated_at < now() - make_interval(secs => %s) ORDER BY updated_at LIMIT 100"
        ).format(s=Identifier(schema))

    def sweep(self) -> list[UUID]:
        """Enqueue the task of every stalled import (at most 100 a round); their ids."""
        with self.pool.connection() as conn:
            found = [row[0] for row in conn.execute(self._stalled, (self.stale_after,))]
        for import_id in found:
            logger.warning("import %s: still processing, task sent again", import_id)
            self.enqueue(import_id)
        return found
