"""The command side's one wiring place: every adapter built from ``Settings`` (no client
exists before this runs), handed to the endpoints as one ``CommandSide``, closed in
reverse order on the way out."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

from redis import Redis

from command_service.handlers import Handlers
from command_service.handlers.imports import ImportHandlers
from command_service.handlers.notifications import NotificationHandlers
from command_service.ledger_unit_of_work import Appends, DirectAppends, LedgerUnits
from command_service.passwords import Argon2Passwords
from command_service.ports import BalanceLookup, HotBalances, NoBalances
from command_service.tokens import PostgresTokens
from command_service.unit_of_work import UnitsOfWork
from shared.adapters.auth import Authenticator, TokenCache, TokenLookup
from shared.adapters.eventstore import open_ledger
from shared.adapters.freshness import NullMarks, RedisWriteMarks, WriteMarks
from shared.adapters.group_commit import GroupCommitter
from shared.adapters.import_tasks import import_tasks_from
from shared.adapters.ratelimit import TokenBuckets, auth_failures, per_token
from shared.adapters.statement_files import statement_files_from
from shared.adapters.wiring import wakeup_from
from shared.settings import Settings


@dataclass(frozen=True)
class CommandSide:
    """Everything the endpoints use."""

    handlers: Handlers
    units: UnitsOfWork
    tokens: TokenLookup
    auth: Authenticator
    # Load-test users: minted per address at most this fast (the route exists only when
    # ``LOAD_TEST_USERS`` is on).
    provisioning_limit: TokenBuckets
    max_body_bytes: int
    # Statement imports (``import_endpoints``): uploads up to ``import_max_bytes``.
    imports: ImportHandlers
    notifications: NotificationHandlers
    import_max_bytes: int
    # Handlers block on the store: they run here, off the event loop. A plain executor
    # (not anyio's threadpool, whose bookkeeping cost a tenth of a request's CPU).
    executor: Executor
    # Failed logins per (e-mail, address): 5 a minute, as the original's login throttle.
    login_failures: TokenBuckets = field(default_factory=lambda: TokenBuckets(5 / 60, 5))


@contextlib.contextmanager
def bootstrap(settings: Settings) -> Iterator[CommandSide]:
    with contextlib.ExitStack() as stack:
        ledger = open_ledger(settings)
        stack.callback(ledger.close)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        if redis is not None:
            stack.callback(redis.close)
        wakeup = wakeup_from(settings)
        import_tasks = import_tasks_from(settings)
        stack.callback(import_tasks.close)
        statement_files = statement_files_from(settings)
        stack.callback(statement_files.close)
        stack.callback(wakeup.close)
        marks: WriteMarks = RedisWriteMarks(redis) if redis is not None else NullMarks()
        appends: Appends
        if settings.group_commit:
            # The committer marks each group's writes at once (its ``on_commit``).
            committer = GroupCommitter(ledger, on_commit=marks.mark)
            stack.callback(committer.close)
            appends = committer
        else:
            appends = DirectAppends(ledger, marks)
        balances: BalanceLookup = HotBalances(redis) if redis is not None else NoBalances()
        executor = ThreadPoolExecutor(settings.command_threads, thread_name_prefix="command")
        stack.callback(executor.shutdown, wait=True)
        yield CommandSide(
            handlers=Handlers.build(balances, Argon2Passwords()),
            units=LedgerUnits(ledger, appends, wakeup),
            tokens=PostgresTokens(ledger.connection, settings.eventstore_schema),
            auth=Authenticator(
                TokenCache(settings.auth_cache_seconds), auth_failures(), per_token(settings)
            ),
            provisioning_limit=TokenBuckets(
                settings.load_test_users_per_second,
                settings.load_test_users_per_second * settings.rate_limit_burst_seconds,
            ),
            max_body_bytes=settings.max_body_bytes,
            imports=ImportHandlers(statement_files, import_tasks),
            notifications=NotificationHandlers(),
            import_max_bytes=settings.import_max_bytes,
            executor=executor,
        )
