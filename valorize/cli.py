"""``valorize``: the operator's command line (migrate, serve, up, down, seed).

``valorize`` is the composition root: the one package that names every service (by
import string, so a process imports only the service it runs). ``shared`` names none.
"""

from __future__ import annotations

import argparse
import logging
import sys

from shared.settings import get_settings

FACTORIES = {
    "command": "command_service.app:create_app",
    "query": "query_service.app:create_app",
    "worker": "projection_worker.app:create_app",
    "gateway": "ws_gateway.app:create_app",
}
DEFAULT_PORTS = {"edge": 8000, "command": 8001, "query": 8002, "worker": 8003, "gateway": 8004}


def _serve(args: argparse.Namespace) -> None:
    port = args.port or DEFAULT_PORTS[args.service]
    if args.service == "gateway":
        import importlib

        from aiohttp import web

        module_name, _, attr = FACTORIES["gateway"].partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        # reuse_port: instances of a local multi-instance stack share the port.
        web.run_app(factory(), host=args.host, port=port, print=None, reuse_port=True)
        return
    from valorize.serving import Served, run

    # By import string: each process builds its own app (and its clients).
    factory = "valorize.edge:create_edge" if args.service == "edge" else FACTORIES[args.service]
    settings = get_settings()
    served = Served(factory, args.host, port, settings.forwarded_allow_ips)
    # The HTTP edges scale with the cores; the worker's lanes are one process's threads.
    default = settings.processes if args.service in ("edge", "query", "command") else 1
    run(served, args.workers or default)


def _migrate(_: argparse.Namespace) -> None:
    from shared.adapters.migrate import migrate

    migrate(get_settings())
    print("migrated")


def _up(args: argparse.Namespace) -> None:
    from valorize.localstack import up

    up(get_settings(), seed=not args.no_seed, instances=args.instances)


def _down(_: argparse.Namespace) -> None:
    from valorize.localstack import down

    down(get_settings())


def _seed(args: argparse.Namespace) -> None:
    from valorize.localstack import seed_demo

    seed_demo(args.base_url)


def _projections(args: argparse.Namespace) -> None:
    import importlib

    _find_stores()
    # The worker owns its projections; the CLI only names it (shared imports no service).
    admin = importlib.import_module("projection_worker.admin")
    raise SystemExit(admin.main(args.rest))


def _find_stores() -> None:
    """Without POSTGRES_DSN, use the servers of the stack `make up` started in this data
    directory (its stack.json), exported for the rebuild processes too; without either,
    or with servers that do not answer, stop at once with what to do."""
    import os

    import psycopg

    from valorize.localstack import running_stack, state_file

    settings = get_settings()
    if not settings.postgres_dsn:
        stack = running_stack(settings)
        if stack is None:
            raise SystemExit(
                f"valorize: no POSTGRES_DSN, and no local stack in {settings.data_dir} "
                f"({state_file(settings).name} is written by `make up`): start one with "
                "`make up`, or export POSTGRES_DSN and REDIS_URL"
            )
        os.environ.update(stack["env"])
        get_settings.cache_clear()
        settings = get_settings()
    try:
        with psycopg.connect(settings.postgres_dsn, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"valorize: the event store does not answer ({exc}); is the stack up (`make up`)?"
        ) from None


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=get_settings().log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    parser = argparse.ArgumentParser(prog="valorize", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="create tables and seed reference data").set_defaults(
        run=_migrate
    )
    serve = commands.add_parser("serve", help="serve one service over HTTP")
    serve.add_argument("service", choices=sorted(DEFAULT_PORTS))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument(
        "--workers", type=int, default=0, help="processes (default: VALORIZE_PROCESSES)"
    )
    serve.set_defaults(run=_serve)
    start = commands.add_parser("up", help="start the whole local stack and seed a demo")
    start.add_argument("--no-seed", action="store_true")
    start.add_argument(
        "--instances", type=int, default=1, help="of each service, each with its own data dir"
    )
    start.set_defaults(run=_up)
    commands.add_parser("down", help="stop what `up` started").set_defaults(run=_down)
    seed = commands.add_parser("seed", help="provision a demo user with transactions")
    seed.add_argument("--base-url", default="http://127.0.0.1:8000")
    seed.set_defaults(run=_seed)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    operate = commands.add_parser(
        "projections", help="status | rebuild NAME | rebuild --all", add_help=False
    )
    operate.add_argument("rest", nargs=argparse.REMAINDER)
    operate.set_defaults(run=_projections)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
