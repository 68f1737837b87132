"""Token-bucket rate limits, in process: per bearer token, per client address.

Each process limits what it sees; several instances behind a load balancer each allow
the rate (production adds Cloud Armor's per-address rules in front, see infra/). A
refused request is answered 429 with ``Retry-After`` (whole seconds, at least 1).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.settings import Settings


class TokenBuckets:
    """``rate`` tokens per second per key, up to ``burst``. Memory is bounded: past
    ``max_keys`` the least recently seen key is forgotten (it comes back full)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, max(burst, 1.0), max_keys, clock
        self._buckets: OrderedDict[Any, tuple[float, float]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _level(self, key: Any, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def wait_for(self, key: Any) -> float:
        """0 when ``key`` may go on now, else the seconds until it may (nothing taken)."""
        if not self.enabled:
            return 0.0
        level = self._level(key, self.clock())
        return 0.0 if level >= 1 else (1 - level) / self.rate

    def take(self, key: Any) -> float:
        """Take a token for ``key``: 0 if there was one, else the seconds to wait."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        level = self._level(key, now)
        if level < 1:
            self._buckets[key] = (level, now)
            return (1 - level) / self.rate
        self._buckets[key] = (level - 1, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return 0.0


class TooManyRequestsError(Exception):
    """A client went over a rate limit: 429 with ``Retry-After``."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__("Too Many Attempts.")

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}


def check(buckets: TokenBuckets, key: Any) -> None:
    """Take a token for ``key`` or raise :class:`TooManyRequestsError`."""
    wait = buckets.take(key)
    if wait:
        raise TooManyRequestsError(wait)


def per_token(settings: Settings) -> TokenBuckets:
    rate = settings.rate_limit_per_token
    return TokenBuckets(rate, rate * settings.rate_limit_burst_seconds)


def per_address(settings: Settings) -> TokenBuckets:
    rate = settings.rate_limit_per_address
    return TokenBuckets(rate, rate * settings.rate_limit_burst_seconds)


# Failed authentications per address: a client guessing token ids gets this many
# database lookups a second, whatever its request rate.
AUTH_FAILURES_PER_SECOND = 2.0
AUTH_FAILURES_BURST = 20.0


def auth_failures() -> TokenBuckets:
    return TokenBuckets(AUTH_FAILURES_PER_SECOND, AUTH_FAILURES_BURST)


def client_address(scope: Scope) -> str:
    """The peer address (behind a proxy, the one uvicorn's ``--proxy-headers`` sets)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class AddressLimit:
    """ASGI middleware: a request budget per client address (health checks exempt)."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets, exempt: frozenset[str]) -> None:
        self.app, self.buckets, self.exempt = app, buckets, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt or not self.buckets.enabled:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(client_address(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        await too_many(TooManyRequestsError(wait), send)


async def too_many(exc: TooManyRequestsError, send: Send) -> None:
    body = orjson.dumps({"message": str(exc)})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
