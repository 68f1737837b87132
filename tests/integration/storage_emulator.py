"""A Cloud Storage emulator (PyPI ``gcp-storage-emulator``) for the ``GcsFiles`` adapter's
tests: in its own venv (created on first use, like the Cloud Tasks emulator's), bound to
loopback, in memory, started and stopped by PID."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from shared.local.devstack import free_port

REQUIREMENTS = ("gcp-storage-emulator==2026.7.19", "google-crc32c==1.9.0")
_STARTUP_TIMEOUT_S = 60.0


def _binary(venv: Path) -> Path:
    binary = venv / "bin" / "gcp-storage-emulator"
    if binary.exists():
        return binary
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", *REQUIREMENTS], check=True)
    return binary


@contextlib.contextmanager
def storage_emulator(venv: Path, bucket: str, log: Path) -> Iterator[str]:
    """The emulator's base URL, with ``bucket`` created."""
    port = free_port()
    command = [
        str(_binary(venv)), "start", "--host", "127.0.0.1", "--port", str(port),
        "--in-memory", "--default-bucket", bucket, "--quiet",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/storage/v1/b/{bucket}", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the storage emulator did not start (see {log})")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
