"""Run the Cloud Tasks emulator (PyPI ``gcloud-tasks-emulator``) as a subprocess.

The emulator pins ``protobuf<5`` and an old ``google-cloud-tasks``, which conflict with the
project's own pins, so it always lives in a separate venv that this module can bootstrap.

Emulator facts this module relies on (gcloud-tasks-emulator 0.6.2):

* ``start -p PORT`` serves plaintext gRPC, with no auth, on ``[::]:PORT`` (all interfaces;
  there is no bind-host flag), and ``-d QUEUE_PATH`` pre-creates a queue (repeatable).
  Whoever reaches that port can make this machine POST any body to any URL, so we never run
  the console script: ``tasks_emulator_launch.py`` (run with the venv's interpreter) binds
  ``127.0.0.1:PORT`` instead, makes each new task go out at once rather than at the next
  0.1 s poll, and refuses any other version.
* If the port is taken, stock 0.6.2 keeps running without its gRPC thread (the launcher
  exits instead), and another process on the port would answer the startup wait: we refuse
  an occupied port first.
* It exits immediately on SIGTERM (no handler installed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = [
    "DEFAULT_POLL_SECONDS",
    "EMULATOR_REQUIREMENTS",
    "emulator_binary",
    "start_emulator",
    "stop_emulator",
]

# Exact set known to work together; the emulator's own metadata only says protobuf<5 and
# google-cloud-tasks<3, which would let pip drift to combinations nobody has tried.
EMULATOR_REQUIREMENTS = (
    "gcloud-tasks-emulator==0.6.2",
    "google-cloud-tasks==2.23.0",
    "protobuf==4.25.9",
)

_STARTUP_TIMEOUT_S = 90.0  # a loaded 2-core CI machine has taken over 30 s
_LAUNCHER = Path(__file__).with_name("tasks_emulator_launch.py")

# Pace of the emulator's loops when no task is being created: retries of failed deliveries,
# noticing a queue created at runtime, idle polling. A new task does not wait for it (the
# launcher wakes its queue's thread on creation). Measured on this 2-core machine:
#   notify -> POST received: 67 ms mean with stock 0.6.2 (each queue polled every 0.1 s);
#     5 ms with the wake-up (3-4 ms of it the CreateTask call), as with a 0.002 s poll.
#   idle CPU: 0.4-0.6% of a core at 0.1 s; 6-9.5% at 0.002 s (three loops at 500 Hz).
#   worker down, 3 tasks pending: 3% CPU and 15 KiB/s of log at 0.1 s; 60% and 320 KiB/s
#     at 0.002 s, since every loop retries every failed task (the emulator has no backoff).
DEFAULT_POLL_SECONDS = 0.1


def emulator_binary(venv_dir: Path) -> Path:
    """Path of the emulator's console script inside ``venv_dir``."""
    return venv_dir / "bin" / "gcloud-tasks-emulator"


def _ensure_venv(venv_dir: Path) -> Path:
    binary = emulator_binary(venv_dir)
    if binary.exists():
        return binary
    if not (venv_dir / "bin" / "python").exists():
        # sys.executable, not whatever "python3" is on PATH: guarantees the interpreter
        # version the project is tested with (the venv module uses the base interpreter).
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True)
    subprocess.run(
        [
            str(venv_dir / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *EMULATOR_REQUIREMENTS,
        ],
        check=True,
    )
    if not binary.exists():
        raise RuntimeError(f"pip install did not produce {binary}")
    return binary


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _log_tail(log_path: Path, limit: int = 4000) -> str:
    try:
        return log_path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def start_emulator(
    port: int,
    venv_dir: Path,
    queue_path: str,
    log_path: Path,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> subprocess.Popen[bytes]:
    """Start the emulator on ``127.0.0.1:port`` only, with ``queue_path`` pre-created.

    Installs the emulator into ``venv_dir`` first if its binary is missing. New tasks are
    dispatched as they are created; failed ones are retried every ``poll_seconds``
    (see :data:`DEFAULT_POLL_SECONDS`). Returns once the gRPC port accepts connections;
    raises ``RuntimeError`` if the emulator exits first (a version whose internals the
    launcher does not recognise says so in the message) or is not listening within 30 s.
    The emulator's stdout/stderr go to ``log_path``. Stop it with :func:`stop_emulator`.
    """
    if _port_open(port):
        raise RuntimeError(f"port {port} is already in use; not starting the emulator")
    _ensure_venv(venv_dir)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # Unbuffered so the log is useful when startup fails; the emulator's google-api-core
    # prints a FutureWarning about Python 3.11 support on every start, which is just noise.
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "ignore::FutureWarning"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [
                str(venv_dir / "bin" / "python"),
                "-P",  # keep shared/ off sys.path: the launcher imports nothing of ours
                str(_LAUNCHER),
                f"--poll-seconds={poll_seconds}",
                *("start", "-p", str(port), "-d", queue_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"tasks emulator exited with {proc.returncode}:\n{_log_tail(log_path)}"
            )
        if _port_open(port):
            return proc
        time.sleep(0.1)
    stop_emulator(proc)
    raise RuntimeError(
        f"tasks emulator not listening on port {port} after {_STARTUP_TIMEOUT_S:.0f}s:\n"
        f"{_log_tail(log_path)}"
    )


def stop_emulator(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the emulator process (by its PID) and wait for it; kill if it lingers."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
