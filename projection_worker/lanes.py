"""The worker's moving parts: a lane (thread) per projection, and the head watch that keeps
a busy worker reading new events without waiting for their wake-up tasks.

A wake-up task says "events exist": every lane catches up from its own checkpoint, and the
worker then *lingers* for ``linger`` seconds, polling the store's head every ``poll``
seconds and poking the lanes whenever it moves (each move extends the linger). Under load
new events are thus read within a poll, not after the commit's task has been paced,
queued and delivered; an idle worker costs nothing (Cloud Tasks remains the only thing
that wakes it, and the sweep the only thing that catches a lost task).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from projection_worker.runner import TRANSIENT, Projection, Runner

logger = logging.getLogger(__name__)
TIMELINE = 20_000  # records kept (each well under a hundred bytes)


class Timeline:
    """What the worker did and when (wall-clock seconds), for ``GET /projections/timeline``
    and the commit-to-visible breakdown of ``make bench-reads``: wake-ups (enqueued, as
    Cloud Tasks stamps them, and received) and batches (read, applied)."""

    def __init__(self) -> None:
        self.wakes: collections.deque[tuple[float | None, float]] = collections.deque(
            maxlen=TIMELINE
        )
        self.batches: collections.deque[tuple[str, int, int, float, float, float]] = (
            collections.deque(maxlen=TIMELINE)
        )

    def woken(self, enqueued_at: float | None) -> None:
        self.wakes.append((enqueued_at, time.time()))

    def batch(self, name: str, first: int, last: int, read_at: float, read: float) -> None:
        self.batches.append((name, first, last, read_at, read, time.time()))

    def add(self, record: tuple[Any, ...]) -> None:
        """A batch another process applied: (name, first, last, read from, read by,
        applied by)."""
        name, first, last, read_at, read, applied = record
        self.batches.append((str(name), int(first), int(last), read_at, read, applied))

    def since(self, after: float) -> dict[str, list[Any]]:
        return {
            "wakes": [w for w in list(self.wakes) if w[1] > after],
            "batches": [b for b in list(self.batches) if b[5] > after],
        }


class Lane:
    """One projection's catch-up loop, on its own thread: a slow read model (say, the
    vector index) never delays a fast one (the tables reads wait on).

    A lane that has just applied events waits ``pace`` seconds before its next pass
    (pokes meanwhile fold into it): under load, batches grow instead of every commit
    costing each read model a transaction of its own. ``pace`` is the read model's
    ``PACE`` attribute: short for those a reader waits on, longer for the others."""

    def __init__(self, runner: Runner, projection: Projection) -> None:
        self.runner, self.projection = runner, projection
        self.pace: float = getattr(projection, "PACE", 0.0)
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
                applied = self.runner.catch_up_one(self.projection)
            except TRANSIENT:
                logger.warning("%s: store unavailable, will retry", self.projection.name)
            except Exception:
                logger.exception("%s: catch-up failed", self.projection.name)
            else:
                if applied and self.pace:
                    time.sleep(self.pace)

    def stop(self) -> None:
        self._stopped = True
        self._poked.set()
        self._thread.join(timeout=30)


class Worker:
    """Wake-ups poke the lanes and start a linger: the task is acknowledged at once, and
    the lanes read from their own checkpoints whatever position the task named."""

    def __init__(
        self,
        runner: Runner,
        projections: list[Any],
        head: Callable[[], int],
        *,
        linger: float,
        poll: float,
        elsewhere: Callable[[], None] | None = None,
    ) -> None:
        """``elsewhere`` pokes the lanes other processes run (``LaneProcesses``)."""
        self.lanes = [Lane(runner, projection) for projection in projections]
        self.elsewhere = elsewhere
        self.head, self.linger, self.poll = head, linger, poll
        self._until = 0.0
        self._woken = threading.Event()
        self._stopped = False
        self._watch = threading.Thread(target=self._watch_head, name="head-watch", daemon=True)
        self._watch.start()

    def poke(self) -> None:
        for lane in self.lanes:
            lane.poke()
        if self.elsewhere is not None:
            self.elsewhere()

    def wake(self) -> None:
        """A wake-up task: catch up now, then linger."""
        self.poke()
        self._until = time.monotonic() + self.linger
        self._woken.set()

    def _watch_head(self) -> None:
        seen = -1
        while not self._stopped:
            self._woken.wait()
            self._woken.clear()
            while not self._stopped and time.monotonic() < self._until:
                try:
                    head = self.head()
                except TRANSIENT:
                    logger.warning("head watch: store unavailable", exc_info=True)
                    head = seen
                if head != seen:
                    seen = head
                    self.poke()
                    self._until = time.monotonic() + self.linger  # busy: stay
                time.sleep(self.poll)

    def stop(self) -> None:
        self._stopped = True
        self._woken.set()
        self._watch.join(timeout=5)
        for lane in self.lanes:
            lane.stop()
