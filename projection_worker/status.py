"""Where each projection stands: checkpoint, head, lag in events and seconds, parked events.

Two views: the operator's (the CLI, on the machine, full error texts) and the public one
(the worker's ``GET /projections``): positions and error *types* only, since an error
text can quote another user's event data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from projection_worker.catalog import Rebuildable
from projection_worker.runner import Parked
from shared.adapters.eventstore import Ledger


def _waiting_since(ledger: Ledger, checkpoint: int) -> datetime | None:
    """When the oldest event not yet applied was recorded."""
    pending = ledger.recorder.select_notifications(
        start=checkpoint, limit=1, inclusive_of_start=False
    )
    if not pending:
        return None
    timestamp: datetime = getattr(ledger.mapper.to_domain_event(pending[0]), "timestamp")  # noqa: B009
    return timestamp


def error_type(error: str | None) -> str | None:
    """``"DataError: ..."`` -> ``"DataError"``: what the public status may show."""
    return None if error is None else error.partition(":")[0]


def _parked(parked: Sequence[Parked], *, public: bool) -> list[dict[str, Any]]:
    """The head (poison) of each parked partition, with how many events wait behind it."""
    heads: dict[str, dict[str, Any]] = {}
    for p in parked:
        head = heads.get(p.partition)
        if head is None:
            error = error_type(p.error) if public else p.error
            heads[p.partition] = {"position": p.position, "topic": p.topic, "error": error}
            heads[p.partition]["waiting"] = 0
            if not public:
                heads[p.partition]["partition"] = p.partition
        else:
            head["waiting"] += 1
    return list(heads.values())


def status(
    ledger: Ledger, projections: Sequence[Rebuildable], *, public: bool = False
) -> list[dict[str, Any]]:
    head = ledger.head()
    now = datetime.now(UTC)
    report = []
    for projection in projections:
        checkpoint = projection.checkpoint()
        since = _waiting_since(ledger, checkpoint) if checkpoint < head else None
        parked = _parked(projection.parked(), public=public)
        rebuilding = projection.staging_position()
        state = "degraded" if parked else "rebuilding" if rebuilding is not None else "running"
        report.append(
            {
                "name": projection.name,
                "store": projection.store,
                "state": state,
                "checkpoint": checkpoint,
                "head": head,
                "lag_events": head - checkpoint,
                "lag_seconds": round((now - since).total_seconds(), 3) if since else 0.0,
                "rebuild_position": rebuilding,
                "parked": parked,
            }
        )
    return report


def render(report: list[dict[str, Any]]) -> str:
    lines = [
        f"{'projection':<14} {'store':<9} {'state':<11} {'checkpoint':>10} {'head':>10} "
        f"{'lag':>8} {'lag s':>8}  detail"
    ]
    for row in report:
        detail = ""
        if row["parked"]:
            waiting = sum(p["waiting"] for p in row["parked"])
            detail = f"{len(row['parked'])} parked partition(s), {waiting} event(s) waiting"
        elif row["rebuild_position"] is not None:
            detail = f"rebuild at {row['rebuild_position']}"
        lines.append(
            f"{row['name']:<14} {row['store']:<9} {row['state']:<11} "
            f"{row['checkpoint']:>10} {row['head']:>10} {row['lag_events']:>8} "
            f"{row['lag_seconds']:>8.1f}  {detail}"
        )
    return "\n".join(lines)


def render_parked(name: str, parked: Sequence[Parked]) -> str:
    if not parked:
        return f"{name}: nothing parked"
    lines = [f"{name}: {'partition':<36} {'position':>10}  topic / error"]
    for p in parked:
        what = p.error if p.error is not None else "(waiting behind the poison)"
        lines.append(f"  {p.partition:<36} {p.position:>10}  {p.topic}: {what}")
    return "\n".join(lines)
