"""The worker's lanes over more than one process: its read models spread over the cores.

A process runs Python on one core at a time, so the four lanes of a busy worker (an
import of 50,000 rows) shared one core while the machine's others idled. With
``WORKER_PROCESSES`` above 1, the worker's own process keeps the HTTP endpoint, the head
watch, the sweep and the first group of lanes (``catalog.lane_groups``); each further
group runs in a child process of its own, with its own store connections. The parent
forwards every poke over a pipe; the child sends each batch it applies back over it, for
the timeline.

Nothing about exactly-once changes: each lane still reads from its own checkpoint and
commits its batch with it, whichever process it runs in. A child that dies is started
again and its lanes resume from their checkpoints, as after a restart; a child whose
parent dies sees its pipe close and exits.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

import orjson
from redis import Redis

from projection_worker.catalog import projections, with_follow_ups
from projection_worker.lanes import Lane
from projection_worker.runner import Runner
from shared.adapters.eventstore import open_ledger
from shared.adapters.wiring import publisher_from, readmodel_pool
from shared.settings import Settings

logger = logging.getLogger(__name__)
POKE, STOP = b"p", b"s"
RESTART_AFTER = 1.0  # seconds before a dead child is started again (no hot loop)
# The children's lanes are the ones nothing waits on (a hot read falls back to the tables
# when the cache is behind); on a busy machine they yield the CPU to the servers and to
# the lanes readers and sockets wait on, and catch up when it is free.
CHILD_NICENESS = 5

# Hears a child's batch: (projection, first, last, read from, read by, applied by).
BatchRecord = Callable[[tuple[Any, ...]], None]


class _Child:
    """One child process and the parent's end of its pipe (sends from any thread)."""

    def __init__(self, names: list[str], process: BaseProcess, conn: Connection) -> None:
        self.names, self.process, self.conn = names, process, conn
        self.lock = threading.Lock()

    def send(self, message: bytes) -> None:
        with self.lock, contextlib.suppress(OSError, ValueError):
            self.conn.send_bytes(message)  # a dead child is restarted by the watch


class LaneProcesses:
    """The lane groups after the first, each in a child process, kept running."""

    def __init__(self, settings: Settings, groups: list[list[str]], record: BatchRecord):
        self.settings, self.record = settings, record
        # spawn, not fork: the parent holds threads, pools and an event loop.
        self._context = multiprocessing.get_context("spawn")
        self._children = [self._start(names) for names in groups]
        self._stopped = False
        self._watch = threading.Thread(target=self._watch_children, name="lane-procs", daemon=True)
        self._watch.start()

    def _start(self, names: list[str]) -> _Child:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=serve_lanes,
            args=(self.settings, names, theirs),
            name=f"lanes:{','.join(names)}",
            daemon=True,
        )
        process.start()
        theirs.close()
        child = _Child(names, process, ours)
        child.send(POKE)  # catch up from the checkpoints at once, as a started worker does
        return child

    def poke(self) -> None:
        for child in self._children:
            child.send(POKE)

    def pids(self) -> list[int]:
        return [child.process.pid or 0 for child in self._children]

    def _watch_children(self) -> None:
        while not self._stopped:
            children = list(self._children)
            for conn in wait([c.conn for c in children], timeout=0.5):
                self._receive(conn)  # type: ignore[arg-type]
            for index, child in enumerate(children):
                if not child.process.is_alive() and not self._stopped:
                    logger.error(
                        "lanes %s: process exited (%s), starting again",
                        child.names,
                        child.process.exitcode,
                    )
                    child.conn.close()
                    time.sleep(RESTART_AFTER)
                    self._children[index] = self._start(child.names)

    def _receive(self, conn: Connection) -> None:
        try:
            while conn.poll():
                self.record(tuple(orjson.loads(conn.recv_bytes())))
        except (EOFError, OSError):
            pass  # the child is gone; the liveness check restarts it

    def stop(self) -> None:
        self._stopped = True
        for child in self._children:
            child.send(STOP)
        for child in self._children:
            child.process.join(timeout=30)
            if child.process.is_alive():
                child.process.terminate()
                child.process.join(timeout=5)
            child.conn.close()
        self._watch.join(timeout=5)


def serve_lanes(settings: Settings, names: list[str], conn: Connection) -> None:
    """A child's life: its lanes, poked over ``conn`` until told to stop or the parent
    goes (the pipe closes)."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    os.nice(CHILD_NICENESS)
    ledger = open_ledger(settings)
    pool = readmodel_pool(settings)
    redis = Redis.from_url(settings.redis_url)
    live = publisher_from(settings, redis)
    sending = threading.Lock()

    def observe(name: str, first: int, last: int, read_at: float, read: float) -> None:
        message = orjson.dumps([name, first, last, read_at, read, time.time()])
        with sending, contextlib.suppress(OSError, ValueError):
            conn.send_bytes(message)

    catalog = with_follow_ups(projections(settings, pool, redis, live), ledger, pool, settings)
    ours = [p for p in catalog if p.name in names]
    runner = Runner(ledger, ours, observe=observe, only_handled=True)
    lanes = [Lane(runner, projection) for projection in ours]
    try:
        while True:
            try:
                message = conn.recv_bytes()
            except (EOFError, OSError):
                break  # the parent is gone
            if message == STOP:
                break
            for lane in lanes:
                lane.poke()
    finally:
        for lane in lanes:
            lane.stop()
        live.close()
        redis.close()
        pool.close()
        ledger.close()
