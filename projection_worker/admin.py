"""``valorize projections status|parked|retry|quarantine|rebuild``: operate the read models."""

from __future__ import annotations

import argparse
import sys

import orjson
from redis import Redis

from projection_worker.catalog import Rebuildable, projections
from projection_worker.rebuild import RebuildFailedError
from projection_worker.rebuild_processes import rebuild_in_processes
from projection_worker.runner import Runner, release_partition
from projection_worker.status import render, render_parked, status
from shared.adapters.eventstore import Ledger, open_ledger
from shared.adapters.wiring import publisher_from, readmodel_pool
from shared.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="valorize projections")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("status", help="checkpoint, head, lag and state of each")
    show.add_argument("--json", action="store_true")
    parked = commands.add_parser("parked", help="events a read model could not apply")
    parked.add_argument("name", nargs="?")
    retry = commands.add_parser("retry", help="apply a partition's parked events again")
    retry.add_argument("name")
    retry.add_argument("--partition", help="one partition (a user id); default: all")
    drop = commands.add_parser(
        "quarantine", help="drop a partition's poison event for good (audited), then retry"
    )
    drop.add_argument("name")
    drop.add_argument("position", type=int)
    drop.add_argument("--reason", required=True)
    build = commands.add_parser("rebuild", help="rebuild beside the live one, then switch")
    build.add_argument("name", nargs="?")
    build.add_argument("--all", action="store_true")
    build.add_argument("--restart", action="store_true", help="discard an interrupted rebuild")
    return parser


def _one(parser: argparse.ArgumentParser, catalog: list[Rebuildable], name: str) -> Rebuildable:
    for projection in catalog:
        if projection.name == name:
            return projection
    parser.error(f"name one of {', '.join(p.name for p in catalog)}")


def _retry(runner: Runner, projection: Rebuildable, partition: str | None) -> int:
    partitions = sorted({p.partition for p in projection.parked()})
    failed = 0
    for chosen in [partition] if partition else partitions:
        outcome = release_partition(runner, projection, chosen)
        print(f"{projection.name} {chosen}: {outcome.released} event(s) applied")
        if outcome.stuck is not None:
            failed += 1
            print(f"  still parked at {outcome.stuck.position}: {outcome.stuck.error}")
    return 1 if failed else 0


def _quarantine(runner: Runner, projection: Rebuildable, position: int, reason: str) -> int:
    head = next((p for p in projection.parked() if p.position == position), None)
    if head is None or not projection.quarantine(position, reason):
        print(f"{position} is not the head of a parked partition", file=sys.stderr)
        return 1
    print(f"{projection.name}: quarantined {position} ({head.topic})")
    return _retry(runner, projection, head.partition)


def _run(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    ledger: Ledger,
    catalog: list[Rebuildable],
) -> int:
    if args.command == "status":
        report = status(ledger, catalog)
        print(orjson.dumps(report).decode() if args.json else render(report))
        return 0
    if args.command == "parked":
        chosen = [p for p in catalog if args.name in (None, p.name)]
        print("\n".join(render_parked(p.name, p.parked()) for p in chosen))
        return 0
    runner = Runner(ledger, catalog)
    if args.command == "retry":
        return _retry(runner, _one(parser, catalog, args.name), args.partition)
    if args.command == "quarantine":
        return _quarantine(runner, _one(parser, catalog, args.name), args.position, args.reason)
    chosen = [p for p in catalog if args.all or p.name == args.name]
    if not chosen:
        parser.error(f"name one of {', '.join(p.name for p in catalog)}, or --all")
    rebuild_in_processes(get_settings(), [p.name for p in chosen], restart=args.restart)
    return 0


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = get_settings()
    ledger, pool = open_ledger(settings), readmodel_pool(settings, max_size=4)
    redis = Redis.from_url(settings.redis_url)
    # Released events are announced to live sockets (a resync); rebuilds never publish.
    publisher = publisher_from(settings, redis)
    try:
        return _run(parser, args, ledger, projections(settings, pool, redis, publisher))
    except RebuildFailedError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        publisher.close()
        redis.close()
        pool.close()
        ledger.close()
