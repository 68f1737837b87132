"""Serving an ASGI app from several processes on one port, the kernel spreading the load.

uvicorn's ``--workers`` share one listening socket: whichever process is waiting in
``accept`` takes the next connection, and keep-alive connections opened in a burst (a
load test's, a proxy's pool) pile up on one process while the other idles (measured
here: 95% and 50% of a core under wrk). Here each process binds its own socket with
``SO_REUSEPORT``, so the kernel hashes connections evenly across them. The parent only
starts the children and, on SIGTERM or SIGINT, stops them (by PID) and waits.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from dataclasses import dataclass
from types import FrameType

BACKLOG = 4096


@dataclass(frozen=True)
class Served:
    factory: str  # "package.module:factory", built in each process
    host: str
    port: int
    forwarded_allow_ips: str  # proxies whose X-Forwarded-* to trust; "" trusts none


def _socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def _config(served: Served) -> object:
    import uvicorn

    return uvicorn.Config(
        served.factory,
        factory=True,
        log_level="warning",
        loop="uvloop",
        http="httptools",
        ws="wsproto",  # the edge's /ws (valorize/live_proxy.py)
        backlog=BACKLOG,
        proxy_headers=bool(served.forwarded_allow_ips),
        forwarded_allow_ips=served.forwarded_allow_ips or None,
    )


def run_one(served: Served, sock: socket.socket | None = None) -> None:
    """One server process (blocks until it is told to stop)."""
    import uvicorn

    config = _config(served)
    assert isinstance(config, uvicorn.Config)
    server = uvicorn.Server(config)
    server.run(sockets=[sock or _socket(served.host, served.port)])


def run(served: Served, processes: int) -> None:
    """``processes`` servers on ``served.port``; returns when they have all stopped."""
    if processes <= 1:
        run_one(served)
        return
    context = multiprocessing.get_context("spawn")  # no threads or sockets inherited
    children = [context.Process(target=run_one, args=(served,)) for _ in range(processes)]
    for child in children:
        child.start()

    def stop(signum: int, _: FrameType | None) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()  # SIGTERM, by PID: uvicorn finishes its requests

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()
