"""A tiny HTTP receiver of Cloud Tasks deliveries, for the emulator tests."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.local.devstack import free_port


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """Records every POST; ``/tasks/flaky`` answers 500 to its first request only."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.requests.append(Received(request.url.path, body, dict(request.headers)))
            flaky_calls = sum(1 for r in self.requests if r.path == "/tasks/flaky")
        if request.url.path == "/tasks/flaky" and flaky_calls == 1:
            return Response(status_code=500)
        return Response(status_code=204)


def _wait_for(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@contextlib.contextmanager
def serving_receiver() -> Iterator[Receiver]:
    """A :class:`Receiver` under uvicorn on a loopback port, for as long as the block."""
    rec = Receiver()
    app = Starlette(routes=[Route("/tasks/{name}", rec.handle, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="tasks-receiver", daemon=True)
    thread.start()
    assert _wait_for(lambda: server.started, 10.0), "receiver did not start"
    rec.base_url = f"http://127.0.0.1:{port}"
    try:
        yield rec
    finally:
        server.should_exit = True
        thread.join(timeout=10)
