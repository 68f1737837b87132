"""`valorize up` / `valorize down`: the whole stack on this machine, started by PID.

Embedded PostgreSQL and Redis unless ``POSTGRES_DSN`` / ``REDIS_URL`` point elsewhere,
the Cloud Tasks emulator in its own venv, then the services, each a process of its own.
One base URL, ``http://127.0.0.1:8000``, for the API and (``/ws``) the live stream.

``--instances N`` starts N of each service, as Cloud Run would: the N instances of a
service share its port (``SO_REUSEPORT``: the kernel spreads connections across them,
as a load balancer would), and each has a data directory of its own, so nothing works
only because two instances share a disk. ``stack.json`` in the data directory records
what runs where, for ``valorize down``, the operator CLI and the tests.
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
from shared.local.devstack import start_postgres, start_redis, stop, track
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
# What the processes of the stack need to reach its servers (and the CLI, to find them).
STACK_ENV = (
    "POSTGRES_DSN",
    "READMODEL_DSN",
    "REDIS_URL",
    "EVENTSTORE_SCHEMA",
    "READMODEL_SCHEMA",
    "CLOUD_TASKS_EMULATOR_HOST",
    "CLOUD_TASKS_PROJECT",
    "CLOUD_TASKS_LOCATION",
    "CLOUD_TASKS_QUEUE",
    "PROJECTION_WORKER_URL",
)


def state_file(settings: Settings) -> Path:
    return settings.data_dir / "stack.json"


def _save(settings: Settings, state: dict[str, Any]) -> None:
    # Each PID with its start time: a PID the kernel reused since is not ours to stop.
    state["started"] = {name: _start_time(pid) for name, pid in state["pids"].items()}
    state_file(settings).write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))


def _start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot, /proc/PID/stat field 22), or
    None if it is gone: with the PID, what identifies one process over time."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(") ", 1)[-1].split()[19])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def running_stack(settings: Settings) -> dict[str, Any] | None:
    """What `valorize up` recorded in this data directory, if a stack was started there."""
    path = state_file(settings)
    if not path.exists():
        return None
    state: dict[str, Any] = orjson.loads(path.read_bytes())
    return state


def up(settings: Settings, *, seed: bool = True, instances: int = 1) -> None:
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    if state_file(settings).exists():
        down(settings)
    state: dict[str, Any] = {"pids": {}, "instances": instances, "env": {}}
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
        # Statement imports are processed by the command side's internal endpoint.
        env["IMPORT_TASK_URL"] = f"http://127.0.0.1:{SERVICES['edge']}/internal/imports/process"
    env["EDGE_WS_UPSTREAM"] = f"ws://127.0.0.1:{SERVICES['gateway']}"
    # uvicorn's own default: a proxy on this machine may say the client's scheme and host
    # (as the load balancer does in production, where Terraform names its proxies).
    env.setdefault("FORWARDED_ALLOW_IPS", "127.0.0.1")
    if instances > 1:
        env["VALORIZE_PROCESSES"] = "1"  # an instance is one process, as on 1 vCPU
    state["env"] = {k: env[k] for k in STACK_ENV if env.get(k)}
    _save(settings, state)
    migrate(settings_from(env))
    _start_services(state, env, data, instances)
    _save(settings, state)
    base = f"http://127.0.0.1:{SERVICES['edge']}"
    print(
        f"Valorize is up at {base} (live stream ws://127.0.0.1:{SERVICES['edge']}/ws; "
        f"{instances} instance(s) of each service; event store {env['POSTGRES_DSN']})"
    )
    if seed:
        seed_demo(base)


def _start_services(state: dict[str, Any], env: dict[str, str], data: Path, count: int) -> None:
    for name, port in SERVICES.items():
        if importlib.util.find_spec(MODULES[name]) is None:
            continue
        for i in range(1, count + 1):
            instance = name if count == 1 else f"{name}-{i}"
            own = data if count == 1 else data / "instances" / instance
            state["pids"][instance] = spawn(name, port, {**env, "VALORIZE_DATA_DIR": str(own)}, own)
    for name, port in SERVICES.items():
        if name in state["pids"] or f"{name}-1" in state["pids"]:
            _wait_up(f"http://127.0.0.1:{port}/up", data / "logs")
    time.sleep(0.5)  # an instance that lost its port exits at once: see that it did not
    dead = [name for name, pid in state["pids"].items() if not _alive(pid)]
    if dead:
        raise RuntimeError(f"{', '.join(dead)} stopped; see the logs under {data}")


def spawn(name: str, port: int, env: dict[str, str], data_dir: Path) -> int:
    """``valorize serve NAME`` as a process of its own (a session: stopped by PID), its log
    in ``data_dir/logs``."""
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "valorize.cli", "serve", name, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    return track(proc)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:  # a zombie (exited, not reaped) is gone too
            return stat.read().split(") ")[-1][:1] != "Z"
    except FileNotFoundError:  # reaped meanwhile
        return False


def _wait_up(url: str, logs: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not up after {timeout}s; see the logs in {logs}")


def down(settings: Settings) -> None:
    state = running_stack(settings)
    if state is None:
        print("nothing to stop")
        return
    pids: dict[str, int] = state["pids"]
    started: dict[str, int | None] = state.get("started", {})
    # Services first, servers last, so nothing loses its database while serving.
    for name in reversed(list(pids)):
        pid = pids[name]
        now = _start_time(pid)
        if now is None or now != started.get(name):
            print(f"{name} (pid {pid}) is no longer running")  # gone, or the PID reused
            continue
        stop(pid)
        print(f"stopped {name} (pid {pid})")
    state_file(settings).unlink()


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
