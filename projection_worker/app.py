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

from projection_worker.catalog import Rebuildable, projections
from projection_worker.runner import TRANSIENT, Projection, Runner
from projection_worker.status import status
from shared.eventstore import open_ledger
from shared.http import JSONResponse
from shared.settings import Settings, get_settings
from shared.wiring import publisher_from, readmodel_pool

logger = logging.getLogger(__name__)


class Lane:
    """One projection's catch-up loop, on its own thread: a slow read model (say, the
    vector index) never delays a fast one (the tables reads wait on)."""

    def __init__(self, runner: Runner, projection: Projection) -> None:
        self.runner, self.projection = runner, projection
        self._poked = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=projection.name, daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._poked.set()

    def _run(self) -> None:
        while True:
            self._poked.wait()
            self._poked.clear()  # pokes arriving during the pass ask for one more
            if self._stopped:
                return
            try:
                self.runner.catch_up_one(self.projection)
            except TRANSIENT:
                logger.warning("%s: store unavailable, will retry", self.projection.name)
            except Exception:
                logger.exception("%s: catch-up failed", self.projection.name)

    def stop(self) -> None:
        self._stopped = True
        self._poked.set()
        self._thread.join(timeout=30)


class Worker:
    """Wake-ups only poke the lanes: the task is acknowledged at once, and the lanes read
    from their own checkpoints whatever position the task named."""

    def __init__(self, runner: Runner, catalog: list[Rebuildable]) -> None:
        self.lanes = [Lane(runner, projection) for projection in catalog]

    def wake(self) -> None:
        for lane in self.lanes:
            lane.poke()

    def stop(self) -> None:
        for lane in self.lanes:
            lane.stop()


class State(TypedDict):
    worker: Worker
    report: Callable[[], list[dict[str, Any]]]


MAX_WAKE_BODY = 4096  # a task carries a position, if anything


async def wake(request: Request) -> Response:
    """The task's body (a position) is never read: we read from our checkpoints, so a
    wake-up costs the same whatever was sent with it; one declared larger than a task
    could need is refused before a byte of it is read."""
    declared = request.headers.get("content-length", "0")
    if not declared.isascii() or not declared.isdigit() or int(declared) > MAX_WAKE_BODY:
        return JSONResponse({"message": "A wake-up carries no body."}, status_code=413)
    worker: Worker = request.state.worker
    worker.wake()
    return JSONResponse({"accepted": True}, status_code=202)


async def projections_status(request: Request) -> Response:
    """Each projection's checkpoint, lag and state, for dashboards and health checks:
    positions and error types only (error texts can quote users' data; the operator CLI
    shows them)."""
    report = await run_in_threadpool(request.state.report)
    return JSONResponse({"projections": report})


async def up(_: Request) -> Response:
    return JSONResponse({"status": "up"})


async def _sweep(worker: Worker, every: float) -> None:
    """The safety net: a lost or never-enqueued task delays projection by this much."""
    while True:
        worker.wake()
        await asyncio.sleep(every)


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
        worker = Worker(runner, catalog)
        sweeper = asyncio.create_task(_sweep(worker, settings.sweep_seconds))
        try:
            yield {"worker": worker, "report": lambda: status(ledger, catalog, public=True)}
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await run_in_threadpool(worker.stop)
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
