"""Per-stage figures, SLO verdicts, plots and raw CSV for a scenario run."""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scenarios.driver import Sample
from scenarios.paper import SLO_ERROR_RATE, SLO_P95_MS


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


@dataclass(frozen=True)
class Row:
    scenario: str
    stage: str
    endpoint: str
    vus: int
    requests: int
    rate: float
    p50: float
    p90: float
    p95: float
    p99: float
    errors: float

    @property
    def slo(self) -> str:
        return "ok" if self.p95 < SLO_P95_MS and self.errors < SLO_ERROR_RATE else "BROKEN"

    def markdown(self) -> str:
        return (
            f"| {self.scenario} | {self.stage} | {self.endpoint} | {self.vus} | "
            f"{self.requests} | {self.rate:.0f} | {self.p50:.1f} | {self.p90:.1f} | "
            f"{self.p95:.1f} | {self.p99:.1f} | {self.errors:.2%} | {self.slo} |"
        )


HEADER = (
    "| scenario | stage | endpoint | max VUs | requests | req/s | p50 ms | p90 ms | "
    "p95 ms | p99 ms | errors | SLO |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _row(
    scenario: str,
    stage: str,
    endpoint: str,
    samples: list[Sample],
    seconds: float,
    expected: set[int],
) -> Row:
    ms = [s.ms for s in samples]
    failed = sum(1 for s in samples if s.status not in expected)
    return Row(
        scenario,
        stage,
        endpoint,
        max((s.vus for s in samples), default=0),
        len(samples),
        len(samples) / max(seconds, 1e-9),
        statistics.median(ms) if ms else float("nan"),
        pct(ms, 90),
        pct(ms, 95),
        pct(ms, 99),
        failed / max(1, len(samples)),
    )


def rows(scenario: str, samples: list[Sample], stage_seconds: Sequence[float]) -> list[Row]:
    """One row per stage and endpoint, plus an "all" row per endpoint for the whole run."""
    ok = {200, 201}
    made = []
    by_endpoint: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_endpoint[sample.endpoint].append(sample)
    for endpoint, group in sorted(by_endpoint.items()):
        for index, seconds in enumerate(stage_seconds):
            in_stage = [s for s in group if s.stage == index]
            if in_stage:
                made.append(_row(scenario, str(index + 1), endpoint, in_stage, seconds, ok))
        made.append(_row(scenario, "all", endpoint, group, sum(stage_seconds), ok))
    return made


def write_csv(path: Path, scenario: str, samples: list[Sample]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["scenario", "t_seconds", "endpoint", "status", "ms", "vus", "stage"])
        for s in samples:
            writer.writerow(
                [scenario, f"{s.at:.4f}", s.endpoint, s.status, f"{s.ms:.3f}", s.vus, s.stage + 1]
            )


def _buckets(samples: list[Sample], endpoint: str | None) -> list[tuple[int, list[float]]]:
    """Latencies grouped by VU count (rounded to 5% of the peak), for the curves."""
    chosen = [s for s in samples if endpoint is None or s.endpoint == endpoint]
    peak = max((s.vus for s in chosen), default=1) or 1
    step = max(1, peak // 20)
    groups: dict[int, list[float]] = defaultdict(list)
    for s in chosen:
        groups[(s.vus // step) * step].append(s.ms)
    return sorted((vus, ms) for vus, ms in groups.items() if len(ms) >= 5)


def plot_percentiles(path: Path, scenario: str, samples: list[Sample], endpoint: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buckets = _buckets(samples, endpoint)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for p, style in ((50, "-"), (90, "--"), (95, "-"), (99, ":")):
        ax.plot(
            [v for v, _ in buckets],
            [pct(ms, p) for _, ms in buckets],
            style,
            label=f"p{p}",
            linewidth=2 if p == 95 else 1.2,
        )
    ax.axhline(SLO_P95_MS, color="red", linewidth=1, label="SLO p95 < 300 ms")
    ax.set(
        title=f"{scenario}: {endpoint} latency vs virtual users",
        xlabel="virtual users",
        ylabel="latency (ms)",
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_read_vs_mixed(path: Path, read: list[Sample], mixed: list[Sample]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for label, samples in (("C1 read", read), ("C3 mixed", mixed)):
        buckets = _buckets(samples, None)
        ax.plot([v for v, _ in buckets], [pct(ms, 95) for _, ms in buckets], label=label)
    ax.axhline(SLO_P95_MS, color="red", linewidth=1, label="SLO p95 < 300 ms")
    ax.set(
        title="p95 latency: read-heavy vs mixed", xlabel="virtual users", ylabel="p95 latency (ms)"
    )
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_drain(path: Path, curve: list[tuple[float, dict[str, int]]], total: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=120)
    names = sorted({name for _, lag in curve for name in lag})
    for name in names:
        left.plot([t for t, _ in curve], [lag.get(name, 0) for _, lag in curve], label=name)
        rates = [
            (
                curve[i][0],
                (curve[i - 1][1].get(name, 0) - curve[i][1].get(name, 0))
                / max(curve[i][0] - curve[i - 1][0], 1e-9),
            )
            for i in range(1, len(curve))
        ]
        right.plot([t for t, _ in rates], [r for _, r in rates], label=name)
    left.set(
        title=f"C4: backlog of {total:,} events per read model",
        xlabel="seconds",
        ylabel="events not yet applied",
    )
    right.set(title="drain rate", xlabel="seconds", ylabel="events/s")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
