"""Rebuild a projection from position 0 beside the live one, then promote it atomically.

Queries keep answering from the live version all along; the rebuilt version catches up
with writes made meanwhile, and the switch (per store: table swap, ``SWAPDB``, symlink)
happens under the live projection's lock after a last catch-up. An interrupted rebuild
resumes from its own checkpoint next time (or starts over with ``restart``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from projection_worker.catalog import Rebuildable
from projection_worker.feed import Positioned
from projection_worker.runner import TRANSIENT, Runner
from shared.adapters.eventstore import Ledger

logger = logging.getLogger(__name__)
TRANSIENT_ATTEMPTS = 6  # about 6 s of backoff in all


class RebuildFailedError(Exception):
    pass


# Hears ("start" | "position", position, head) as a rebuild goes.
Report = Callable[[str, int, int], None]


@dataclass
class Progress:
    """A progress bar on a terminal, plain log lines elsewhere."""

    name: str
    start: int
    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    began: float = field(default_factory=time.monotonic)
    last_line: float = 0.0
    done: int = 0

    def update(self, position: int) -> None:
        self.done = position - self.start
        elapsed = max(time.monotonic() - self.began, 1e-9)
        rate = self.done / elapsed
        todo = max(0, self.total - position)
        eta = todo / rate if rate else float("inf")
        if self.stream.isatty():
            width = 30
            filled = int(width * position / max(self.total, 1))
            self.stream.write(
                f"\r{self.name:<14} [{'#' * filled:<{width}}] {position}/"
                f"{self.total} {rate:,.0f} ev/s ETA {eta:,.0f}s "
            )
            self.stream.flush()
        elif time.monotonic() - self.last_line >= 2.0:
            self.last_line = time.monotonic()
            print(
                f"{self.name}: {position}/{self.total} events, {rate:,.0f}/s, eta {eta:,.0f}s",
                file=self.stream,
                flush=True,
            )

    def finish(self, position: int) -> float:
        elapsed = time.monotonic() - self.began
        if self.stream.isatty():
            self.stream.write("\n")
        rate = (position - self.start) / max(elapsed, 1e-9)
        print(
            f"{self.name}: rebuilt up to {position} in {elapsed:.1f}s ({rate:,.0f} events/s)",
            file=self.stream,
            flush=True,
        )
        return rate


def rebuild(
    ledger: Ledger,
    projection: Rebuildable,
    *,
    restart: bool = False,
    batch: int = 10_000,
    stream: TextIO | None = None,
) -> float:
    """Rebuild and promote ``projection``; returns the events/s of the build."""
    return rebuild_all(ledger, [projection], restart=restart, batch=batch, stream=stream)


def rebuild_all(
    ledger: Ledger,
    chosen: Sequence[Rebuildable],
    *,
    restart: bool = False,
    batch: int = 10_000,
    stream: TextIO | None = None,
    report: Report | None = None,
) -> float:
    """Rebuild ``chosen`` in one pass over the history, then promote each; returns the
    events/s of the whole.

    Each page is read and decoded once and handed to one thread per staging copy: the
    PostgreSQL, Redis and faiss writes of one page overlap each other and the reading of
    the next (the GIL is free while a thread waits on a server).
    """
    with _fewer_collections():
        return _rebuild_all(
            ledger, chosen, restart=restart, batch=batch, stream=stream, report=report
        )


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """A rebuild allocates millions of short-lived objects (events, rows, messages) and
    makes next to no reference cycles; the default thresholds ran the cyclic collector
    so often that it took more than half of the time spent reading."""
    previous = gc.get_threshold()
    gc.set_threshold(100_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _rebuild_all(
    ledger: Ledger,
    chosen: Sequence[Rebuildable],
    *,
    restart: bool,
    batch: int,
    stream: TextIO | None,
    report: Report | None,
) -> float:
    stagings = [projection.staging(restart=restart) for projection in chosen]
    name = chosen[0].name if len(chosen) == 1 else "all"
    start = min(staging.checkpoint() for staging in stagings)
    progress = Progress(name, start, ledger.head(), stream or sys.stderr)
    lanes = [_Lane(staging) for staging in stagings]
    try:
        for lane in lanes:
            lane.start()
        _feed(ledger, lanes, progress, report or _unheard, batch)
    finally:
        for lane in lanes:
            lane.close()
    for lane in lanes:
        if lane.error is not None:
            raise lane.error
    for projection, staging in zip(chosen, stagings, strict=True):
        _promote(ledger, projection, staging, batch)
    return progress.finish(max(projection.checkpoint() for projection in chosen))


def _unheard(kind: str, position: int, total: int) -> None:
    pass


def _feed(
    ledger: Ledger, lanes: list[_Lane], progress: Progress, report: Report, batch: int
) -> None:
    """Read pages from the slowest lane's position and hand each to every lane, while
    writes go on, until one page from the head (the promotion's catch-up does the rest)."""
    runner, position = Runner(ledger, [], batch=batch), progress.start
    report("start", position, progress.total)
    while not any(lane.error is not None for lane in lanes):  # else: raised by the caller
        page = runner.read(position, batch)
        if page:
            position = page[-1].position
            for lane in lanes:
                lane.put(page)
        progress.total = ledger.head()
        low = min(lane.position for lane in lanes)
        progress.update(low)
        report("position", low, progress.total)
        if len(page) < batch and progress.total - position <= batch:
            return


def _promote(ledger: Ledger, projection: Rebuildable, staging: Rebuildable, batch: int) -> None:
    """Catch up, then swap in under the live lock; events the staging copy parked are
    promoted with it (listed by ``projections parked``, retried like live ones)."""
    runner = Runner(ledger, [staging], batch=batch)

    def catch_up() -> None:
        runner.catch_up_one(staging)

    catch_up()
    projection.promote(staging, catch_up)
    parked = projection.parked()
    if parked:
        logger.warning(
            "%s: rebuilt with %d parked event(s) in %d partition(s); see `projections parked`",
            projection.name,
            len(parked),
            len({p.partition for p in parked}),
        )


class _Lane(threading.Thread):
    """Applies pages to one staging copy, in order, on its own thread."""

    def __init__(self, staging: Rebuildable) -> None:
        super().__init__(name=f"rebuild-{staging.name}", daemon=True)
        self.staging = staging
        self.position = staging.checkpoint()
        self.error: Exception | None = None
        # A few pages ahead at most: memory stays bounded by the slowest read model.
        self._pages: queue.Queue[list[Positioned] | None] = queue.Queue(maxsize=4)

    def put(self, page: list[Positioned] | None) -> None:
        """Queue ``page`` (None: no more), unless the lane has stopped."""
        while self.is_alive():
            try:
                self._pages.put(page, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.put(None)
        self.join()

    def run(self) -> None:
        while (page := self._pages.get()) is not None:
            if self.error is not None:
                continue  # drain: the reader stops feeding us soon
            try:
                self._apply_retrying(page)
            except Exception as exc:  # surfaced by rebuild_all on the main thread
                self.error = exc

    def _apply_retrying(self, page: list[Positioned]) -> None:
        """A lost connection or a deadlock victim costs a retry, not the whole rebuild
        (the live runner retries at its next wake-up the same way)."""
        for attempt in range(TRANSIENT_ATTEMPTS):
            try:
                if attempt:  # the failed commit may have landed: go on from what did
                    self.position = self.staging.checkpoint()
                self._apply(page)
                return
            except TRANSIENT:
                if attempt == TRANSIENT_ATTEMPTS - 1:
                    raise
                logger.warning(
                    "rebuild of %s: store unavailable, retrying", self.staging.name, exc_info=True
                )
                time.sleep(min(0.2 * 2**attempt, 5.0))

    def _apply(self, page: list[Positioned]) -> None:
        items = [item for item in page if item.position > self.position]
        if not items:
            return
        state = self.staging.state()
        try:
            applied = state.position == self.position and self.staging.apply(items, state)
        except TRANSIENT:
            raise
        except Exception:
            logger.exception(
                "rebuild of %s: batch after %d failed", self.staging.name, self.position
            )
            # Park poison events exactly as the live runner does: their user's later
            # events wait behind them and everyone else's are rebuilt.
            applied = Runner.isolate(self.staging, items, state)
        if not applied:
            raise RebuildFailedError(
                f"{self.staging.name}: another rebuild is writing the same staging copy"
            )
        self.position = items[-1].position
