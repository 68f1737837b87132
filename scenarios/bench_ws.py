"""`make bench-ws`: how many sockets one gateway process holds, its memory per socket, and
commit-to-client latency while writes fan out to them (load generator in the same run).

Baseline in the same run: the gateway's resident memory before any socket, and the
latency of the same writes' POST round trip (the floor a pushed message cannot beat).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

from scenarios.loadgen import HEADER, Result
from scenarios.stack import bench_stack


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _gateway_pid(port: str) -> int:
    """The PID listening on the gateway's port (our own child process)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"gateway" in cmd and port.encode() in cmd:
                return int(proc.name)
    raise RuntimeError("gateway process not found")


def _people(edge: str, users: int) -> list[tuple[str, dict[str, str], str]]:
    people = []
    with httpx.Client(base_url=edge, timeout=30) as client:
        for _ in range(users):
            token = client.post("/api/testing/load-test-user").json()["token"]
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            account = client.get("/api/accounts", headers=headers).json()["data"][0]["id"]
            people.append((token, headers, account))
    return people


async def _write(
    edge: str, people: list[tuple[str, dict[str, str], str]], rate: float, seconds: float
) -> tuple[dict[str, float], Result]:
    """Writes at ``rate`` per second; returns each id's commit time and the POST latencies."""
    committed: dict[str, float] = {}
    posts = Result("POST round trip (floor)", 1, seconds)
    async with aiohttp.ClientSession() as writer:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            _, headers, account = random.choice(people)
            begin = time.perf_counter()
            async with writer.post(
                f"{edge}/api/transactions",
                headers=headers,
                json={
                    "account_id": account,
                    "amount": {"value": -1, "currency": "BRL"},
                    "date": "2026-01-01",
                    "memo": "ws bench",
                },
            ) as response:
                body: dict[str, Any] = await response.json()
            committed[body["id"]] = time.perf_counter()
            posts.latencies_ms.append((committed[body["id"]] - begin) * 1000)
            await asyncio.sleep(max(0.0, 1 / rate - (time.perf_counter() - begin)))
    return committed, posts


async def _reader(ws: aiohttp.ClientWebSocketResponse, arrivals: dict[str, list[float]]) -> None:
    async for message in ws:
        body = orjson.loads(message.data)
        if body.get("type") == "transaction.recorded":
            arrivals.setdefault(body["data"]["id"], []).append(time.perf_counter())


async def run(sockets: int, users: int, rate: float, seconds: float) -> None:
    # Many sockets per user is the point here (memory per socket), not a real client mix.
    per_user = str(-(-sockets // users))
    with bench_stack(
        {"edge": 1, "worker": 1, "gateway": 1}, WS_MAX_SOCKETS_PER_USER=per_user
    ) as stack:
        edge, gateway = stack.urls["edge"], stack.urls["gateway"]
        pid = _gateway_pid(gateway.rsplit(":", 1)[1])
        people = _people(edge, users)
        await asyncio.sleep(2)
        rss_before = _rss_kib(pid)
        arrivals: dict[str, list[float]] = {}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            ws_url = gateway.replace("http", "ws") + "/ws"
            started = time.perf_counter()
            opened = [
                await session.ws_connect(
                    ws_url,
                    headers={"Authorization": f"Bearer {people[i % users][0]}"},
                    heartbeat=60,
                )
                for i in range(sockets)
            ]
            connect_seconds = time.perf_counter() - started
            await asyncio.sleep(2)
            rss_after = _rss_kib(pid)
            readers = [asyncio.create_task(_reader(ws, arrivals)) for ws in opened]
            committed, posts = await _write(edge, people, rate, seconds)
            await asyncio.sleep(3)
            for task in readers:
                task.cancel()
            for ws in opened:
                await ws.close()
    fanout = Result("commit-to-client (every socket)", sockets, seconds)
    expected = sockets // users
    for txn, at in committed.items():
        got = arrivals.get(txn, [])
        fanout.latencies_ms += [(t - at) * 1000 for t in got]
        fanout.errors += max(0, expected - len(got))
    print(
        f"\nws_gateway on {os.cpu_count()} cores: {sockets} sockets for {users} users, "
        f"{rate:.0f} writes/s for {seconds:.0f} s"
    )
    print(
        f"  connected {sockets} sockets in {connect_seconds:.1f} s; gateway RSS "
        f"{rss_before / 1024:.0f} MiB idle -> {rss_after / 1024:.0f} MiB "
        f"= {(rss_after - rss_before) / max(1, sockets):.1f} KiB per socket"
    )
    print(HEADER)
    print(posts.row())
    print(fanout.row())
    print(
        f"  deliveries: {fanout.count} of {len(committed) * expected} expected "
        f"(missing counted as errors)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rate", type=float, default=20.0, help="writes per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(run(args.sockets, args.users, args.rate, args.seconds))


if __name__ == "__main__":
    main()
