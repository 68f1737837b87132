"""Abuse bounds of the live stream: what one client can make a gateway process do.

* Sockets that still owe their ``hello`` are counted per remote address and refused with
  HTTP 429 before the upgrade once ``WS_MAX_PENDING_PER_ADDRESS`` are open.
* Each socket replays at most once at a time, and its ``resume`` frames draw on a small
  token bucket: N resume frames never cost N replays of the user's history (a 28-byte
  frame used to replay it all, 2,000 of them took 116 s of gateway CPU).
The per-user socket cap lives in ``Hub.admit``; the hello timeout in ``app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable

from ws_gateway.hub import Connection, Hub
from ws_gateway.protocol import INTERNAL_ERROR

logger = logging.getLogger(__name__)
# A client resumes after a gap or on demand, a few times per connection: 5 at once, then
# one per 10 s. Past that the socket is closed with OVER_LIMIT; it may reconnect with
# ``?after=``, which the per-user socket cap bounds.
RESUME_BURST = 5
RESUME_REFILL_SECONDS = 10.0


class TokenBucket:
    """``capacity`` tokens, refilled at one per ``refill_seconds``; ``take`` spends one."""

    def __init__(
        self,
        capacity: int,
        refill_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity, self.refill_seconds, self.clock = capacity, refill_seconds, clock
        self.tokens = float(capacity)
        self.checked = clock()

    def take(self) -> bool:
        now = self.clock()
        refilled = (now - self.checked) / self.refill_seconds
        self.tokens, self.checked = min(self.capacity, self.tokens + refilled), now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class PendingByAddress:
    """Sockets per remote address that are open but not yet authenticated.

    ``claim`` checks and counts with no ``await`` in between, so a burst of upgrades from
    one address cannot overshoot the cap. Behind a proxy every client shares the proxy's
    address: size the cap for that, or count a trusted forwarded address instead.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.counts: Counter[str] = Counter()

    def claim(self, address: str) -> bool:
        if self.counts[address] >= self.cap:
            return False
        self.counts[address] += 1
        return True

    def release(self, address: str) -> None:
        self.counts[address] -= 1
        if self.counts[address] <= 0:
            del self.counts[address]


class Replays:
    """A socket's replays: at most one running, and resumes bounded by a token bucket.

    A ``resume`` that arrives during a replay supersedes it rather than being refused: it
    states where the client now wants the stream to restart, so finishing the older
    replay would only send frames the client has just asked to have re-sent from
    elsewhere, and refusing it would leave the client without the replay it asked for
    (the protocol has no error frame short of closing). The superseded replay stops before
    its next frame; resumes that pile up while one runs collapse into the latest.
    """

    def __init__(self, hub: Hub, conn: Connection, budget: TokenBucket) -> None:
        self.hub, self.conn, self.budget = hub, conn, budget
        self.wanted: int | None = None  # the latest start asked for and not yet begun
        self.announce = False  # the server, not the client, asked for it
        self.task: asyncio.Task[None] | None = None

    def start(self, after: int) -> None:
        """The socket's first replay (from ``?after=`` or hello): not charged to the budget."""
        self._want(after)

    def resume(self, after: int) -> bool:
        """Restart the stream after ``after``; False when the socket is over its budget."""
        if not self.budget.take():
            return False
        self._want(after)
        return True

    def resync(self, after: int) -> None:
        """A server-side restart (released parked events): announced, not charged."""
        self.announce = True
        self._want(after)

    def _want(self, after: int) -> None:
        self.wanted = after
        if self.conn.holding is None:
            # Hold live messages from now: the replay task starts later, and one sent in
            # between would move ``last_sent`` ahead of what the replay then sends.
            self.conn.holding = []
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    def _superseded(self) -> bool:
        return self.wanted is not None

    async def _run(self) -> None:
        # The loop's test and the task's end happen in one step of the event loop, so a
        # resume either lands in ``wanted`` before the test or finds the task done.
        while (after := self.wanted) is not None:
            self.wanted, announce, self.announce = None, self.announce, False
            try:
                await self.hub.replay(self.conn, after, self._superseded, announce=announce)
            except ConnectionError:
                return  # the peer went away mid-replay; the read loop ends the socket
            except Exception:
                logger.exception("replay after %s failed", after)
                reason = f"replay failed; resume after {self.conn.last_sent}"
                await self.conn.close(INTERNAL_ERROR, reason)
                return

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
