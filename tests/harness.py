"""The test harness: real PostgreSQL and Redis (and the Cloud Tasks emulator) started by PID,
and our ASGI apps served by uvicorn on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from shared.local.devstack import free_port


def fresh_database(server_dsn: str, prefix: str) -> str:
    """A new, empty database on the server of ``server_dsn``: its DSN. For stacks of a
    test's own on the session's PostgreSQL (dropped with the session's data directory)."""
    import uuid

    import psycopg
    from psycopg.sql import SQL, Identifier

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(SQL("CREATE DATABASE {}").format(Identifier(name)))
    return server_dsn.rsplit("/", 1)[0] + f"/{name}"


class ServedApp:
    """A uvicorn server for one ASGI app, in a background thread, on a free loopback port."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.running_elsewhere = app is None
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            loop="asyncio",
            http="h11",
            ws="wsproto",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)

    @classmethod
    def elsewhere(cls, port: int) -> ServedApp:
        """A server some other process runs (a stack started by `make up`): not started
        nor stopped here."""
        return cls(None, port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> ServedApp:
        if self.running_elsewhere:
            return self
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("app did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.running_elsewhere:
            return
        self.server.should_exit = True
        self.thread.join(timeout=15)


@contextlib.contextmanager
def served(app: Any) -> Iterator[ServedApp]:
    server = ServedApp(app).start()
    try:
        yield server
    finally:
        server.stop()


class ServedAiohttp:
    """An aiohttp application on a loopback port, in its own thread and event loop."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app, self.port = app, port or free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> ServedAiohttp:
        from aiohttp import web

        self.thread.start()

        async def run() -> None:
            self.runner = web.AppRunner(self.app, shutdown_timeout=5)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

        asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
