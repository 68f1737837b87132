"""The load scenarios end to end at tiny scale: the whole stack over HTTP, every request
mix of the paper, the report with its plots, and the invariant checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from scenarios.run import Target, run, write
from shared.settings import Settings
from tests.harness import ServedApp


def test_scenarios_run_end_to_end_and_hold_their_invariants(
    tmp_path: Path, edge_api: ServedApp, worker_api: ServedApp, settings: Settings
) -> None:
    args = argparse.Namespace(
        scenarios="C1,C2,C3,C4", time_scale=0.004, vu_scale=0.02, queue_total=600
    )
    outcome = run(args, tmp_path, Target(edge_api.url, worker_api.url, settings))
    table = write(tmp_path, outcome, args)
    assert {"C1", "C2", "C3"} <= set(outcome.recorders)
    for name, verdict in outcome.invariants.items():
        assert verdict.endswith("(ok)"), (name, verdict)
    assert outcome.drain is not None
    assert (outcome.drain.lost, outcome.drain.doubled) == (0, 0)
    assert outcome.drain.checked_accounts > 0
    errors = [r for r in outcome.rows if r.stage == "all" and r.errors > 0]
    assert errors == []
    for png in (
        "C1_latency.png",
        "C2_latency.png",
        "C3_latency.png",
        "C4_drain.png",
        "read_vs_mixed_p95.png",
    ):
        assert (tmp_path / png).stat().st_size > 10_000, png
    assert "| C4 |" in table
    assert (tmp_path / "summary.md").exists()
