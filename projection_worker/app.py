"""projection_worker: the Cloud Tasks push endpoint that moves the projections forward.

A task is only a wake-up. The worker always reads from each projection's checkpoint, so
late, duplicated or reordered tasks are harmless, and a periodic sweep catches up when a
task was never enqueued (e.g. the enqueue failed after the commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypedDict

from redis import Redis
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from projection_worker.catalog import lane_groups, projections, with_follow_ups
from projection_worker.lane_processes import LaneProcesses
from projection_worker.lanes import Timeline, Worker
from projection_worker.runner import Runner
from projection_worker.stalled_imports import StalledImports
from projection_worker.status import status
from shared.adapters.backplane import Publisher
from shared.adapters.eventstore import open_ledger
from shared.adapters.http import JSONResponse
from shared.adapters.import_tasks import import_tasks_from
from shared.adapters.wiring import publisher_from, readmodel_pool
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)


class State(TypedDict):
    worker: Worker
    timeline: Timeline
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
    request.state.timeline.woken(_enqueued_at(request.headers.get("x-cloudtasks-tasketa")))
    return JSONResponse({"accepted": True}, status_code=202)


def _enqueued_at(eta: str | None) -> float | None:
    """Cloud Tasks' schedule time of the task (its creation time, for ours)."""
    try:
        return float(eta) if eta else None
    except ValueError:
        return None


async def timeline(request: Request) -> Response:
    """Wake-ups and batches since ``?since=`` (wall-clock seconds): positions and times
    only, for ``make bench-reads``' commit-to-visible breakdown."""
    try:
        since = float(request.query_params.get("since", "0"))
    except ValueError:
        since = 0.0
    recorded: Timeline = request.state.timeline
    return JSONResponse(recorded.since(since))


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
        worker.poke()
        await asyncio.sleep(every)


async def _sweep_imports(stalled: StalledImports, every: float) -> None:
    """The imports' safety net: one whose task was lost is processed after this long."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(stalled.sweep)
        except Exception:  # the store or the queue unavailable: the next round retries
            logger.warning("stalled-imports sweep failed", exc_info=True)


PublisherFactory = Callable[[Settings, Redis], Publisher]


def create_app(
    settings: Settings | None = None, *, publisher: PublisherFactory = publisher_from
) -> Starlette:
    """The worker. ``publisher`` builds the live backplane's publisher (tests wrap it to
    lose or repeat batches)."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[State]:
        ledger = open_ledger(settings)
        pool = readmodel_pool(settings)
        redis = Redis.from_url(settings.redis_url)
        live = publisher(settings, redis)
        catalog = with_follow_ups(projections(settings, pool, redis, live), ledger, pool, settings)
        recorded = Timeline()
        first, *others = lane_groups([p.name for p in catalog], settings.worker_processes)
        children = LaneProcesses(settings, others, recorded.add) if others else None
        ours = [p for p in catalog if p.name in first]
        runner = Runner(ledger, ours, observe=recorded.batch, only_handled=True)
        worker = Worker(
            runner,
            ours,
            ledger.head,
            linger=settings.linger_seconds,
            poll=settings.head_poll_seconds,
            elsewhere=None if children is None else children.poke,
        )
        sweeper = asyncio.create_task(_sweep(worker, settings.sweep_seconds))
        tasks = import_tasks_from(settings)
        stalled = StalledImports(
            pool, settings.readmodel_schema, tasks.enqueue, settings.import_stale_seconds
        )
        # Unset IMPORT_TASK_URL: no task to send (imports then wait for one sent by hand).
        imports_sweeper = (
            asyncio.create_task(_sweep_imports(stalled, settings.import_stale_seconds / 2))
            if settings.import_task_url
            else None
        )
        try:
            yield {
                "worker": worker,
                "timeline": recorded,
                "report": lambda: status(ledger, catalog, public=True),
            }
        finally:
            for task in (sweeper, imports_sweeper):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            tasks.close()
            await run_in_threadpool(worker.stop)
            if children is not None:
                await run_in_threadpool(children.stop)
            live.close()
            redis.close()
            pool.close()
            ledger.close()

    return Starlette(
        routes=[
            Route("/tasks/wake", wake, methods=["POST"]),
            Route("/projections", projections_status),
            Route("/projections/timeline", timeline),
            Route("/up", up),
        ],
        lifespan=lifespan,
    )
