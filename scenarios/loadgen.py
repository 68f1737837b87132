"""A closed-loop asyncio load driver (N virtual users, each one request at a time)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp


@dataclass
class Result:
    label: str
    concurrency: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def count(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    def row(self) -> str:
        return (
            f"{self.label:<34} {self.concurrency:>5} {self.rate:>10.0f} {self.p50:>8.1f} "
            f"{self.pct(95):>8.1f} {self.pct(99):>8.1f} {self.errors:>6}"
        )


HEADER = (
    f"{'what':<34} {'conc':>5} {'per s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'errors':>6}"
)

Request = Callable[[aiohttp.ClientSession, int], Awaitable[bool]]


async def closed_loop(
    label: str, concurrency: int, seconds: float, request: Request, warmup: float = 0.5
) -> Result:
    """Run ``concurrency`` users for ``seconds`` (after a short warm-up not counted)."""
    result = Result(label, concurrency, seconds)
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds

        async def user(index: int) -> None:
            n = 0
            while (now := time.perf_counter()) < stop_at:
                ok = await request(session, index * 1_000_000 + n)
                n += 1
                if now >= measure_from:
                    result.latencies_ms.append((time.perf_counter() - now) * 1000)
                    result.errors += 0 if ok else 1

        await asyncio.gather(*(user(i) for i in range(concurrency)))
    return result
