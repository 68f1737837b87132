"""CloudTasksWakeup against the real Cloud Tasks emulator, delivering over real HTTP.

Self-contained: starts the emulator subprocess (venv from $VALORIZE_TASKS_VENV, default
/tmp/tasksemu, bootstrapped if missing) and a tiny Starlette receiver under uvicorn.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from shared.adapters.wakeup import (
    CloudTasksWakeup,
    DirectWakeup,
    NullWakeup,
    Wakeup,
    ensure_queue,
    queue_path,
)
from shared.local.tasks_emulator import start_emulator, stop_emulator
from tests.tasks_receiver import Receiver, _wait_for, serving_receiver

PROJECT = "valorize-test"
LOCATION = "local"
QUEUE = "wakeups"
DELIVERY_TIMEOUT_S = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def emulator_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    venv = Path(os.environ.get("VALORIZE_TASKS_VENV", "/tmp/tasksemu"))
    port = _free_port()
    log = tmp_path_factory.mktemp("tasks-emulator") / "emulator.log"
    proc: subprocess.Popen[bytes] = start_emulator(
        port, venv, queue_path(PROJECT, LOCATION, QUEUE), log
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_emulator(proc)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with serving_receiver() as rec:
        yield rec


def test_three_wakeups_arrive_over_http(emulator_host: str, receiver: Receiver) -> None:
    wakeup = CloudTasksWakeup(
        PROJECT, LOCATION, QUEUE, f"{receiver.base_url}/tasks/wake", emulator_host=emulator_host
    )
    try:
        for position in (1, 2, 3):
            wakeup.notify(position)
        assert _wait_for(lambda: len(receiver.snapshot("/tasks/wake")) >= 3, DELIVERY_TIMEOUT_S)
    finally:
        wakeup.close()

    received = receiver.snapshot("/tasks/wake")
    assert sorted(orjson.loads(r.body)["position"] for r in received) == [1, 2, 3]
    for r in received:
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-cloudtasks-queuename"] == queue_path(PROJECT, LOCATION, QUEUE)


def test_failed_delivery_is_retried(emulator_host: str, receiver: Receiver) -> None:
    # A second queue, created at runtime, also exercises ensure_queue (twice: idempotent).
    for _ in range(2):
        ensure_queue(PROJECT, LOCATION, "retries", emulator_host)
    wakeup = CloudTasksWakeup(
        PROJECT,
        LOCATION,
        "retries",
        f"{receiver.base_url}/tasks/flaky",
        emulator_host=emulator_host,
    )
    try:
        wakeup.notify(42)
        assert _wait_for(lambda: len(receiver.snapshot("/tasks/flaky")) >= 2, DELIVERY_TIMEOUT_S)
    finally:
        wakeup.close()

    attempts = receiver.snapshot("/tasks/flaky")
    assert [orjson.loads(r.body) for r in attempts[:2]] == [{"position": 42}] * 2
    assert [r.headers["x-cloudtasks-taskretrycount"] for r in attempts[:2]] == ["0", "1"]
    # Success on the retry ends it: no further attempts trickle in.
    time.sleep(0.5)
    assert len(receiver.snapshot("/tasks/flaky")) == 2


def test_notify_swallows_errors_when_emulator_is_down() -> None:
    dead_host = f"127.0.0.1:{_free_port()}"
    wakeup = CloudTasksWakeup(
        PROJECT,
        LOCATION,
        QUEUE,
        "http://127.0.0.1:9/tasks/wake",
        emulator_host=dead_host,
        timeout_s=2.0,
    )
    try:
        started = time.monotonic()
        wakeup.notify(7)  # must not raise
        assert time.monotonic() - started < 5.0
    finally:
        wakeup.close()


def test_coalescing_skips_covered_positions(emulator_host: str, receiver: Receiver) -> None:
    wakeup = CloudTasksWakeup(
        PROJECT,
        LOCATION,
        QUEUE,
        f"{receiver.base_url}/tasks/coalesce",
        emulator_host=emulator_host,
        coalesce_window_s=60.0,
    )
    try:
        for position in (5, 3, 5, 6):  # 3 and the second 5 are covered by the first 5
            wakeup.notify(position)
        assert _wait_for(lambda: len(receiver.snapshot("/tasks/coalesce")) >= 2, DELIVERY_TIMEOUT_S)
    finally:
        wakeup.close()
    time.sleep(0.5)
    received = receiver.snapshot("/tasks/coalesce")
    assert sorted(orjson.loads(r.body)["position"] for r in received) == [5, 6]


def test_direct_and_null_wakeups(receiver: Receiver) -> None:
    direct = DirectWakeup(f"{receiver.base_url}/tasks/direct")
    unreachable = DirectWakeup(f"http://127.0.0.1:{_free_port()}/tasks/direct", timeout_s=1.0)
    wakeups: list[Wakeup] = [direct, unreachable, NullWakeup()]
    for wakeup in wakeups:
        wakeup.notify(9)  # none of them may raise
        wakeup.close()
    received = receiver.snapshot("/tasks/direct")
    assert [orjson.loads(r.body) for r in received] == [{"position": 9}]
    assert received[0].headers["content-type"] == "application/json"
