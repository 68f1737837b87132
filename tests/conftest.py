"""Session-wide real servers for integration tests (unit tests need none of them):
PostgreSQL, Redis and the Cloud Tasks emulator, started and stopped by PID, and the four
HTTP apps served by uvicorn on loopback, wired exactly as in production."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.adapters.eventstore import Ledger, open_ledger
from shared.adapters.migrate import migrate
from shared.adapters.wakeup import queue_path
from shared.local.devstack import free_port, start_postgres, start_redis, stop
from shared.local.tasks_emulator import start_emulator, stop_emulator
from shared.settings import Settings, settings_from
from tests.harness import ServedApp
from valorize.edge import MethodSplit
from valorize.localstack import LOAD_TEST_ENV

REPO = Path(__file__).resolve().parent.parent
TASKS = {
    "CLOUD_TASKS_PROJECT": "valorize-test",
    "CLOUD_TASKS_LOCATION": "local",
    "CLOUD_TASKS_QUEUE": "projection-wakeups",
}


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="valorize-test-"))
    pg = start_postgres(root / "pg", free_port())
    redis = start_redis(root / "redis", free_port())
    tasks_port = free_port()
    venv = Path(os.environ.get("VALORIZE_TASKS_VENV", REPO / ".valorize" / "tasks-emulator-venv"))
    emulator = start_emulator(
        tasks_port, venv, queue_path(*TASKS.values()), root / "tasks-emulator.log"
    )
    try:
        yield {
            "POSTGRES_DSN": pg.url,
            "REDIS_URL": redis.url,
            "VALORIZE_DATA_DIR": str(root),
            "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{tasks_port}",
            **TASKS,
        }
    finally:
        stop_emulator(emulator)
        stop(redis.pid)
        stop(pg.pid)
        shutil.rmtree(root, ignore_errors=True)  # a session's data is up to a GB


@pytest.fixture(scope="session")
def worker_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def settings(servers: dict[str, str], worker_port: int) -> Settings:
    env = {
        **LOAD_TEST_ENV,
        **servers,
        "POSTGRES_POOL_SIZE": "20",
        "POSTGRES_POOL_MAX_OVERFLOW": "40",
        "PROJECTION_WORKER_URL": f"http://127.0.0.1:{worker_port}/tasks/wake",
        "PROJECTION_SWEEP_SECONDS": "0.5",
        "READ_YOUR_WRITES_TIMEOUT": "5",
        "AUTH_CACHE_SECONDS": "1",
    }
    made = settings_from(env)
    migrate(made)
    return made


@pytest.fixture(scope="session")
def worker_api(settings: Settings, worker_port: int) -> Iterator[ServedApp]:
    from projection_worker.app import create_app

    server = ServedApp(create_app(settings), port=worker_port).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def command_api(settings: Settings, worker_api: ServedApp) -> Iterator[ServedApp]:
    from command_service.app import create_app

    server = ServedApp(create_app(settings)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def edge_api(settings: Settings, worker_api: ServedApp) -> Iterator[ServedApp]:
    """Reads to query_service, writes to command_service, at one base URL (as `make up`)."""
    from command_service.app import create_app as command_app
    from query_service.app import create_app as query_app

    server = ServedApp(MethodSplit(query_app(settings), command_app(settings))).start()
    yield server
    server.stop()


@pytest.fixture
def api(edge_api: ServedApp) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=edge_api.url, headers={"Accept": "application/json"}, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="module")
def ledger(settings: Settings) -> Iterator[Ledger]:
    """The event store, read directly (to check what was appended, or to append backlogs)."""
    opened = open_ledger(settings)
    yield opened
    opened.close()
