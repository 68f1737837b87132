"""The Google Cloud Pub/Sub emulator (Debian package ``google-cloud-cli-pubsub-emulator``,
Java 17), started and stopped by PID for the test harness.

We run the emulator's own launcher script, not ``gcloud beta emulators pubsub start``:
gcloud is a Python program that forks the script, which ``exec``s Java, so stopping
gcloud's PID would leave Java running. The script itself ``exec``s Java, and we start it
in a session of its own, so the PID we hold leads the process group that holds Java, and
``stop_emulator`` signals that whole group. Ready in about 1.5 s here (3 s through gcloud).

The emulator keeps everything in memory: a restart loses every topic and subscription.
``ensure_topic`` creates a topic, as Terraform does in production.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "google-cloud-cli-pubsub-emulator"
_RELATIVE = Path("platform") / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"
_STARTUP_TIMEOUT_S = 30.0
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # emulators this process started


class EmulatorMissingError(RuntimeError):
    """The emulator is not installed: install the Debian package (``.ci/run`` does)."""


@dataclass(frozen=True)
class PubSubEmulator:
    pid: int  # leads the emulator's process group
    host: str  # host:port, what PUBSUB_EMULATOR_HOST holds


def emulator_script() -> Path:
    """The emulator's launcher: ``VALORIZE_PUBSUB_EMULATOR``, else beside the gcloud SDK."""
    override = os.environ.get("VALORIZE_PUBSUB_EMULATOR", "")
    candidates = [Path(override)] if override else []
    gcloud = shutil.which("gcloud")
    if gcloud:  # /usr/bin/gcloud -> <sdk>/bin/gcloud
        candidates.append(Path(gcloud).resolve().parent.parent / _RELATIVE)
    candidates.append(Path("/usr/lib/google-cloud-sdk") / _RELATIVE)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EmulatorMissingError(
        f"the Pub/Sub emulator is not installed: apt-get install {PACKAGE} "
        "(from Google Cloud's apt repository; it needs Java 17), or point "
        "VALORIZE_PUBSUB_EMULATOR at its cloud-pubsub-emulator script"
    )


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_emulator(port: int, log_path: Path) -> PubSubEmulator:
    """Start the emulator on 127.0.0.1:``port`` and wait until it accepts connections."""
    script = emulator_script()
    if _port_open(port):
        raise RuntimeError(f"port {port} is taken: the Pub/Sub emulator would not own it")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(script), "--host=127.0.0.1", f"--port={port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped as one
        )
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not _port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop_group(proc.pid)
            raise RuntimeError(f"Pub/Sub emulator did not start: {log_path.read_text()[-2000:]}")
        time.sleep(0.05)
    _CHILDREN[proc.pid] = proc
    return PubSubEmulator(proc.pid, f"127.0.0.1:{port}")


def stop_emulator(emulator: PubSubEmulator, timeout: float = 15.0) -> None:
    """SIGKILL to the emulator's process group, and wait until it is gone. Not SIGTERM:
    the emulator keeps everything in memory, so a graceful stop saves nothing, and Java
    takes about 2 s to run its shutdown hooks."""
    _stop_group(emulator.pid, timeout)


def _stop_group(pid: int, timeout: float = 15.0) -> None:
    child = _CHILDREN.pop(pid, None)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if child is not None:  # ours: reap it, so its PID and port are free
        child.wait(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # and the rest of its group (Java) gone too
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def ensure_topic(host: str, project: str, topic: str) -> None:
    """Create ``topic`` on the emulator at ``host`` unless it exists (Terraform's job in
    production, where the runtime may publish to the topic but not create it)."""
    import grpc
    from google.api_core.exceptions import AlreadyExists
    from google.pubsub_v1.services.publisher import PublisherClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    channel = grpc.insecure_channel(host)
    try:
        client = PublisherClient(transport=PublisherGrpcTransport(channel=channel))
        with contextlib.suppress(AlreadyExists):
            client.create_topic(request={"name": f"projects/{project}/topics/{topic}"})
    finally:
        channel.close()
