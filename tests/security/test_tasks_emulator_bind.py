"""The local Cloud Tasks emulator listens on 127.0.0.1 only, and still delivers at once.

Stock gcloud-tasks-emulator 0.6.2 serves gRPC, with no auth, on ``[::]:PORT``: anyone who
reached the port could make this machine POST any body to any URL. ``start_emulator`` runs
it through ``shared/local/tasks_emulator_launch.py``, which binds loopback only; these tests
connect from outside the process to every address this machine has.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from shared.adapters.wakeup import CloudTasksWakeup, queue_path
from shared.local.devstack import free_port
from shared.local.tasks_emulator import start_emulator, stop_emulator
from tests.tasks_receiver import Receiver, _wait_for, serving_receiver

REPO = Path(__file__).resolve().parents[2]
PROJECT, LOCATION, QUEUE = "valorize-test", "local", "bind-check"
# Far longer than any wait below: a task that arrives in time was dispatched when it was
# created, not found by the emulator's poll.
POLL_SECONDS = 30.0
PROMPT_DELIVERY_S = 3.0


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


def _listed_addresses() -> set[str]:
    """Addresses from ``ip -o addr``, the host name, and the default route's source."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        found |= {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    ip = shutil.which("ip")
    if ip is not None:
        listing = subprocess.run(
            [ip, "-o", "addr", "show"], capture_output=True, text=True, check=True
        ).stdout
        for fields in (line.split() for line in listing.splitlines()):
            if len(fields) > 3 and fields[2] in ("inet", "inet6"):
                found.add(fields[3].split("/")[0])
    # connect() on UDP sends nothing: it only picks the source address of the route.
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        found.add(probe.getsockname()[0])
    return found


def _is_other(address: str) -> bool:
    """Not loopback. Link-local addresses are left out too (they need a scope id), which
    loses nothing: a wildcard bind would show on the other addresses anyway."""
    parsed = ipaddress.ip_address(address.partition("%")[0])
    return not (parsed.is_loopback or parsed.is_link_local or parsed.is_unspecified)


def _other_addresses() -> list[str]:
    """This machine's addresses other than loopback that can be connected to."""
    candidates = sorted(address for address in _listed_addresses() if _is_other(address))
    # Only addresses a wildcard listener is reachable on: a refusal there then means the
    # emulator is not listening, not that the address is firewalled or unroutable.
    with _wildcard_listener() as control:
        port = control.getsockname()[1]
        return [address for address in candidates if _accepts(address, port)]


def _wildcard_listener() -> socket.socket:
    if socket.has_dualstack_ipv6():
        return socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True)
    return socket.create_server(("0.0.0.0", 0))  # every interface: the point of the control


def _accepts_ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6) as control:
            return _accepts("::1", control.getsockname()[1])
    except OSError:
        return False


@pytest.fixture(scope="module")
def emulator_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    venv = Path(os.environ.get("VALORIZE_TASKS_VENV", REPO / ".valorize" / "tasks-emulator-venv"))
    port = free_port()
    log = tmp_path_factory.mktemp("tasks-emulator") / "emulator.log"
    proc = start_emulator(
        port, venv, queue_path(PROJECT, LOCATION, QUEUE), log, poll_seconds=POLL_SECONDS
    )
    try:
        yield port
    finally:
        stop_emulator(proc)


def test_emulator_accepts_connections_on_loopback(emulator_port: int) -> None:
    assert _accepts("127.0.0.1", emulator_port)


def test_emulator_refuses_connections_on_every_other_address(emulator_port: int) -> None:
    others = _other_addresses()
    assert others, (
        "found no non-loopback address reachable on this machine, so the emulator's bind "
        "cannot be checked here (looked at `ip -o addr`, the host name and the default route)"
    )
    if socket.has_ipv6 and _accepts_ipv6_loopback():
        others.append("::1")  # 127.0.0.1 only: not even IPv6 loopback
    listening = [address for address in others if _accepts(address, emulator_port)]
    assert listening == [], f"emulator reachable on {listening} (checked {others})"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with serving_receiver() as rec:
        yield rec


def test_task_is_delivered_to_loopback_endpoint_on_creation(
    emulator_port: int, receiver: Receiver
) -> None:
    wakeup = CloudTasksWakeup(
        PROJECT,
        LOCATION,
        QUEUE,
        f"{receiver.base_url}/tasks/bound",
        emulator_host=f"127.0.0.1:{emulator_port}",
    )
    started = time.monotonic()
    try:
        # Back to back: the later ones are created while the queue's thread is dispatching
        # the first, and must not wait for its next poll either.
        for position in (1, 2, 3):
            wakeup.notify(position)
        arrived = _wait_for(lambda: len(receiver.snapshot("/tasks/bound")) >= 3, POLL_SECONDS)
    finally:
        wakeup.close()
    elapsed = time.monotonic() - started

    assert arrived, "tasks created through the emulator were not delivered"
    assert elapsed < PROMPT_DELIVERY_S, f"delivery took {elapsed:.1f}s (waited for a poll)"
    received = receiver.snapshot("/tasks/bound")
    assert sorted(orjson.loads(r.body)["position"] for r in received) == [1, 2, 3]


def test_occupied_port_is_refused(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        port = squatter.getsockname()[1]
        venv = tmp_path / "never-created"
        with pytest.raises(RuntimeError, match="already in use"):
            start_emulator(port, venv, queue_path(PROJECT, LOCATION, QUEUE), tmp_path / "log")
        assert not venv.exists()
