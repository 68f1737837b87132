"""Commit-to-visible and commit-to-WebSocket, measured from outside the stack: a writer
records when each POST's 201 arrived; a watcher polls the ``ledger_tables`` checkpoint
every millisecond; the writer's own socket records when each transaction arrived."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import psycopg
from psycopg.sql import SQL, Identifier

from shared.contracts import CHECKPOINTS_TABLE, LEDGER_TABLES
from ws_gateway.client import LiveClient


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else math.nan


@dataclass
class Probe:
    """Writes of one user: position -> (201 received, transaction id); when each position
    was first seen applied, and when each transaction reached the user's socket."""

    committed: dict[int, tuple[float, str]] = field(default_factory=dict)
    visible: dict[int, float] = field(default_factory=dict)
    arrived: dict[str, float] = field(default_factory=dict)

    def visible_ms(self) -> list[float]:
        return [
            (self.visible[p] - at) * 1000
            for p, (at, _) in self.committed.items()
            if p in self.visible
        ]

    def socket_ms(self) -> list[float]:
        return [
            (self.arrived[t] - at) * 1000 for at, t in self.committed.values() if t in self.arrived
        ]

    def summary(self, label: str) -> list[str]:
        rows = [("commit-to-visible", self.visible_ms()), ("commit-to-WebSocket", self.socket_ms())]
        return [
            f"{label} {name}: n={len(v)} p50 {pct(v, 50):.1f} ms, p95 {pct(v, 95):.1f} ms, "
            f"p99 {pct(v, 99):.1f} ms"
            for name, v in rows
        ]


class CheckpointWatcher(threading.Thread):
    """Polls the SQL read model's checkpoint every millisecond: when a reader sees each of
    the probe's positions."""

    def __init__(self, dsn: str, schema: str, probe: Probe) -> None:
        super().__init__(name="checkpoint-watch", daemon=True)
        self.dsn, self.probe = dsn, probe
        self.sql = SQL("SELECT position FROM {}.{} WHERE name = %s").format(
            Identifier(schema), Identifier(CHECKPOINTS_TABLE)
        )
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.done.is_set():
                row = conn.execute(self.sql, (LEDGER_TABLES,)).fetchone()
                now, position = time.time(), int(row[0]) if row else 0
                # list() copies in one step: the writer adds to the dict meanwhile.
                for p in [p for p in list(self.probe.committed) if p not in self.probe.visible]:
                    if p <= position:
                        self.probe.visible[p] = now
                time.sleep(0.001)


async def listen(url: str, token: str, probe: Probe, ready: asyncio.Event) -> None:
    async with LiveClient(url, token) as live:
        ready.set()
        async for message in live.messages():
            if message["type"] == "transaction.recorded":
                probe.arrived[message["data"]["id"]] = time.time()


async def write(
    session: aiohttp.ClientSession, base: str, user: dict[str, Any], probe: Probe, n: int
) -> bool:
    body = {
        "account_id": random.choice(user["accounts"]),
        "category_id": random.choice(user["categories"]),
        "amount": {"value": 500 + n % 8000, "currency": "BRL"},
        "date": "2026-01-20",
        "memo": f"probe {n}",
    }
    async with session.post(f"{base}/api/transactions", json=body, headers=user["headers"]) as r:
        made = await r.json()
        probe.committed[int(r.headers["X-Valorize-Position"])] = (time.time(), made["id"])
        return r.status == 201


async def paced_probe(
    base: str, ws_url: str, user: dict[str, Any], probe: Probe, every: float, stop: asyncio.Event
) -> None:
    """One write every ``every`` seconds until ``stop``, the user's socket listening."""
    ready = asyncio.Event()
    listener = asyncio.create_task(listen(ws_url, user["token"], probe, ready))
    await asyncio.wait_for(ready.wait(), 10)
    async with aiohttp.ClientSession() as session:
        n = 0
        while not stop.is_set():
            await write(session, base, user, probe, n)
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    await asyncio.sleep(1)
    listener.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listener
