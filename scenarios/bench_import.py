"""`make bench-import`: rows/s importing a 50,000-row OFX and CSV statement end to end
(upload, the Cloud Tasks task, parsing, matching, appending, and every read model caught
up to the import's last event), beside raw parsing of the same files in the same run.

A throwaway stack in ``make up``'s shape: embedded PostgreSQL, Redis and the Cloud Tasks
emulator, the edge (``VALORIZE_PROCESSES`` processes, one per core by default: command and
query side; one of them processes the import) and the projection worker (its lanes in
``WORKER_PROCESSES`` processes, by default one per core too), on this machine's cores.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from scenarios.bench_parse import csv_bytes, ofx_bytes
from scenarios.stack import _spawn, _wait, bench_stack
from shared.domain.money import Currency
from shared.local.devstack import free_port, stop
from shared.statements import open_statement


def _parse(data: bytes, currency: Currency | None) -> float:
    started = time.perf_counter()
    statement = open_statement(io.BytesIO(data), currency=currency)
    count = sum(1 for _ in statement.rows())
    return count / (time.perf_counter() - started)


def _cpu(root: Path, redis_url: str, edge: int, worker: int) -> dict[str, float]:
    """CPU seconds used so far by the edge, the worker (with its lane processes), and the
    stack's PostgreSQL (its postmaster, with the backends that exited, and its live
    backends) and Redis, from ``/proc`` (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    postmaster = (root / "pg" / "postmaster.pid").read_text().split()[0]
    redis_port = f":{redis_url.rsplit(':', 1)[1].split('/', maxsplit=1)[0]}".encode()
    used = {"edge": 0.0, "worker": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own, children = sum(map(int, fields[11:13])), sum(map(int, fields[13:15]))
        if int(pid) in (edge, worker):
            used["edge" if int(pid) == edge else "worker"] += own / tick
        elif fields[1] in (str(edge), str(worker)):  # a server or lane process
            used["edge" if fields[1] == str(edge) else "worker"] += own / tick
        elif pid == postmaster:
            used["postgres"] += (own + children) / tick
        elif fields[1] == postmaster:
            used["postgres"] += own / tick
        elif b"redis-server" in command and redis_port in command:
            used["redis"] += own / tick
    return used


def _caught_up(worker: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = httpx.get(f"{worker}/projections", timeout=10).json()["projections"]
        if all(p["lag_events"] == 0 for p in report):
            return
        time.sleep(0.05)
    raise RuntimeError("the read models did not catch up")


def _import(
    api: httpx.Client, worker: str, headers: dict[str, str], name: str, data: bytes, **form: str
) -> dict[str, Any]:
    started = time.perf_counter()
    response = api.post(
        "/api/imports", headers=headers, files=[("files[]", (name, data))], data=form
    )
    assert response.status_code == 202, response.text
    import_id = response.json()["imports"][0]["id"]
    while True:
        body: dict[str, Any] = api.get(f"/api/imports/{import_id}", headers=headers).json()
        if body["status"] != "processing":
            break
        time.sleep(0.05)
    completed = time.perf_counter() - started
    _caught_up(worker)
    body["_completed"], body["_everywhere"] = completed, time.perf_counter() - started
    # The command side's own part: from the upload's event to the import's last one.
    first, last = (datetime.fromisoformat(body[k]) for k in ("created_at", "updated_at"))
    body["_processed"] = (last - first).total_seconds()
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    rows = args.rows
    files = {
        "OFX 1.02 SGML": ("bench.ofx", ofx_bytes(rows), None),
        "CSV (; and decimal comma)": ("bench.csv", csv_bytes(rows), Currency.BRL),
    }
    edge_port = free_port()
    task_url = f"http://127.0.0.1:{edge_port}/internal/imports/process"
    with bench_stack({"worker": 1}, IMPORT_TASK_URL=task_url) as stack:
        processes = stack.settings.processes  # as `make up` serves the edge
        edge = _spawn("edge", edge_port, stack.env, stack.root, processes)
        try:
            base = f"http://127.0.0.1:{edge_port}"
            _wait(f"{base}/up")
            worker = stack.urls["worker"]
            with httpx.Client(base_url=base, timeout=600) as api:
                user = api.post("/api/testing/load-test-user").json()
                headers = {"Authorization": f"Bearer {user['token']}"}
                # The load-test user's accounts are all in BRL.
                account = api.get("/api/accounts", headers=headers).json()["data"][0]["id"]
                print(
                    f"{rows:,} rows per statement; edge {processes} process(es), worker "
                    f"{stack.settings.worker_processes} process(es) of lanes, "
                    f"{os.cpu_count()} cores"
                )
                print(
                    f"{'statement':<28}{'parse only':>14}{'processed':>14}{'completed':>14}"
                    f"{'in every read model':>22}{'/ parse':>9}   CPU us per row"
                )
                pids = (stack.root, stack.env["REDIS_URL"], edge, stack.pids["worker"])
                for label, (name, data, currency) in files.items():
                    parse_rate = _parse(data, currency)
                    form = {"account_id": account} if name.endswith(".csv") else {}
                    before = _cpu(*pids)
                    done = _import(api, worker, headers, name, data, **form)
                    after = _cpu(*pids)
                    assert done["status"] == "completed", done
                    assert done["new_count"] == rows, done
                    cpu = ", ".join(
                        f"{k} {(after[k] - v) / rows * 1e6:.0f}" for k, v in before.items()
                    )
                    print(
                        f"{label:<28}{parse_rate:>10,.0f} r/s"
                        f"{rows / done['_processed']:>10,.0f} r/s"
                        f"{rows / done['_completed']:>10,.0f} r/s"
                        f"{rows / done['_everywhere']:>14,.0f} r/s ({done['_everywhere']:.1f} s)"
                        f"{rows / done['_everywhere'] / parse_rate:>7.3f}   {cpu}",
                        flush=True,
                    )
        finally:
            stop(edge)


if __name__ == "__main__":
    main()
