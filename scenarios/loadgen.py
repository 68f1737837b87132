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


async def _user_loop(
    result: Result,
    index: int,
    measure_from: float,
    stop_at: float,
    send: Callable[[int], Awaitable[bool]],
) -> None:
    """One virtual user: request after request until ``stop_at``, timed after warm-up."""
    n = 0
    while (now := time.perf_counter()) < stop_at:
        ok = await send(index * 1_000_000 + n)
        n += 1
        if now >= measure_from:
            result.latencies_ms.append((time.perf_counter() - now) * 1000)
            result.errors += 0 if ok else 1


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
            await _user_loop(result, index, measure_from, stop_at, lambda n: request(session, n))

        await asyncio.gather(*(user(i) for i in range(concurrency)))
    return result


class Http1:
    """A minimal keep-alive HTTP/1.1 client for load: one request at a time per connection,
    bodies sized by Content-Length. It costs a fraction of aiohttp's CPU per request, which
    matters when the load generator shares the two cores with the server it measures (k6
    ran on its own machine in the paper)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._writer.write(head.encode() + b"\r\n" + body)
        status_line, _, rest = (await self._reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        length = 0
        for line in rest.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(status_line.split(b" ", 2)[1]), await self._reader.readexactly(length)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


RawRequest = Callable[[Http1, int], Awaitable[bool]]


async def raw_closed_loop(
    label: str,
    bases: list[str],
    concurrency: int,
    seconds: float,
    request: RawRequest,
    warmup: float = 0.5,
) -> Result:
    """``closed_loop`` on :class:`Http1` connections, one per virtual user, the users spread
    evenly over ``bases`` (instances), as a load balancer would."""
    result = Result(label, concurrency, seconds)
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    async def user(index: int) -> None:
        host, _, port = bases[index % len(bases)].removeprefix("http://").partition(":")
        client = Http1(host, int(port))
        try:
            await _user_loop(result, index, measure_from, stop_at, lambda n: request(client, n))
        finally:
            client.close()

    await asyncio.gather(*(user(i) for i in range(concurrency)))
    return result
