"""The paper's load tests (k6 scripts of the original, contract section 5): stages, request
mixes, thresholds, and the figures it reported, to print beside ours."""

from __future__ import annotations

from dataclasses import dataclass

SLO_P95_MS = 300.0
SLO_ERROR_RATE = 0.005
THINK_SECONDS = 1.0


@dataclass(frozen=True)
class Stage:
    seconds: float
    target_vus: int


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    stages: tuple[Stage, ...]

    def scaled(self, time_scale: float, vu_scale: float) -> tuple[Stage, ...]:
        return tuple(
            Stage(s.seconds * time_scale, max(0, round(s.target_vus * vu_scale)))
            for s in self.stages
        )


def _m(minutes: float, vus: int) -> Stage:
    return Stage(minutes * 60, vus)


C1 = Scenario(
    "C1",
    "read-heavy: GET /api/transactions",
    (_m(2, 150), _m(3, 300), _m(4, 600), _m(4, 900), _m(2, 1000), _m(2, 0)),
)
C2 = Scenario(
    "C2",
    "write-heavy: POST /api/transactions",
    (_m(2, 25), _m(2, 80), _m(3, 200), _m(3, 350), _m(2, 500), _m(1, 600), _m(1, 0)),
)
C3 = Scenario(
    "C3",
    "mixed: 65% filtered list, 20% create, 15% accounts; a user per VU",
    (_m(2, 30), _m(3, 80), _m(4, 180), _m(4, 350), _m(4, 550), _m(2, 650), _m(2, 0)),
)
SCENARIOS = {s.name: s for s in (C1, C2, C3)}
QUEUE_TASKS = 51_580

# The paper's Table 1 (Cloud Run, max 10 x 1 vCPU; Cloud SQL 2 vCPU), contract 5.5.
PAPER = {
    "C1": "p95 158.48 ms, avg 470 req/s (peak ~970) at 1000 VUs; errors 0.00%; SLO met",
    "C2": "no results reported",
    "C3": "p95 658.47 ms overall (SLO broken from ~539 VUs; <300 ms up to ~450 req/s); "
    "226 req/s avg; errors 0.00%",
    "C4": "51,580 tasks drained in ~10 min (~86 tasks/s); 4,565 non-ok attempts",
}
