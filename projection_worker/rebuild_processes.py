"""Rebuild several read models in one pass per process, the processes side by side.

One process runs out of CPU long before the servers do: reading and decoding the history
and shaping rows are Python work under one GIL. Projections are therefore split into
groups of about equal cost, one process each (as many as there are cores), every
process reading the history once for its group. Each promotes its own read models as it
finishes; the parent only shows the combined progress and reports failures.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import queue
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from redis import Redis

from projection_worker.catalog import projections
from projection_worker.rebuild import Progress, RebuildFailedError, rebuild_all
from shared.adapters.eventstore import open_ledger
from shared.adapters.wiring import readmodel_pool
from shared.contracts import LEDGER_TABLES, LIVE_STREAM, MEMO_VECTORS, REDIS_CACHE
from shared.settings import Settings

# Relative cost per event of each read model beyond reading and decoding it, from
# `make bench-rebuild` (the hot read model renders every document and writes three
# indexes per transaction); an unknown one counts as 2.
WEIGHTS = {REDIS_CACHE: 8, LEDGER_TABLES: 2, MEMO_VECTORS: 2, LIVE_STREAM: 1}


def groups(names: Sequence[str], processes: int) -> list[list[str]]:
    """Split ``names`` into at most ``processes`` groups of about equal weight."""
    buckets: list[list[str]] = [[] for _ in range(max(1, min(processes, len(names))))]
    loads = [0] * len(buckets)
    for name in sorted(names, key=lambda n: -WEIGHTS.get(n, 2)):
        lightest = loads.index(min(loads))
        buckets[lightest].append(name)
        loads[lightest] += WEIGHTS.get(name, 2)
    return [bucket for bucket in buckets if bucket]


def rebuild_in_processes(
    settings: Settings,
    names: Sequence[str],
    *,
    restart: bool = False,
    batch: int = 10_000,
    processes: int | None = None,
    stream: TextIO | None = None,
) -> float:
    """Rebuild and promote ``names``; returns the events/s of the whole, start to end."""
    parts = groups(names, processes or os.cpu_count() or 1)
    context = multiprocessing.get_context("spawn")  # never fork a process with threads
    reports: Any = context.Queue()
    children = [
        context.Process(
            target=_child,
            args=(settings, part, restart, batch, index, reports, os.getpid()),
            name=f"rebuild-{'+'.join(part)}",
        )
        for index, part in enumerate(parts)
    ]
    began = time.monotonic()
    for child in children:
        child.start()
    positions: dict[int, int] = {}
    starts: dict[int, int] = {}
    done: dict[int, int] = {}
    failures: list[str] = []
    progress: Progress | None = None
    try:
        while any(child.is_alive() for child in children) or not reports.empty():
            try:
                index, kind, first, second = reports.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "failed":
                failures.append(str(first))
            elif kind == "done":
                done[index] = int(first)
            elif kind == "start":
                starts[index], positions[index] = int(first), int(first)
                if len(starts) == len(children):
                    progress = Progress(
                        "all", min(starts.values()), int(second), stream or sys.stderr
                    )
                    progress.began = began
            elif progress is not None:
                positions[index] = int(first)
                progress.total = max(progress.total, int(second))
                progress.update(min(positions.values()))
    finally:
        for child in children:
            child.join()
    broken = [c.name for c in children if c.exitcode != 0 and not failures]
    if failures or broken:
        raise RebuildFailedError("; ".join(failures) or f"{', '.join(broken)} stopped")
    if progress is None:
        raise RebuildFailedError("no rebuild process started")
    return progress.finish(min(done.values()))


def _exit_with(parent: int) -> None:
    """A rebuild process never outlives the command that started it: a killed command
    must leave an interrupted rebuild to resume, not one still writing."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _child(
    settings: Settings,
    names: list[str],
    restart: bool,
    batch: int,
    index: int,
    reports: Any,
    parent: int,
) -> None:
    _exit_with(parent)
    ledger = open_ledger(settings)
    pool = readmodel_pool(settings, max_size=8)
    redis = Redis.from_url(settings.redis_url)
    try:
        chosen = [p for p in projections(settings, pool, redis, None) if p.name in names]

        def report(kind: str, position: int, total: int) -> None:
            reports.put((index, kind, position, total))

        rebuild_all(
            ledger, chosen, restart=restart, batch=batch, stream=io.StringIO(), report=report
        )
        report("done", max(p.checkpoint() for p in chosen), 0)
    except RebuildFailedError as exc:
        reports.put((index, "failed", str(exc), 0))
        raise SystemExit(1) from None
    except Exception as exc:  # the parent says what stopped us, not only that we did
        reports.put((index, "failed", f"{'+'.join(names)}: {type(exc).__name__}: {exc}", 0))
        raise
    finally:
        redis.close()
        pool.close()
        ledger.close()
