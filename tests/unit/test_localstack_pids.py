"""``valorize down`` stops only the processes ``valorize up`` started: a PID is checked
against the start time recorded with it, so a PID the kernel reused is left alone."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from shared.settings import settings_from
from valorize import localstack


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def _stack(tmp_path: Path, pid: int, started: int | None) -> None:
    state = {"pids": {"edge": pid}, "started": {"edge": started}, "instances": 1, "env": {}}
    (tmp_path / "stack.json").write_bytes(orjson.dumps(state))


def test_a_recorded_process_is_stopped(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    _stack(tmp_path, sleeper.pid, localstack._start_time(sleeper.pid))
    localstack.down(settings_from({"VALORIZE_DATA_DIR": str(tmp_path)}))
    assert localstack._start_time(sleeper.pid) is None  # stopped (and reaped by ``stop``)
    assert not (tmp_path / "stack.json").exists()


def test_a_reused_pid_is_left_alone(tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
    start = localstack._start_time(sleeper.pid)
    assert start is not None
    _stack(tmp_path, sleeper.pid, start - 1)  # another process had this PID at up time
    localstack.down(settings_from({"VALORIZE_DATA_DIR": str(tmp_path)}))
    assert sleeper.poll() is None  # still running
    assert not (tmp_path / "stack.json").exists()


def test_a_gone_process_has_no_start_time(sleeper: subprocess.Popen[bytes]) -> None:
    sleeper.kill()
    sleeper.wait()
    assert localstack._start_time(sleeper.pid) is None
