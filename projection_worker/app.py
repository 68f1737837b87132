"""projection_worker: the Cloud Tasks push endpoint that moves the projections forward.

A task is only a wake-up. The worker always reads from each projection's checkpoint, so
late, duplicated or reordered tasks are harmless, and a periodic sweep catches up when a
task was never enqueued (e.g. the enqueue failed after the commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypedDict

from redis import Redis
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projection_worker.catalog import projections
from projection_worker.runner import Runner
from projection_worker.status import status
from shared.eventstore import open_ledger
from shared.http import JSONResponse
from shared.settings import Settings, get_settings
from shared.wiring import publisher_from, readmodel_pool

logger = logging.getLogger(__name__)


class Worker:
    """One catch-up at a time per process; concurrent wake-ups just ask for another pass."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._running = threading.Lock()
        self._again = threading.Event()

    def wake(self) -> int:
        self._again.set()
        if not self._running.acquire(blocking=False):
            return 0  # the pass under way will see the new events (it loops while asked)
        try:
            applied = 0
            while self._again.is_set():
                self._again.clear()
                applied += self.runner.catch_up()
            return applied
        finally:
            self._running.release()


class State(TypedDict):
    worker: Worker
    report: Callable[[], list[dict[str, Any]]]


async def wake(request: Request) -> Response:
    worker: Worker = request.state.worker
    await request.body()  # {"position": N}: a hint only, we read from our checkpoints
    applied = await run_in_threadpool(worker.wake)
    return JSONResponse({"applied": applied})


async def projections_status(request: Request) -> Response:
    """Each projection's checkpoint, lag and state, for dashboards and health checks."""
    report = await run_in_threadpool(request.state.report)
    return JSONResponse({"projections": report})


async def up(_: Request) -> Response:
    return JSONResponse({"status": "up"})


async def _sweep(worker: Worker, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(worker.wake)
        except Exception:
            logger.exception("sweep failed")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        ledger = open_ledger(settings)
        pool = readmodel_pool(settings)
        redis = Redis.from_url(settings.redis_url)
        publisher = publisher_from(settings, redis)
        catalog = projections(settings, pool, redis, publisher)
        runner = Runner(ledger, catalog)
        worker = Worker(runner)
        sweeper = asyncio.create_task(_sweep(worker, settings.sweep_seconds))
        try:
            yield {"worker": worker, "report": lambda: status(ledger, catalog)}
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            redis.close()
            pool.close()
            ledger.close()

    return Starlette(
        routes=[
            Route("/tasks/wake", wake, methods=["POST"]),
            Route("/projections", projections_status),
            Route("/up", up),
        ],
        lifespan=lifespan,
    )
