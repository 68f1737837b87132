"""Building the adapters every process needs from :class:`Settings` (called in lifespans)."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from shared.settings import Settings
from shared.wakeup import CloudTasksWakeup, NullWakeup, Wakeup


def readmodel_pool(settings: Settings, *, max_size: int | None = None) -> ConnectionPool:
    """A pool on the read-model database: its own connections, never the event store's."""
    size = max_size or settings.pool_size
    pool = ConnectionPool(
        settings.readmodel_dsn, min_size=1, max_size=size, open=False, kwargs={"autocommit": True}
    )
    pool.open(wait=True, timeout=30)
    return pool


def wakeup_from(settings: Settings) -> Wakeup:
    """Cloud Tasks when a worker URL is configured (emulator locally), else nothing:
    the worker's periodic sweep still catches up, only later."""
    if not settings.worker_url:
        return NullWakeup()
    return CloudTasksWakeup(
        settings.tasks_project,
        settings.tasks_location,
        settings.tasks_queue,
        settings.worker_url,
        emulator_host=settings.tasks_emulator_host or None,
        service_account_email=settings.tasks_service_account or None,
    )
