"""Rebuild a projection from position 0 beside the live one, then promote it atomically.

Queries keep answering from the live version all along; the rebuilt version catches up
with writes made meanwhile, and the switch (per store: table swap, ``SWAPDB``, symlink)
happens under the live projection's lock after a last catch-up. An interrupted rebuild
resumes from its own checkpoint next time (or starts over with ``restart``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from projection_worker.catalog import Rebuildable
from projection_worker.runner import Runner
from shared.eventstore import Ledger


class RebuildFailedError(Exception):
    pass


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
    batch: int = 5_000,
    stream: TextIO | None = None,
) -> float:
    """Rebuild and promote ``projection``; returns the events/s of the build."""
    staging = projection.staging(restart=restart)
    runner = Runner(ledger, [staging], batch=batch)
    progress = Progress(projection.name, staging.checkpoint(), ledger.head(), stream or sys.stderr)

    def catch_up() -> None:
        progress.total = ledger.head()
        runner.catch_up_one(staging, progress.update)
        if staging.failed():
            raise RebuildFailedError(
                f"{projection.name}: a poison event stopped the rebuild; "
                "the live version is untouched"
            )

    while True:  # writes go on meanwhile: close in until one batch remains
        catch_up()
        if ledger.head() - staging.checkpoint() <= batch:
            break
    projection.promote(staging, catch_up)
    return progress.finish(projection.checkpoint())
