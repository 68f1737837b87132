"""Session-wide real servers for integration tests (unit tests need none of them)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.devstack import free_port, start_postgres, start_redis, stop
from shared.migrate import migrate
from shared.settings import Settings, settings_from
from tests.harness import ServedApp


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="valorize-test-"))
    pg = start_postgres(root / "pg", free_port())
    redis = start_redis(root / "redis", free_port())
    try:
        yield {"POSTGRES_DSN": pg.url, "REDIS_URL": redis.url, "VALORIZE_DATA_DIR": str(root)}
    finally:
        stop(redis.pid)
        stop(pg.pid)


@pytest.fixture(scope="session")
def settings(servers: dict[str, str]) -> Settings:
    env = {**servers, "POSTGRES_POOL_SIZE": "20", "POSTGRES_POOL_MAX_OVERFLOW": "40"}
    env.update({k: v for k, v in os.environ.items() if k.startswith("TEST_OVERRIDE_")})
    made = settings_from(env)
    migrate(made)
    return made


@pytest.fixture(scope="session")
def command_api(settings: Settings) -> Iterator[ServedApp]:
    from command_service.app import create_app

    server = ServedApp(create_app(settings)).start()
    yield server
    server.stop()


@pytest.fixture
def api(command_api: ServedApp) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=command_api.url, headers={"Accept": "application/json"}, timeout=30
    ) as client:
        yield client
