"""``valorize projections status|rebuild``: operate the read models."""

from __future__ import annotations

import argparse
import sys

import orjson
from redis import Redis

from projection_worker.catalog import projections
from projection_worker.rebuild import RebuildFailedError
from projection_worker.rebuild_processes import rebuild_in_processes
from projection_worker.status import render, status
from shared.eventstore import open_ledger
from shared.settings import get_settings
from shared.wiring import readmodel_pool


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="valorize projections")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("status", help="checkpoint, head, lag and state of each")
    show.add_argument("--json", action="store_true")
    build = commands.add_parser("rebuild", help="rebuild beside the live one, then switch")
    build.add_argument("name", nargs="?")
    build.add_argument("--all", action="store_true")
    build.add_argument("--restart", action="store_true", help="discard an interrupted rebuild")
    args = parser.parse_args(argv)
    settings = get_settings()
    ledger, pool = open_ledger(settings), readmodel_pool(settings, max_size=4)
    redis = Redis.from_url(settings.redis_url)
    try:
        catalog = projections(settings, pool, redis, None)
        if args.command == "status":
            report = status(ledger, catalog)
            print(orjson.dumps(report).decode() if args.json else render(report))
            return 0
        chosen = [p for p in catalog if args.all or p.name == args.name]
        if not chosen:
            parser.error(f"name one of {', '.join(p.name for p in catalog)}, or --all")
        names = [p.name for p in chosen]
        rebuild_in_processes(settings, names, restart=args.restart)
        return 0
    except RebuildFailedError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        redis.close()
        pool.close()
        ledger.close()
