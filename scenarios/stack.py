"""A throwaway stack for benchmarks: embedded servers and service processes on free ports,
stopped by PID when done. Nothing here touches a stack started by `make up`."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.adapters.migrate import migrate
from shared.adapters.wakeup import queue_path
from shared.local.devstack import free_port, start_postgres, start_redis, stop
from shared.local.tasks_emulator import start_emulator, stop_emulator
from shared.settings import Settings, settings_from
from valorize.localstack import LOAD_TEST_ENV

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Stack:
    settings: Settings
    env: dict[str, str]
    urls: dict[str, str]
    root: Path
    pids: dict[str, int]  # service -> its process (group leader of its workers)
    replicas: dict[str, list[str]]  # service -> the URL of each of its instances


def _spawn(name: str, port: int, env: dict[str, str], root: Path, workers: int) -> int:
    log = (root / f"{name}.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "valorize.cli",
            "serve",
            name,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    return proc.pid


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextlib.contextmanager
def bench_stack(
    services: dict[str, int], instances: dict[str, int] | None = None, **extra_env: str
) -> Iterator[Stack]:
    """Start servers and the given services (name -> uvicorn workers), ``instances[name]``
    processes of a service each on its own port, as instances behind a load balancer
    (uvicorn's workers share one socket, and a few keep-alive connections then often all
    land on one of them)."""
    root = Path(tempfile.mkdtemp(prefix="valorize-bench-"))
    pids: list[int] = []
    pg = start_postgres(root / "pg", free_port())
    redis = start_redis(root / "redis", free_port())
    tasks_port, worker_port = free_port(), free_port()
    tasks = {
        "CLOUD_TASKS_PROJECT": "bench",
        "CLOUD_TASKS_LOCATION": "local",
        "CLOUD_TASKS_QUEUE": "wakeups",
    }
    emulator = start_emulator(
        tasks_port,
        REPO / ".valorize" / "tasks-emulator-venv",
        queue_path(*tasks.values()),
        root / "tasks.log",
    )
    env = {
        **LOAD_TEST_ENV,
        **os.environ,
        **tasks,
        "POSTGRES_DSN": pg.url,
        "REDIS_URL": redis.url,
        "VALORIZE_DATA_DIR": str(root),
        "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{tasks_port}",
        "PROJECTION_WORKER_URL": f"http://127.0.0.1:{worker_port}/tasks/wake",
        "VALORIZE_LOG_LEVEL": "warning",
        **extra_env,
    }
    settings = settings_from(env)
    try:
        migrate(settings)
        replicas: dict[str, list[str]] = {}
        services_pids: dict[str, int] = {}
        for name, workers in services.items():
            for _ in range((instances or {}).get(name, 1)):
                port = worker_port if name == "worker" else free_port()
                pids.append(_spawn(name, port, env, root, workers))
                services_pids.setdefault(name, pids[-1])
                replicas.setdefault(name, []).append(f"http://127.0.0.1:{port}")
                if name == "worker":
                    break  # one worker: the wake-up tasks name its port
        for url in (url for urls in replicas.values() for url in urls):
            _wait(f"{url}/up")
        urls = {name: found[0] for name, found in replicas.items()}
        yield Stack(settings, env, urls, root, services_pids, replicas)
    finally:
        for pid in reversed(pids):
            stop(pid)
        stop_emulator(emulator)
        stop(redis.pid)
        stop(pg.pid)
        shutil.rmtree(root, ignore_errors=True)  # a benchmark's stores reach several GB
