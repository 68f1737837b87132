"""Closed-model virtual users on asyncio, ramped like k6's ``ramping-vus`` executor.

Each VU runs iterations back to back with the original 1 s think time; the controller
starts and stops VUs every 100 ms to follow the linear ramp of the current stage. Every
request is recorded (time, endpoint, status, latency, VUs) for the report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from scenarios.paper import THINK_SECONDS, Stage


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    endpoint: str
    status: int
    ms: float
    vus: int
    stage: int


@dataclass
class Recorder:
    started: float = field(default_factory=time.perf_counter)
    samples: list[Sample] = field(default_factory=list)
    vus: int = 0
    stage: int = 0
    states: list[dict[str, Any]] = field(default_factory=list)

    async def request(
        self, session: aiohttp.ClientSession, method: str, url: str, endpoint: str, **kwargs: Any
    ) -> tuple[int, Any]:
        begin = time.perf_counter()
        status, body = 0, None
        try:
            async with session.request(
                method, url, timeout=aiohttp.ClientTimeout(total=10), **kwargs
            ) as response:
                status = response.status
                body = await response.json(content_type=None) if status < 500 else None
        except (aiohttp.ClientError, TimeoutError, ValueError):
            status = 0
        self.samples.append(
            Sample(
                begin - self.started,
                endpoint,
                status,
                (time.perf_counter() - begin) * 1000,
                self.vus,
                self.stage,
            )
        )
        return status, body


Iteration = Callable[[aiohttp.ClientSession, Recorder, dict[str, Any]], Awaitable[None]]
Setup = Callable[[aiohttp.ClientSession, Recorder, dict[str, Any]], Awaitable[None]]


async def ramp(
    stages: tuple[Stage, ...],
    iteration: Iteration,
    setup: Setup | None = None,
    think: float = THINK_SECONDS,
) -> Recorder:
    """Run the stages; VUs share one connection pool (as k6 shares its host's sockets)."""
    recorder = Recorder()
    tasks: list[asyncio.Task[None]] = []
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def vu(index: int) -> None:
            state: dict[str, Any] = {"index": index}
            recorder.states.append(state)
            if setup is not None:
                await setup(session, recorder, state)
            while True:
                await iteration(session, recorder, state)
                await asyncio.sleep(think)

        begin = time.perf_counter()
        elapsed_before = 0.0
        previous = 0
        for number, stage in enumerate(stages):
            recorder.stage = number
            while (now := time.perf_counter() - begin - elapsed_before) < stage.seconds:
                target = round(previous + (stage.target_vus - previous) * now / stage.seconds)
                while len(tasks) < target:
                    tasks.append(asyncio.create_task(vu(len(tasks))))
                while len(tasks) > target:
                    tasks.pop().cancel()
                recorder.vus = len(tasks)
                await asyncio.sleep(0.1)
            elapsed_before += stage.seconds
            previous = stage.target_vus
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return recorder
