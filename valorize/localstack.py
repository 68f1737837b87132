"""`valorize up` / `valorize down`: the whole stack on this machine, started by PID.

Embedded PostgreSQL and Redis unless ``POSTGRES_DSN`` / ``REDIS_URL`` point elsewhere,
the Cloud Tasks emulator in its own venv, then the services, each a process of its own.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from shared.adapters.migrate import migrate
from shared.adapters.wakeup import queue_path
from shared.local.devstack import start_postgres, start_redis, stop
from shared.local.tasks_emulator import start_emulator
from shared.settings import Settings, settings_from

PG_PORT, REDIS_PORT, TASKS_PORT = 54329, 63799, 9022
# What a local or load-test stack changes from the production defaults: the load-test
# endpoint on, and no in-process rate limits (every load-test client is 127.0.0.1, and
# the original k6 C1 script reads ~1,000 req/s with ONE token). Defaults otherwise.
LOAD_TEST_ENV = {
    "LOAD_TEST_USERS": "on",
    "LOAD_TEST_USERS_PER_SECOND": "500",
    "RATE_LIMIT_PER_TOKEN": "0",
    "RATE_LIMIT_PER_ADDRESS": "0",
}
SERVICES = {"edge": 8000, "worker": 8003, "gateway": 8004}
MODULES = {
    "edge": "query_service.app",
    "worker": "projection_worker.app",
    "gateway": "ws_gateway.app",
}


def _state_file(settings: Settings) -> Path:
    return settings.data_dir / "stack.json"


def _save(settings: Settings, state: dict[str, Any]) -> None:
    _state_file(settings).write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))


def up(settings: Settings, *, seed: bool = True) -> None:
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    if _state_file(settings).exists():
        down(settings)
    state: dict[str, Any] = {"pids": {}}
    env = {**LOAD_TEST_ENV, **os.environ}
    if not settings.postgres_dsn:
        pg = start_postgres(data / "pg", PG_PORT)
        state["pids"]["postgres"] = pg.pid
        env["POSTGRES_DSN"] = pg.url
    if not settings.redis_url:
        redis = start_redis(data / "redis", REDIS_PORT)
        state["pids"]["redis"] = redis.pid
        env["REDIS_URL"] = redis.url
    _save(settings, state)
    if not settings.tasks_emulator_host and not settings.worker_url:
        queue = queue_path(settings.tasks_project, settings.tasks_location, settings.tasks_queue)
        emulator = start_emulator(
            TASKS_PORT, data / "tasks-emulator-venv", queue, data / "logs" / "tasks-emulator.log"
        )
        state["pids"]["tasks-emulator"] = emulator.pid
        env["CLOUD_TASKS_EMULATOR_HOST"] = f"127.0.0.1:{TASKS_PORT}"
        env["PROJECTION_WORKER_URL"] = f"http://127.0.0.1:{SERVICES['worker']}/tasks/wake"
    _save(settings, state)
    stack_settings = settings_from(env)
    migrate(stack_settings)
    for name, port in SERVICES.items():
        if importlib.util.find_spec(MODULES[name]) is None:
            continue
        state["pids"][name] = _spawn(name, port, env, data / "logs")
        _save(settings, state)
    for name, port in SERVICES.items():
        if name in state["pids"]:
            _wait_up(f"http://127.0.0.1:{port}/up", data / "logs" / f"{name}.log")
    print(
        f"Valorize is up at http://127.0.0.1:{SERVICES['edge']} (event store {env['POSTGRES_DSN']})"
    )
    if seed:
        seed_demo(f"http://127.0.0.1:{SERVICES['edge']}")


def _spawn(name: str, port: int, env: dict[str, str], logs: Path) -> int:
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "valorize.cli", "serve", name, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    return proc.pid


def _wait_up(url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not up after {timeout}s; see {log}")


def down(settings: Settings) -> None:
    path = _state_file(settings)
    if not path.exists():
        print("nothing to stop")
        return
    pids: dict[str, int] = orjson.loads(path.read_bytes())["pids"]
    # Services first, servers last, so nothing loses its database while serving.
    for name in reversed(list(pids)):
        stop(pids[name])
        print(f"stopped {name} (pid {pids[name]})")
    path.unlink()


def seed_demo(base_url: str) -> None:
    """A demo user with a few transactions, through the public API like any client."""
    with httpx.Client(base_url=base_url, headers={"Accept": "application/json"}) as client:
        made = client.post("/api/testing/load-test-user")
        made.raise_for_status()
        token = made.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        accounts = client.get("/api/accounts", headers=auth)
        categories = client.get("/api/categories", headers=auth)
        if accounts.status_code == 200 and categories.status_code == 200:
            account = accounts.json()["data"][0]
            for i, category in enumerate(categories.json()[:5]):
                client.post(
                    "/api/transactions",
                    headers=auth,
                    json={
                        "account_id": account["id"],
                        "category_id": category["id"],
                        "amount": {"value": (i + 1) * -1250, "currency": "BRL"},
                        "date": f"2026-01-{i + 10:02d}",
                        "memo": f"Demo purchase {i + 1}",
                    },
                ).raise_for_status()
    print(
        f"Demo user ready. Try:\n  curl -H 'Accept: application/json' "
        f"-H 'Authorization: Bearer {token}' {base_url}/api/transactions"
    )
