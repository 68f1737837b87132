"""Session-wide real servers for integration tests (unit tests need none of them):
PostgreSQL, Redis and the Cloud Tasks emulator, started and stopped by PID, and the four
HTTP apps served by uvicorn on loopback, wired exactly as in production.

``--stack .valorize/stack.json`` runs them through a stack `valorize up` started instead
(e.g. `make up INSTANCES=2`): its servers, its edge (API and /ws) and its workers; tests
that build apps of their own build them on that stack's stores."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from shared.adapters.eventstore import Ledger, open_ledger
from shared.adapters.migrate import migrate
from shared.adapters.wakeup import queue_path
from shared.local.devstack import free_port, start_postgres, start_redis, stop
from shared.local.tasks_emulator import start_emulator, stop_emulator
from shared.settings import Settings, settings_from
from tests.harness import ServedApp
from valorize.edge import MethodSplit
from valorize.localstack import LOAD_TEST_ENV, SERVICES

REPO = Path(__file__).resolve().parent.parent
TASKS = {
    "CLOUD_TASKS_PROJECT": "valorize-test",
    "CLOUD_TASKS_LOCATION": "local",
    "CLOUD_TASKS_QUEUE": "projection-wakeups",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stack",
        default="",
        help="a running stack's stack.json (`make up`): test through it, start no servers",
    )


def _stack(config: pytest.Config) -> dict[str, str] | None:
    path = str(config.getoption("--stack"))
    if not path:
        return None
    env: dict[str, str] = orjson.loads(Path(path).read_bytes())["env"]
    return env


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> dict[str, str] | None:
    """The environment of the stack given with ``--stack``, if any."""
    return _stack(pytestconfig)


@pytest.fixture(scope="session")
def servers(stack: dict[str, str] | None) -> Iterator[dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="valorize-test-"))
    if stack is not None:
        yield {**stack, "VALORIZE_DATA_DIR": str(root)}
        shutil.rmtree(root, ignore_errors=True)
        return
    with contextlib.ExitStack() as started:  # a server that fails to start stops the others
        started.callback(shutil.rmtree, root, ignore_errors=True)  # up to a GB a session
        pg = start_postgres(root / "pg", free_port())
        started.callback(stop, pg.pid)
        redis = start_redis(root / "redis", free_port())
        started.callback(stop, redis.pid)
        tasks_port = free_port()
        venv = Path(
            os.environ.get("VALORIZE_TASKS_VENV", REPO / ".valorize" / "tasks-emulator-venv")
        )
        emulator = start_emulator(
            tasks_port, venv, queue_path(*TASKS.values()), root / "tasks-emulator.log"
        )
        started.callback(stop_emulator, emulator)
        yield {
            "POSTGRES_DSN": pg.url,
            "REDIS_URL": redis.url,
            "VALORIZE_DATA_DIR": str(root),
            "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{tasks_port}",
            **TASKS,
        }


@pytest.fixture(scope="session")
def worker_port(stack: dict[str, str] | None) -> int:
    if stack is not None:
        port = urlsplit(stack["PROJECTION_WORKER_URL"]).port
        assert port is not None
        return port
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
def worker_api(
    settings: Settings, worker_port: int, stack: dict[str, str] | None
) -> Iterator[ServedApp]:
    from projection_worker.app import create_app

    if stack is not None:
        yield ServedApp.elsewhere(worker_port)
        return
    server = ServedApp(create_app(settings), port=worker_port).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def command_api(
    settings: Settings, worker_api: ServedApp, stack: dict[str, str] | None
) -> Iterator[ServedApp]:
    from command_service.app import create_app

    if stack is not None:  # its edge sends writes to its command side
        yield ServedApp.elsewhere(SERVICES["edge"])
        return
    server = ServedApp(create_app(settings)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def edge_api(
    settings: Settings, worker_api: ServedApp, stack: dict[str, str] | None
) -> Iterator[ServedApp]:
    """Reads to query_service, writes to command_service, at one base URL (as `make up`)."""
    from command_service.app import create_app as command_app
    from query_service.app import create_app as query_app

    if stack is not None:
        yield ServedApp.elsewhere(SERVICES["edge"])
        return
    server = ServedApp(MethodSplit(query_app(settings), command_app(settings))).start()
    yield server
    server.stop()


@pytest.fixture
def api(edge_api: ServedApp, stack: dict[str, str] | None) -> Iterator[httpx.Client]:
    # Through a stack, a connection per request: the kernel spreads connections across
    # its instances (SO_REUSEPORT), and one kept alive would stay with one of them.
    limits = httpx.Limits(max_keepalive_connections=0 if stack is not None else 20)
    with httpx.Client(
        base_url=edge_api.url, headers={"Accept": "application/json"}, timeout=30, limits=limits
    ) as client:
        yield client


@pytest.fixture(scope="module")
def ledger(settings: Settings) -> Iterator[Ledger]:
    """The event store, read directly (to check what was appended, or to append backlogs)."""
    opened = open_ledger(settings)
    yield opened
    opened.close()
