"""`python -m scenarios.run`: the paper's C1-C4 against a local throwaway stack or any URL,
with baselines from the same run, invariant checks, plots and a report under reports/."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from scenarios import drain, flows, report
from scenarios.bench_writes import raw_inserts
from scenarios.driver import Recorder, ramp
from scenarios.paper import PAPER, QUEUE_TASKS, SCENARIOS, Stage
from scenarios.stack import bench_stack
from scenarios.visibility import CheckpointWatcher, Probe, paced_probe
from shared.adapters.eventstore import open_ledger
from shared.settings import Settings


@dataclass
class Target:
    base: str
    worker: str | None
    settings: Settings | None
    gateway: str | None = None


@dataclass
class Outcome:
    rows: list[report.Row] = field(default_factory=list)
    recorders: dict[str, Recorder] = field(default_factory=dict)
    invariants: dict[str, str] = field(default_factory=dict)
    drain: drain.Drain | None = None
    ceiling: float = 0.0
    raw_inserts: float = 0.0
    driver_cpu: dict[str, float] = field(default_factory=dict)
    probes: dict[str, list[str]] = field(default_factory=dict)


@contextlib.contextmanager
def target(args: argparse.Namespace) -> Iterator[Target]:
    if args.base_url:
        yield Target(args.base_url.rstrip("/"), args.worker_url, None)
        return
    # What `make up` starts: the edge (VALORIZE_PROCESSES processes unless given), the
    # worker and the gateway.
    with bench_stack({"edge": args.edge_workers, "worker": 1, "gateway": 1}) as stack:
        yield Target(
            stack.urls["edge"], stack.urls["worker"], stack.settings, stack.urls["gateway"]
        )


async def _shared_user(base: str, seed: int) -> dict[str, Any]:
    """C1/C2's pre-existing user (k6's TOKEN), with transactions for C1 to page through."""
    recorder = Recorder()
    import aiohttp

    async with aiohttp.ClientSession() as session:
        _, made = await recorder.request(
            session,
            "POST",
            f"{base}/api/testing/load-test-user",
            "provision",
            headers={"Accept": "application/json"},
        )
        headers = {**flows.JSON, "Authorization": f"Bearer {made['token']}"}
        user = await flows.basics(session, recorder, base, headers)
        for _ in range(seed):
            await recorder.request(
                session,
                "POST",
                f"{base}/api/transactions",
                "seed",
                headers=headers,
                json={
                    "account_id": random.choice(user["accounts"]),
                    "category_id": random.choice(user["categories"]),
                    "amount": {"value": random.randint(-9000, 9000), "currency": "BRL"},
                    "date": flows._days_ago(60),
                    "memo": "seeded",
                },
            )
    return user


def check_balances(base: str, users: list[dict[str, Any]], limit: int = 25) -> str:
    """Every account balance equals the sum of its transactions, through the API."""
    checked, wrong = 0, 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for user in [u for u in users if u.get("accounts")][:limit]:
            for account in user["accounts"]:
                shown = client.get(f"/api/accounts/{account}", headers=user["headers"]).json()
                total, page = 0, 1
                while True:
                    listed = client.get(
                        "/api/transactions",
                        headers=user["headers"],
                        params=[("accounts[]", account), ("per_page", "100"), ("page", str(page))],
                    ).json()
                    total += sum(t["amount"]["value"] for t in listed["data"])
                    if page >= listed["last_page"]:
                        break
                    page += 1
                checked += 1
                wrong += shown["balance"]["value"] != total
    return f"{checked} accounts checked, {wrong} wrong" + (" (ok)" if not wrong else " (FAILED)")


def _probe_user(base: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=30) as client:
        made = client.post("/api/testing/load-test-user").json()
        headers = {"Authorization": f"Bearer {made['token']}", "Accept": "application/json"}
        accounts = client.get("/api/accounts", headers=headers).json()["data"]
        categories = client.get("/api/categories", headers=headers).json()
    return {
        "headers": headers,
        "token": made["token"],
        "accounts": [a["id"] for a in accounts],
        "categories": [c["id"] for c in categories],
    }


async def _probed(ramped: Any, where: Target, probe: Probe) -> Recorder:
    """``ramped`` with a probe writing 10 times a second and listening on its socket."""
    stop = asyncio.Event()
    ws_url = f"{where.gateway.replace('http', 'ws')}/ws" if where.gateway else ""
    probing = asyncio.create_task(
        paced_probe(where.base, ws_url, _probe_user(where.base), probe, 0.1, stop)
    )
    try:
        recorder: Recorder = await ramped
    finally:
        stop.set()
        await probing
    return recorder


async def _scenario(
    name: str, stages: tuple[Stage, ...], where: Target, probe: Probe | None
) -> tuple[Recorder, list[dict[str, Any]]]:
    base = where.base
    if name == "C3":
        setup, iteration = flows.c3(base)
        ramped = ramp(stages, iteration, setup)
        recorder = await (_probed(ramped, where, probe) if probe else ramped)
        return recorder, [s for s in recorder.states if "headers" in s]
    user = await _shared_user(base, seed=200 if name == "C1" else 0)
    iteration = flows.c1(base, user) if name == "C1" else flows.c2(base, user)
    return await ramp(stages, iteration), [user]


def _watching(where: Target, name: str) -> tuple[Probe | None, CheckpointWatcher | None]:
    """Under C3 (and only on a local stack, whose database the watcher reads): a probe."""
    if name != "C3" or where.settings is None or where.gateway is None:
        return None, None
    probe = Probe()
    watcher = CheckpointWatcher(
        where.settings.readmodel_dsn, where.settings.readmodel_schema, probe
    )
    watcher.start()
    return probe, watcher


def run(args: argparse.Namespace, out: Path, given: Target | None = None) -> Outcome:
    outcome = Outcome()
    chosen = [s.strip().upper() for s in args.scenarios.split(",")]
    with contextlib.nullcontext(given) if given else target(args) as where:
        peak = max(
            (
                round(max(st.target_vus for st in SCENARIOS[n].stages) * args.vu_scale)
                for n in chosen
                if n in SCENARIOS
            ),
            default=10,
        )
        hold = max(2.0, 60 * args.time_scale)
        # No think time here: this measures what the machine's HTTP stack can serve.
        baseline = asyncio.run(
            ramp((Stage(hold, peak), Stage(hold, peak)), flows.trivial(where.base), think=0.0)
        )
        outcome.ceiling = len([s for s in baseline.samples if s.stage == 1]) / hold
        outcome.rows += report.rows("ceiling", baseline.samples, [hold, hold])
        if where.settings is not None:  # the write path's floor needs the database itself
            outcome.raw_inserts = raw_inserts(where.settings, 8, hold).rate
        for name in [n for n in chosen if n in SCENARIOS]:
            stages = SCENARIOS[name].scaled(args.time_scale, args.vu_scale)
            cpu, wall = time.process_time(), time.perf_counter()
            probe, watcher = _watching(where, name)
            recorder, users = asyncio.run(_scenario(name, stages, where, probe))
            if probe and watcher:
                watcher.done.set()
                watcher.join()
                outcome.probes[name] = probe.summary(f"{name} probe (10 writes/s)")
            # Share of one core the load driver itself used: it must not be the bottleneck.
            outcome.driver_cpu[name] = (time.process_time() - cpu) / (time.perf_counter() - wall)
            outcome.recorders[name] = recorder
            outcome.rows += report.rows(name, recorder.samples, [s.seconds for s in stages])
            report.write_csv(out / f"{name}.csv", name, recorder.samples)
            main_endpoint = "POST /api/transactions" if name == "C2" else "GET /api/transactions"
            report.plot_percentiles(
                out / f"{name}_latency.png", name, recorder.samples, main_endpoint
            )
            outcome.invariants[name] = check_balances(where.base, users)
        if "C4" in chosen and where.worker and where.settings:
            ledger = open_ledger(where.settings)
            try:
                outcome.drain = drain.run(where.base, where.worker, ledger, args.queue_total)
            finally:
                ledger.close()
            report.plot_drain(out / "C4_drain.png", outcome.drain.curve, args.queue_total)
        if "C1" in outcome.recorders and "C3" in outcome.recorders:
            report.plot_read_vs_mixed(
                out / "read_vs_mixed_p95.png",
                outcome.recorders["C1"].samples,
                outcome.recorders["C3"].samples,
            )
    return outcome


def headline(outcome: Outcome) -> list[str]:
    """The figures the paper's Table 1 reports, for our run, with the ceiling ratio."""
    lines = []
    ceiling = outcome.ceiling or float("nan")
    rows = {(r.scenario, r.stage, r.endpoint): r for r in outcome.rows}
    if "C1" in outcome.recorders:
        stages = [r for r in outcome.rows if r.scenario == "C1" and r.stage != "all"]
        peak = max(stages, key=lambda r: r.vus)
        best = max(stages, key=lambda r: r.rate)
        lines.append(
            f"| C1 | p95 {peak.p95:.1f} ms at {peak.vus} VUs; saturation "
            f"{best.rate:.0f} req/s ({best.rate / ceiling:.2f}x ceiling) | {PAPER['C1']} |"
        )
    if "C2" in outcome.recorders:
        fast = [r for r in outcome.rows if r.scenario == "C2" and r.stage != "all" and r.p95 <= 100]
        rate = max((r.rate for r in fast), default=0.0)
        raw = f", {rate / outcome.raw_inserts:.2f}x raw INSERTs" if outcome.raw_inserts else ""
        lines.append(
            f"| C2 | {rate:.0f} req/s at p95 <= 100 ms ({rate / ceiling:.2f}x "
            f"ceiling{raw}) | {PAPER['C2']} |"
        )
    if "C3" in outcome.recorders:
        stages = sorted(
            (r for r in outcome.rows if r.scenario == "C3" and r.stage != "all"),
            key=lambda r: int(r.stage),
        )
        per_stage: dict[str, list[report.Row]] = {}
        for r in stages:
            per_stage.setdefault(r.stage, []).append(r)
        ok_vus = 0
        for stage_rows in per_stage.values():
            if all(r.slo == "ok" for r in stage_rows):
                ok_vus = max(ok_vus, *(r.vus for r in stage_rows))
            else:
                break
        overall = rows.get(("C3", "all", "GET /api/transactions"))
        lines.append(
            f"| C3 | SLO held up to {ok_vus} VUs; list p95 "
            f"{overall.p95 if overall else float('nan'):.1f} ms | {PAPER['C3']} |"
        )
    if outcome.drain:
        d = outcome.drain
        slowest = max(d.drained_seconds.values(), default=float("nan"))
        lines.append(
            f"| C4 | {d.total:,} events drained in {slowest:.1f} s "
            f"({d.total / slowest:,.0f} events/s); lost {d.lost}, doubled {d.doubled} "
            f"over {d.checked_accounts} accounts | {PAPER['C4']} |"
        )
    return lines


def write(out: Path, outcome: Outcome, args: argparse.Namespace) -> str:
    table = "\n".join(
        ["| scenario | Valorize (this run) | paper |", "|---|---|---|", *headline(outcome)]
    )
    stages = "\n".join([report.HEADER, *(r.markdown() for r in outcome.rows)])
    invariants = "\n".join(f"- {k}: {v}" for k, v in outcome.invariants.items())
    driver = ", ".join(f"{k} {v:.0%}" for k, v in outcome.driver_cpu.items())
    probes = "\n".join(f"- {line}" for lines in outcome.probes.values() for line in lines)
    drained = ""
    if outcome.drain:
        drained = "\n".join(f"- {k}: {v:.1f} s" for k, v in outcome.drain.drained_seconds.items())
    text = (
        f"# Valorize scenarios, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n"
        f"time scale {args.time_scale}, VU scale {args.vu_scale}, think time 1 s; "
        f"ceiling (GET /up, same driver, no think time) {outcome.ceiling:.0f} req/s; "
        f"raw psycopg INSERTs (8 threads, local stacks only) {outcome.raw_inserts:.0f}/s\n\n"
        f"## Table 1, our run beside the paper's\n\n{table}\n\n"
        f"## Per stage\n\n{stages}\n\n## Invariants\n\n{invariants}\n\n"
        f"## Load driver\n\nCPU used by the driver, share of one core: {driver}\n\n"
        f"## Commit-to-visible under load\n\n{probes}\n\n"
        f"## Queue drain per read model\n\n{drained}\n"
    )
    (out / "summary.md").write_text(text)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", default="C1,C2,C3,C4")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--vu-scale", type=float, default=1.0)
    parser.add_argument("--base-url", default="")
    parser.add_argument("--worker-url", default=None, help="needed for C4 on a remote target")
    parser.add_argument(
        "--edge-workers", type=int, default=0, help="edge processes (default: one per core)"
    )
    parser.add_argument("--queue-total", type=int, default=QUEUE_TASKS)
    parser.add_argument("--out", default="reports")
    args = parser.parse_args()
    out = Path(args.out) / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    outcome = run(args, out)
    print(write(out, outcome, args))
    print(
        "load driver CPU (share of one core): "
        + ", ".join(f"{k} {v:.0%}" for k, v in outcome.driver_cpu.items())
    )
    for lines in outcome.probes.values():
        print("\n".join(lines))
    print(f"\nreport: {out / 'summary.md'}")


if __name__ == "__main__":
    main()
