"""Instances share no disk: services run as processes of their own, as `make up
INSTANCES=2` and Cloud Run run them, each with a data directory of its own, on stores of
their own (a database on the session's PostgreSQL, a Redis server).

Suggestions are the case that once needed a shared disk (the memo vectors' faiss files):
two query instances answer them while the worker projects in a third directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from shared.adapters.eventstore import open_ledger
from shared.adapters.http import POSITION_HEADER
from shared.adapters.migrate import migrate
from shared.contracts import CHECKPOINTS_TABLE, LEDGER_TABLES, LIVE_STREAM, MEMO_VECTORS
from shared.local.devstack import free_port, start_redis, stop
from shared.settings import Settings
from tests.harness import fresh_database
from tests.integration import helpers
from tests.integration import read_helpers as rh
from valorize.localstack import LOAD_TEST_ENV, spawn


@dataclasses.dataclass(frozen=True)
class Topology:
    writes: httpx.Client  # the command instance
    queries: list[httpx.Client]  # two query instances
    dirs: dict[str, Path]  # instance -> its data directory
    user: helpers.Provisioned
    stores: dict[str, str]  # what `make up` records in stack.json for the CLI
    settings: Settings  # the topology's stores, for the test process


def _wait_up(url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/up", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"{url} did not come up: {log.read_text()[-2000:] if log.exists() else ''}")


@pytest.fixture(scope="module")
def topology(settings: Settings, servers: dict[str, str]) -> Iterator[Topology]:
    root = settings.data_dir / "instances"
    redis = start_redis(root / "redis", free_port())
    database = fresh_database(servers["POSTGRES_DSN"], "instances")
    ports = {"worker": free_port(), "command": free_port(), "query-1": free_port()}
    ports["query-2"] = free_port()
    env = {
        **os.environ,
        **LOAD_TEST_ENV,
        **{k: v for k, v in servers.items() if k.startswith("CLOUD_TASKS_")},
        "POSTGRES_DSN": database,
        "REDIS_URL": redis.url,
        "PROJECTION_WORKER_URL": f"http://127.0.0.1:{ports['worker']}/tasks/wake",
        "VALORIZE_PROCESSES": "1",
        "VALORIZE_LOG_LEVEL": "warning",
    }
    local = dataclasses.replace(settings, postgres_dsn=database, readmodel_dsn=database)
    migrate(local)
    dirs = {name: root / name for name in ports}
    pids = [
        spawn(name.split("-")[0], port, {**env, "VALORIZE_DATA_DIR": str(dirs[name])}, dirs[name])
        for name, port in ports.items()
    ]
    ledger = open_ledger(local)
    clients = {
        name: httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        for name, port in ports.items()
    }
    try:
        for name, client in clients.items():
            _wait_up(str(client.base_url), dirs[name] / "logs" / f"{name.split('-')[0]}.log")
        user = helpers.provision(clients["command"], ledger)
        stores = {k: env[k] for k in ("POSTGRES_DSN", "REDIS_URL")}
        queries = [clients["query-1"], clients["query-2"]]
        yield Topology(clients["command"], queries, dirs, user, stores, local)
    finally:
        for client in clients.values():
            client.close()
        ledger.close()
        for pid in pids:
            stop(pid)
        stop(redis.pid)


def _write(topology: Topology, memo: str, category: str | None = None) -> tuple[str, int]:
    """Record a transaction through the command instance: its id and position."""
    user = topology.user
    made = rh.create_transaction(
        topology.writes, user, user.account_id, -900, memo=memo, category_id=category
    )
    return made.json()["id"], int(made.headers[POSITION_HEADER])


def _vectors_reach(settings: Settings, position: int, timeout: float = 15) -> None:
    """Wait until the worker's memo_vectors has applied ``position`` (its rows and its
    checkpoint commit together, so the rows are all there)."""
    query = SQL("SELECT position FROM {}.{} WHERE name = %s").format(
        Identifier(settings.readmodel_schema), Identifier(CHECKPOINTS_TABLE)
    )
    deadline = time.monotonic() + timeout
    with psycopg.connect(settings.readmodel_dsn, autocommit=True) as conn:
        while (row := conn.execute(query, (MEMO_VECTORS,)).fetchone()) is None or row[0] < position:
            assert time.monotonic() < deadline, f"memo_vectors never reached {position}"
            time.sleep(0.05)


def _suggestions(topology: Topology, txn: str) -> list[list[dict[str, Any]]]:
    """What each query instance suggests for ``txn``, asked once."""
    path = f"/api/transactions/{txn}/suggestions"
    return [rh.get_json(query, topology.user, path)["data"] for query in topology.queries]


def test_two_query_instances_suggest_alike_while_the_worker_runs_elsewhere(
    topology: Topology,
) -> None:
    bakery, rides = topology.user.categories["red"], topology.user.categories["blue"]
    for _ in range(3):
        _write(topology, "Padaria Pão Quente", bakery)
        _write(topology, "Uber trip", rides)
    new, position = _write(topology, "Padaria do Zé")
    _vectors_reach(topology.settings, position)
    first = _suggestions(topology, new)
    assert first[0] == first[1]  # scores included: the same rows, the same index
    assert first[0][0]["category"]["id"] == bakery
    # New rows reach every instance's in-memory index (no instance keeps a stale one).
    for _ in range(8):
        _, position = _write(topology, "Padaria Zé Uber", rides)
    _vectors_reach(topology.settings, position)
    second = _suggestions(topology, new)
    assert second[0] == second[1]
    assert second[0][0]["category"]["id"] == rides


def test_no_instance_keeps_anything_but_its_log_on_disk(topology: Topology) -> None:
    for name, directory in topology.dirs.items():
        kept = [p.relative_to(directory) for p in directory.rglob("*") if p.is_file()]
        assert kept, name  # the instance did run here
        assert all(p.parts[0] == "logs" for p in kept), (name, kept)


def _operator_cli(data_dir: Path, stack_env: dict[str, str] | None) -> subprocess.Popen[str]:
    """`valorize projections status --json` with no store in its environment, in a data
    directory holding a `make up` stack.json with ``stack_env`` (none if None)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if stack_env is not None:
        (data_dir / "stack.json").write_bytes(orjson.dumps({"pids": {}, "env": stack_env}))
    unset = {"POSTGRES_DSN", "READMODEL_DSN", "REDIS_URL"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "valorize"), "projections", "status", "--json"],
        env={**env, "VALORIZE_DATA_DIR": str(data_dir)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_operator_cli_finds_the_stack_or_says_why_not(
    topology: Topology, tmp_path: Path
) -> None:
    dead = {**topology.stores, "POSTGRES_DSN": f"postgresql://postgres@127.0.0.1:{free_port()}/x"}
    found, none, down = (
        _operator_cli(tmp_path / "up", topology.stores),
        _operator_cli(tmp_path / "never-up", None),
        _operator_cli(tmp_path / "gone", dead),
    )
    out, err = found.communicate(timeout=60)
    assert found.returncode == 0, err
    report = {row["name"]: row for row in orjson.loads(out)}
    assert set(report) >= {LEDGER_TABLES, LIVE_STREAM, MEMO_VECTORS}
    assert report[LEDGER_TABLES]["head"] > 0  # the stack's store: the user's events are there
    _, err = none.communicate(timeout=30)  # never a silent hang
    assert none.returncode != 0
    assert "no POSTGRES_DSN, and no local stack" in err, err
    assert "`make up`" in err, err
    _, err = down.communicate(timeout=30)
    assert down.returncode != 0
    assert "the event store does not answer" in err, err
