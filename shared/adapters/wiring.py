"""Building the adapters every process needs from :class:`Settings` (called in lifespans)."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from shared.adapters.backplane import (
    Publisher,
    PubSubPublisher,
    PubSubSubscriber,
    RedisPublisher,
    RedisSubscriber,
    Subscriber,
)
from shared.adapters.wakeup import BackgroundWakeup, CloudTasksWakeup, NullWakeup, Wakeup
from shared.settings import Settings

# Read models compare timestamps with calendar dates: make "a day" mean a UTC day,
# whatever the server's default time zone.
UTC_SESSION = "-c timezone=UTC"


def readmodel_pool(settings: Settings, *, max_size: int | None = None) -> ConnectionPool:
    """A pool on the read-model database: its own connections, never the event store's."""
    size = max_size or settings.pool_size
    pool = ConnectionPool(
        settings.readmodel_dsn,
        min_size=1,
        max_size=size,
        open=False,
        kwargs={"autocommit": True, "options": UTC_SESSION},
    )
    pool.open(wait=True, timeout=30)
    return pool


async def async_pool(dsn: str, size: int, *, dict_rows: bool = False) -> AsyncConnectionPool[Any]:
    """An async pool (query side, gateway): autocommit reads in UTC sessions."""
    kwargs: dict[str, Any] = {"autocommit": True, "options": UTC_SESSION}
    if dict_rows:
        kwargs["row_factory"] = dict_row
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        dsn, min_size=1, max_size=size, open=False, kwargs=kwargs
    )
    await pool.open(wait=True, timeout=30)
    return pool


def wakeup_from(settings: Settings) -> Wakeup:
    """Cloud Tasks when a worker URL is configured (emulator locally), else nothing:
    the worker's periodic sweep still catches up, only later."""
    if not settings.worker_url:
        return NullWakeup()
    tasks = CloudTasksWakeup(
        settings.tasks_project,
        settings.tasks_location,
        settings.tasks_queue,
        settings.worker_url,
        emulator_host=settings.tasks_emulator_host or None,
        service_account_email=settings.tasks_service_account or None,
    )
    return BackgroundWakeup(tasks, settings.wakeup_interval_seconds)


def publisher_from(settings: Settings, redis: Any) -> Publisher:
    """The live backplane: Redis by default, Google Pub/Sub when ``WS_BACKPLANE=pubsub``."""
    if settings.backplane == "pubsub":
        return PubSubPublisher(
            settings.pubsub_project, settings.pubsub_topic, settings.pubsub_emulator_host or None
        )
    return RedisPublisher(redis)


def subscriber_from(settings: Settings) -> Subscriber:
    if settings.backplane == "pubsub":
        return PubSubSubscriber(
            settings.pubsub_project, settings.pubsub_topic, settings.pubsub_emulator_host or None
        )
    return RedisSubscriber(settings.redis_url)


def settle_heap() -> None:
    """Call once a server has started: what exists then lives as long as the process, so
    it is moved out of the collector's sight (``gc.freeze``), and young collections run
    every 50,000 allocations instead of 700. Measured on the hot read path (2 processes,
    64 clients): p95 24 -> 12 ms, p99 72 -> 22 ms, throughput +5%; request handling makes
    next to no reference cycles, so memory does not grow for it."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1_000)
