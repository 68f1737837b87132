"""Run the Cloud Tasks emulator (PyPI ``gcloud-tasks-emulator``) as a subprocess.

The emulator pins ``protobuf<5`` and an old ``google-cloud-tasks``, which conflict with the
project's own pins, so it always lives in a separate venv that this module can bootstrap.

Emulator facts this module relies on (gcloud-tasks-emulator 0.6.2):

* ``start -p PORT`` serves plaintext gRPC on ``[::]:PORT`` (all interfaces; there is no
  bind-host flag), ``-d QUEUE_PATH`` pre-creates a queue and may be repeated.
* If the port is taken, the gRPC thread dies but the process keeps running, so "the port
  accepts connections" alone does not prove it is ours: we refuse an occupied port first.
* It exits immediately on SIGTERM (no handler installed).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["EMULATOR_REQUIREMENTS", "emulator_binary", "start_emulator", "stop_emulator"]

# Exact set known to work together; the emulator's own metadata only says protobuf<5 and
# google-cloud-tasks<3, which would let pip drift to combinations nobody has tried.
EMULATOR_REQUIREMENTS = (
    "gcloud-tasks-emulator==0.6.2",
    "google-cloud-tasks==2.23.0",
    "protobuf==4.25.9",
)

_STARTUP_TIMEOUT_S = 30.0


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
    port: int, venv_dir: Path, queue_path: str, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start the emulator on ``127.0.0.1:port`` with ``queue_path`` pre-created.

    Installs the emulator into ``venv_dir`` first if its binary is missing. Returns once the
    gRPC port accepts connections; raises ``RuntimeError`` if it does not within 30 s.
    The emulator's stdout/stderr go to ``log_path``. Stop it with :func:`stop_emulator`.
    """
    if _port_open(port):
        raise RuntimeError(f"port {port} is already in use; not starting the emulator")
    binary = _ensure_venv(venv_dir)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # Unbuffered so the log is useful when startup fails; the emulator's google-api-core
    # prints a FutureWarning about Python 3.11 support on every start, which is just noise.
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "ignore::FutureWarning"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(binary), "start", "-p", str(port), "-d", queue_path],
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
