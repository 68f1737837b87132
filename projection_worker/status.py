"""Where each projection stands: checkpoint, head, lag in events and seconds, state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from projection_worker.catalog import Rebuildable, failure_of
from shared.eventstore import Ledger


def _waiting_since(ledger: Ledger, checkpoint: int) -> datetime | None:
    """When the oldest event not yet applied was recorded."""
    pending = ledger.recorder.select_notifications(
        start=checkpoint, limit=1, inclusive_of_start=False
    )
    if not pending:
        return None
    timestamp: datetime = getattr(ledger.mapper.to_domain_event(pending[0]), "timestamp")  # noqa: B009
    return timestamp


def _failure(projection: Rebuildable) -> dict[str, Any] | None:
    found = failure_of(projection)
    if found is None and projection.failed():
        return {"position": None, "error": "failed (see the projection's store)"}
    return None if found is None else {"position": found[0], "error": found[1]}


def status(ledger: Ledger, projections: Sequence[Rebuildable]) -> list[dict[str, Any]]:
    head = ledger.head()
    now = datetime.now(UTC)
    report = []
    for projection in projections:
        checkpoint = projection.checkpoint()
        since = _waiting_since(ledger, checkpoint) if checkpoint < head else None
        failure = _failure(projection)
        rebuilding = projection.staging_position()
        state = "failed" if failure else "rebuilding" if rebuilding is not None else "running"
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
                "failure": failure,
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
        if row["failure"]:
            detail = f"poison at {row['failure']['position']}: {row['failure']['error']}"
        elif row["rebuild_position"] is not None:
            detail = f"rebuild at {row['rebuild_position']}"
        lines.append(
            f"{row['name']:<14} {row['store']:<9} {row['state']:<11} "
            f"{row['checkpoint']:>10} {row['head']:>10} {row['lag_events']:>8} "
            f"{row['lag_seconds']:>8.1f}  {detail}"
        )
    return "\n".join(lines)
